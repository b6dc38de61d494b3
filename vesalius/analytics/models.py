from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from vesalius.db import Base, utcnow


class ActivityType(StrEnum):
    login = "login"
    logout = "logout"
    login_failed = "login_failed"
    upload = "upload"
    view = "view"
    download = "download"
    delete = "delete"


class UserActivity(Base):
    """One thing a user did. Raw rows are kept ``VESALIUS_ANALYTICS_RETENTION_DAYS``."""

    __tablename__ = "user_activity"
    # Seed 000: user_id, activity_type, created_at. The composites serve a user's own page and
    # the per-day, per-type counts of the aggregation.
    __table_args__ = (
        Index("ix_user_activity_created_at_id", "created_at", "id"),
        Index("ix_user_activity_user_created", "user_id", "created_at"),
        Index("ix_user_activity_type_created", "activity_type", "created_at"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True
    )
    # Kept when the user is deleted: the history of what happened stays true.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    activity_type: Mapped[str] = mapped_column(String(32))
    resource_type: Mapped[str | None] = mapped_column(String(32))
    resource_id: Mapped[int | None] = mapped_column(BigInteger)
    details: Mapped[dict[str, Any] | None] = mapped_column("metadata", JSON)
    ip_address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(400))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ImageView(Base):
    """One opening of an image in a viewer, and how long it stayed open."""

    __tablename__ = "image_views"
    __table_args__ = (
        Index("ix_image_views_image_id", "image_id"),
        Index("ix_image_views_user_id", "user_id"),
        Index("ix_image_views_viewed_at", "viewed_at"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True
    )
    # Chosen by the recorder before the row exists, so the viewer can report the duration of a
    # view whose row is still waiting in the write buffer.
    view_key: Mapped[str] = mapped_column(String(32), unique=True)
    image_id: Mapped[int] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    viewed_at: Mapped[datetime] = mapped_column(default=utcnow)
    duration_ms: Mapped[int | None] = mapped_column(BigInteger)


class SystemStats(Base):
    """One row per calendar day (in ``VESALIUS_ANALYTICS_TIMEZONE``); recomputing a day
    replaces its row."""

    __tablename__ = "system_stats"

    stat_date: Mapped[date] = mapped_column(primary_key=True)
    total_users: Mapped[int] = mapped_column(default=0)
    active_users: Mapped[int] = mapped_column(default=0)
    new_users: Mapped[int] = mapped_column(default=0)
    total_images: Mapped[int] = mapped_column(default=0)
    new_images: Mapped[int] = mapped_column(default=0)
    uploads: Mapped[int] = mapped_column(default=0)
    upload_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    views: Mapped[int] = mapped_column(default=0)
    downloads: Mapped[int] = mapped_column(default=0)
    logins: Mapped[int] = mapped_column(default=0)
    storage_used_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    # {"dcm": {"count": 12, "bytes": 34567}, …}: images and bytes per file type at day end.
    file_types: Mapped[dict[str, dict[str, int]]] = mapped_column(JSON, default=dict)
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)
