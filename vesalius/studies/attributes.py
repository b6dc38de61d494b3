"""The DICOM attributes of each level, defined once: indexing reads them from a data set,
matching (QIDO-RS, C-FIND, the study browser) filters on them, answers write them back in
DICOM JSON. Adding an attribute here adds it everywhere (plus its column in ``models.py``).
"""

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

from vesalius.imaging.dicom import clean_text
from vesalius.imaging.dicom_io import is_valid_uid


class Level(StrEnum):
    patient = "patient"
    study = "study"
    series = "series"
    instance = "instance"


class Matching(StrEnum):
    """How a query value is compared (PS3.4 C.2.2.2)."""

    wildcard = "wildcard"  # case-insensitive, ``*`` and ``?``
    exact = "exact"
    uid_list = "uid_list"  # one UID or a backslash-separated list
    date_range = "date_range"  # ``20240101``, ``20240101-``, ``-20240131``, ``a-b``
    time_range = "time_range"
    multi = "multi"  # ModalitiesInStudy: any of the given values is in the study's list
    number = "number"
    none = "none"  # answered, never matched (counts)


@dataclass(frozen=True)
class Attribute:
    keyword: str
    tag: str  # eight hex digits, as DICOM JSON writes it
    vr: str
    level: Level
    column: str  # the model attribute holding it
    matching: Matching
    width: int = 64


# Short names keep the table one attribute per line.
A = Attribute
PAT, STU, SER, INS = Level.patient, Level.study, Level.series, Level.instance
WILD, EXACT, UIDS = Matching.wildcard, Matching.exact, Matching.uid_list
DATES, TIMES, ANY = Matching.date_range, Matching.time_range, Matching.multi
NUM, NONE = Matching.number, Matching.none

ATTRIBUTES: Final[tuple[Attribute, ...]] = (
    A("PatientName", "00100010", "PN", PAT, "patient_name", WILD, 200),
    A("PatientID", "00100020", "LO", PAT, "patient_id", WILD),
    A("IssuerOfPatientID", "00100021", "LO", PAT, "issuer", EXACT),
    A("PatientBirthDate", "00100030", "DA", PAT, "birth_date", DATES),
    A("PatientSex", "00100040", "CS", PAT, "sex", EXACT, 16),
    A("StudyInstanceUID", "0020000D", "UI", STU, "study_instance_uid", UIDS),
    A("StudyDate", "00080020", "DA", STU, "study_date", DATES),
    A("StudyTime", "00080030", "TM", STU, "study_time", TIMES, 16),
    A("AccessionNumber", "00080050", "SH", STU, "accession_number", WILD),
    A("StudyID", "00200010", "SH", STU, "study_id", WILD),
    A("StudyDescription", "00081030", "LO", STU, "study_description", WILD, 200),
    A("ReferringPhysicianName", "00080090", "PN", STU, "referring_physician", WILD, 200),
    A("ModalitiesInStudy", "00080061", "CS", STU, "modalities_in_study", ANY, 200),
    A("NumberOfStudyRelatedSeries", "00201206", "IS", STU, "number_of_series", NONE),
    A("NumberOfStudyRelatedInstances", "00201208", "IS", STU, "number_of_instances", NONE),
    A("SeriesInstanceUID", "0020000E", "UI", SER, "series_instance_uid", UIDS),
    A("Modality", "00080060", "CS", SER, "modality", EXACT, 16),
    A("SeriesNumber", "00200011", "IS", SER, "series_number", NUM),
    A("SeriesDescription", "0008103E", "LO", SER, "series_description", WILD, 200),
    A("SeriesDate", "00080021", "DA", SER, "series_date", DATES),
    A("BodyPartExamined", "00180015", "CS", SER, "body_part", EXACT),
    A("Laterality", "00200060", "CS", SER, "laterality", EXACT, 4),
    A("ViewPosition", "00185101", "CS", SER, "view_position", EXACT, 16),
    A("NumberOfSeriesRelatedInstances", "00201209", "IS", SER, "number_of_instances", NONE),
    A("SOPInstanceUID", "00080018", "UI", INS, "sop_instance_uid", UIDS),
    A("SOPClassUID", "00080016", "UI", INS, "sop_class_uid", UIDS),
    A("InstanceNumber", "00200013", "IS", INS, "instance_number", NUM),
)  # fmt: skip

BY_KEYWORD: Final = {a.keyword: a for a in ATTRIBUTES}
BY_TAG: Final = {a.tag: a for a in ATTRIBUTES}
# Derived values (counts, modalities in study) are kept by the service, never read from files.
DERIVED: Final = frozenset(
    {
        "ModalitiesInStudy",
        "NumberOfStudyRelatedSeries",
        "NumberOfStudyRelatedInstances",
        "NumberOfSeriesRelatedInstances",
    }
)
_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})")


def find(name: str) -> Attribute | None:
    """An attribute by keyword or tag (``PatientName``, ``00100010``, ``0010,0010``)."""
    key = name.strip()
    found = BY_KEYWORD.get(key)
    if found is None:
        found = BY_TAG.get(key.replace(",", "").replace("(", "").replace(")", "").upper())
    return found


def of_level(level: Level) -> tuple[Attribute, ...]:
    return tuple(a for a in ATTRIBUTES if a.level == level)


# -- reading a data set -------------------------------------------------------------------
def _raw(ds: Dataset, keyword: str) -> object:
    try:
        value = ds.get(keyword)
    except (ValueError, TypeError, KeyError, OverflowError):
        return None
    if isinstance(value, MultiValue | list | tuple):
        return value[0] if len(value) else None
    return value


def _text(ds: Dataset, a: Attribute) -> str | None:
    return clean_text(_raw(ds, a.keyword), a.width)


def _uid(ds: Dataset, a: Attribute) -> str | None:
    text = clean_text(_raw(ds, a.keyword), 64)
    return text if is_valid_uid(text) else None


def _date(ds: Dataset, a: Attribute) -> dt.date | None:
    match = _DATE.match(clean_text(_raw(ds, a.keyword), 32) or "")
    if not match:
        return None
    try:
        return dt.date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


def _number(ds: Dataset, a: Attribute) -> int | None:
    text = clean_text(_raw(ds, a.keyword), 16)
    try:
        return int(float(text)) if text else None
    except ValueError:
        return None


def _time(ds: Dataset, a: Attribute) -> str | None:
    text = clean_text(_raw(ds, a.keyword), 16) or ""
    text = text.replace(":", "")
    return text if re.fullmatch(r"\d{2,6}(\.\d{1,6})?", text) else None


READERS: Final[dict[str, Callable[[Dataset, Attribute], Any]]] = {
    "UI": _uid,
    "DA": _date,
    "TM": _time,
    "IS": _number,
}


def read_level(ds: Dataset, level: Level) -> dict[str, Any]:
    """The values of ``level``'s attributes found in ``ds``, by column name."""
    values: dict[str, Any] = {}
    for a in of_level(level):
        if a.keyword in DERIVED:
            continue
        values[a.column] = READERS.get(a.vr, _text)(ds, a)
    if level == Level.patient:
        values["patient_id"] = values.get("patient_id") or ""
        values["issuer"] = values.get("issuer") or ""
    if level == Level.series and values.get("laterality") is None:
        lateral = (clean_text(_raw(ds, "ImageLaterality"), 4) or "").upper()
        values["laterality"] = lateral if lateral in ("L", "R") else None
    return values
