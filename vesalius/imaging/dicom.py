"""Proving a file is DICOM and summarising it, from its header alone (no pixel decoding).

``read_summary`` is what the upload path calls before accepting a file: it parses up to the
pixel data, checks the file is whole, and returns the values the image table indexes.
"""

import datetime as dt
import os
import re
from dataclasses import dataclass, field
from typing import BinaryIO, Final

from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

from vesalius.imaging.dicom_io import (
    InvalidDicom,
    OpenedDicom,
    is_valid_uid,
    open_dicom,
    sniff_is_dicom,
)

__all__ = ["DicomSummary", "InvalidDicom", "read_summary", "sniff_is_dicom"]

# Column widths in the image table: 64 is the DICOM maximum for UIDs and LO/CS values.
ID_LENGTH: Final = 64
NAME_LENGTH: Final = 200
_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})")


@dataclass(frozen=True)
class DicomSummary:
    patient_id: str | None
    patient_name: str | None
    study_instance_uid: str | None
    series_instance_uid: str | None
    sop_instance_uid: str | None
    sop_class_uid: str | None
    modality: str | None
    study_date: dt.date | None
    body_part: str | None
    view_position: str | None  # mammography: CC, MLO, ML, LM …
    laterality: str | None  # L or R (ImageLaterality, else Laterality)
    manufacturer: str | None
    photometric_interpretation: str | None
    transfer_syntax_uid: str | None
    rows: int | None
    columns: int | None
    frames: int
    bits_allocated: int | None
    bits_stored: int | None
    samples_per_pixel: int | None
    window_center: float | None
    window_width: float | None
    has_pixels: bool
    # The parsed header (no pixel data), so whoever catalogues the instance next does not
    # parse the file a second time.
    header: Dataset | None = field(default=None, repr=False, compare=False)


def read_summary(source: str | os.PathLike[str] | BinaryIO) -> DicomSummary:
    """Parse the header of ``source`` (never its pixel data) and summarise it.

    Raises ``InvalidDicom`` when it is not DICOM, when the header or the pixel data is
    truncated, or when it lacks the SOP Class and SOP Instance UIDs every DICOM object has.
    A file without the 128-byte preamble is accepted when it parses into such a data set.
    """
    with open_dicom(source) as opened:
        return _summarise(opened)


def _summarise(opened: OpenedDicom) -> DicomSummary:
    ds = opened.dataset
    meta: Dataset | None = getattr(ds, "file_meta", None)
    sop_class = _uid(ds, "SOPClassUID") or _uid(meta, "MediaStorageSOPClassUID")
    sop_instance = _uid(ds, "SOPInstanceUID") or _uid(meta, "MediaStorageSOPInstanceUID")
    if sop_class is None or sop_instance is None:
        raise InvalidDicom("not a usable DICOM object: no SOP Class UID or SOP Instance UID")
    has_pixels = opened.pixel is not None
    if not has_pixels and "Rows" in ds and "Columns" in ds and "PixelDataProviderURL" not in ds:
        # The Image Pixel module requires Pixel Data unless the pixels are referenced by URL.
        raise InvalidDicom("the file is truncated: image attributes but no pixel data")
    return DicomSummary(
        patient_id=_text(ds, "PatientID", ID_LENGTH),
        patient_name=_text(ds, "PatientName", NAME_LENGTH),
        study_instance_uid=_uid(ds, "StudyInstanceUID"),
        series_instance_uid=_uid(ds, "SeriesInstanceUID"),
        sop_instance_uid=sop_instance,
        sop_class_uid=sop_class,
        modality=_text(ds, "Modality", ID_LENGTH),
        study_date=_date(ds, "StudyDate"),
        body_part=_text(ds, "BodyPartExamined", ID_LENGTH),
        view_position=_text(ds, "ViewPosition", ID_LENGTH),
        laterality=_laterality(ds),
        manufacturer=_text(ds, "Manufacturer", NAME_LENGTH),
        photometric_interpretation=_text(ds, "PhotometricInterpretation", ID_LENGTH),
        transfer_syntax_uid=str(opened.declared_syntax) if opened.declared_syntax else None,
        rows=_int(ds, "Rows"),
        columns=_int(ds, "Columns"),
        frames=max(_int(ds, "NumberOfFrames") or 1, 1),
        bits_allocated=_int(ds, "BitsAllocated"),
        bits_stored=_int(ds, "BitsStored"),
        samples_per_pixel=_int(ds, "SamplesPerPixel"),
        window_center=_first_float(ds, "WindowCenter"),
        window_width=_first_float(ds, "WindowWidth"),
        has_pixels=has_pixels,
        header=ds,
    )


# -- cleaning values ------------------------------------------------------------------------
# A header value may be missing, empty, multi-valued, padded with NULs or spaces, or
# malformed (pydicom converts lazily and raises on access): each helper returns None then.
def _raw(ds: Dataset | None, keyword: str) -> object:
    if ds is None:
        return None
    try:
        value = ds.get(keyword)
    except (ValueError, TypeError, KeyError, OverflowError):
        return None
    if isinstance(value, MultiValue | list | tuple):
        return value[0] if len(value) else None
    return value


def clean_text(value: object, limit: int) -> str | None:
    if value is None:
        return None
    text = str(value).replace("\x00", "").strip()
    text = "".join(char for char in text if char.isprintable())
    return text[:limit] or None


def _text(ds: Dataset, keyword: str, limit: int) -> str | None:
    return clean_text(_raw(ds, keyword), limit)


def _uid(ds: Dataset | None, keyword: str) -> str | None:
    text = clean_text(_raw(ds, keyword), ID_LENGTH)
    return text if is_valid_uid(text) else None


def _int(ds: Dataset, keyword: str) -> int | None:
    value = _raw(ds, keyword)
    try:
        return int(value) if value not in (None, "") else None  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None


def _first_float(ds: Dataset, keyword: str) -> float | None:
    value = _raw(ds, keyword)
    try:
        number = float(value) if value not in (None, "") else None  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return (
        number if number is not None and number == number and abs(number) != float("inf") else None
    )


def _date(ds: Dataset, keyword: str) -> dt.date | None:
    text = clean_text(_raw(ds, keyword), 32)
    match = _DATE.match(text or "")
    if not match:
        return None
    try:
        return dt.date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


def _laterality(ds: Dataset) -> str | None:
    for keyword in ("ImageLaterality", "Laterality"):
        value = (_text(ds, keyword, 8) or "").upper()
        if value in ("L", "R"):
            return value
    return None
