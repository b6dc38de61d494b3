"""Files the imaging browser tests upload: real DICOM from pydicom, and small generated ones."""

import io
import os
from datetime import date
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import (
    DigitalMammographyXRayImageStorageForPresentation,
    ExplicitVRLittleEndian,
    MultiFrameGrayscaleWordSecondaryCaptureImageStorage,
    SecondaryCaptureImageStorage,
    generate_uid,
)

Upload = tuple[
    str, str, bytes
]  # name, MIME type, content — what Playwright's set_input_files takes


def ct_small() -> bytes:
    """pydicom's bundled CT slice (128×128, 16-bit signed, rescaled to Hounsfield units)."""
    path = get_testdata_file("CT_small.dcm", download=False)
    assert path is not None, "pydicom's test files are missing"
    return Path(path).read_bytes()


def png(width: int = 320, height: int = 240, *, seed: int = 0) -> bytes:
    """A colourful PNG with a gradient and a few shapes, so thumbnails visibly show it."""
    x = np.linspace(0, 255, width, dtype=np.float32)[None, :]
    y = np.linspace(0, 255, height, dtype=np.float32)[:, None]
    rgb = np.stack(
        [np.broadcast_to(x, (height, width)), np.broadcast_to(y, (height, width)), 255 - x + 0 * y],
        axis=-1,
    ).astype(np.uint8)
    image = Image.fromarray(rgb, "RGB")
    draw = ImageDraw.Draw(image)
    rng = np.random.default_rng(seed)
    disc = min(width, height) // 4
    for _ in range(4):
        left, top = int(rng.integers(0, width - disc)), int(rng.integers(0, height - disc))
        draw.ellipse((left, top, left + disc, top + disc), fill=(255, 255, 255), outline=(0, 0, 0))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def not_a_png() -> bytes:
    """Random bytes wearing a .png name: the upload must refuse it by its content."""
    return os.urandom(4096)


def _dicom(
    pixels: npt.NDArray[np.uint16],
    *,
    sop_class: str,
    modality: str,
    bits_stored: int,
    window: tuple[float, float] | None,
    extra: dict[str, str],
    photometric: str = "MONOCHROME2",
) -> bytes:
    frames, rows, columns = pixels.shape
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.Modality = modality
    ds.PatientName = "Test^Vesalius"
    ds.PatientID = "VES-UI-1"
    ds.StudyDate = date(2024, 5, 17).strftime("%Y%m%d")
    ds.Manufacturer = "Vesalius Test Factory"
    for keyword, value in extra.items():
        setattr(ds, keyword, value)
    ds.Rows, ds.Columns = rows, columns
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = photometric
    ds.BitsAllocated = 16
    ds.BitsStored = bits_stored
    ds.HighBit = bits_stored - 1
    ds.PixelRepresentation = 0
    if frames > 1:
        ds.NumberOfFrames = frames
    if window is not None:
        ds.WindowCenter, ds.WindowWidth = window
    ds.PixelData = np.ascontiguousarray(pixels, dtype="<u2").tobytes()
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def multiframe(frames: int = 6, size: int = 96) -> bytes:
    """A cine-like clip: a bright disc that moves from frame to frame."""
    yy, xx = np.mgrid[0:size, 0:size]
    clip = np.zeros((frames, size, size), dtype=np.uint16)
    for index in range(frames):
        cx = size * (index + 1) / (frames + 1)
        clip[index] = np.where((xx - cx) ** 2 + (yy - size / 2) ** 2 < (size / 6) ** 2, 3500, 400)
    return _dicom(
        clip,
        sop_class=MultiFrameGrayscaleWordSecondaryCaptureImageStorage,
        modality="OT",
        bits_stored=12,
        window=None,
        extra={},
    )


def mammogram(rows: int = 640, columns: int = 512) -> bytes:
    """A 12-bit left CC view: breast tissue against the chest wall, empty background."""
    rng = np.random.default_rng(7)
    y = np.linspace(-1, 1, rows, dtype=np.float32)[:, None]
    x = np.linspace(0, 1, columns, dtype=np.float32)[None, :]
    radius = np.sqrt((x / 0.75) ** 2 + (y / 0.92) ** 2)
    tissue = 900 + 2600 * np.sqrt(np.clip(1 - radius, 0, 1)) + rng.normal(0, 60, (rows, columns))
    pixels = np.where(radius < 1, np.clip(tissue, 1, 4095), 0).astype(np.uint16)[None]
    return _dicom(
        pixels,
        sop_class=DigitalMammographyXRayImageStorageForPresentation,
        modality="MG",
        bits_stored=12,
        window=(2600.0, 1400.0),
        extra={"ViewPosition": "CC", "ImageLaterality": "L", "BodyPartExamined": "BREAST"},
    )


def unconvertible_dicom() -> bytes:
    """A valid DICOM header (so the upload accepts it) with a colour model no renderer
    supports (the retired HSV), so its conversion fails for good."""
    return _dicom(
        np.zeros((1, 32, 32), dtype=np.uint16),
        sop_class=SecondaryCaptureImageStorage,
        modality="OT",
        bits_stored=12,
        window=None,
        extra={},
        photometric="HSV",
    )
