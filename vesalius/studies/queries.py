"""Searching the hierarchy at one level, the way QIDO-RS and C-FIND ask (PS3.4 C.2.2.2):
wildcards (``*``, ``?``) on names and IDs, date and time ranges, UID lists, "any of these
modalities", ``limit``/``offset`` or a cursor, always through the one access rule.

``StudyQueries(session).search(access, Query(Level.series, match={...}, study_uid=...))``
answers a ``QueryPage`` of rows: plain dicts keyed by attribute keyword (the values of the
level asked and of the levels above it), plus the ids a caller links with.
"""

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy import ColumnElement, Select, and_, func, literal, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from vesalius.common.errors import BadRequest
from vesalius.studies.access import Access
from vesalius.studies.attributes import ATTRIBUTES, Attribute, Level, Matching, find
from vesalius.studies.models import Instance, Patient, Series, Study, StudySender

MAX_LIMIT: Final = 1000
MODELS: Final[dict[Level, Any]] = {
    Level.patient: Patient,
    Level.study: Study,
    Level.series: Series,
    Level.instance: Instance,
}
DEPTH: Final = {Level.patient: 0, Level.study: 1, Level.series: 2, Level.instance: 3}
_DATE: Final = re.compile(r"^\d{8}$")
_TIME: Final = re.compile(r"^\d{2}(\d{2}(\d{2}(\.\d{1,6})?)?)?$")


@dataclass(frozen=True)
class Query:
    level: Level
    match: Mapping[str, str] = field(default_factory=dict)  # keyword or tag → DICOM value
    study_uid: str | None = None
    series_uid: str | None = None
    limit: int = 100
    offset: int = 0
    # Keyset paging, newest first, for study lists: the id of the last row of the page before.
    after_id: int | None = None
    order: str = "newest"  # studies: "newest" (received), "date", "patient"
    # The study browser's one search box: part of the patient's name or ID.
    patient_text: str | None = None


@dataclass(frozen=True)
class QueryPage:
    rows: list[dict[str, Any]]
    limit: int
    offset: int
    has_more: bool
    next_after_id: int | None


def check_match(level: Level, match: Mapping[str, str]) -> dict[Attribute, str]:
    """Resolve every key to an attribute this level can be matched on (else 400)."""
    resolved: dict[Attribute, str] = {}
    for key, value in match.items():
        attribute = find(key)
        if attribute is None:
            raise BadRequest(
                f"unknown or unsupported attribute {key!r}",
                code="unknown_attribute",
                details={"attribute": key},
            )
        if DEPTH[attribute.level] > DEPTH[level]:
            raise BadRequest(
                f"{attribute.keyword} is an attribute of the {attribute.level} level,"
                f" below the {level} level asked for",
                code="attribute_below_level",
                details={"attribute": attribute.keyword, "level": level.value},
            )
        resolved[attribute] = value
    return resolved


def _column(attribute: Attribute) -> InstrumentedAttribute[Any]:
    column: InstrumentedAttribute[Any] = getattr(MODELS[attribute.level], attribute.column)
    return column


def _like_literal(value: str) -> str:
    """``value`` matched as written in a LIKE pattern whose escape character is ``!``."""
    return value.replace("!", "!!").replace("%", "!%").replace("_", "!_")


def _like_pattern(value: str) -> str:
    escaped = value.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%").replace("?", "_")


def parse_date(text: str, attribute: str) -> dt.date:
    if not _DATE.match(text):
        raise _bad_range(attribute, text)
    try:
        return dt.date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        raise _bad_range(attribute, text) from None


def _bad_range(attribute: str, value: str) -> BadRequest:
    return BadRequest(
        f"{attribute}: {value!r} is not a date (YYYYMMDD) or a range (YYYYMMDD-YYYYMMDD)",
        code="invalid_date_range",
        details={"attribute": attribute, "value": value},
    )


def date_range(value: str, attribute: str = "StudyDate") -> tuple[dt.date | None, dt.date | None]:
    """``20240101``, ``20240101-``, ``-20240131`` or ``20240101-20240131``."""
    text = value.strip().replace(".", "")  # the old ACR-NEMA form 2024.01.01
    if "-" not in text:
        day = parse_date(text, attribute)
        return day, day
    start, _, end = text.partition("-")
    low = parse_date(start, attribute) if start else None
    high = parse_date(end, attribute) if end else None
    if (low is None and high is None) or (low and high and low > high):
        raise _bad_range(attribute, value)
    return low, high


