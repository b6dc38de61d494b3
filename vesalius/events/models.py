from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Float, ForeignKey, Index, Integer, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from vesalius.db import Base, utcnow


class Event(Base):
    """One raw event, kept ``VESALIUS_EVENTS_RETENTION_DAYS`` after it was received.

    The unique ``event_id`` is the idempotency key: the writer inserts with ON CONFLICT DO
    NOTHING, so a duplicate is counted once whichever process or restart sees it again.
    """

    __tablename__ = "events"
    __table_args__ = (
        # Listing newest first (cursor), per client, per user; retention and the per-minute
        # roll-up read by reception time.
        Index("ix_events_occurred_at_id", "occurred_at", "id"),
        Index("ix_events_client_occurred", "client_id", "occurred_at"),
        Index("ix_events_user_occurred", "user_id", "occurred_at"),
        Index("ix_events_received_at", "received_at"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True
    )
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    type: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[datetime]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    client_id: Mapped[str] = mapped_column(String(128))
    session_id: Mapped[str] = mapped_column(String(128))
    user_id: Mapped[str | None] = mapped_column(String(128))
    route: Mapped[str] = mapped_column(String(512))
    status_code: Mapped[int | None] = mapped_column(SmallInteger)
    duration_ms: Mapped[float | None] = mapped_column(Float)
    properties: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class EventMinute(Base):
    """Per-minute figures of one client, built from raw events and kept indefinitely."""

    __tablename__ = "event_minutes"

    minute: Mapped[datetime] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    events: Mapped[int] = mapped_column(BigInteger, default=0)
    errors: Mapped[int] = mapped_column(BigInteger, default=0)
    users: Mapped[int] = mapped_column(Integer, default=0)
    sessions: Mapped[int] = mapped_column(Integer, default=0)
    duration_sum_ms: Mapped[float] = mapped_column(Float, default=0.0)
    duration_count: Mapped[int] = mapped_column(BigInteger, default=0)
    by_type: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)


class IngestKey(Base):
    """A key an administrator gave one source application. Only its SHA-256 is stored."""

    __tablename__ = "ingest_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters, so an administrator can tell keys apart without the secret.
    key_prefix: Mapped[str] = mapped_column(String(16))
    allowed_origins: Mapped[list[str] | None] = mapped_column(JSON)
    rate_per_minute: Mapped[int | None] = mapped_column(Integer)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
