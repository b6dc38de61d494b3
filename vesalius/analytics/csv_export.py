"""CSV downloads of the analytics tables (``?format=csv``)."""

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from fastapi.responses import Response

from vesalius.common.errors import BadRequest


def wants_csv(format: str | None) -> bool:
    if format in (None, "", "json"):
        return False
    if format == "csv":
        return True
    raise BadRequest(
        "format must be json or csv", code="invalid_format", details={"format": format}
    )


def _cell(value: Any) -> Any:
    text = "" if value is None else str(value)
    # A cell starting like a formula would run in a spreadsheet (CSV injection).
    return "'" + text if text[:1] in ("=", "+", "-", "@") and not _is_number(text) else text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def csv_response(columns: Sequence[str], rows: Iterable[Sequence[Any]], filename: str) -> Response:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(value) for value in row])
    return Response(
        buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
