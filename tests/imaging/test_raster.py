"""PNG, JPEG, TIFF, BMP: sniffing, header-only info, orientation, pages, depth, bombs."""

import io
import struct
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vesalius.imaging.raster import read_raster_info, render_raster, sniff_raster
from vesalius.imaging.render import CorruptImage, ImageTooLarge, UnsupportedImage

LIMIT = 50_000_000


def encoded(image: Image.Image, format: str, **options: object) -> io.BytesIO:
    buffer = io.BytesIO()
    image.save(buffer, format=format, **options)
    buffer.seek(0)
    return buffer


def png_declaring(width: int, height: int) -> bytes:
    """A tiny, valid-looking PNG whose header declares ``width``×``height`` (a bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 1024))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(
    ("format", "kind"), [("PNG", "png"), ("JPEG", "jpg"), ("TIFF", "tif"), ("BMP", "bmp")]
)
def test_sniff_each_format(format: str, kind: str) -> None:
    head = encoded(Image.new("RGB", (4, 4)), format).read(32)
    assert sniff_raster(head) == kind


@pytest.mark.parametrize(
    "head",
    [
        b"MZ\x90\x00\x03\x00\x00\x00" + bytes(24),  # a Windows executable named .png
        b"\x7fELF\x02\x01\x01" + bytes(25),
        b"BM this is not a bitmap header at all",
        b"<html><body>",
        b"",
        b"\x00" * 128 + b"DICM",
    ],
)
def test_sniff_says_no(head: bytes) -> None:
    assert sniff_raster(head) is None


def test_a_png_that_is_really_an_executable_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "photo.png"
    path.write_bytes(b"MZ\x90\x00" + bytes(2000))
    with pytest.raises(UnsupportedImage, match="not a PNG, JPEG, TIFF or BMP"):
        render_raster(path, max_pixels=LIMIT)
    with pytest.raises(UnsupportedImage):
        read_raster_info(path)


def test_info_without_decoding(tmp_path: Path) -> None:
    path = tmp_path / "a.png"
    Image.new("RGBA", (30, 20)).save(path)
    info = read_raster_info(path)
    assert (info.format, info.width, info.height, info.frames, info.mode, info.bit_depth) == (
        "png",
        30,
        20,
        1,
        "RGBA",
        8,
    )


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    """Stored 40 wide × 20 high with a red marker in the stored top-left corner, and EXIF
    Orientation 6 (the camera was turned: display rotated 90° clockwise). Displayed, the
    image is 20 × 40 and the marker sits in the top-right corner."""
    stored = np.zeros((20, 40, 3), dtype=np.uint8)
    stored[:6, :6] = (255, 0, 0)
    image = Image.fromarray(stored)
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "phone.jpg"
    image.save(path, format="JPEG", exif=exif, quality=95)

    info = read_raster_info(path)
    assert (info.width, info.height) == (20, 40)
    rendered = render_raster(path, max_pixels=LIMIT)
    assert rendered.pixels.shape == (40, 20, 3)
    assert (rendered.width, rendered.height) == (20, 40)
    top_right = rendered.pixels[:4, -4:].reshape(-1, 3).mean(axis=0)
    assert top_right[0] > 200 and top_right[1:].max() < 60
    for corner in (rendered.pixels[:4, :4], rendered.pixels[-4:, :4], rendered.pixels[-4:, -4:]):
        assert corner.max() < 60


def test_multi_page_tiff_uses_the_first_page(tmp_path: Path) -> None:
    pages = [Image.new("L", (16, 8), value) for value in (40, 200, 120)]
    path = tmp_path / "pages.tif"
    pages[0].save(path, save_all=True, append_images=pages[1:])
    assert read_raster_info(path).frames == 3
    rendered = render_raster(path, max_pixels=LIMIT)
    assert rendered.frames == 3
    assert (rendered.pixels == 40).all()


def test_16_bit_png_uses_the_8_bit_range(tmp_path: Path) -> None:
    """A 12-bit detector image in a 16-bit PNG: a plain shift by 8 would give values up to
    15 (almost black); the percentile window spans 0–255."""
    ramp = np.tile(np.linspace(1000, 3000, 256).astype(np.uint16), (64, 1))
    path = tmp_path / "deep.png"
    Image.fromarray(ramp).save(path)
    info = read_raster_info(path)
    assert info.bit_depth == 16 and info.mode.startswith("I")
    rendered = render_raster(path, max_pixels=LIMIT)
    row = rendered.pixels[0].astype(int)
    assert row[0] == 0 and row[-1] == 255
    assert abs(row[128] - 128) <= 3
    assert (np.diff(row) >= 0).all()
    assert rendered.window is not None and abs(rendered.window[0] - 2000) < 30
    assert rendered.bit_depth == 16


def test_16_bit_tiff(tmp_path: Path) -> None:
    ramp = np.tile(np.linspace(0, 60000, 128).astype(np.uint16), (32, 1))
    path = tmp_path / "deep.tif"
    Image.fromarray(ramp).save(path)
    rendered = render_raster(path, max_pixels=LIMIT)
    assert rendered.pixels[0, 0] == 0 and rendered.pixels[0, -1] == 255


def test_decompression_bomb_is_too_large_without_any_warning(tmp_path: Path) -> None:
    """A 200-byte PNG declaring 100,000 × 100,000 pixels."""
    path = tmp_path / "bomb.png"
    path.write_bytes(png_declaring(100_000, 100_000))
    assert path.stat().st_size < 200
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning (Pillow's DecompressionBombWarning) fails
        with pytest.raises(ImageTooLarge, match="100000×100000"):
            read_raster_info(path, max_pixels=LIMIT)
        with pytest.raises(ImageTooLarge):
            render_raster(path, max_pixels=LIMIT)


def test_our_limit_replaces_pillows(tmp_path: Path) -> None:
    """11,000 × 11,000 is above Pillow's own threshold (~89 M, where it warns): with a
    higher ``max_pixels`` the header reads without any warning from Pillow."""
    path = tmp_path / "large.png"
    path.write_bytes(png_declaring(11_000, 11_000))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        info = read_raster_info(path, max_pixels=200_000_000)
    assert (info.width, info.height) == (11_000, 11_000)


def test_transparency_is_composited_on_black(tmp_path: Path) -> None:
    rgba = np.zeros((2, 2, 4), dtype=np.uint8)
    rgba[0, 0] = (255, 255, 255, 255)  # opaque white
    rgba[0, 1] = (255, 255, 255, 0)  # fully transparent white
    rgba[1, 0] = (200, 100, 50, 128)  # half transparent
    path = tmp_path / "a.png"
    Image.fromarray(rgba).save(path)
    pixels = render_raster(path, max_pixels=LIMIT).pixels
    assert pixels[0, 0].tolist() == [255, 255, 255]
    assert pixels[0, 1].tolist() == [0, 0, 0]
    assert pixels[1, 0].tolist() == [100, 50, 25]

    grey_alpha = Image.fromarray(np.array([[[200, 255], [200, 0]]], dtype=np.uint8), mode="LA")
    grey_alpha.save(tmp_path / "la.png")
    assert render_raster(tmp_path / "la.png", max_pixels=LIMIT).pixels.tolist() == [[200, 0]]


def test_palette_cmyk_bilevel_and_bmp(tmp_path: Path) -> None:
    palette = Image.new("P", (4, 4))
    palette.putpalette([10, 20, 30] + [0] * 765)
    palette.save(tmp_path / "p.png")
    assert render_raster(tmp_path / "p.png", max_pixels=LIMIT).pixels[0, 0].tolist() == [10, 20, 30]

    Image.new("CMYK", (4, 4), (0, 255, 255, 0)).save(tmp_path / "c.jpg", quality=100)
    red = render_raster(tmp_path / "c.jpg", max_pixels=LIMIT).pixels[2, 2].astype(int)
    assert red[0] > 230 and red[1] < 30 and red[2] < 30

    Image.new("1", (8, 8), 1).save(tmp_path / "b.png")
    assert (render_raster(tmp_path / "b.png", max_pixels=LIMIT).pixels == 255).all()

    Image.new("RGB", (5, 3), (1, 2, 3)).save(tmp_path / "a.bmp")
    rendered = render_raster(tmp_path / "a.bmp", max_pixels=LIMIT)
    assert rendered.pixels.shape == (3, 5, 3) and rendered.pixels[1, 1].tolist() == [1, 2, 3]


def test_max_size_keeps_aspect_and_uses_jpeg_draft(tmp_path: Path) -> None:
    gradient = np.tile(np.linspace(0, 255, 2000).astype(np.uint8), (1000, 1))
    path = tmp_path / "wide.jpg"
    Image.fromarray(gradient).save(path, quality=90)
    rendered = render_raster(path, max_size=100, max_pixels=LIMIT)
    assert rendered.pixels.shape == (50, 100)
    assert (rendered.width, rendered.height) == (2000, 1000)
    assert rendered.pixels[25, 0] < 10 and rendered.pixels[25, -1] > 245


def test_truncated_and_garbled_images_are_corrupt(tmp_path: Path) -> None:
    noise = np.random.default_rng(1).integers(0, 255, size=(64, 64, 3), dtype=np.uint8)
    data = encoded(Image.fromarray(noise), "PNG").getvalue()
    path = tmp_path / "cut.png"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptImage):
        render_raster(path, max_pixels=LIMIT)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(40))
    with pytest.raises(CorruptImage):
        read_raster_info(path)


def test_reads_from_a_stream() -> None:
    stream = encoded(Image.new("L", (7, 3), 99), "PNG")
    rendered = render_raster(stream, max_pixels=LIMIT)
    assert rendered.pixels.shape == (3, 7) and (rendered.pixels == 99).all()