def _time_range(value: str, attribute: str) -> tuple[str | None, str | None]:
    text = value.strip().replace(":", "")
    start, sep, end = text.partition("-")
    if not sep:
        end = start
    for part in (start, end):
        if part and not _TIME.match(part):
            raise BadRequest(
                f"{attribute}: {value!r} is not a time (HHMMSS) or a range",
                code="invalid_time_range",
                details={"attribute": attribute, "value": value},
            )
    # Stored times are HHMMSS[.ffffff]: they compare as text with a range end padded to the
    # last moment it names (``10`` is up to 10:59:59.999999).
    if not end:
        return (start or None), None
    digits, _, fraction = end.partition(".")
    return (start or None), digits.ljust(6, "9") + "." + (fraction or "").ljust(6, "9")


def condition(attribute: Attribute, value: str) -> ColumnElement[bool] | None:
    """The SQL condition for one matching key; None for universal matching (empty value)."""
    value = value.strip()
    if value == "" or value == "*":
        return None
    column = _column(attribute)
    kind = attribute.matching
    if kind == Matching.wildcard:
        if "*" in value or "?" in value:
            return func.lower(column).like(_like_pattern(value), escape="\\")
        return func.lower(column) == value.lower()
    if kind == Matching.exact:
        return column == (value.upper() if attribute.vr == "CS" else value)
    if kind == Matching.uid_list:
        uids = [u.strip() for u in re.split(r"[\\,]", value) if u.strip()]
        return column.in_(uids)
    if kind == Matching.date_range:
        low, high = date_range(value, attribute.keyword)
        parts = []
        if low is not None:
            parts.append(column >= low)
        if high is not None:
            parts.append(column <= high)
        return and_(*parts)
    if kind == Matching.time_range:
        start, end = _time_range(value, attribute.keyword)
        parts = []
        if start is not None:
            parts.append(column >= start)
        if end is not None:
            parts.append(column <= end)
        return and_(*parts)
    if kind == Matching.multi:
        # The study's own list (``CT\\PT``), framed by separators, holds any of them: no
        # subquery over the series, so a page of matches stops the scan.
        wanted = [m.strip().upper() for m in re.split(r"[\\,]", value) if m.strip()]
        framed = literal("\\") + Study.modalities_in_study + literal("\\")
        return or_(*(framed.like(f"%\\{_like_literal(m)}\\%", escape="!") for m in wanted))
    if kind == Matching.number:
        try:
            return column == int(value)
        except ValueError:
            raise BadRequest(
                f"{attribute.keyword} must be a number",
                code="invalid_number",
                details={"attribute": attribute.keyword, "value": value},
            ) from None
    raise BadRequest(
        f"{attribute.keyword} cannot be matched, only returned",
        code="attribute_not_matchable",
        details={"attribute": attribute.keyword},
    )


def _columns(level: Level) -> list[tuple[Attribute, InstrumentedAttribute[Any]]]:
    return [(a, _column(a)) for a in ATTRIBUTES if DEPTH[a.level] <= DEPTH[level]]


