from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Response

from vesalius.accounts.deps import AdminUser, CurrentUser
from vesalius.analytics.csv_export import (
    ACTIVITY_COLUMNS,
    STATS_COLUMNS,
    TREND_COLUMNS,
    activity_row,
    csv_response,
    stats_rows,
    trend_rows,
    wants_csv,
)
from vesalius.analytics.days import check_days, parse_day
from vesalius.analytics.schemas import (
    ActivityOut,
    DashboardOut,
    FileTypeStatsOut,
    ImageStatisticsOut,
    MostViewedOut,
    RangeOut,
    RecentActivityOut,
    StatsUpdateOut,
    SystemStatsDayOut,
    SystemStatsOut,
    UploadDayOut,
    UploadTrendsOut,
    UserAnalyticsOut,
    UserBriefOut,
    UserDayOut,
    ViewedImageOut,
)
from vesalius.analytics.service import AnalyticsService, Dashboard, DayFigures
from vesalius.common.schemas import model_response
from vesalius.deps import ContextDep, ReadSessionDep, SessionDep

router = APIRouter(prefix="/api/analytics", tags=["analytics"])
Format = Annotated[str | None, Query(description="json (default) or csv")]


def _range(service: AnalyticsService, first: date, last: date) -> RangeOut:
    return RangeOut.model_validate(
        {"from": first, "to": last, "days": (last - first).days + 1, "timezone": service.zone}
    )


def _stats_day(day: DayFigures) -> SystemStatsDayOut:
    return SystemStatsDayOut(
        date=day.day,
        total_users=day.total_users,
        active_users=day.active_users,
        new_users=day.new_users,
        total_images=day.total_images,
        new_images=day.new_images,
        uploads=day.uploads,
        upload_bytes=day.upload_bytes,
        views=day.views,
        downloads=day.downloads,
        logins=day.logins,
        storage_used_bytes=day.storage_used_bytes,
        file_types=day.file_types,
        aggregated=day.aggregated,
    )


@router.get("/dashboard", response_model=DashboardOut)
def dashboard(
    admin: AdminUser, ctx: ContextDep, session: ReadSessionDep, days: int = 30
) -> Response:
    """Summary cards and every chart series of the dashboard for the last ``days`` (1–365)."""
    service = AnalyticsService(ctx, session)
    board = service.dashboard(admin, days, charts_only=True)
    return model_response(_dashboard_out(service, board))


def _dashboard_out(service: AnalyticsService, board: Dashboard) -> DashboardOut:
    # One nested dict validated by pydantic-core in one call: a year's three series are
    # 1,095 small models, and building each with its own __init__ cost ~5 ms.
    days = board.days
    return DashboardOut.model_validate(
        {
            "range": _range(service, board.first_day, board.last_day),
            "summary": {
                "total_images": board.total_images,
                "new_images": board.new_images,
                "total_users": board.total_users,
                "active_users": board.active_users,
                "views": board.views,
                "downloads": board.downloads,
                "uploads": board.uploads,
                "storage_used_bytes": board.storage_used_bytes,
            },
            "upload_trend": [
                {"date": d.day, "uploads": d.uploads, "bytes": d.upload_bytes} for d in days
            ],
            "user_activity": [
                {
                    "date": d.day,
                    "views": d.views,
                    "uploads": d.uploads,
                    "downloads": d.downloads,
                    "logins": d.logins,
                }
                for d in days
            ],
            "storage_growth": [
                {"date": d.day, "storage_used_bytes": d.storage_used_bytes} for d in days
            ],
            "file_types": [
                {"file_type": kind, "count": values["count"], "bytes": values["bytes"]}
                for kind, values in sorted(board.file_types.items())
            ],
        }
    )


@router.get("/user/{user_id}", response_model=UserAnalyticsOut)
def user_analytics(
    user_id: int, user: CurrentUser, ctx: ContextDep, session: ReadSessionDep, days: int = 30
) -> Response:
    """A user's activity per day. Users see their own; administrators anyone's; else 403."""
    service = AnalyticsService(ctx, session)
    found = service.user_analytics(user, user_id, days)
    subject = found["user"]
    return model_response(
        UserAnalyticsOut(
            user=UserBriefOut(
                id=subject.id,
                email=subject.email,
                display_name=subject.display_name,
                role=subject.role.value,
            ),
            range=_range(service, found["first_day"], found["last_day"]),
            images=found["images"],
            storage_used_bytes=found["storage_used_bytes"],
            views_of_own_images=found["views_of_own_images"],
            totals=found["totals"],
            days=[UserDayOut.model_validate(day) for day in found["days"]],
        )
    )


