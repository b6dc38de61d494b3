"""The lookup-table pipeline agrees with pydicom and with PS3.5/PS3.3 on edge values."""

import numpy as np
import pytest
from pydicom.dataset import Dataset
from pydicom.pixels.processing import apply_windowing

from vesalius.imaging.lut import auto_window, stored_values, values_of, windowed


@pytest.mark.parametrize("function", ["LINEAR", "LINEAR_EXACT", "SIGMOID"])
@pytest.mark.parametrize(
    "window", [(1000.0, 200.0), (40.0, 400.0), (-600.0, 1500.0), (2047.5, 1.0), (0.0, 3.5)]
)
def test_windowing_equals_pydicom(function: str, window: tuple[float, float]) -> None:
    """Our windowing is pydicom's ``apply_windowing`` with an 8-bit output range."""
    values = np.linspace(-3000, 5000, 16001)
    proxy = Dataset()
    proxy.PhotometricInterpretation = "MONOCHROME2"
    proxy.BitsStored = 8
    proxy.PixelRepresentation = 0
    proxy.WindowCenter, proxy.WindowWidth = window
    proxy.VOILUTFunction = function
    with np.errstate(over="ignore"):  # pydicom's exp() overflows for steep sigmoids
        expected = apply_windowing(values.copy(), proxy)
    assert np.allclose(windowed(values, window, function), expected, atol=1e-9)


def test_linear_below_width_one_falls_back_to_linear_exact() -> None:
    """pydicom refuses LINEAR with a width under 1 (undefined there); we use LINEAR_EXACT."""
    values = np.array([9.0, 9.9, 10.0, 10.1, 11.0])
    assert (
        windowed(values, (10, 0.5), "LINEAR").tolist()
        == windowed(values, (10, 0.5), "LINEAR_EXACT").tolist()
    )
    with pytest.raises(ValueError, match="width"):
        windowed(values, (10, 0), "LINEAR")


def test_stored_values_mask_and_sign_extend() -> None:
    """PS3.5 8.1.1: only the low Bits Stored bits carry the value."""
    signed12 = stored_values(2, 12, signed=True)
    assert signed12[0x0FFB] == -5 and signed12[0xFFFB] == -5  # with and without extension
    assert signed12[0x07FF] == 2047 and signed12[0x0800] == -2048
    unsigned12 = stored_values(2, 12, signed=False)
    assert unsigned12[0xF123] == 0x123  # junk above the high bit ignored
    assert stored_values(1, 8, signed=True)[0xFF] == -1
    assert stored_values(2, 16, signed=True)[0x8000] == -32768
    patterns = np.array([0x0FFB, 5], dtype=np.uint16)
    assert values_of(patterns, 16, 12, signed=True).tolist() == [-5, 5]


def test_auto_window_uses_robust_percentiles() -> None:
    levels = np.arange(4096, dtype=np.float64)
    counts = np.zeros(4096, dtype=np.int64)
    counts[0] = 10_000  # background: dominant and darkest
    counts[1000:2001] = 10  # tissue
    counts[4095] = 5  # a few hot pixels (under 0.5 %)
    center, width = auto_window(levels, counts, np.zeros(4096, dtype=np.bool_))
    low, high = center - 0.5 - (width - 1) / 2, center - 0.5 + (width - 1) / 2
    assert 1000 <= low <= 1010 and 1990 <= high <= 2000


def test_auto_window_of_a_constant_image() -> None:
    counts = np.zeros(256, dtype=np.int64)
    counts[7] = 100
    center, width = auto_window(np.arange(256.0), counts, np.zeros(256, dtype=np.bool_))
    assert width >= 1 and center == 7.5
