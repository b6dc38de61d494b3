"""CSV downloads of the analytics tables: the columns, the rows and the file, shared by the
API's ``?format=csv`` and the web UI's export buttons so both give the same file."""

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from fastapi.responses import Response

from vesalius.common.errors import BadRequest
from vesalius.imaging.models import FileType

if TYPE_CHECKING:
    from vesalius.analytics.service import DayFigures

FILE_TYPES = tuple(kind.value for kind in FileType)
TREND_COLUMNS = ("date", "uploads", "bytes")
STATS_COLUMNS = (
    "date",
    "total_users",
    "active_users",
    "new_users",
    "total_images",
    "new_images",
    "uploads",
    "upload_bytes",
    "views",
    "downloads",
    "logins",
    "storage_used_bytes",
    *(f"{kind}_{what}" for kind in FILE_TYPES for what in ("count", "bytes")),
)
ACTIVITY_COLUMNS = (
    "id",
    "created_at",
    "user_id",
    "user_email",
    "activity_type",
    "resource_type",
    "resource_id",
    "ip_address",
    "user_agent",
)


def wants_csv(format: str | None) -> bool:
    if format in (None, "", "json"):
        return False
    if format == "csv":
        return True
    raise BadRequest(
        "format must be json or csv", code="invalid_format", details={"format": format}
    )


def trend_rows(days: "Iterable[DayFigures]") -> list[list[Any]]:
    return [[d.day.isoformat(), d.uploads, d.upload_bytes] for d in days]


def stats_rows(days: "Iterable[DayFigures]") -> list[list[Any]]:
    return [
        [
            d.day.isoformat(),
            d.total_users,
            d.active_users,
            d.new_users,
            d.total_images,
            d.new_images,
            d.uploads,
            d.upload_bytes,
            d.views,
            d.downloads,
            d.logins,
            d.storage_used_bytes,
            *(
                d.file_types.get(kind, {}).get(what, 0)
                for kind in FILE_TYPES
                for what in ("count", "bytes")
            ),
        ]
        for d in days
    ]


def activity_row(
    *,
    id: int,
    created_at: datetime,
    user_id: int | None,
    user_email: str | None,
    activity_type: str,
    resource_type: str | None,
    resource_id: int | None,
    ip_address: str | None,
    user_agent: str | None,
) -> list[Any]:
    return [
        id,
        created_at.isoformat(),
        user_id,
        user_email,
        activity_type,
        resource_type,
        resource_id,
        ip_address,
        user_agent,
    ]


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


def csv_bytes(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(value) for value in row])
    return buffer.getvalue().encode()


def csv_response(columns: Sequence[str], rows: Iterable[Sequence[Any]], filename: str) -> Response:
    return Response(
        csv_bytes(columns, rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
