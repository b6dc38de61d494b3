"""render_dicom: every bundled syntax decodes, and the pixels are the right ones."""

import importlib.util
import io
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from pydicom import dcmread, uid
from pydicom.pixels.processing import (
    apply_color_lut,
    apply_modality_lut,
    apply_voi_lut,
    convert_color_space,
)
from pydicom.uid import DeflatedExplicitVRLittleEndian, JPEG2000Lossless, RLELossless

from tests.imaging.dicom_factory import Palette, make_dicom
from tests.imaging.reference import bundled, dicom_linear
from vesalius.imaging.dicom_codecs import JPEG12_PLUGIN, plugins_for
from vesalius.imaging.dicom_io import HEADER_INFLATE_LIMIT, inflate_pixels, open_dicom
from vesalius.imaging.render import (
    CorruptImage,
    FrameOutOfRange,
    ImageTooLarge,
    RenderError,
    UnsupportedImage,
    render_dicom,
)

# Every syntax the issue names, through the real files pydicom ships:
# (file, transfer syntax, grey or colour).
BUNDLED = [
    ("CT_small.dcm", "explicit VR little endian", "grey"),
    ("MR_small.dcm", "explicit VR little endian", "grey"),
    ("MR_small_implicit.dcm", "implicit VR little endian", "grey"),
    ("MR_small_bigendian.dcm", "explicit VR big endian", "grey"),
    ("MR_small_RLE.dcm", "RLE", "grey"),
    ("image_dfl.dcm", "deflated", "grey"),
    ("JPEG2000.dcm", "JPEG 2000", "grey"),
    ("693_J2KI.dcm", "JPEG 2000 (lossy, signed, rescaled)", "grey"),
    ("MR_small_jp2klossless.dcm", "JPEG 2000 lossless", "grey"),
    ("MR_small_jpeg_ls_lossless.dcm", "JPEG-LS lossless", "grey"),
    ("JPEGLSNearLossless_16.dcm", "JPEG-LS near-lossless", "grey"),
    ("JPGExtended.dcm", "JPEG extended, 12-bit", "grey"),
    ("JPEG-lossy.dcm", "JPEG extended, 12-bit", "grey"),
    ("liver_1frame.dcm", "1-bit segmentation", "grey"),
    ("rtdose.dcm", "32-bit dose, multi-frame", "grey"),
    ("SC_rgb_jpeg_gdcm.dcm", "JPEG lossless SV1, RGB", "colour"),
    ("SC_rgb_jpeg_dcmtk.dcm", "JPEG baseline, YBR_FULL", "colour"),
    ("examples_ybr_color.dcm", "JPEG baseline, YBR_FULL_422, 30 frames", "colour"),
    ("SC_rgb_rle.dcm", "RLE, RGB", "colour"),
    ("SC_rgb_rle_16bit.dcm", "RLE, 16-bit RGB", "colour"),
    ("SC_rgb_small_odd.dcm", "explicit, RGB, odd size", "colour"),
    ("SC_ybr_full_422_uncompressed.dcm", "explicit, YBR_FULL_422", "colour"),
    ("SC_rgb_jls_lossy_line.dcm", "JPEG-LS near-lossless, RGB", "colour"),
    ("examples_jpeg2k.dcm", "JPEG 2000, YBR_RCT", "colour"),
    ("examples_palette.dcm", "palette colour", "colour"),
]

# The ten horizontal bands of pydicom's SC_rgb_* test images, top to bottom.
SC_BANDS = [
    (255, 0, 0),
    (255, 128, 128),
    (0, 255, 0),
    (128, 255, 128),
    (0, 0, 255),
    (128, 128, 255),
    (0, 0, 0),
    (64, 64, 64),
    (192, 192, 192),
    (255, 255, 255),
]


def band_colours(pixels: npt.NDArray[np.uint8]) -> list[tuple[int, ...]]:
    return [tuple(int(v) for v in pixels[row, 50]) for row in range(5, 100, 10)]


