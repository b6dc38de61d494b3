"""Rows of a search, as the standards write them: DICOM JSON (PS3.18 F.2) for QIDO-RS and
the REST API's ``dicom`` view, and pydicom data sets (identifiers) for C-FIND answers."""

import datetime as dt
from collections.abc import Iterable
from typing import Any

from pydicom.dataset import Dataset

from vesalius.studies.attributes import ATTRIBUTES, Attribute, Level, find
from vesalius.studies.queries import DEPTH


def _values(attribute: Attribute, value: Any) -> list[Any] | None:
    """The DICOM JSON ``Value`` array, or None when the attribute is empty."""
    if value is None or value == "":
        return None
    if attribute.vr == "PN":
        return [{"Alphabetic": str(value)}]
    if attribute.vr == "DA":
        return [value.strftime("%Y%m%d") if isinstance(value, dt.date) else str(value)]
    if attribute.vr == "IS":
        return [int(value)]
    if attribute.keyword == "ModalitiesInStudy":
        return [m for m in str(value).split("\\") if m]
    return [str(value)]


def attributes_of(level: Level, include: Iterable[str] | None = None) -> list[Attribute]:
    """The attributes an answer at ``level`` carries: its own and those above it. ``include``
    (keywords or tags, as QIDO's ``includefield`` gives them) narrows it for callers that
    asked for fewer; names it does not know are left out."""
    chosen = [a for a in ATTRIBUTES if DEPTH[a.level] <= DEPTH[level]]
    if include is not None:
        wanted = {found.keyword for name in include if (found := find(name)) is not None}
        chosen = [a for a in chosen if a.keyword in wanted]
    return chosen


def dicom_json(
    row: dict[str, Any], level: Level, include: Iterable[str] | None = None
) -> dict[str, Any]:
    answer: dict[str, Any] = {}
    for attribute in attributes_of(level, include):
        if attribute.keyword not in row:
            continue
        element: dict[str, Any] = {"vr": attribute.vr}
        values = _values(attribute, row[attribute.keyword])
        if values is not None:
            element["Value"] = values
        answer[attribute.tag] = element
    return dict(sorted(answer.items()))


def identifier(row: dict[str, Any], level: Level, include: Iterable[str] | None = None) -> Dataset:
    """A C-FIND answer identifier (QueryRetrieveLevel and the matched attributes)."""
    ds = Dataset()
    ds.QueryRetrieveLevel = "IMAGE" if level == Level.instance else level.value.upper()
    for attribute in attributes_of(level, include):
        if attribute.keyword not in row:
            continue
        values = _values(attribute, row[attribute.keyword])
        if values is None:
            setattr(ds, attribute.keyword, "")
        elif attribute.vr == "PN":
            setattr(ds, attribute.keyword, values[0]["Alphabetic"])
        else:
            setattr(ds, attribute.keyword, values if len(values) > 1 else values[0])
    return ds
