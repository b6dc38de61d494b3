"""DICOM → 8-bit display pixels: decode one frame, apply the grey or colour pipeline.

``render_dicom`` is what the conversion worker and the on-demand preview call. It reads the
header once, then only the frame asked for, straight from the file; integer grey frames up
to 16 bits go through a lookup table built once per image (see ``lut``), so memory stays
near the size of the stored frame and the cost near one pass over it.
"""

import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, BinaryIO, Final

import numpy as np
import numpy.typing as npt
from pydicom.dataset import Dataset
from pydicom.pixels.processing import convert_color_space
from pydicom.pixels.utils import get_expected_length

from vesalius.imaging.dicom_codecs import decode_frame
from vesalius.imaging.dicom_io import InvalidDicom, OpenedDicom, inflate_pixels, open_dicom
from vesalius.imaging.lut import (
    Window,
    auto_window_float,
    file_window,
    grey_table,
    histogram,
    modality_values,
    palette_table,
    stored_values,
    values_of,
    voi_function,
    windowed,
)
from vesalius.imaging.render_errors import (
    CorruptImage,
    FrameOutOfRange,
    ImageTooLarge,
    RenderError,
    UnsupportedImage,
)
from vesalius.imaging.render_output import downsample, encode_png, make_thumbnail

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "CorruptImage",
    "FrameOutOfRange",
    "ImageTooLarge",
    "RenderError",
    "Rendered",
    "UnsupportedImage",
    "encode_png",
    "make_thumbnail",
    "render_dicom",
]

# Pillow's own decompression-bomb threshold; a 4096×5120 mammogram is 21 M pixels.
DEFAULT_MAX_PIXELS: Final = 89_478_485
_GREY: Final = ("MONOCHROME1", "MONOCHROME2")
_YBR: Final = ("YBR_FULL", "YBR_FULL_422")
_SUPPORTED: Final = (*_GREY, "RGB", *_YBR, "YBR_ICT", "YBR_RCT", "PALETTE COLOR")

Progress = Callable[[int], None]


@dataclass
class Rendered:
    pixels: npt.NDArray[np.uint8]  # H×W grey or H×W×3 RGB
    window: tuple[float, float] | None  # (center, width) applied, in modality units
    frames: int
    bit_depth: int  # Bits Stored of the source
    width: int  # of the source frame
    height: int


@dataclass(frozen=True)
class _Geometry:
    rows: int
    columns: int
    frames: int
    samples: int
    bits_allocated: int
    bits_stored: int
    signed: bool
    photometric: str


