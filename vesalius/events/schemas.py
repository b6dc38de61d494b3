"""API shapes (pydantic, for OpenAPI and the admin routes). Incoming events themselves are
parsed by msgspec (validation.py), many times faster on the ingest path."""

from datetime import datetime
from typing import Any

from pydantic import Field

from vesalius.common.schemas import ApiModel


class EventShape(ApiModel):
    """One event, as sent (documentation of the body of ``POST /api/events``)."""

    event_id: str = Field(description="UUID; the idempotency key")
    type: str
    timestamp: datetime
    client_id: str
    session_id: str
    user_id: str | None = None
    route: str
    status_code: int | None = None
    duration_ms: float | None = None
    properties: dict[str, Any] | None = None


class RejectionOut(ApiModel):
    index: int
    code: str
    message: str
    fields: dict[str, str] | None = None


class IngestOut(ApiModel):
    accepted: int
    duplicates: int
    rejected: list[RejectionOut]


class EventOut(ApiModel):
    event_id: str
    type: str
    timestamp: datetime
    received_at: datetime
    client_id: str
    session_id: str
    user_id: str | None
    route: str
    status_code: int | None
    duration_ms: float | None
    properties: dict[str, Any] | None


class EventPageOut(ApiModel):
    events: list[EventOut]
    next_cursor: str | None
    has_more: bool


class CountOut(ApiModel):
    count: int


class RouteOut(ApiModel):
    route: str
    count: int
    p95_duration_ms: float | None


class AggregateOut(ApiModel):
    window: str
    events: int
    events_per_second: float
    active_users: int
    active_sessions: int
    distinct_exact: bool
    top_routes: list[RouteOut]
    p95_duration_ms: float | None
    error_rate: float
    errors: int
    by_type: dict[str, int]
    by_client: dict[str, int]


class HistoryPointOut(ApiModel):
    at: datetime
    events: int
    errors: int
    error_rate: float
    users: int
    sessions: int
    avg_duration_ms: float | None
    by_type: dict[str, int]


class HistoryOut(ApiModel):
    bucket: str
    points: list[HistoryPointOut]


class IngestKeyIn(ApiModel):
    name: str = Field(min_length=1, max_length=120)
    allowed_origins: list[str] | None = Field(default=None, max_length=50)
    rate: int | None = Field(default=None, ge=1, le=1_000_000, description="requests/minute")


class IngestKeyOut(ApiModel):
    id: int
    name: str
    key_prefix: str
    allowed_origins: list[str] | None
    rate: int | None
    created_at: datetime
    revoked_at: datetime | None


class IssuedKeyOut(IngestKeyOut):
    key: str = Field(description="shown once: only its hash is stored")
