"""Ordinary images (PNG, JPEG, TIFF, BMP): sniffing, size without decoding, and rendering.

Pillow's own decompression-bomb guard is a process-wide setting that warns (or raises its
own error) inside ``Image.open``. Here each format's image class is opened directly, which
reads only the header, and the declared size is checked against the caller's
``max_pixels`` before any pixel is decoded: a bomb becomes ``ImageTooLarge``, never a
warning, and Pillow's global setting stays untouched for the rest of the process.
"""

import contextlib
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO, Final

import numpy as np
import numpy.typing as npt
from PIL import (
    BmpImagePlugin,
    Image,
    ImageFile,
    ImageOps,
    JpegImagePlugin,
    PngImagePlugin,
    TiffImagePlugin,
)

from vesalius.imaging.lut import auto_window, auto_window_float, histogram, windowed
from vesalius.imaging.render import DEFAULT_MAX_PIXELS, Rendered
from vesalius.imaging.render_errors import CorruptImage, ImageTooLarge, UnsupportedImage
from vesalius.imaging.render_output import downsample, fit_within

__all__ = ["RasterInfo", "read_raster_info", "render_raster", "sniff_raster"]

_OPENERS: Final[dict[str, type[ImageFile.ImageFile]]] = {
    "png": PngImagePlugin.PngImageFile,
    "jpg": JpegImagePlugin.JpegImageFile,
    "tif": TiffImagePlugin.TiffImageFile,
    "bmp": BmpImagePlugin.BmpImageFile,
}
# BITMAPINFOHEADER and its relatives: a "BM" start alone is too weak a signature.
_BMP_HEADER_SIZES: Final = (12, 40, 52, 56, 64, 108, 124)
_ROTATED: Final = (5, 6, 7, 8)  # EXIF orientations that swap width and height
_EXIF_ORIENTATION: Final = 0x0112
_SIXTEEN_BIT: Final = ("I;16", "I;16L", "I;16B", "I;16N")
# Pillow raises all of these on malformed or truncated data.
_PILLOW_ERRORS: Final = (
    OSError,
    SyntaxError,
    ValueError,
    TypeError,
    IndexError,
    KeyError,
    EOFError,
    struct.error,
    ZeroDivisionError,
    Image.DecompressionBombError,
)


@dataclass(frozen=True)
class RasterInfo:
    format: str  # png, jpg, tif or bmp
    width: int  # as displayed: EXIF orientation applied
    height: int
    frames: int  # pages of a TIFF, frames of an animated PNG
    mode: str  # Pillow's mode: L, RGB, RGBA, P, I;16 …
    bit_depth: int  # bits per sample


