"""The analytics page's CSV downloads: the same columns, rows, file names and cell escaping
as the API's ``?format=csv`` (both come from ``analytics.csv_export``), built from the data
the page already reads through the service.

The browser holds no bearer token, so instead of linking to the API the page sends the file
over its own (signed-in) connection with ``ui.download``: nothing that grants access to the
data ever appears in a URL, the browser history or a download manager.
"""

from datetime import date

from vesalius.analytics.csv_export import (
    ACTIVITY_COLUMNS,
    STATS_COLUMNS,
    TREND_COLUMNS,
    activity_row,
    csv_bytes,
    stats_rows,
    trend_rows,
)
from vesalius.analytics.service import DayFigures
from vesalius.ui.analytics_data import ActivityEntry

CsvFile = tuple[bytes, str]  # content, file name


def _span(first: date, last: date) -> str:
    return f"{first.isoformat()}-to-{last.isoformat()}"


def trends_csv(days: list[DayFigures], *, custom: bool) -> CsvFile:
    first, last = days[0].day, days[-1].day
    name = f"upload-trends-{_span(first, last) if custom else last.isoformat()}.csv"
    return csv_bytes(TREND_COLUMNS, trend_rows(days)), name


def stats_csv(days: list[DayFigures]) -> CsvFile:
    name = f"system-stats-{_span(days[0].day, days[-1].day)}.csv"
    return csv_bytes(STATS_COLUMNS, stats_rows(days)), name


def activity_csv(entries: list[ActivityEntry]) -> CsvFile:
    rows = [
        activity_row(
            id=e.id,
            created_at=e.at,
            user_id=e.user_id,
            user_email=e.email,
            activity_type=e.kind,
            resource_type=e.resource_type,
            resource_id=e.resource_id,
            ip_address=e.ip_address,
            user_agent=e.user_agent,
        )
        for e in entries
    ]
    return csv_bytes(ACTIVITY_COLUMNS, rows), "recent-activity.csv"
