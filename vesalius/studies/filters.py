"""The study browser's filters (REST API and web UI) turned into one ``Query``."""

import datetime as dt
from dataclasses import dataclass

from vesalius.common.errors import BadRequest
from vesalius.studies.attributes import Level
from vesalius.studies.queries import Query

MAX_PAGE = 100


@dataclass(frozen=True)
class StudyFilter:
    patient_text: str | None = None
    patient_name: str | None = None
    patient_id: str | None = None
    accession: str | None = None
    modality: str | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None


def _contains(value: str) -> str:
    """Plain text means "contains"; a value with wildcards is taken as written."""
    value = value.strip()
    return value if "*" in value or "?" in value else f"*{value}*"


def study_query(
    filters: StudyFilter,
    *,
    sort: str = "newest",
    limit: int = 20,
    offset: int = 0,
    cursor: str | None = None,
) -> Query:
    if not 1 <= limit <= MAX_PAGE:
        raise BadRequest(
            f"limit must be between 1 and {MAX_PAGE}",
            code="invalid_limit",
            details={"limit": limit},
        )
    if filters.date_from and filters.date_to and filters.date_from > filters.date_to:
        raise BadRequest("'from' is after 'to'", code="invalid_date_range")
    after_id = None
    if cursor:
        if not cursor.isdigit() or sort != "newest":
            raise BadRequest(
                "cursor must be a nextCursor from a list sorted by newest",
                code="invalid_cursor",
                details={"cursor": cursor},
            )
        after_id = int(cursor)
    match: dict[str, str] = {}
    if filters.patient_name and filters.patient_name.strip():
        match["PatientName"] = _contains(filters.patient_name)
    if filters.patient_id and filters.patient_id.strip():
        match["PatientID"] = _contains(filters.patient_id)
    if filters.accession and filters.accession.strip():
        match["AccessionNumber"] = _contains(filters.accession)
    if filters.modality and filters.modality.strip():
        match["ModalitiesInStudy"] = filters.modality.strip()
    if filters.date_from or filters.date_to:
        start = filters.date_from.strftime("%Y%m%d") if filters.date_from else ""
        end = filters.date_to.strftime("%Y%m%d") if filters.date_to else ""
        match["StudyDate"] = f"{start}-{end}"
    return Query(
        Level.study,
        match=match,
        limit=limit,
        offset=offset,
        after_id=after_id,
        order=sort,
        patient_text=filters.patient_text,
    )
