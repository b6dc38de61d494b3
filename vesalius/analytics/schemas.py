from datetime import date, datetime
from typing import Any

from pydantic import Field

from vesalius.common.schemas import ApiModel


class RangeOut(ApiModel):
    from_: date = Field(alias="from")
    to: date
    days: int
    timezone: str


class SummaryOut(ApiModel):
    total_images: int
    new_images: int
    total_users: int
    active_users: int
    views: int
    downloads: int
    uploads: int
    storage_used_bytes: int


class UploadDayOut(ApiModel):
    date: date
    uploads: int
    bytes: int


class ActivityDayOut(ApiModel):
    date: date
    views: int
    uploads: int
    downloads: int
    logins: int


class StorageDayOut(ApiModel):
    date: date
    storage_used_bytes: int


class FileTypeOut(ApiModel):
    file_type: str
    count: int
    bytes: int


class DashboardOut(ApiModel):
    range: RangeOut
    summary: SummaryOut
    upload_trend: list[UploadDayOut]
    user_activity: list[ActivityDayOut]
    storage_growth: list[StorageDayOut]
    file_types: list[FileTypeOut]


class UploadTrendsOut(ApiModel):
    range: RangeOut
    days: list[UploadDayOut]


class SystemStatsDayOut(ApiModel):
    date: date
    total_users: int
    active_users: int
    new_users: int
    total_images: int
    new_images: int
    uploads: int
    upload_bytes: int
    views: int
    downloads: int
    logins: int
    storage_used_bytes: int
    file_types: dict[str, dict[str, int]]
    aggregated: bool = Field(
        description="false for today (counted live) and for days never computed"
    )


class SystemStatsOut(ApiModel):
    stats: list[SystemStatsDayOut]


class FileTypeStatsOut(ApiModel):
    file_type: str
    count: int
    total_bytes: int
    average_bytes: int


class ImageStatisticsOut(ApiModel):
    file_types: list[FileTypeStatsOut]
    total_images: int
    total_bytes: int


class ViewedImageOut(ApiModel):
    id: int
    original_name: str
    file_type: str
    modality: str | None
    user_id: int
    thumbnail_url: str
    views: int
    average_duration_ms: int | None


class MostViewedOut(ApiModel):
    images: list[ViewedImageOut]


class ActivityOut(ApiModel):
    id: int
    user_id: int | None
    user_email: str | None
    activity_type: str
    resource_type: str | None
    resource_id: int | None
    resource_name: str | None = Field(description="the image's name; null once it is deleted")
    metadata: dict[str, Any] | None
    ip_address: str | None
    user_agent: str | None
    created_at: datetime


class RecentActivityOut(ApiModel):
    activities: list[ActivityOut]
    next_cursor: str | None
    has_more: bool


class UserBriefOut(ApiModel):
    id: int
    email: str
    display_name: str
    role: str


class UserDayOut(ApiModel):
    date: date
    login: int
    logout: int
    login_failed: int
    upload: int
    view: int
    download: int
    delete: int


class UserAnalyticsOut(ApiModel):
    user: UserBriefOut
    range: RangeOut
    images: int
    storage_used_bytes: int
    views_of_own_images: int
    totals: dict[str, int]
    days: list[UserDayOut]


class StatsUpdateOut(ApiModel):
    stats: SystemStatsDayOut


class ViewOpenedOut(ApiModel):
    view_id: str


class ViewClosedIn(ApiModel):
    duration_ms: int = Field(ge=0, le=7 * 24 * 3600 * 1000)
