"""The figures behind the dashboard and the analytics API.

History comes from ``system_stats`` (one row per finished day); today, which is not
aggregated yet, is counted live over today's rows only. So a dashboard over a year reads 365
small rows plus one day of raw events, whatever the size of the raw tables.
"""

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Row, and_, func, select
from sqlalchemy.orm import Session

from vesalius.accounts.models import User
from vesalius.accounts.permissions import ensure_active, ensure_admin, is_admin
from vesalius.analytics.aggregation import (
    activity_counts,
    compute_day,
    file_types_until,
    upload_bytes,
)
from vesalius.analytics.days import (
    check_days,
    check_range,
    day_bounds,
    days_between,
    local_day,
    today,
)
from vesalius.analytics.models import ActivityType, ImageView, SystemStats, UserActivity
from vesalius.common.errors import BadRequest, Forbidden, NotFound
from vesalius.common.pagination import Cursor, check_limit, older_than
from vesalius.context import AppContext
from vesalius.imaging.models import FileType, Image

MAX_ACTIVITY_LIMIT = 200
_STATS = SystemStats.__table__.c
# Every figure of a stored day, named as ``DayFigures`` names them.
STORED_COLUMNS = [c for c in _STATS if c.name != "computed_at"]
# What the dashboard API and the upload trends show of a past day. A year of rows is 365 ×
# the columns values to convert into Python objects: every column left out of the 365-day
# dashboard saves that work on both databases.
CHART_COLUMNS = [
    _STATS.stat_date,
    _STATS.uploads,
    _STATS.upload_bytes,
    _STATS.views,
    _STATS.downloads,
    _STATS.logins,
    _STATS.new_images,
    _STATS.storage_used_bytes,
]


@dataclass
class DayFigures:
    day: date
    uploads: int = 0
    upload_bytes: int = 0
    views: int = 0
    downloads: int = 0
    logins: int = 0
    active_users: int = 0
    new_users: int = 0
    new_images: int = 0
    total_users: int = 0
    total_images: int = 0
    storage_used_bytes: int = 0
    file_types: dict[str, dict[str, int]] = field(default_factory=dict)
    aggregated: bool = False


@dataclass(frozen=True)
class ActivityRow:
    activity: UserActivity
    user_email: str | None
    resource_name: str | None


@dataclass
class Dashboard:
    first_day: date
    last_day: date
    total_images: int
    new_images: int
    total_users: int
    active_users: int
    views: int
    downloads: int
    uploads: int
    storage_used_bytes: int
    days: list[DayFigures]
    file_types: dict[str, dict[str, int]]


def _from_stored(values: dict[str, Any]) -> DayFigures:
    """A stored day from some or all of its columns (``CHART_COLUMNS``, ``STORED_COLUMNS``),
    keyed by column name."""
    figures = {name: value for name, value in values.items() if name != "stat_date"}
    if "file_types" in figures:
        figures["file_types"] = dict(figures["file_types"] or {})
    return DayFigures(day=values["stat_date"], aggregated=True, **figures)


def _from_row(row: SystemStats) -> DayFigures:
    return _from_stored({column.name: getattr(row, column.name) for column in STORED_COLUMNS})


