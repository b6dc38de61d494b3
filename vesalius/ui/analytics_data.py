"""What the analytics page shows, read through ``AnalyticsService`` as the signed-in user and
copied out of the database session (the service makes every permission check)."""

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from vesalius.accounts.models import User
from vesalius.analytics.models import UserActivity
from vesalius.analytics.service import AnalyticsService, DayFigures
from vesalius.context import AppContext
from vesalius.imaging.models import FileType, Image, ImageStatus
from vesalius.ui.analytics_range import Period

MOST_VIEWED = 10
ACTIVITY_PAGE = 20


@dataclass(frozen=True)
class Summary:
    total_images: int
    new_images: int
    total_users: int
    active_users: int
    # A custom range has only per-day counts of active users: then this is the busiest day.
    active_is_busiest_day: bool
    views: int
    downloads: int
    uploads: int
    storage_used_bytes: int
    uploaded_bytes: int


@dataclass(frozen=True)
class Board:
    """Everything that follows the range: the cards and the charts."""

    first_day: date
    last_day: date
    summary: Summary
    days: list[DayFigures]
    file_types: dict[str, dict[str, int]]
    zone: str  # the time zone whose calendar days these are

    @property
    def length(self) -> int:
        return (self.last_day - self.first_day).days + 1


@dataclass(frozen=True)
class ViewedImage:
    id: int
    name: str
    file_type: FileType
    modality: str | None
    ready: bool
    views: int
    average_ms: int | None

    @classmethod
    def of(cls, image: Image, views: int, average_ms: int | None) -> "ViewedImage":
        ready = image.status == ImageStatus.ready
        return cls(
            image.id, image.original_name, image.file_type, image.modality, ready, views, average_ms
        )


@dataclass(frozen=True)
class ActivityEntry:
    id: int
    at: datetime
    user_id: int | None
    email: str | None
    kind: str
    resource_type: str | None
    resource_id: int | None
    details: dict[str, Any]
    ip_address: str | None
    user_agent: str | None
    resource_name: str | None  # the image's name, None once it is deleted

    @classmethod
    def of(cls, row: UserActivity, email: str | None, resource_name: str | None) -> "ActivityEntry":
        return cls(
            row.id,
            row.created_at,
            row.user_id,
            email,
            row.activity_type,
            row.resource_type,
            row.resource_id,
            dict(row.details or {}),
            row.ip_address,
            row.user_agent,
            resource_name,
        )


@dataclass(frozen=True)
class ActivityPage:
    entries: list[ActivityEntry]
    next_cursor: str | None


@dataclass(frozen=True)
class Overview:
    """The opening view: the range's board, and the tables that do not follow the range."""

    board: Board
    file_types: list[dict[str, Any]]
    most_viewed: list[ViewedImage]
    activity: ActivityPage


def load_board(ctx: AppContext, session: Session, actor: User, period: Period) -> Board:
    service = AnalyticsService(ctx, session)
    if period.days is not None:
        board = service.dashboard(actor, period.days)
        summary = Summary(
            total_images=board.total_images,
            new_images=board.new_images,
            total_users=board.total_users,
            active_users=board.active_users,
            active_is_busiest_day=False,
            views=board.views,
            downloads=board.downloads,
            uploads=board.uploads,
            storage_used_bytes=board.storage_used_bytes,
            uploaded_bytes=sum(day.upload_bytes for day in board.days),
        )
        return Board(
            board.first_day, board.last_day, summary, board.days, board.file_types, service.zone
        )
    assert period.first is not None
    assert period.last is not None
    days = service.system_stats(actor, period.first, period.last)
    end = days[-1]
    summary = Summary(
        total_images=end.total_images,
        new_images=sum(day.new_images for day in days),
        total_users=end.total_users,
        active_users=max(day.active_users for day in days),
        active_is_busiest_day=True,
        views=sum(day.views for day in days),
        downloads=sum(day.downloads for day in days),
        uploads=sum(day.uploads for day in days),
        storage_used_bytes=end.storage_used_bytes,
        uploaded_bytes=sum(day.upload_bytes for day in days),
    )
    return Board(period.first, period.last, summary, days, end.file_types, service.zone)


def load_activity(
    ctx: AppContext, session: Session, actor: User, cursor: str | None, limit: int = ACTIVITY_PAGE
) -> ActivityPage:
    rows, next_cursor = AnalyticsService(ctx, session).recent_activity(
        actor, limit=limit, cursor=cursor
    )
    return ActivityPage(
        [ActivityEntry.of(row.activity, row.user_email, row.resource_name) for row in rows],
        next_cursor,
    )


def load_overview(ctx: AppContext, session: Session, actor: User, period: Period) -> Overview:
    board = load_board(ctx, session, actor, period)  # first: a non-administrator stops here
    service = AnalyticsService(ctx, session)
    return Overview(
        board,
        service.image_statistics(actor),
        [ViewedImage.of(*found) for found in service.most_viewed(actor, MOST_VIEWED)],
        load_activity(ctx, session, actor, None),
    )