class StudyQueries:
    def __init__(self, session: Session) -> None:
        self.session = session

    def _conditions(self, access: Access, query: Query) -> tuple[list[Any], bool]:
        """The WHERE conditions of ``query``, and whether they need the patients table."""
        if query.level == Level.patient:
            raise BadRequest("search studies, series or instances", code="unsupported_level")
        conditions: list[Any] = []
        needs_patient = False
        if query.study_uid is not None:
            conditions.append(Study.study_instance_uid == query.study_uid)
        if query.series_uid is not None:
            conditions.append(Series.series_instance_uid == query.series_uid)
        if query.patient_text and query.patient_text.strip():
            pattern = f"%{_like_pattern(query.patient_text.strip())}%"
            conditions.append(
                or_(
                    func.lower(Patient.patient_name).like(pattern, escape="\\"),
                    func.lower(Patient.patient_id).like(pattern, escape="\\"),
                )
            )
            needs_patient = True
        for attribute, value in check_match(query.level, query.match).items():
            found = condition(attribute, value)
            if found is not None:
                conditions.append(found)
                needs_patient = needs_patient or attribute.level == Level.patient
        return conditions, needs_patient

    def _joined(
        self, stmt: Select[Any], access: Access, level: Level, *, patient: bool
    ) -> Select[Any]:
        """The tables a query reads. The access rule is a join on the caller's own
        ``study_senders`` rows (its primary key makes it one row per study), so a clinician's
        newest studies are read in that index's order and the scan stops after a page."""
        stmt = stmt.select_from(Study)
        if access.user_id is not None:
            stmt = stmt.join(
                StudySender,
                and_(StudySender.study_pk == Study.id, StudySender.user_id == access.user_id),
            )
        if patient:
            stmt = stmt.join(Patient, Patient.id == Study.patient_pk)
        if DEPTH[level] >= DEPTH[Level.series]:
            stmt = stmt.join(Series, Series.study_pk == Study.id)
        if level == Level.instance:
            stmt = stmt.join(Instance, Instance.series_pk == Series.id)
        return stmt

    def _statement(self, access: Access, query: Query) -> Select[Any]:
        level = query.level
        conditions, _ = self._conditions(access, query)
        columns: list[Any] = [Study.id.label("study_pk")]
        columns += [c.label(a.keyword) for a, c in _columns(level)]
        if DEPTH[level] >= DEPTH[Level.series]:
            columns.append(Series.id.label("series_pk"))
        if level == Level.instance:
            columns += [Instance.image_id.label("image_id"), Instance.transfer_syntax_uid]
        stmt = self._joined(select(*columns), access, level, patient=True)
        return self._ordered(stmt.where(*conditions), access, query)

    def search(self, access: Access, query: Query) -> QueryPage:
        if not 1 <= query.limit <= MAX_LIMIT:
            raise BadRequest(
                f"limit must be between 1 and {MAX_LIMIT}",
                code="invalid_limit",
                details={"limit": query.limit},
            )
        if query.offset < 0:
            raise BadRequest("offset must not be negative", code="invalid_offset")
        stmt = self._statement(access, query)
        rows = [dict(r._mapping) for r in self.session.execute(stmt)]
        has_more = len(rows) > query.limit
        rows = rows[: query.limit]
        next_after = (
            rows[-1]["study_pk"]
            if has_more and rows and query.level == Level.study and query.order == "newest"
            else None
        )
        return QueryPage(
            rows=rows,
            limit=query.limit,
            offset=query.offset,
            has_more=has_more,
            next_after_id=next_after,
        )

    def count(self, access: Access, query: Query, *, cap: int | None = None) -> int:
        """How many rows ``search`` would page through, over only the tables the conditions
        need. With ``cap``, counting stops there (the answer is then ``cap``): an exact count
        of 100,000 studies costs more than the page itself."""
        conditions, needs_patient = self._conditions(access, query)
        stmt = self._joined(select(literal(1)), access, query.level, patient=needs_patient)
        stmt = stmt.where(*conditions)
        if cap is not None:
            stmt = stmt.limit(cap)
        counted = select(func.count()).select_from(stmt.subquery())
        return self.session.scalar(counted) or 0

    def _ordered(self, stmt: Select[Any], access: Access, query: Query) -> Select[Any]:
        level = query.level
        if level == Level.study:
            if query.order == "newest":
                # The same key, read from the table that drives the scan.
                newest = Study.id if access.user_id is None else StudySender.study_pk
                if query.after_id is not None:
                    stmt = stmt.where(newest < query.after_id)
                stmt = stmt.order_by(newest.desc())
            elif query.order == "date":
                # Undated studies last on both. SQLite puts NULLs last in a descending order by
                # itself, and walks ix_studies_study_date_id backwards; PostgreSQL must be
                # told, and sorts the visible studies (its index puts NULLs first backwards).
                dated = Study.study_date.desc()
                if self.session.get_bind().dialect.name != "sqlite":
                    dated = dated.nulls_last()
                stmt = stmt.order_by(dated, Study.id.desc())
            elif query.order == "patient":
                stmt = stmt.order_by(func.lower(Patient.patient_name), Study.id.desc())
            else:
                raise BadRequest(
                    "sort must be newest, date or patient",
                    code="invalid_sort",
                    details={"sort": query.order},
                )
        elif level == Level.series:
            stmt = stmt.order_by(
                Study.id, Series.series_number.is_(None), Series.series_number, Series.id
            )
        else:
            stmt = stmt.order_by(
                Series.id, Instance.instance_number.is_(None), Instance.instance_number, Instance.id
            )
        if query.after_id is None or level != Level.study:
            stmt = stmt.offset(query.offset)
        return stmt.limit(query.limit + 1)
