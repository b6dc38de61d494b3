"""From display pixels to files: downsampling, the preview PNG and JPEG thumbnails."""

import io
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from PIL import Image

# zlib level 1 with PNG's adaptive filters: on a 3328×4096 mammogram it encodes 1.4–1.7×
# faster than the default (6) for a file about 13 % larger, and levels above 6 cost more
# for almost nothing (figures in docs/benchmarks.md, conversion section). Previews are
# written once and cached, so encoding time matters more than a few hundred KiB.
PNG_COMPRESS_LEVEL: Final = 1
THUMBNAIL_QUALITY: Final = 85
# Pillow first reduces by an integer factor (box filter, fast) down to this multiple of the
# target size, then resamples with Lanczos: indistinguishable from Lanczos all the way.
_REDUCING_GAP: Final = 3.0


def fit_within(width: int, height: int, max_size: int) -> tuple[int, int]:
    """The size with the longer side at most ``max_size``, aspect kept, never enlarged."""
    if max_size < 1:
        raise ValueError("max_size must be at least 1")
    longer = max(width, height)
    if longer <= max_size:
        return width, height
    scale = max_size / longer
    return max(1, round(width * scale)), max(1, round(height * scale))


def downsample(pixels: npt.NDArray[np.uint8], max_size: int) -> npt.NDArray[np.uint8]:
    """Shrink so the longer side is at most ``max_size`` (aspect kept; never enlarged)."""
    height, width = pixels.shape[:2]
    size = fit_within(width, height, max_size)
    if size == (width, height):
        return pixels
    image = _image(pixels).resize(size, Image.Resampling.LANCZOS, reducing_gap=_REDUCING_GAP)
    return np.array(image, dtype=np.uint8)


def encode_png(pixels: npt.NDArray[np.uint8]) -> bytes:
    """8-bit grey (H×W) or RGB (H×W×3) pixels as PNG, at ``PNG_COMPRESS_LEVEL``."""
    buffer = io.BytesIO()
    _image(pixels).save(buffer, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
    return buffer.getvalue()


def make_thumbnail(pixels: npt.NDArray[np.uint8], size: int) -> bytes:
    """A JPEG whose longer side is ``size`` (or the source's, if smaller), aspect kept."""
    image = _image(downsample(pixels, size))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=THUMBNAIL_QUALITY)
    return buffer.getvalue()


def _image(pixels: npt.NDArray[Any]) -> Image.Image:
    if pixels.dtype != np.uint8:
        raise ValueError(f"expected uint8 pixels, got {pixels.dtype}")
    if pixels.ndim == 2:
        return Image.fromarray(np.ascontiguousarray(pixels))
    if pixels.ndim == 3 and pixels.shape[2] == 3:
        return Image.fromarray(np.ascontiguousarray(pixels))
    raise ValueError(f"expected H×W or H×W×3 pixels, got shape {pixels.shape}")
