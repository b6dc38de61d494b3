"""Lookup tables that turn stored pixel values into 8-bit display values.

A frame of integer pixels up to 16 bits holds at most 65,536 distinct bit patterns, so the
whole grey pipeline (modality LUT or rescale → VOI window or LUT → 8 bits → MONOCHROME1
inversion) is computed once per pattern, with pydicom's own functions, and the frame is
then mapped with a single gather. Correctness follows pydicom; cost no longer depends on
the image size, and no float copy of the image is ever made.

Each pattern's stored value is its low Bits Stored bits, sign-extended when Pixel
Representation is 1 (PS3.5 8.1.1: the bits above are not part of the value). Doing that in
the table means the decoder never has to copy a frame to clear those bits.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.pixels.processing import apply_color_lut, apply_modality_lut, apply_voi

from vesalius.imaging.render_errors import CorruptImage, UnsupportedImage

Window = tuple[float, float]  # (center, width) in modality units
Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]

# The automatic window spans these percentiles of the pixels that are not padding or
# background: robust to a few hot or dead pixels, unlike the plain minimum and maximum.
AUTO_LOW_PERCENT: Final = 0.5
AUTO_HIGH_PERCENT: Final = 99.5
# The most frequent value counts as background (air, the film border) when it is also the
# darkest or brightest value present and covers at least this share of the frame.
BACKGROUND_SHARE: Final = 0.05
_HISTOGRAM_CHUNK: Final = 1 << 20  # bincount converts its input to int64: bound that copy
_VOI_FUNCTIONS: Final = ("LINEAR", "LINEAR_EXACT", "SIGMOID")


@dataclass(frozen=True)
class GreyTable:
    table: npt.NDArray[np.uint8]  # one entry per bit pattern of the stored dtype
    window: Window | None  # the window applied; None when a VOI LUT was used instead


def stored_values(itemsize: int, bits_stored: int, signed: bool) -> Ints:
    """The stored value of every bit pattern of a ``itemsize``-byte pixel, by pattern."""
    return values_of(
        np.arange(1 << (8 * itemsize), dtype=np.int64), 8 * itemsize, bits_stored, signed
    )


def values_of(patterns: npt.NDArray[Any], width: int, bits_stored: int, signed: bool) -> Ints:
    """Stored values of unsigned bit ``patterns`` of ``width`` bits: the low Bits Stored
    bits, sign-extended for Pixel Representation 1."""
    bits = min(max(bits_stored, 1), width)
    if bits == width and patterns.dtype.itemsize * 8 == width:
        # Nothing to mask: the signed view of the same bytes already holds the values.
        view = patterns.view(patterns.dtype.str.replace("u", "i")) if signed else patterns
        return view.astype(np.int64)
    values = patterns.astype(np.int64) & ((1 << bits) - 1)
    if signed:
        values = np.where(values >= 1 << (bits - 1), values - (1 << bits), values)
    return values


def histogram(patterns: npt.NDArray[Any], size: int) -> Ints:
    """Pixel count per bit pattern; ``patterns`` is the frame viewed as unsigned."""
    flat = patterns.reshape(-1)
    counts = np.zeros(size, dtype=np.int64)
    for start in range(0, flat.size, _HISTOGRAM_CHUNK):
        counts += np.bincount(flat[start : start + _HISTOGRAM_CHUNK], minlength=size)
    return counts


def grey_table(
    ds: Dataset,
    values: Ints,
    *,
    window: Window | None,
    counts: Callable[[], Ints],
    invert: bool,
) -> GreyTable:
    """The 8-bit table for stored ``values``: an explicit ``window`` wins, then the file's
    first window, then its VOI LUT, then an automatic window from ``counts()``."""
    modality = modality_values(ds, values)
    function = voi_function(ds)
    applied: Window | None
    if window is not None:
        applied = window
        display = windowed(modality, applied, function)
    elif (applied := file_window(ds)) is not None:
        display = windowed(modality, applied, function)
    elif has_voi_lut(ds):
        display = voi_lut_display(ds, modality)
    else:
        applied = auto_window(modality, counts(), padding_mask(ds, values))
        display = windowed(modality, applied, "LINEAR")
    table = np.rint(np.clip(display, 0, 255)).astype(np.uint8)
    if invert:
        np.subtract(255, table, out=table)
    return GreyTable(table, applied)


def modality_values(ds: Dataset, values: npt.NDArray[Any]) -> Floats:
    try:
        return np.asarray(apply_modality_lut(values, ds), dtype=np.float64)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as error:
        raise CorruptImage(f"the modality LUT or rescale values are malformed: {error}") from error


def voi_function(ds: Dataset) -> str:
    name = str(ds.get("VOILUTFunction") or "LINEAR").strip().upper()
    return name if name in _VOI_FUNCTIONS else "LINEAR"


def file_window(ds: Dataset) -> Window | None:
    """The first Window Center / Width pair, when both are present and usable."""
    try:
        center, width = _first(ds.get("WindowCenter")), _first(ds.get("WindowWidth"))
    except (TypeError, ValueError):
        return None
    if center is None or width is None or not np.isfinite([center, width]).all() or width <= 0:
        return None
    return center, width


def _first(value: object) -> float | None:
    if isinstance(value, MultiValue | list | tuple):
        value = value[0] if len(value) else None
    if value is None or value == "":
        return None
    return float(value)  # type: ignore[arg-type]  # DS, IS, str or number


def windowed(modality: Floats, window: Window, function: str) -> Floats:
    """PS3.3 C.11.2.1.2 (LINEAR) and C.11.2.1.3 (LINEAR_EXACT, SIGMOID) onto 0–255.

    The same formulas as pydicom's ``apply_windowing`` with an 8-bit output range (a test
    checks they agree), written out because that function costs more than the whole
    table for a small image: it rebuilds data set attributes on every call.
    """
    center, width = window
    if not width > 0:
        raise ValueError("the window width must be greater than 0")
    if function == "SIGMOID":
        # 1 / (1 + exp(-z)) written with tanh, which cannot overflow for steep windows.
        return 127.5 * (1 + np.tanh(2 * (modality - center) / width))
    if function == "LINEAR" and width >= 1:
        center, width = center - 0.5, width - 1  # LINEAR is defined for widths ≥ 1 only
    low, high = center - width / 2, center + width / 2
    out = np.empty_like(modality)
    if width > 0:
        np.multiply(np.subtract(modality, center, out=out), 1 / width, out=out)
        np.multiply(np.add(out, 0.5, out=out), 255.0, out=out)
    out[modality <= low] = 0.0
    out[modality > high] = 255.0
    return out


def has_voi_lut(ds: Dataset) -> bool:
    sequence = ds.get("VOILUTSequence")
    if not sequence:
        return False
    item = sequence[0]
    return item.get("LUTDescriptor") is not None and item.get("LUTData") is not None


def voi_lut_display(ds: Dataset, modality: Floats) -> Floats:
    """The first VOI LUT, scaled to 0–255.

    The output range is 2**n - 1 for the n bits per entry the descriptor declares, unless
    the table's largest entry needs fewer bits: many producers declare 16 bits for a 12-bit
    table, and honouring the descriptor there would render the image almost black.
    """
    try:
        first_map, entries, bits = _lut_descriptor(ds.VOILUTSequence[0])
        inputs = np.clip(np.rint(modality), first_map, first_map + entries - 1).astype(np.int64)
        output = np.asarray(apply_voi(inputs, ds), dtype=np.float64)
        table = np.asarray(apply_voi(np.arange(first_map, first_map + entries), ds))
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, NotImplementedError) as e:
        raise CorruptImage(f"the VOI LUT is malformed: {e}") from e
    largest = int(table.max()) if table.size else 0
    bits = max(1, min(bits, largest.bit_length()))
    return output * (255.0 / ((1 << bits) - 1))


def _lut_descriptor(item: Dataset) -> tuple[int, int, int]:
    descriptor = [int(value) for value in item.LUTDescriptor]
    entries = descriptor[0] or 1 << 16
    return descriptor[1], entries, descriptor[2]


def padding_mask(ds: Dataset, values: Ints) -> npt.NDArray[np.bool_]:
    """Patterns whose stored value is Pixel Padding Value (up to its Range Limit)."""
    padding, limit = ds.get("PixelPaddingValue"), ds.get("PixelPaddingRangeLimit")
    if not isinstance(padding, int):
        return np.zeros(values.shape, dtype=np.bool_)
    end = limit if isinstance(limit, int) else padding
    low, high = min(padding, end), max(padding, end)
    return (values >= low) & (values <= high)


def auto_window(modality: Floats, counts: Ints, excluded: npt.NDArray[np.bool_]) -> Window:
    """Percentiles of the frame's values, ignoring padding and a dominant background.

    ``counts`` and ``excluded`` are per bit pattern, like ``modality``. The window returned
    maps the low percentile to 0 and the high one to 255 under the LINEAR function.
    """
    present = counts > 0
    usable = present & ~excluded
    if not usable.any():
        usable = present
    if not usable.any():
        return 0.5, 1.0
    levels, weights = modality[usable], counts[usable]
    if len(levels) > 1 and not (np.diff(levels) > 0).all():
        # Not simply increasing (a negative slope, a Modality LUT): sort, merging patterns
        # that share a modality value. A plain rescale skips this sort.
        levels, inverse = np.unique(levels, return_inverse=True)
        weights = np.bincount(inverse.reshape(-1), weights=weights, minlength=len(levels))
    modal = int(np.argmax(weights))
    is_extreme = modal in (0, len(levels) - 1)
    if len(levels) > 2 and is_extreme and weights[modal] >= BACKGROUND_SHARE * weights.sum():
        keep = np.ones(len(levels), dtype=np.bool_)
        keep[modal] = False
        levels, weights = levels[keep], weights[keep]
    cumulative = np.cumsum(weights)
    total = float(cumulative[-1])
    low = float(levels[np.searchsorted(cumulative, total * AUTO_LOW_PERCENT / 100, side="left")])
    high = float(levels[np.searchsorted(cumulative, total * AUTO_HIGH_PERCENT / 100, side="left")])
    # LINEAR maps (c - 0.5 - (w - 1) / 2) to 0 and (c - 0.5 + (w - 1) / 2) to 255.
    return (low + high + 1) / 2, max(high - low, 0.0) + 1


def auto_window_float(modality: Floats) -> Window:
    """The same percentiles for float data (no table: sampled straight from the frame)."""
    finite = modality[np.isfinite(modality)]
    if finite.size == 0:
        return 0.5, 1.0
    step = max(1, finite.size // 1_000_000)
    low, high = np.percentile(finite[::step], [AUTO_LOW_PERCENT, AUTO_HIGH_PERCENT])
    width = float(high - low)
    if width <= 0:
        return float(low) + 0.5, 1.0
    return float(low + high) / 2, width


def palette_table(ds: Dataset, values: Ints) -> npt.NDArray[np.uint8]:
    """RGB for every stored value, through pydicom's ``apply_color_lut``, scaled to 8 bits."""
    try:
        descriptor = [int(value) for value in ds.RedPaletteColorLookupTableDescriptor]
        entries, first_map, nominal = descriptor[0] or 1 << 16, descriptor[1], descriptor[2]
        # pydicom indexes with the table's own dtype: keep inputs inside the table.
        inputs = np.clip(values, first_map, first_map + entries - 1)
        colours = np.asarray(apply_color_lut(inputs, ds))[..., :3]
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as error:
        raise UnsupportedImage(f"the colour palette cannot be used: {error}") from error
    if colours.dtype == np.uint16 and nominal > 8:
        colours = colours >> (nominal - 8)
    table: npt.NDArray[np.uint8] = np.clip(colours, 0, 255).astype(np.uint8)
    return table
