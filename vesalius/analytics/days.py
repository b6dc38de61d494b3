"""Calendar days in the configured time zone, and the UTC instants that bound them.

A day is local midnight to local midnight, so it may last 23 or 25 hours around a change
of daylight-saving time.
"""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from vesalius.common.errors import BadRequest

MAX_DAYS = 365


def day_bounds(day: date, zone: str) -> tuple[datetime, datetime]:
    tz = ZoneInfo(zone)
    start = datetime.combine(day, time.min, tzinfo=tz).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz).astimezone(UTC)
    return start, end


def local_day(moment: datetime, zone: str) -> date:
    return moment.astimezone(ZoneInfo(zone)).date()


def today(zone: str, now: datetime | None = None) -> date:
    return local_day(now or datetime.now(UTC), zone)


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def check_days(days: int) -> int:
    if not 1 <= days <= MAX_DAYS:
        raise BadRequest(
            f"days must be between 1 and {MAX_DAYS}", code="invalid_days", details={"days": days}
        )
    return days


def parse_day(raw: str | None, name: str) -> date | None:
    if raw is None or raw == "":
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00")).date()
    except ValueError:
        raise BadRequest(
            f"{name} must be a date like 2026-03-01", code="invalid_date", details={name: raw}
        ) from None


def check_range(first: date, last: date) -> None:
    if first > last:
        raise BadRequest("startDate is after endDate", code="invalid_date_range")
    if (last - first).days + 1 > MAX_DAYS * 5:
        raise BadRequest(f"a range may span at most {MAX_DAYS * 5} days", code="invalid_date_range")
