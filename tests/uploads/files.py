"""Files to upload: real DICOM from pydicom's wheel, generated images, and broken ones."""

import io
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image
from pydicom.data import get_testdata_file


def bundled_dicom(name: str) -> bytes:
    path = get_testdata_file(name, download=False)
    assert path is not None, f"{name} is not in pydicom's wheel"
    return Path(str(path)).read_bytes()


def png_bytes(width: int = 40, height: int = 30, mode: str = "L") -> bytes:
    gradient = np.tile(np.linspace(0, 255, width, dtype=np.uint8), (height, 1))
    image = Image.fromarray(gradient).convert(mode)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def jpeg_bytes(width: int = 40, height: int = 30) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(buffer, "JPEG")
    return buffer.getvalue()


def png_declaring(width: int, height: int) -> bytes:
    """A tiny valid-looking PNG whose header claims ``width`` × ``height`` (a bomb)."""
    raw = png_bytes(1, 1)
    ihdr_start = 8 + 8  # signature, then length + "IHDR"
    fields = struct.pack(">II", width, height) + raw[ihdr_start + 8 : ihdr_start + 13]
    crc = struct.pack(">I", zlib.crc32(b"IHDR" + fields))
    return raw[:ihdr_start] + fields + crc + raw[ihdr_start + 13 + 4 :]