def render_dicom(
    source: str | os.PathLike[str] | BinaryIO,
    *,
    frame: int = 0,
    window: tuple[float, float] | None = None,
    max_size: int | None = None,
    progress: Progress | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> Rendered:
    """Render frame ``frame`` of a DICOM file to 8-bit display pixels.

    Grey images: modality LUT (rescale or Modality LUT Sequence), then the VOI stage —
    ``window`` (center, width in modality units) if given, else the file's first window,
    else its VOI LUT Sequence, else an automatic window — then MONOCHROME1 inversion.
    Colour images come out RGB (YBR converted, palettes applied). ``max_size`` bounds the
    longer side of the result. ``progress`` receives a few increasing percentages.

    Raises ``UnsupportedImage`` (``FrameOutOfRange`` for a frame that does not exist),
    ``CorruptImage`` or ``ImageTooLarge`` — all permanent — and ``ValueError`` for a
    window whose width is not positive.
    """
    report = progress or _ignore
    if window is not None:
        window = _checked_window(window)
    report(5)
    try:
        with open_dicom(source) as opened:
            report(15)
            geometry = _geometry(opened, frame, max_pixels)
            _inflate_if_deflated(opened)
            # Above 16 bits there is no table: let pydicom clear the unused bits itself.
            array, properties = decode_frame(
                opened, frame, correct_unused_bits=geometry.bits_allocated > 16
            )
            report(60)
            pixels, applied = _display(opened.dataset, array, properties, geometry, window)
    except InvalidDicom as error:
        raise CorruptImage(str(error)) from error
    report(85)
    if max_size is not None:
        pixels = downsample(pixels, max_size)
    report(100)
    return Rendered(
        pixels=pixels,
        window=applied,
        frames=geometry.frames,
        bit_depth=geometry.bits_stored,
        width=geometry.columns,
        height=geometry.rows,
    )


def _ignore(_percent: int) -> None:
    return None


def _checked_window(window: tuple[float, float]) -> Window:
    center, width = float(window[0]), float(window[1])
    if not (math.isfinite(center) and math.isfinite(width)) or width <= 0:
        raise ValueError("the window needs a finite center and a width greater than 0")
    return center, width


# -- what the header promises ---------------------------------------------------------------
def _geometry(opened: OpenedDicom, frame: int, max_pixels: int) -> _Geometry:
    ds = opened.dataset
    if opened.pixel is None:
        kind = ds.get("Modality") or "non-image"
        raise UnsupportedImage(f"the file has no pixel data (a {kind} object)")
    rows, columns = _int(ds, "Rows"), _int(ds, "Columns")
    if rows < 1 or columns < 1:
        raise CorruptImage("the image has no size (Rows and Columns are missing or zero)")
    frames = max(_int(ds, "NumberOfFrames", 1), 1)
    if not 0 <= frame < frames:
        raise FrameOutOfRange(
            f"frame {frame} does not exist: the image has {frames} frame"
            f"{'s' if frames != 1 else ''}, numbered from 0"
        )
    if rows * columns > max_pixels:
        raise ImageTooLarge(f"{columns}×{rows} pixels is more than the {max_pixels:,} allowed")
    photometric = str(ds.get("PhotometricInterpretation") or "").strip().upper()
    if photometric not in _SUPPORTED:
        raise UnsupportedImage(f"the colour model {photometric or '(none)'} is not supported")
    bits_allocated = _int(ds, "BitsAllocated")
    if bits_allocated not in (1, 8, 16, 32, 64):
        raise CorruptImage(f"Bits Allocated {bits_allocated} is not valid")
    bits_stored = _int(ds, "BitsStored", bits_allocated)
    geometry = _Geometry(
        rows=rows,
        columns=columns,
        frames=frames,
        samples=max(_int(ds, "SamplesPerPixel", 1), 1),
        bits_allocated=bits_allocated,
        bits_stored=min(max(bits_stored, 1), bits_allocated),
        signed=_int(ds, "PixelRepresentation") == 1,
        photometric=photometric,
    )
    _check_length(opened, geometry)
    return geometry


def _int(ds: Dataset, keyword: str, default: int = 0) -> int:
    try:
        value = ds.get(keyword)
        return int(value) if value not in (None, "") else default
    except (TypeError, ValueError):
        return default


def _check_length(opened: OpenedDicom, geometry: _Geometry) -> None:
    """Uncompressed data shorter than the image it declares would fail mid-decode; say so."""
    pixel = opened.pixel
    if pixel is None or pixel.length is None or opened.deflated is not None:
        return
    try:
        expected = int(get_expected_length(opened.dataset, unit="bytes"))
    except (AttributeError, TypeError, ValueError, KeyError):
        return
    if pixel.length < expected:
        raise CorruptImage(
            f"the pixel data is shorter than the image: {pixel.length} of {expected} bytes"
        )


def _inflate_if_deflated(opened: OpenedDicom) -> None:
    pixel = opened.pixel
    if opened.deflated is None or pixel is None:
        return
    try:
        expected = int(get_expected_length(opened.dataset, unit="bytes"))
    except (AttributeError, TypeError, ValueError, KeyError) as error:
        raise CorruptImage(f"the image attributes are incomplete: {error}") from error
    # +1: a value of odd length is padded to even.
    inflate_pixels(opened, pixel.value_offset + min(pixel.length or expected, expected + 1))


# -- stored values → display ----------------------------------------------------------------
def _display(
    ds: Dataset,
    array: npt.NDArray[Any],
    properties: dict[str, str | int],
    geometry: _Geometry,
    window: Window | None,
) -> tuple[npt.NDArray[np.uint8], Window | None]:
    photometric = str(properties.get("photometric_interpretation", geometry.photometric)).upper()
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if photometric in _GREY and array.ndim == 2:
        invert = photometric == "MONOCHROME1"
        if array.dtype.kind in "iu" and array.dtype.itemsize <= 2:
            return _grey_by_table(ds, array, geometry, window, invert)
        return _grey_by_float(ds, array, window, invert)
    if photometric == "PALETTE COLOR" and array.ndim == 2:
        return _palette(ds, array, geometry), None
    if array.ndim == 3 and array.shape[-1] == 3:
        if photometric in _YBR:
            array = convert_color_space(array, photometric, "RGB")
        elif photometric != "RGB":
            raise UnsupportedImage(f"the colour model {photometric} is not supported")
        return _rgb(array, geometry), None
    raise UnsupportedImage(f"{photometric} pixels shaped {array.shape} are not supported")


def _patterns(array: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """The frame as unsigned bit patterns: the index into a table (a view, no copy)."""
    return array.view(array.dtype.newbyteorder("=").str.replace("i", "u"))


def _grey_by_table(
    ds: Dataset,
    array: npt.NDArray[Any],
    geometry: _Geometry,
    window: Window | None,
    invert: bool,
) -> tuple[npt.NDArray[np.uint8], Window | None]:
    if not array.dtype.isnative:
        array = array.astype(array.dtype.newbyteorder("="))
    patterns = _patterns(array)
    width = 8 * array.dtype.itemsize
    if patterns.size < 1 << width:
        # Fewer pixels than bit patterns (a 128×128 CT): a table over just the range of
        # values present is cheaper than one over all 65,536 patterns.
        pixel_values = values_of(patterns, width, geometry.bits_stored, geometry.signed)
        low = int(pixel_values.min())
        offsets = pixel_values - low
        domain = np.arange(low, int(pixel_values.max()) + 1, dtype=np.int64)
        grey = grey_table(
            ds,
            domain,
            window=window,
            counts=lambda: np.bincount(offsets.reshape(-1), minlength=len(domain)),
            invert=invert,
        )
        return grey.table[offsets], grey.window
    values = stored_values(array.dtype.itemsize, geometry.bits_stored, geometry.signed)
    grey = grey_table(
        ds,
        values,
        window=window,
        counts=lambda: histogram(patterns, len(values)),
        invert=invert,
    )
    return grey.table[patterns], grey.window


def _grey_by_float(
    ds: Dataset, array: npt.NDArray[Any], window: Window | None, invert: bool
) -> tuple[npt.NDArray[np.uint8], Window | None]:
    """Float pixel data and 32-bit integers: no table; a float copy of the frame."""
    if array.dtype.kind in "iu":
        modality = modality_values(ds, array)
    else:
        modality = np.asarray(array, dtype=np.float64)
    chosen = window or file_window(ds)
    if chosen is not None:
        display = windowed(modality, chosen, voi_function(ds))
    else:
        chosen = auto_window_float(modality)
        display = windowed(modality, chosen, "LINEAR_EXACT")
    pixels = np.rint(np.clip(np.nan_to_num(display), 0, 255)).astype(np.uint8)
    if invert:
        np.subtract(255, pixels, out=pixels)
    return pixels, chosen


def _palette(ds: Dataset, array: npt.NDArray[Any], geometry: _Geometry) -> npt.NDArray[np.uint8]:
    if array.dtype.kind not in "iu" or array.dtype.itemsize > 2:
        raise UnsupportedImage("palette colour images need 8- or 16-bit indices")
    if not array.dtype.isnative:
        array = array.astype(array.dtype.newbyteorder("="))
    values = stored_values(array.dtype.itemsize, geometry.bits_stored, geometry.signed)
    table = palette_table(ds, values)
    colours: npt.NDArray[np.uint8] = table[_patterns(array)]
    return colours


def _rgb(array: npt.NDArray[Any], geometry: _Geometry) -> npt.NDArray[np.uint8]:
    if array.dtype == np.uint8:
        return array if array.flags.writeable else array.copy()
    if array.dtype.kind not in "iu":
        raise UnsupportedImage(f"colour pixels of type {array.dtype} are not supported")
    bits = min(geometry.bits_stored, 8 * array.dtype.itemsize)
    values = np.asarray(array, dtype=np.uint64) & ((1 << bits) - 1)
    return (values >> max(bits - 8, 0)).astype(np.uint8)