def pydicom_reference(path: Path) -> npt.NDArray[np.float64]:
    """pydicom's own decode + modality LUT + VOI LUT, scaled to 0–255 the way its
    ``apply_windowing`` defines the output range (PS3.3 C.11.2.1.2)."""
    ds = dcmread(path)
    out = apply_voi_lut(apply_modality_lut(ds.pixel_array, ds), ds, prefer_lut=False)
    bits = ds.BitsStored
    low, high = (
        (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if ds.PixelRepresentation else (0, 2**bits - 1)
    )
    if "RescaleSlope" in ds:
        low = low * ds.RescaleSlope + ds.RescaleIntercept
        high = high * ds.RescaleSlope + ds.RescaleIntercept
    scaled: npt.NDArray[np.float64] = (np.asarray(out, dtype=np.float64) - low) / (high - low) * 255
    return scaled


# -- every syntax ---------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "syntax", "kind"), BUNDLED, ids=[b[0] for b in BUNDLED])
def test_bundled_file_decodes_to_sane_pixels(name: str, syntax: str, kind: str) -> None:
    ds = dcmread(bundled(name), stop_before_pixels=True)
    rendered = render_dicom(bundled(name))
    shape = (ds.Rows, ds.Columns) if kind == "grey" else (ds.Rows, ds.Columns, 3)
    assert rendered.pixels.shape == shape, syntax
    assert rendered.pixels.dtype == np.uint8
    assert rendered.pixels.std() > 5, f"{syntax}: nearly constant output"
    assert (rendered.width, rendered.height) == (ds.Columns, ds.Rows)
    assert rendered.frames == int(ds.get("NumberOfFrames") or 1)
    assert rendered.bit_depth == ds.BitsStored


@pytest.mark.parametrize(
    "name",
    [
        "MR_small.dcm",
        "MR_small_RLE.dcm",
        "MR_small_jpeg_ls_lossless.dcm",
        "MR_small_jp2klossless.dcm",
        "693_J2KI.dcm",
        "J2K_pixelrep_mismatch.dcm",
    ],
)
def test_matches_pydicom_decode_and_window(name: str) -> None:
    """Files with a stored window: ours equals pydicom's pipeline to within rounding."""
    ours = render_dicom(bundled(name)).pixels.astype(np.float64)
    reference = pydicom_reference(bundled(name))
    assert np.abs(ours - reference).max() <= 1.0


def test_12_bit_jpeg_extended_matches_pydicom_reference_values() -> None:
    """pydicom refuses 12-bit JPEG through GDCM; our plugin decodes it. The stored values
    pydicom's own test suite expects for this file are 244 at (420, 140), 95 at (230, 120):
    with the window set to map stored values 1:1 onto 0–255, we see them exactly."""
    rendered = render_dicom(bundled("JPGExtended.dcm"), window=(128, 256))
    assert rendered.pixels[420, 140] == 244
    assert rendered.pixels[230, 120] == 95


def test_rgb_and_ybr_colours() -> None:
    assert band_colours(render_dicom(bundled("SC_rgb_rle.dcm")).pixels) == SC_BANDS
    assert band_colours(render_dicom(bundled("SC_rgb_jpeg_gdcm.dcm")).pixels) == SC_BANDS
    for name in ("SC_ybr_full_422_uncompressed.dcm", "SC_rgb_jpeg_dcmtk.dcm"):
        colours = np.array(band_colours(render_dicom(bundled(name)).pixels))
        assert np.abs(colours - np.array(SC_BANDS)).max() <= 5, name  # YBR rounding, JPEG loss
    # 16-bit RGB scaled to 8 bits keeps the same colours
    assert band_colours(render_dicom(bundled("SC_rgb_rle_16bit.dcm")).pixels) == SC_BANDS


def test_palette_colour_matches_pydicom() -> None:
    ds = dcmread(bundled("examples_palette.dcm"))
    expected = apply_color_lut(ds.pixel_array, ds) >> 8  # 16-bit entries
    rendered = render_dicom(bundled("examples_palette.dcm"))
    assert np.array_equal(rendered.pixels, expected.astype(np.uint8))


def test_generated_palette_gives_known_colours(tmp_path: Path) -> None:
    palette = Palette(
        red=np.array([255, 0, 0, 255]) * 257,
        green=np.array([0, 255, 0, 255]) * 257,
        blue=np.array([0, 0, 255, 255]) * 257,
    )
    pixels = np.array([[0, 1], [2, 3]])
    path = make_dicom(
        tmp_path / "p.dcm",
        rows=2,
        columns=2,
        bits=8,
        photometric="PALETTE COLOR",
        pixels=pixels,
        palette=palette,
    )
    rendered = render_dicom(path)
    assert rendered.pixels.tolist() == [[[255, 0, 0], [0, 255, 0]], [[0, 0, 255], [255, 255, 255]]]
    assert rendered.window is None


def test_generated_rgb_and_ybr_full(tmp_path: Path) -> None:
    rgb = np.array([[[255, 0, 0], [0, 255, 0]], [[0, 0, 255], [90, 160, 30]]], dtype=np.uint8)
    path = make_dicom(
        tmp_path / "rgb.dcm", rows=2, columns=2, bits=8, photometric="RGB", pixels=rgb
    )
    assert np.array_equal(render_dicom(path).pixels, rgb)
    ybr = convert_color_space(rgb, "RGB", "YBR_FULL")
    path = make_dicom(
        tmp_path / "ybr.dcm", rows=2, columns=2, bits=8, photometric="YBR_FULL", pixels=ybr
    )
    assert np.abs(render_dicom(path).pixels.astype(int) - rgb).max() <= 2


# -- frames, size, progress -----------------------------------------------------------------
@pytest.mark.parametrize(
    "syntax", ["1.2.840.10008.1.2.1", RLELossless, JPEG2000Lossless, DeflatedExplicitVRLittleEndian]
)
def test_multi_frame_selects_the_frame(tmp_path: Path, syntax: str) -> None:
    frames = np.stack([np.full((64, 64), value) for value in (100, 200, 300)])
    path = make_dicom(
        tmp_path / "f.dcm",
        rows=64,
        columns=64,
        frames=3,
        pixels=frames,
        window=(200, 101),
        transfer_syntax=syntax,
    )
    outputs = [int(render_dicom(path, frame=index).pixels[8, 8]) for index in range(3)]
    assert outputs == dicom_linear(np.array([100, 200, 300]), 200, 101).tolist() == [0, 129, 255]
    assert render_dicom(path, frame=2).frames == 3
    with pytest.raises(FrameOutOfRange, match="frame 3 does not exist: the image has 3 frames"):
        render_dicom(path, frame=3)


def test_frame_out_of_range_is_unsupported_and_an_index_error() -> None:
    with pytest.raises(UnsupportedImage):
        render_dicom(bundled("CT_small.dcm"), frame=1)
    with pytest.raises(IndexError):
        render_dicom(bundled("CT_small.dcm"), frame=-1)


def test_second_frame_of_a_bundled_rgb_file() -> None:
    inverted = [tuple(255 - v for v in colour) for colour in SC_BANDS]
    colours = np.array(band_colours(render_dicom(bundled("SC_rgb_rle_2frame.dcm"), frame=1).pixels))
    assert np.abs(colours - np.array(inverted)).max() <= 1


def test_max_size_keeps_the_aspect(tmp_path: Path) -> None:
    path = make_dicom(tmp_path / "r.dcm", rows=200, columns=300)
    assert render_dicom(path, max_size=100).pixels.shape == (67, 100)
    assert render_dicom(path, max_size=1000).pixels.shape == (200, 300)  # never enlarged
    rendered = render_dicom(bundled("SC_rgb_rle.dcm"), max_size=50)
    assert rendered.pixels.shape == (50, 50, 3)
    assert (rendered.width, rendered.height) == (100, 100)  # of the source
    assert band_colours(np.repeat(np.repeat(rendered.pixels, 2, 0), 2, 1))[0] == (255, 0, 0)


def test_progress_increases_to_100() -> None:
    seen: list[int] = []
    render_dicom(bundled("CT_small.dcm"), progress=seen.append)
    assert len(seen) >= 3 and seen == sorted(seen) and seen[-1] == 100


def test_renders_from_a_stream() -> None:
    data = bundled("MR_small.dcm").read_bytes()
    assert np.array_equal(
        render_dicom(io.BytesIO(data)).pixels, render_dicom(bundled("MR_small.dcm")).pixels
    )


def test_a_preamble_less_file_renders_like_the_original(tmp_path: Path) -> None:
    pixels = np.arange(64 * 64).reshape(64, 64) % 3000
    with_meta = make_dicom(tmp_path / "a.dcm", pixels=pixels, window=(1500, 3000))
    bare = make_dicom(tmp_path / "b.dcm", pixels=pixels, window=(1500, 3000), file_meta=False)
    assert np.array_equal(render_dicom(with_meta).pixels, render_dicom(bare).pixels)


# -- failures -------------------------------------------------------------------------------
def test_truncated_files_are_corrupt() -> None:
    with pytest.raises(CorruptImage, match="truncated"):
        render_dicom(bundled("MR_truncated.dcm"))
    data = bundled("CT_small.dcm").read_bytes()
    for cut in (1000, len(data) - 1000):
        with pytest.raises(CorruptImage, match="truncated"):
            render_dicom(io.BytesIO(data[:cut]))


def test_corrupt_compressed_pixel_data(tmp_path: Path) -> None:
    data = bytearray(bundled("JPEG2000.dcm").read_bytes())
    start = data.index(b"\xff\x4f\xff\x51")  # the JPEG 2000 codestream's SOC and SIZ markers
    data[start + 4 : start + 40] = bytes(36)  # the image header (the fragment is 250 bytes)
    with pytest.raises(CorruptImage, match="cannot be decoded"):
        render_dicom(io.BytesIO(bytes(data)))
    path = make_dicom(tmp_path / "r.dcm", transfer_syntax=RLELossless)
    rle = bytearray(path.read_bytes())
    header = rle.index(b"\x02\x00\x00\x00\x40\x00\x00\x00")  # 2 segments, the first at 64
    rle[header + 8 : header + 12] = b"\xff\xff\x00\x00"  # the second far past the end
    with pytest.raises(CorruptImage, match="segment offset"):
        render_dicom(io.BytesIO(bytes(rle)))


def test_native_pixel_data_shorter_than_the_image(tmp_path: Path) -> None:
    path = make_dicom(tmp_path / "s.dcm", rows=10, columns=10)
    ds = dcmread(path)
    ds.Rows = 20  # the header now promises twice the pixels present
    ds.save_as(path)
    with pytest.raises(CorruptImage, match="shorter than the image"):
        render_dicom(path)


@pytest.mark.parametrize("data", [b"", b"\x89PNG\r\n\x1a\n" + bytes(300), bytes(range(256)) * 3])
def test_non_dicom_is_corrupt(data: bytes) -> None:
    with pytest.raises(CorruptImage):
        render_dicom(io.BytesIO(data))


def test_dicom_without_pixels_is_unsupported() -> None:
    with pytest.raises(UnsupportedImage, match="no pixel data"):
        render_dicom(bundled("rtplan.dcm"))


def test_image_too_large(tmp_path: Path) -> None:
    path = make_dicom(tmp_path / "big.dcm", rows=100, columns=100)
    with pytest.raises(ImageTooLarge):
        render_dicom(path, max_pixels=9999)
    assert render_dicom(path, max_pixels=10_000).pixels.shape == (100, 100)


def test_bad_window_is_a_value_error() -> None:
    for window in ((40.0, 0.0), (40.0, -5.0), (float("nan"), 10.0)):
        with pytest.raises(ValueError, match="window"):
            render_dicom(bundled("CT_small.dcm"), window=window)


def test_every_failure_is_a_render_error() -> None:
    for error in (UnsupportedImage, CorruptImage, ImageTooLarge, FrameOutOfRange):
        assert issubclass(error, RenderError)


# -- decoders and odd files -----------------------------------------------------------------
def test_decoders_by_syntax_and_licence() -> None:
    """The JPEG family and JPEG-LS go through GDCM; the GPL pylibjpeg-libjpeg is absent."""
    assert importlib.util.find_spec("libjpeg") is None
    for syntax in (uid.JPEGBaseline8Bit, uid.JPEGLosslessSV1, uid.JPEGLSLossless):
        assert plugins_for(syntax, 8) == ["gdcm"]
    assert plugins_for(uid.JPEGExtended12Bit, 12) == [JPEG12_PLUGIN]
    assert plugins_for(uid.JPEG2000Lossless, 16) == ["pylibjpeg", "gdcm"]
    assert plugins_for(uid.RLELossless, 16) == ["pylibjpeg", "pydicom"]
    assert plugins_for(uid.ExplicitVRLittleEndian, 16) == [""]


def test_implicit_vr_body_under_an_explicit_syntax() -> None:
    """SC_rgb_jpeg.dcm declares explicit VR but is written implicit: pydicom warns, reads
    it anyway, and so do we (the pixel element header is read the same way)."""
    with pytest.warns(UserWarning, match="Expected explicit VR, but found implicit VR"):
        rendered = render_dicom(bundled("SC_rgb_jpeg.dcm"))
    with pytest.warns(UserWarning, match="Expected explicit VR, but found implicit VR"):
        reference = dcmread(bundled("SC_rgb_jpeg.dcm")).pixel_array
    assert np.array_equal(rendered.pixels, reference)  # a nearly uniform 256×256 image


def test_malformed_image_attributes_are_corrupt() -> None:
    with pytest.warns(UserWarning, match="Invalid value for VR IS"), pytest.raises(CorruptImage):
        render_dicom(bundled("badVR.dcm"))


def test_deflated_pixels_inflate_no_further_than_the_image(tmp_path: Path) -> None:
    """64 MiB of zeros after the pixel data deflate to ~64 KB. Opening inflates at most the
    16 MiB header allowance (pydicom would inflate all 64 MiB), and decoding no further."""
    path = make_dicom(
        tmp_path / "d.dcm", rows=64, columns=64, transfer_syntax=DeflatedExplicitVRLittleEndian
    )
    ds = dcmread(path)
    ds.add_new(0xFFFCFFFC, "OB", bytes(64 * 1024 * 1024))  # Data Set Trailing Padding
    ds.save_as(path)
    assert path.stat().st_size < 200_000
    with open_dicom(path) as opened:
        assert opened.pixel is not None
        inflate_pixels(opened, opened.pixel.value_offset + 64 * 64 * 2)
        assert opened.size <= HEADER_INFLATE_LIMIT
    assert render_dicom(path).pixels.shape == (64, 64)