def sniff_raster(head: bytes) -> str | None:
    """``"png"``, ``"jpg"``, ``"tif"`` or ``"bmp"`` from the first bytes, else None."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "tif"
    if head.startswith(b"BM") and len(head) >= 18:
        (header_size,) = struct.unpack("<I", head[14:18])
        return "bmp" if header_size in _BMP_HEADER_SIZES else None
    return None


def read_raster_info(
    source: str | os.PathLike[str] | BinaryIO, *, max_pixels: int = DEFAULT_MAX_PIXELS
) -> RasterInfo:
    """Format, size, pages, mode and depth from the header alone (no pixel decoding).

    Raises ``ImageTooLarge`` above ``max_pixels``, ``CorruptImage`` when the header cannot
    be parsed and ``UnsupportedImage`` when the content is not one of the four formats.
    """
    with _opened(source, max_pixels) as (image, kind, head):
        return _info(image, kind, head)


def render_raster(
    source: str | os.PathLike[str] | BinaryIO, *, max_pixels: int, max_size: int | None = None
) -> Rendered:
    """Decode to 8-bit grey or RGB: first page of a TIFF, EXIF orientation applied, 16-bit
    and float images windowed on robust percentiles, transparency composited on black."""
    with _opened(source, max_pixels) as (image, kind, head):
        info = _info(image, kind, head)
        if max_size is not None and kind == "jpg":
            _draft(image, info, max_size)
        try:
            image.load()
            upright = ImageOps.exif_transpose(image)
            pixels, window = _display(upright)
        except _PILLOW_ERRORS as error:
            raise CorruptImage(f"the {kind.upper()} image cannot be decoded: {error}") from error
    width, height = info.width, info.height
    if (pixels.shape[1] > pixels.shape[0]) != (width > height) and width != height:
        width, height = height, width  # an orientation found only after decoding (PNG)
    if max_size is not None:
        pixels = downsample(pixels, max_size)
    return Rendered(
        pixels=pixels,
        window=window,
        frames=info.frames,
        bit_depth=info.bit_depth,
        width=width,
        height=height,
    )


# -- opening ----------------------------------------------------------------------------------
@contextlib.contextmanager
def _opened(
    source: str | os.PathLike[str] | BinaryIO, max_pixels: int
) -> Iterator[tuple[ImageFile.ImageFile, str, bytes]]:
    with contextlib.ExitStack() as stack:
        if isinstance(source, str | os.PathLike):
            stream: BinaryIO = stack.enter_context(open(source, "rb"))  # noqa: PTH123
        else:
            stream = source
            stream.seek(0)
        head = stream.read(32)
        stream.seek(0)
        kind = sniff_raster(head)
        if kind is None:
            raise UnsupportedImage("not a PNG, JPEG, TIFF or BMP image")
        try:
            image = _OPENERS[kind](stream)
        except _PILLOW_ERRORS as error:
            raise CorruptImage(f"the {kind.upper()} header cannot be read: {error}") from error
        stack.callback(image.close)
        width, height = image.size
        if width < 1 or height < 1:
            raise CorruptImage(f"the {kind.upper()} image declares no pixels")
        if width * height > max_pixels:
            raise ImageTooLarge(f"{width}×{height} pixels is more than the {max_pixels:,} allowed")
        yield image, kind, head


def _info(image: ImageFile.ImageFile, kind: str, head: bytes) -> RasterInfo:
    try:
        orientation = _orientation(image, kind)
        frames = int(getattr(image, "n_frames", 1))
        image.seek(0)  # counting pages moves a TIFF to its last one
    except _PILLOW_ERRORS as error:
        raise CorruptImage(f"the {kind.upper()} header cannot be read: {error}") from error
    width, height = image.size
    if orientation in _ROTATED:
        width, height = height, width
    return RasterInfo(
        kind, width, height, max(frames, 1), image.mode, _bit_depth(image, kind, head)
    )


def _orientation(image: ImageFile.ImageFile, kind: str) -> object:
    if kind != "png":
        return image.getexif().get(_EXIF_ORIENTATION)  # header only for JPEG and TIFF
    # PngImageFile.getexif decodes the whole image to look for an eXIf chunk after the
    # pixels; the header's chunk is enough here (and a bomb must not be decoded).
    data = image.info.get("exif")
    if not isinstance(data, bytes):
        return None
    exif = Image.Exif()
    exif.load(data)
    return exif.get(_EXIF_ORIENTATION)


def _bit_depth(image: ImageFile.ImageFile, kind: str, head: bytes) -> int:
    if kind == "png" and head[12:16] == b"IHDR":
        return head[24]  # Pillow reads 16-bit colour PNGs as 8-bit RGB; report the file's
    if kind == "tif":
        bits = image.tag_v2.get(258)  # type: ignore[attr-defined]  # BitsPerSample
        if isinstance(bits, tuple) and bits:
            return int(bits[0])
        if isinstance(bits, int):
            return bits
    return {"1": 1, "I": 32, "F": 32}.get(image.mode, 16 if image.mode in _SIXTEEN_BIT else 8)


def _draft(image: ImageFile.ImageFile, info: RasterInfo, max_size: int) -> None:
    """Let libjpeg decode at 1/2, 1/4 or 1/8 scale when the result is that small anyway."""
    width, height = fit_within(info.width, info.height, max_size)
    if image.size != (info.width, info.height):
        width, height = height, width  # the stored image is rotated relative to the display
    if image.mode in ("L", "RGB"):
        image.draft(image.mode, (width, height))


# -- pixels ---------------------------------------------------------------------------------
def _display(image: Image.Image) -> tuple[npt.NDArray[np.uint8], tuple[float, float] | None]:
    mode = image.mode
    if mode in ("L", "RGB"):
        return np.array(image, dtype=np.uint8), None
    if mode == "1":
        return np.array(image.convert("L"), dtype=np.uint8), None
    if mode in _SIXTEEN_BIT or mode in ("I", "F"):
        return _window_deep(np.asarray(image))
    if mode == "P":
        has_alpha = "transparency" in image.info
        image = image.convert("RGBA" if has_alpha else "RGB")
        mode = image.mode
        if not has_alpha:
            return np.array(image, dtype=np.uint8), None
    if mode in ("LA", "La", "PA", "RGBA", "RGBa"):
        return _on_black(image), None
    try:
        return np.array(image.convert("RGB"), dtype=np.uint8), None
    except ValueError as error:
        raise UnsupportedImage(f"images in Pillow mode {mode} are not supported") from error


def _on_black(image: Image.Image) -> npt.NDArray[np.uint8]:
    """Composite on black: radiology viewers are dark, and transparent padding around a
    scan should read as background, not as a white frame."""
    if image.mode in ("La", "RGBa"):  # alpha already premultiplied: that is the composite
        return np.array(image.convert(image.mode[0] if image.mode == "La" else "RGB"))
    if image.mode == "PA":
        image = image.convert("RGBA")
    rgba = np.asarray(image, dtype=np.uint16)
    alpha = rgba[..., -1:]
    colour = (rgba[..., :-1] * alpha + 127) // 255
    pixels = colour.astype(np.uint8)
    return pixels[..., 0] if pixels.shape[-1] == 1 else pixels


def _window_deep(array: npt.NDArray[Any]) -> tuple[npt.NDArray[np.uint8], tuple[float, float]]:
    """16-bit and 32-bit images: the same robust percentile window as DICOM's automatic
    one (not a plain shift by 8 bits, which leaves a 12-bit image nearly black)."""
    if array.dtype.kind == "u" and array.dtype.itemsize == 2:
        patterns = array.astype(np.uint16, copy=False)
        values = np.arange(1 << 16, dtype=np.float64)
        counts = histogram(patterns, 1 << 16)
        window = auto_window(values, counts, np.zeros(1 << 16, dtype=np.bool_))
        table = np.rint(np.clip(windowed(values, window, "LINEAR"), 0, 255)).astype(np.uint8)
        return table[patterns], window
    data = np.asarray(array, dtype=np.float64)
    window = auto_window_float(data)
    display = windowed(data, window, "LINEAR_EXACT")
    return np.rint(np.clip(np.nan_to_num(display), 0, 255)).astype(np.uint8), window