class AnalyticsService:
    def __init__(self, ctx: AppContext, session: Session) -> None:
        self.ctx = ctx
        self.session = session
        self.zone = ctx.settings.analytics_timezone

    # -- days ---------------------------------------------------------------------------------
    def today(self) -> date:
        return today(self.zone)

    def _stored(self, first: date, last: date, columns: list[Any]) -> dict[date, Row[Any]]:
        # Plain rows, not ORM objects: a year of those was a third of the 365-day dashboard.
        rows = self.session.execute(
            select(*columns).where(SystemStats.stat_date >= first, SystemStats.stat_date <= last)
        )
        return {row.stat_date: row for row in rows}

    def _live_today(self, day: date) -> DayFigures:
        """Today from raw rows, with running totals carried on from the last stored day."""
        start, end = day_bounds(day, self.zone)
        counts = activity_counts(self.session, start, end)
        # Three counts, one round trip (each still planned on its own index).
        views, active_users, new_users = self.session.execute(
            select(
                select(func.count())
                .select_from(ImageView)
                .where(ImageView.viewed_at >= start, ImageView.viewed_at < end)
                .scalar_subquery(),
                select(func.count())
                .select_from(User)
                .where(User.last_active_at >= start, User.last_active_at < end)
                .scalar_subquery(),
                select(func.count())
                .select_from(User)
                .where(User.created_at >= start, User.created_at < end)
                .scalar_subquery(),
            )
        ).one()
        figures = DayFigures(
            day=day,
            uploads=counts.get(ActivityType.upload, 0),
            upload_bytes=upload_bytes(self.session, start, end),
            downloads=counts.get(ActivityType.download, 0),
            logins=counts.get(ActivityType.login, 0),
            views=int(views),
            active_users=int(active_users),
            new_users=int(new_users),
        )
        new_types = self._file_types_between(start, end)
        figures.new_images = sum(t["count"] for t in new_types.values())
        previous = self.session.scalar(
            select(SystemStats)
            .where(SystemStats.stat_date < day)
            .order_by(SystemStats.stat_date.desc())
            .limit(1)
        )
        if previous is not None and previous.stat_date == day - timedelta(days=1):
            figures.total_users = previous.total_users + figures.new_users
            figures.file_types = _add_types(previous.file_types or {}, new_types)
        else:  # no fresh history to build on: count everything (slower, but exact)
            figures.total_users = self._scalar(
                select(func.count()).select_from(User).where(User.created_at < end)
            )
            figures.file_types = file_types_until(self.session, end)
        figures.total_images = sum(t["count"] for t in figures.file_types.values())
        figures.storage_used_bytes = sum(t["bytes"] for t in figures.file_types.values())
        return figures

    def _file_types_between(self, start: datetime, end: datetime) -> dict[str, dict[str, int]]:
        rows = self.session.execute(
            select(Image.file_type, func.count(), func.coalesce(func.sum(Image.size_bytes), 0))
            .where(Image.created_at >= start, Image.created_at < end)
            .group_by(Image.file_type)
        )
        return {FileType(kind).value: {"count": n, "bytes": int(b)} for kind, n, b in rows}

    def _scalar(self, stmt: Any) -> int:
        return int(self.session.scalar(stmt) or 0)

    def day_series(self, first: date, last: date, *, charts: bool = False) -> list[DayFigures]:
        """One entry per day, zeros for days with nothing, today counted live. With
        ``charts``, past days carry only the ``CHART_COLUMNS`` figures (today has all)."""
        check_range(first, last)
        now_day = self.today()
        columns = CHART_COLUMNS if charts else STORED_COLUMNS
        stored = self._stored(first, min(last, now_day - timedelta(days=1)), columns)
        series = []
        for day in days_between(first, last):
            if day == now_day:
                series.append(self._live_today(day))
            elif day in stored:
                series.append(_from_stored(stored[day]._asdict()))
            else:
                series.append(DayFigures(day=day))
        return series

    def recompute(self, actor: User | None, day: date | None = None) -> DayFigures:
        """Compute one day's row now (default today, which is then a partial day)."""
        ensure_admin(actor)
        day = day or self.today()
        if day > self.today():
            raise BadRequest(
                "that day has not happened yet",
                code="invalid_date",
                details={"date": day.isoformat()},
            )
        return _from_row(compute_day(self.session, day, self.zone))

    # -- endpoints ----------------------------------------------------------------------------
    def dashboard(self, actor: User, days: int = 30, *, charts_only: bool = False) -> Dashboard:
        """The summary and the series; ``charts_only``: past days carry only what the API's
        charts show (the web UI also exports every figure of each day as CSV)."""
        ensure_admin(actor)
        check_days(days)
        last = self.today()
        first = last - timedelta(days=days - 1)
        series = self.day_series(first, last, charts=charts_only)
        current = series[-1]
        range_start, _ = day_bounds(first, self.zone)
        return Dashboard(
            first_day=first,
            last_day=last,
            total_images=current.total_images,
            new_images=sum(d.new_images for d in series),
            total_users=current.total_users,
            active_users=self._scalar(
                select(func.count()).select_from(User).where(User.last_active_at >= range_start)
            ),
            views=sum(d.views for d in series),
            downloads=sum(d.downloads for d in series),
            uploads=sum(d.uploads for d in series),
            storage_used_bytes=current.storage_used_bytes,
            days=series,
            file_types=current.file_types,
        )

    def upload_trends(self, actor: User, days: int = 30) -> list[DayFigures]:
        ensure_admin(actor)
        check_days(days)
        last = self.today()
        return self.day_series(last - timedelta(days=days - 1), last, charts=True)

    def system_stats(self, actor: User, first: date, last: date) -> list[DayFigures]:
        ensure_admin(actor)
        return self.day_series(first, last)

    def image_statistics(self, actor: User) -> list[dict[str, Any]]:
        """Per file type: images, total and average size, now."""
        ensure_admin(actor)
        rows = self.session.execute(
            select(Image.file_type, func.count(), func.coalesce(func.sum(Image.size_bytes), 0))
            .group_by(Image.file_type)
            .order_by(Image.file_type)
        )
        return [
            {
                "file_type": FileType(kind).value,
                "count": n,
                "total_bytes": int(b),
                "average_bytes": int(b) // n if n else 0,
            }
            for kind, n, b in rows
        ]

    def most_viewed(self, actor: User, limit: int = 10) -> list[tuple[Image, int, int | None]]:
        """Images by number of views (all time), with their average view duration in ms.

        The order comes from ``images.view_count`` (the top of its index); the average
        durations only for the images shown, from their own views."""
        ensure_admin(actor)
        check_limit(limit, MAX_ACTIVITY_LIMIT)
        images = list(
            self.session.scalars(
                select(Image)
                .where(Image.view_count > 0)
                .order_by(Image.view_count.desc(), Image.id)
                .limit(limit)
            )
        )
        durations: dict[int, Any] = dict(
            self.session.execute(
                select(ImageView.image_id, func.avg(ImageView.duration_ms))
                .where(ImageView.image_id.in_([image.id for image in images]))
                .group_by(ImageView.image_id)
            ).all()
        )
        return [
            (
                image,
                image.view_count,
                int(durations[image.id]) if durations.get(image.id) is not None else None,
            )
            for image in images
        ]

    def recent_activity(
        self, actor: User, *, limit: int = 50, cursor: str | None = None
    ) -> tuple[list[ActivityRow], str | None]:
        """Newest first, with the acting user's email and, for images, the image's name (None
        once it is deleted); the cursor continues beyond the page."""
        ensure_admin(actor)
        check_limit(limit, MAX_ACTIVITY_LIMIT)
        stmt = (
            select(UserActivity, User.email, Image.original_name)
            .outerjoin(User, User.id == UserActivity.user_id)
            .outerjoin(
                Image,
                and_(UserActivity.resource_type == "image", Image.id == UserActivity.resource_id),
            )
        )
        if cursor:
            stmt = stmt.where(
                older_than(UserActivity.created_at, UserActivity.id, Cursor.decode(cursor))
            )
        found = self.session.execute(
            stmt.order_by(UserActivity.created_at.desc(), UserActivity.id.desc()).limit(limit + 1)
        ).all()
        rows = [ActivityRow(activity, email, name) for activity, email, name in found]
        next_cursor = None
        if len(rows) > limit:
            rows = rows[:limit]
            last = rows[-1].activity
            next_cursor = Cursor(last.created_at, last.id).encode()
        return rows, next_cursor

    def user_analytics(self, actor: User, user_id: int, days: int = 30) -> dict[str, Any]:
        """A user's own figures: themselves, or anyone for an administrator."""
        ensure_active(actor)
        if actor.id != user_id and not is_admin(actor):
            raise Forbidden("you can only see your own activity", code="not_your_analytics")
        check_days(days)
        user = self.session.get(User, user_id)
        if user is None:
            raise NotFound("no such user", details={"id": user_id})
        last = self.today()
        first = last - timedelta(days=days - 1)
        start, _ = day_bounds(first, self.zone)
        per_day: dict[date, Counter[str]] = {day: Counter() for day in days_between(first, last)}
        for kind, created in self.session.execute(
            select(UserActivity.activity_type, UserActivity.created_at).where(
                UserActivity.user_id == user_id, UserActivity.created_at >= start
            )
        ):
            day = local_day(created, self.zone)
            if day in per_day:
                per_day[day][kind] += 1
        images, storage = self.session.execute(
            select(func.count(), func.coalesce(func.sum(Image.size_bytes), 0)).where(
                Image.user_id == user_id
            )
        ).one()
        views_of_own = self._scalar(
            select(func.count())
            .select_from(ImageView)
            .join(Image, Image.id == ImageView.image_id)
            .where(Image.user_id == user_id, ImageView.viewed_at >= start)
        )
        totals: Counter[str] = Counter()
        for counts in per_day.values():
            totals.update(counts)
        return {
            "user": user,
            "first_day": first,
            "last_day": last,
            "images": int(images),
            "storage_used_bytes": int(storage),
            "views_of_own_images": views_of_own,
            "totals": {kind.value: totals.get(kind.value, 0) for kind in ActivityType},
            "days": [
                {"date": day, **{kind.value: counts.get(kind.value, 0) for kind in ActivityType}}
                for day, counts in per_day.items()
            ],
        }


def _add_types(
    base: dict[str, dict[str, int]], extra: dict[str, dict[str, int]]
) -> dict[str, dict[str, int]]:
    merged = {kind: dict(values) for kind, values in base.items()}
    for kind, values in extra.items():
        target = merged.setdefault(kind, {"count": 0, "bytes": 0})
        target["count"] += values["count"]
        target["bytes"] += values["bytes"]
    return merged
