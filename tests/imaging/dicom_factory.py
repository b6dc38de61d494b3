"""Build DICOM files for tests and benches: ``make_dicom(path, rows=…, columns=…, …)``.

Any test (imaging, uploads, API, the benches) can make the image it needs: grey 8/16-bit,
signed or not, MONOCHROME1/2, RGB, YBR_FULL, palette colour, multi-frame, with a window, a
VOI LUT, a rescale, padding, and written uncompressed, RLE, deflated or JPEG 2000, with or
without the 128-byte preamble and file meta. Values are written exactly as given, so a
test can assert the rendering of known pixels.
"""

import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import (
    UID,
    CTImageStorage,
    DeflatedExplicitVRLittleEndian,
    DigitalMammographyXRayImageStorageForPresentation,
    ExplicitVRLittleEndian,
    SecondaryCaptureImageStorage,
    generate_uid,
)

SOP_CLASSES = {
    "MG": DigitalMammographyXRayImageStorageForPresentation,
    "CT": CTImageStorage,
}


@dataclass(frozen=True)
class Lut:
    """A VOI (or Modality) LUT: ``data[i]`` is the output for input ``first_mapped + i``."""

    data: npt.NDArray[Any]
    first_mapped: int = 0
    bits: int = 16  # bits per entry, the descriptor's third value


@dataclass(frozen=True)
class Palette:
    """Palette colour tables, one entry per stored value from ``first_mapped``."""

    red: npt.NDArray[Any]
    green: npt.NDArray[Any]
    blue: npt.NDArray[Any]
    first_mapped: int = 0
    bits: int = 16  # 8 or 16 bits per entry


def default_pixels(
    rows: int, columns: int, frames: int, bits_stored: int, signed: bool, samples: int
) -> npt.NDArray[Any]:
    """A left-to-right ramp over the whole stored range, shifted per frame."""
    low = -(1 << (bits_stored - 1)) if signed else 0
    high = (1 << (bits_stored - 1)) - 1 if signed else (1 << bits_stored) - 1
    ramp = np.linspace(low, high, columns)
    planes = []
    for index in range(frames):
        shifted = low + (ramp - low + index * (high - low) / max(frames, 1)) % (high - low + 1)
        plane = np.broadcast_to(shifted, (rows, columns))
        if samples > 1:
            plane = np.stack(
                [plane, plane[:, ::-1], np.full_like(plane, (low + high) / 2)], axis=-1
            )
        planes.append(plane)
    return np.rint(np.stack(planes)).astype(np.int64)