@router.get("/images/statistics", response_model=ImageStatisticsOut)
def image_statistics(
    admin: AdminUser, ctx: ContextDep, session: ReadSessionDep
) -> ImageStatisticsOut:
    """Per file type: number of images, total and average size."""
    rows = AnalyticsService(ctx, session).image_statistics(admin)
    return ImageStatisticsOut(
        file_types=[FileTypeStatsOut.model_validate(row) for row in rows],
        total_images=sum(r["count"] for r in rows),
        total_bytes=sum(r["total_bytes"] for r in rows),
    )


@router.get("/uploads/trends", response_model=UploadTrendsOut)
def upload_trends(
    admin: AdminUser,
    ctx: ContextDep,
    session: ReadSessionDep,
    days: int = 30,
    format: Format = None,
) -> UploadTrendsOut | Response:
    """Uploads and uploaded bytes per day; days without uploads are zeros."""
    as_csv = wants_csv(format)
    service = AnalyticsService(ctx, session)
    series = service.upload_trends(admin, check_days(days))
    if as_csv:
        return csv_response(
            TREND_COLUMNS, trend_rows(series), f"upload-trends-{series[-1].day.isoformat()}.csv"
        )
    return UploadTrendsOut(
        range=_range(service, series[0].day, series[-1].day),
        days=[UploadDayOut(date=d.day, uploads=d.uploads, bytes=d.upload_bytes) for d in series],
    )


@router.get("/images/most-viewed", response_model=MostViewedOut)
def most_viewed(
    admin: AdminUser, ctx: ContextDep, session: ReadSessionDep, limit: int = 10
) -> MostViewedOut:
    """Images with the most views (all time), with the average time a view stayed open."""
    found = AnalyticsService(ctx, session).most_viewed(admin, limit)
    return MostViewedOut(
        images=[
            ViewedImageOut(
                id=image.id,
                original_name=image.original_name,
                file_type=image.file_type.value,
                modality=image.modality,
                user_id=image.user_id,
                thumbnail_url=f"/api/images/{image.id}/thumbnail",
                views=views,
                average_duration_ms=average,
            )
            for image, views, average in found
        ]
    )


@router.get("/system/stats", response_model=SystemStatsOut)
def system_stats(
    admin: AdminUser,
    ctx: ContextDep,
    session: ReadSessionDep,
    start_date: Annotated[str | None, Query(alias="startDate")] = None,
    end_date: Annotated[str | None, Query(alias="endDate")] = None,
    format: Format = None,
) -> SystemStatsOut | Response:
    """Daily statistics from ``startDate`` to ``endDate`` (default: the last 30 days)."""
    as_csv = wants_csv(format)
    service = AnalyticsService(ctx, session)
    last = parse_day(end_date, "endDate") or service.today()
    first = parse_day(start_date, "startDate") or last - timedelta(days=29)
    series = service.system_stats(admin, first, last)
    if as_csv:
        return csv_response(
            STATS_COLUMNS,
            stats_rows(series),
            f"system-stats-{first.isoformat()}-to-{last.isoformat()}.csv",
        )
    return SystemStatsOut(stats=[_stats_day(d) for d in series])


@router.get("/activity/recent", response_model=RecentActivityOut)
def recent_activity(
    admin: AdminUser,
    ctx: ContextDep,
    session: ReadSessionDep,
    limit: int = 50,
    cursor: str | None = None,
    format: Format = None,
) -> RecentActivityOut | Response:
    """What users did, newest first (1–200 per page; pass ``nextCursor`` back as ``cursor``)."""
    as_csv = wants_csv(format)
    rows, next_cursor = AnalyticsService(ctx, session).recent_activity(
        admin, limit=limit, cursor=cursor
    )
    activities = [
        ActivityOut(
            id=row.activity.id,
            user_id=row.activity.user_id,
            user_email=row.user_email,
            activity_type=row.activity.activity_type,
            resource_type=row.activity.resource_type,
            resource_id=row.activity.resource_id,
            resource_name=row.resource_name,
            metadata=row.activity.details,
            ip_address=row.activity.ip_address,
            user_agent=row.activity.user_agent,
            created_at=row.activity.created_at,
        )
        for row in rows
    ]
    if as_csv:
        lines = [
            activity_row(**a.model_dump(exclude={"metadata", "resource_name"})) for a in activities
        ]
        return csv_response(ACTIVITY_COLUMNS, lines, "recent-activity.csv")
    return RecentActivityOut(
        activities=activities, next_cursor=next_cursor, has_more=next_cursor is not None
    )


@router.post("/system/stats/update", response_model=StatsUpdateOut)
def update_stats(
    admin: AdminUser,
    ctx: ContextDep,
    session: SessionDep,
    date_: Annotated[str | None, Query(alias="date")] = None,
) -> StatsUpdateOut:
    """Recompute one day's statistics now (default: today); re-running replaces the row."""
    figures = AnalyticsService(ctx, session).recompute(admin, parse_day(date_, "date"))
    return StatsUpdateOut(stats=_stats_day(figures))
