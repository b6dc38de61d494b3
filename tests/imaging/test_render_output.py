"""encode_png and make_thumbnail: lossless previews, bounded thumbnails."""

import io

import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image

from vesalius.imaging.render import encode_png, make_thumbnail
from vesalius.imaging.render_output import PNG_COMPRESS_LEVEL, fit_within


def decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def test_png_round_trips_grey_and_rgb() -> None:
    rng = np.random.default_rng(0)
    grey = rng.integers(0, 256, size=(37, 53), dtype=np.uint8)
    rgb = rng.integers(0, 256, size=(20, 10, 3), dtype=np.uint8)
    for pixels, mode in ((grey, "L"), (rgb, "RGB")):
        image = decode(encode_png(pixels))
        assert image.format == "PNG" and image.mode == mode
        assert np.array_equal(np.asarray(image), pixels)
    assert PNG_COMPRESS_LEVEL == 1


def test_png_accepts_read_only_and_strided_arrays() -> None:
    pixels = np.arange(64, dtype=np.uint8).reshape(8, 8)
    view = pixels[:, ::2]
    pixels.flags.writeable = False
    assert np.array_equal(np.asarray(decode(encode_png(view))), view)


@pytest.mark.parametrize("bad", [np.zeros((4, 4), np.uint16), np.zeros((4, 4, 4), np.uint8)])
def test_png_refuses_what_is_not_8_bit_grey_or_rgb(bad: npt.NDArray[np.generic]) -> None:
    with pytest.raises(ValueError, match="expected"):
        encode_png(bad)  # type: ignore[arg-type]


def test_thumbnail_bounds_the_longer_side_and_keeps_the_aspect() -> None:
    pixels = np.zeros((300, 600, 3), dtype=np.uint8)
    pixels[:, 300:] = (0, 0, 255)  # right half blue
    thumb = decode(make_thumbnail(pixels, 256))
    assert thumb.format == "JPEG" and thumb.size == (256, 128)
    array = np.asarray(thumb).astype(int)
    assert array[64, 10].max() < 20 and array[64, 250, 2] > 230


def test_thumbnail_never_enlarges() -> None:
    pixels = np.full((50, 100), 200, dtype=np.uint8)
    thumb = decode(make_thumbnail(pixels, 512))
    assert thumb.size == (100, 50) and thumb.mode == "L"
    assert abs(int(np.asarray(thumb).mean()) - 200) <= 1


def test_thumbnail_downsampling_is_smooth() -> None:
    """A one-pixel checkerboard averages to mid grey (a nearest-neighbour shrink would
    alias it to black or white)."""
    board = (np.indices((800, 800)).sum(axis=0) % 2 * 255).astype(np.uint8)
    thumb = np.asarray(decode(make_thumbnail(board, 100))).astype(int)
    assert abs(thumb.mean() - 127.5) < 4 and thumb.std() < 6


def test_fit_within() -> None:
    assert fit_within(3328, 4096, 512) == (416, 512)
    assert fit_within(4096, 3328, 256) == (256, 208)
    assert fit_within(10, 5, 256) == (10, 5)
    assert fit_within(1000, 1, 10) == (10, 1)
    with pytest.raises(ValueError, match="max_size"):
        fit_within(10, 10, 0)