def make_dicom(
    path: Path | str,
    *,
    rows: int = 64,
    columns: int = 64,
    bits: int = 16,
    bits_stored: int | None = None,
    signed: bool = False,
    photometric: str = "MONOCHROME2",
    frames: int = 1,
    pixels: npt.ArrayLike | None = None,
    window: tuple[float, float] | Sequence[tuple[float, float]] | None = None,
    voi_function: str | None = None,
    voi_lut: Lut | None = None,
    modality_lut: Lut | None = None,
    rescale: tuple[float, float] | None = None,
    palette: Palette | None = None,
    padding: int | None = None,
    modality: str = "MG",
    laterality: str | None = "L",
    view: str | None = "CC",
    body_part: str | None = "BREAST",
    patient_id: str = "VES-0001",
    patient_name: str = "Test^Patient",
    study_date: dt.date | None = dt.date(2024, 5, 17),
    manufacturer: str = "Vesalius Test Factory",
    study_instance_uid: str | None = None,
    series_instance_uid: str | None = None,
    sop_instance_uid: str | None = None,
    transfer_syntax: str = ExplicitVRLittleEndian,
    file_meta: bool = True,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write a DICOM file to ``path`` and return the path.

    ``pixels`` is (rows, columns), (frames, rows, columns) or with a trailing axis of 3 for
    colour; when omitted a ramp is used. ``window`` is one (center, width) or several.
    ``file_meta=False`` writes a bare data set: no preamble, no ``DICM``, no file meta.
    """
    # Every keyword but these two describes the data set: hand them all on, unchanged.
    options = {k: v for k, v in locals().items() if k not in ("path", "file_meta")}
    ds = build_dataset(**options)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    if file_meta:
        ds.save_as(target, enforce_file_format=True)
    else:
        ds.preamble = None
        del ds.file_meta
        ds.save_as(target, implicit_vr=False, little_endian=True)
    return target


def dicom_bytes(**options: Any) -> bytes:
    """The same as ``make_dicom`` but returns the file's bytes."""
    buffer = io.BytesIO()
    ds = build_dataset(**options)
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def build_dataset(
    *,
    rows: int = 64,
    columns: int = 64,
    bits: int = 16,
    bits_stored: int | None = None,
    signed: bool = False,
    photometric: str = "MONOCHROME2",
    frames: int = 1,
    pixels: npt.ArrayLike | None = None,
    window: tuple[float, float] | Sequence[tuple[float, float]] | None = None,
    voi_function: str | None = None,
    voi_lut: Lut | None = None,
    modality_lut: Lut | None = None,
    rescale: tuple[float, float] | None = None,
    palette: Palette | None = None,
    padding: int | None = None,
    modality: str = "MG",
    laterality: str | None = "L",
    view: str | None = "CC",
    body_part: str | None = "BREAST",
    patient_id: str = "VES-0001",
    patient_name: str = "Test^Patient",
    study_date: dt.date | None = dt.date(2024, 5, 17),
    manufacturer: str = "Vesalius Test Factory",
    study_instance_uid: str | None = None,
    series_instance_uid: str | None = None,
    sop_instance_uid: str | None = None,
    transfer_syntax: str = ExplicitVRLittleEndian,
    extra: dict[str, Any] | None = None,
) -> Dataset:
    stored = bits_stored or bits
    samples = 3 if photometric in ("RGB", "YBR_FULL") else 1
    sop_class = SOP_CLASSES.get(modality, SecondaryCaptureImageStorage)
    sop_instance = UID(sop_instance_uid) if sop_instance_uid else generate_uid()

    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = sop_class
    ds.file_meta.MediaStorageSOPInstanceUID = sop_instance
    ds.file_meta.TransferSyntaxUID = UID(ExplicitVRLittleEndian)
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = sop_instance
    ds.StudyInstanceUID = study_instance_uid or generate_uid()
    ds.SeriesInstanceUID = series_instance_uid or generate_uid()
    ds.PatientID = patient_id
    ds.PatientName = patient_name
    if study_date is not None:
        ds.StudyDate = study_date.strftime("%Y%m%d")
    ds.Modality = modality
    ds.Manufacturer = manufacturer
    if body_part:
        ds.BodyPartExamined = body_part
    if view:
        ds.ViewPosition = view
    if laterality:
        ds.ImageLaterality = laterality
    ds.InstanceNumber = 1

    ds.Rows, ds.Columns = rows, columns
    ds.SamplesPerPixel = samples
    ds.PhotometricInterpretation = photometric
    if samples > 1:
        ds.PlanarConfiguration = 0
    ds.BitsAllocated = bits
    ds.BitsStored = stored
    ds.HighBit = stored - 1
    ds.PixelRepresentation = 1 if signed else 0
    if frames > 1:
        ds.NumberOfFrames = frames
    if photometric in ("MONOCHROME1", "MONOCHROME2") and modality == "MG":
        ds.PresentationLUTShape = "INVERSE" if photometric == "MONOCHROME1" else "IDENTITY"
    _add_grey_attributes(ds, window, voi_function, voi_lut, modality_lut, rescale, padding)
    if palette is not None:
        _add_palette(ds, palette)
    for keyword, value in (extra or {}).items():
        setattr(ds, keyword, value)

    ds.PixelData = _pixel_bytes(ds, pixels, frames, samples)
    if transfer_syntax == DeflatedExplicitVRLittleEndian:
        ds.file_meta.TransferSyntaxUID = DeflatedExplicitVRLittleEndian
    elif UID(transfer_syntax) != ExplicitVRLittleEndian:
        ds.compress(UID(transfer_syntax))
    return ds


def mammogram_pixels(
    rows: int, columns: int, *, bits_stored: int = 12, seed: int = 0
) -> npt.NDArray[np.uint16]:
    """A plausible mammogram: breast tissue against the chest wall (left), empty background
    (0) elsewhere, glandular texture and quantum noise, so compression behaves as on a
    real one (a flat synthetic image would make PNG look far cheaper than it is)."""
    rng = np.random.default_rng(seed)
    top = (1 << bits_stored) - 1
    y = np.linspace(-1, 1, rows, dtype=np.float32)[:, None]
    x = np.linspace(0, 1, columns, dtype=np.float32)[None, :]
    radius = np.sqrt((x / 0.75) ** 2 + (y / 0.92) ** 2)
    inside = radius < 1
    coarse = rng.random((rows // 96 + 2, columns // 96 + 2), dtype=np.float32)
    texture = np.asarray(
        Image.fromarray(coarse, mode="F").resize((columns, rows), Image.Resampling.BICUBIC)
    )
    tissue = (0.35 + 0.4 * np.sqrt(np.clip(1 - radius, 0, 1)) + 0.25 * texture) * top * 0.8
    tissue += rng.normal(0, top * 0.01, size=(rows, columns)).astype(np.float32)
    image = np.where(inside, np.clip(tissue, 1, top), 0)
    return image.astype(np.uint16)


def _add_grey_attributes(
    ds: Dataset,
    window: tuple[float, float] | Sequence[tuple[float, float]] | None,
    voi_function: str | None,
    voi_lut: Lut | None,
    modality_lut: Lut | None,
    rescale: tuple[float, float] | None,
    padding: int | None,
) -> None:
    if window is not None:
        pairs = [window] if isinstance(window[0], int | float) else list(window)
        centers = [float(pair[0]) for pair in pairs]  # type: ignore[index]
        widths = [float(pair[1]) for pair in pairs]  # type: ignore[index]
        ds.WindowCenter = centers if len(centers) > 1 else centers[0]
        ds.WindowWidth = widths if len(widths) > 1 else widths[0]
    if voi_function:
        ds.VOILUTFunction = voi_function
    if voi_lut is not None:
        ds.VOILUTSequence = DicomSequence([_lut_item(voi_lut)])
    if modality_lut is not None:
        item = _lut_item(modality_lut)
        item.ModalityLUTType = "US"
        ds.ModalityLUTSequence = DicomSequence([item])
    if rescale is not None:
        ds.RescaleSlope, ds.RescaleIntercept = rescale
        ds.RescaleType = "HU" if ds.Modality == "CT" else "US"
    if padding is not None:
        ds.PixelPaddingValue = padding


def _lut_item(lut: Lut) -> Dataset:
    item = Dataset()
    entries = len(lut.data)
    item.LUTDescriptor = [entries if entries < 65536 else 0, lut.first_mapped, lut.bits]
    item.LUTData = [int(value) for value in np.asarray(lut.data)]
    item["LUTData"].VR = "US"
    item["LUTDescriptor"].VR = "SS" if lut.first_mapped < 0 else "US"
    return item


def _add_palette(ds: Dataset, palette: Palette) -> None:
    entries = len(palette.red)
    descriptor = [entries if entries < 65536 else 0, palette.first_mapped, palette.bits]
    dtype = "<u2" if palette.bits == 16 else "u1"
    for colour, table in (("Red", palette.red), ("Green", palette.green), ("Blue", palette.blue)):
        setattr(ds, f"{colour}PaletteColorLookupTableDescriptor", descriptor)
        data = np.asarray(table).astype(dtype).tobytes()
        if len(data) % 2:
            data += b"\x00"
        setattr(ds, f"{colour}PaletteColorLookupTableData", data)
        ds[f"{colour}PaletteColorLookupTableDescriptor"].VR = "US"


def _pixel_bytes(ds: Dataset, pixels: npt.ArrayLike | None, frames: int, samples: int) -> bytes:
    signed = ds.PixelRepresentation == 1
    if pixels is None:
        array = default_pixels(ds.Rows, ds.Columns, frames, ds.BitsStored, signed, samples)
    else:
        array = np.asarray(pixels)
    expected = (frames, ds.Rows, ds.Columns) + ((samples,) if samples > 1 else ())
    array = array.reshape(expected)
    kind = "i" if signed else "u"
    data = array.astype(f"<{kind}{ds.BitsAllocated // 8}").tobytes()
    return data + b"\x00" if len(data) % 2 else data
