"""The grey pipeline: windows on known values, rescale, Modality and VOI LUTs, MONOCHROME1,
the automatic window."""

from pathlib import Path

import numpy as np
import pytest
from pydicom import dcmread

from tests.imaging.dicom_factory import Lut, make_dicom
from tests.imaging.reference import KNOWN, bundled, dicom_linear
from vesalius.imaging.render import render_dicom


@pytest.mark.parametrize("tiles", [1, 5000], ids=["per-pixel", "full-table"])
def test_file_window_on_known_values(tmp_path: Path, tiles: int) -> None:
    """Center 1000 width 200: ≤900 → 0, >1099 → 255, 1000 → 128. ``tiles`` repeats the row
    to cross the size at which a table over all 65,536 values is used."""
    pixels = np.tile(KNOWN, (tiles, 1))
    path = make_dicom(
        tmp_path / "w.dcm",
        rows=tiles,
        columns=len(KNOWN),
        pixels=pixels,
        window=(1000, 200),
        modality="OT",
    )
    rendered = render_dicom(path)
    row = rendered.pixels[0].astype(np.int64)
    assert row.tolist() == dicom_linear(KNOWN, 1000, 200).tolist()
    assert row[KNOWN <= 900].max() == 0
    assert row[KNOWN >= 1100].min() == 255
    assert row[KNOWN == 1000][0] == 128
    assert rendered.window == (1000.0, 200.0)
    assert (rendered.pixels == rendered.pixels[0]).all()


def test_explicit_window_wins_over_the_file(tmp_path: Path) -> None:
    path = make_dicom(
        tmp_path / "w.dcm", rows=1, columns=len(KNOWN), pixels=KNOWN, window=(1000, 200)
    )
    rendered = render_dicom(path, window=(2000.0, 4000.0))
    assert rendered.window == (2000.0, 4000.0)
    assert rendered.pixels[0].tolist() == dicom_linear(KNOWN, 2000, 4000).tolist()


def test_signed_pixels_with_unused_high_bits(tmp_path: Path) -> None:
    """12-bit signed values stored without sign extension (high bits zero) still read as
    negative numbers: -5 stored as 0x0FFB."""
    raw = np.array([[0x0FFB, 5, 0x0800, 0x07FF]], dtype=np.uint16)  # -5, 5, -2048, 2047
    path = make_dicom(
        tmp_path / "s.dcm",
        rows=1,
        columns=4,
        bits_stored=12,
        pixels=raw.astype(np.int64),
        window=(0, 20),
        modality="OT",
    )
    # The factory writes unsigned; flip Pixel Representation to signed afterwards.
    ds = dcmread(path)
    ds.PixelRepresentation = 1
    ds.save_as(path)
    assert (
        render_dicom(path).pixels[0].tolist()
        == dicom_linear(np.array([-5, 5, -2048, 2047]), 0, 20).tolist()
    )


def test_rescale_is_applied_before_the_window() -> None:
    """CT_small: HU = stored - 1024. A soft-tissue window in HU gives pydicom's result on
    the rescaled values, not on the raw ones."""
    ds = dcmread(bundled("CT_small.dcm"))
    assert (ds.RescaleSlope, ds.RescaleIntercept) == (1, -1024)
    rendered = render_dicom(bundled("CT_small.dcm"), window=(40, 400))
    hu = ds.pixel_array.astype(np.float64) - 1024
    assert np.array_equal(rendered.pixels, dicom_linear(hu, 40, 400))
    raw_window = dicom_linear(ds.pixel_array.astype(np.float64), 40, 400)
    assert (rendered.pixels != raw_window).mean() > 0.5  # the rescale made a difference


def test_modality_lut_sequence(tmp_path: Path) -> None:
    lut = Lut(np.array([0, 100, 200, 300]), first_mapped=10, bits=16)
    pixels = np.array([[5, 10, 11, 12, 13, 99]])  # below, in and above the LUT's range
    path = make_dicom(
        tmp_path / "m.dcm",
        rows=1,
        columns=6,
        pixels=pixels,
        modality_lut=lut,
        window=(150, 300),
        modality="OT",
    )
    # modality values 0, 0, 100, 200, 300, 300
    expected = dicom_linear(np.array([0, 0, 100, 200, 300, 300]), 150, 300)
    assert render_dicom(path).pixels[0].tolist() == expected.tolist()


