"""Shared by the imaging tests: pydicom's bundled files, and the DICOM window formula."""

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from pydicom.data import get_testdata_file


def bundled(name: str) -> Path:
    """A file pydicom ships, by exact name (a wildcard search would try the network)."""
    path = get_testdata_file(name, download=False)
    assert path is not None, f"{name} is not bundled with this pydicom"
    return Path(str(path))


# Values around the window center 1000 / width 200 edges.
KNOWN = np.array([0, 899, 900, 901, 950, 999, 1000, 1001, 1050, 1098, 1099, 1100, 1101, 4000])


def dicom_linear(x: npt.NDArray[Any], center: float, width: float) -> npt.NDArray[np.int64]:
    """PS3.3 C.11.2.1.2.1 with output 0–255, written independently of the code under test."""
    c, w = center - 0.5, width - 1
    y = ((x - c) / w + 0.5) * 255
    y = np.where(x <= c - w / 2, 0, np.where(x > c + w / 2, 255, y))
    return np.rint(y).astype(np.int64)