def test_mammogram_monochrome1_with_voi_lut(tmp_path: Path) -> None:
    """A mammography-sized 16-bit MONOCHROME1 image with a VOI LUT Sequence and no window:
    the LUT (not an automatic window) is used, and bright and dark are inverted."""
    rows, columns = 4096, 3328  # full field digital mammography, 27 MB
    rng = np.random.default_rng(7)
    pixels = rng.integers(0, 4096, size=(rows, columns))  # widely spread: an auto window differs
    pixels[:100, :100] = 200  # LUT → 0 → inverted: white
    pixels[:100, -100:] = 3500  # LUT → 4095 → inverted: black
    pixels[-100:, :100] = 2000  # LUT → half → inverted: mid grey
    pixels[-100:, -100:] = 1500  # LUT → a quarter → inverted: three quarters
    entries = np.arange(4096)
    table = np.clip((entries - 1000) / 2000, 0, 1) * 4095  # a steep ramp from 1000 to 3000
    path = make_dicom(
        tmp_path / "mg.dcm",
        rows=rows,
        columns=columns,
        bits_stored=12,
        photometric="MONOCHROME1",
        pixels=pixels,
        voi_lut=Lut(np.rint(table).astype(np.uint16), bits=12),
    )
    assert "WindowCenter" not in dcmread(path, stop_before_pixels=True)
    rendered = render_dicom(path)
    assert rendered.window is None  # the LUT, not a window
    image = rendered.pixels
    assert (image[:100, :100] == 255).all()
    assert (image[:100, -100:] == 0).all()
    assert abs(int(image[-50, 50]) - 128) <= 1
    assert abs(int(image[-50, -50]) - 191) <= 1
    # Everywhere: exactly 255 - LUT(value) scaled to 8 bits
    expected = 255 - np.rint(np.rint(table)[pixels] * 255 / 4095)
    assert np.array_equal(image, expected.astype(np.uint8))


def test_voi_lut_declared_16_bits_with_12_bit_data(tmp_path: Path) -> None:
    """Producers often declare 16 bits per entry for a 12-bit table: scale by the data."""
    table = np.linspace(0, 4095, 4096).astype(np.uint16)
    pixels = np.array([[0, 2048, 4095]])
    path = make_dicom(
        tmp_path / "v.dcm", rows=1, columns=3, pixels=pixels, voi_lut=Lut(table, bits=16)
    )
    assert render_dicom(path).pixels[0].tolist() == [0, 128, 255]


def test_window_in_the_file_wins_over_its_voi_lut(tmp_path: Path) -> None:
    path = make_dicom(
        tmp_path / "v.dcm",
        rows=1,
        columns=len(KNOWN),
        pixels=KNOWN,
        window=(1000, 200),
        voi_lut=Lut(np.zeros(4096, dtype=np.uint16), bits=12),
    )
    assert render_dicom(path).pixels[0].tolist() == dicom_linear(KNOWN, 1000, 200).tolist()


def test_automatic_window_ignores_background_and_outliers(tmp_path: Path) -> None:
    """No window, no LUT: 60 % background at 0, tissue 1000–2000, 0.1 % hot pixels at
    4095. The window spans the tissue: background black, 1500 mid-grey, hot pixels white."""
    rng = np.random.default_rng(3)
    pixels = rng.integers(1000, 2001, size=(500, 400))
    pixels[:300] = 0
    hot = rng.integers(0, 500 * 400, size=200)
    pixels.reshape(-1)[hot[hot >= 300 * 400]] = 4095
    pixels[400, 200] = 1500
    path = make_dicom(tmp_path / "a.dcm", rows=500, columns=400, bits_stored=12, pixels=pixels)
    rendered = render_dicom(path)
    assert rendered.window is not None
    center, width = rendered.window
    assert 1450 <= center <= 1550 and 950 <= width <= 1050
    assert (rendered.pixels[:300] == 0).all()
    assert abs(int(rendered.pixels[400, 200]) - 128) <= 3
    assert rendered.pixels.reshape(-1)[hot[hot >= 300 * 400]].min() == 255


def test_automatic_window_skips_pixel_padding(tmp_path: Path) -> None:
    pixels = np.full((300, 300), 4000)  # padding covers most of the frame, at the top value
    pixels[100:200, 100:200] = np.linspace(100, 300, 100)[None, :].round()
    path = make_dicom(
        tmp_path / "p.dcm",
        rows=300,
        columns=300,
        bits_stored=12,
        pixels=pixels,
        padding=4000,
        modality="CT",
        rescale=(1, -1024),
    )
    rendered = render_dicom(path)
    assert rendered.window is not None
    center, width = rendered.window
    assert center - width / 2 >= -924 - 1 and center + width / 2 <= -724 + 2  # HU of 100..300
    assert rendered.pixels[150, 100] == 0 and rendered.pixels[150, 199] == 255
