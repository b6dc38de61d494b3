"""REST: ``POST /api/events``, the read endpoints, and ingest keys under ``/api/admin``."""

from datetime import datetime
from typing import Annotated, Any

import anyio
import msgspec
from fastapi import APIRouter, Query, Request, Response, WebSocket
from fastapi.responses import StreamingResponse

from vesalius.accounts.deps import AdminUser
from vesalius.common.errors import AppError, BadRequest, Unauthorized, UnprocessableEntity
from vesalius.common.schemas import model_response
from vesalius.deps import ContextDep, ReadSessionDep, SessionDep
from vesalius.events.ingest import EventIngest
from vesalius.events.live import LiveFigures
from vesalius.events.livestream import admin_sender, channel_for, current, serve_live_socket
from vesalius.events.models import Event, IngestKey
from vesalius.events.schemas import (
    AggregateOut,
    CountOut,
    EventOut,
    EventPageOut,
    EventShape,
    HistoryOut,
    HistoryPointOut,
    IngestKeyIn,
    IngestKeyOut,
    IngestOut,
    IssuedKeyOut,
)
from vesalius.events.senders import Sender, Senders
from vesalius.events.service import EventFilters, EventService
from vesalius.events.sockets import serve_ingest_socket
from vesalius.events.windows import WINDOWS
from vesalius.realtime.sse import channel_stream, sse_response

router = APIRouter(tags=["events"])


async def sender_of(request: Request, senders: Senders) -> Sender:
    key = request.headers.get("x-ingest-key")
    if key:
        return await anyio.to_thread.run_sync(senders.by_key, key, request.headers.get("origin"))
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return await anyio.to_thread.run_sync(senders.by_token, token.strip())
    raise Unauthorized(
        "send X-Ingest-Key: <key> or Authorization: Bearer <token>", code="not_authenticated"
    )


@router.post(
    "/api/events",
    response_model=IngestOut,
    # The body is read raw and parsed by msgspec (validation.py), so it is described here.
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": EventShape.model_json_schema()}},
        }
    },
)
async def post_events(request: Request, ctx: ContextDep) -> Response:
    """One event or ``{"events": [...]}`` (at most 500). Answers once every accepted event
    is committed: ``{accepted, duplicates, rejected: [{index, code, message}]}``."""
    senders = ctx.component(Senders)
    sender = await sender_of(request, senders)
    senders.check_rate(sender, request.client.host if request.client else None)
    ingest = ctx.component(EventIngest)
    body = await request.body()
    parsed = ingest.parse(body)
    if parsed.single and parsed.rejected:
        rejection = parsed.rejected[0]
        ingest.count(0, 0, parsed)
        if rejection.code == "malformed_json":
            raise AppError(rejection.message, code="malformed_json")
        raise UnprocessableEntity(
            rejection.message, code=rejection.code, details={"fields": rejection.fields}
        )
    if parsed.total and not parsed.events:
        ingest.count(0, 0, parsed)
        raise UnprocessableEntity(
            "no event in the batch is valid",
            code="invalid_events",
            details={"rejected": [r.as_dict() for r in parsed.rejected]},
        )
    outcome = await ingest.ingest(parsed)
    return Response(
        content=_json(outcome.as_dict()), media_type="application/json", status_code=200
    )


def _json(data: Any) -> bytes:
    return msgspec.json.encode(data)


def _filters(
    client_id: str | None,
    type_: str | None,
    route: str | None,
    user_id: str | None,
    start: datetime | None,
    end: datetime | None,
) -> EventFilters:
    for stamp in (start, end):
        if stamp is not None and stamp.tzinfo is None:
            raise BadRequest("from and to need a time zone (e.g. Z)", code="invalid_time")
    return EventFilters(client_id, type_, route, user_id, start, end)


ClientQ = Annotated[str | None, Query(alias="clientId")]
TypeQ = Annotated[str | None, Query(alias="type")]
UserQ = Annotated[str | None, Query(alias="userId")]
FromQ = Annotated[datetime | None, Query(alias="from")]
ToQ = Annotated[datetime | None, Query(alias="to")]


@router.get("/api/events", response_model=EventPageOut)
def list_events(
    _admin: AdminUser,
    session: ReadSessionDep,
    client_id: ClientQ = None,
    type_: TypeQ = None,
    route: str | None = None,
    user_id: UserQ = None,
    start: FromQ = None,
    end: ToQ = None,
    cursor: str | None = None,
    limit: int = 100,
) -> Response:
    """Raw events (kept 7 days), newest first, with a cursor."""
    filters = _filters(client_id, type_, route, user_id, start, end)
    rows, next_cursor = EventService(session).list_events(filters, cursor, limit)
    page = EventPageOut(
        events=[_event_out(row) for row in rows],
        next_cursor=next_cursor,
        has_more=next_cursor is not None,
    )
    return model_response(page)


def _event_out(row: Event) -> EventOut:
    return EventOut(
        event_id=row.event_id,
        type=row.type,
        timestamp=row.occurred_at,
        received_at=row.received_at,
        client_id=row.client_id,
        session_id=row.session_id,
        user_id=row.user_id,
        route=row.route,
        status_code=row.status_code,
        duration_ms=row.duration_ms,
        properties=row.properties,
    )


@router.get("/api/events/count", response_model=CountOut)
def count_events(
    _admin: AdminUser,
    session: ReadSessionDep,
    client_id: ClientQ = None,
    type_: TypeQ = None,
    route: str | None = None,
    user_id: UserQ = None,
    start: FromQ = None,
    end: ToQ = None,
) -> CountOut:
    filters = _filters(client_id, type_, route, user_id, start, end)
    return CountOut(count=EventService(session).count_events(filters))


@router.get("/api/events/aggregates", response_model=AggregateOut)
async def aggregates(
    _admin: AdminUser, ctx: ContextDep, window: str = "60s", client_id: ClientQ = None
) -> AggregateOut:
    """The rolling window (1s, 5s or 60s) as the live dashboard shows it now."""
    if window not in WINDOWS:
        raise BadRequest("window must be 1s, 5s or 60s", code="invalid_window")
    figures = await anyio.to_thread.run_sync(ctx.component(LiveFigures).snapshot, client_id)
    return AggregateOut.model_validate(figures[window])


@router.get("/api/events/history", response_model=HistoryOut)
def history(
    _admin: AdminUser,
    session: ReadSessionDep,
    start: Annotated[datetime, Query(alias="from")],
    end: Annotated[datetime, Query(alias="to")],
    bucket: str = "minute",
    client_id: ClientQ = None,
) -> HistoryOut:
    """Per-minute (or per-hour) figures, kept indefinitely."""
    _filters(None, None, None, None, start, end)
    points = EventService(session).history(start, end, bucket, client_id)
    return HistoryOut(bucket=bucket, points=[HistoryPointOut.model_validate(p) for p in points])


# -- sockets and the live stream ------------------------------------------------------------------
@router.websocket("/api/events/ws")
async def events_socket(websocket: WebSocket) -> None:
    """Event ingestion over a WebSocket (see sockets.py for the protocol)."""
    await serve_ingest_socket(websocket, websocket.app.state.ctx)


@router.websocket("/api/live/ws")
async def live_socket(websocket: WebSocket) -> None:
    """The live windows once a second, for administrators."""
    client_id = websocket.query_params.get("clientId") or None
    await serve_live_socket(websocket, websocket.app.state.ctx, client_id)


@router.get("/api/live/stream", response_class=StreamingResponse)
async def live_stream(
    request: Request, ctx: ContextDep, client_id: ClientQ = None
) -> StreamingResponse:
    """Server-Sent Events: a ``tick`` event every second with every window's figures."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip() if scheme.lower() == "bearer" else ""
    token = token or request.query_params.get("token", "").strip()
    if not token:
        raise Unauthorized(
            "send Authorization: Bearer <token> or ?token=", code="not_authenticated"
        )
    await anyio.to_thread.run_sync(admin_sender, ctx, token)
    stream = channel_stream(
        ctx.pubsub,
        [channel_for(client_id)],
        # A dashboard that reconnects wants the present, not the ticks it missed.
        last_event_id=None,
        snapshot=lambda: current(ctx, client_id),
        heartbeat_seconds=ctx.settings.sse_heartbeat_seconds,
    )
    return sse_response(stream)


# -- ingest keys ----------------------------------------------------------------------------------
def _key_out(key: IngestKey) -> IngestKeyOut:
    return IngestKeyOut(
        id=key.id,
        name=key.name,
        key_prefix=key.key_prefix,
        allowed_origins=key.allowed_origins,
        rate=key.rate_per_minute,
        created_at=key.created_at,
        revoked_at=key.revoked_at,
    )


@router.post("/api/admin/ingest-keys", response_model=IssuedKeyOut, status_code=201)
def create_key(admin: AdminUser, session: SessionDep, body: IngestKeyIn) -> Response:
    """A key for one source application; the key itself is in this answer only."""
    issued = EventService(session).create_key(admin, body.name, body.allowed_origins, body.rate)
    out = IssuedKeyOut(**_key_out(issued.key).model_dump(), key=issued.secret)
    return model_response(out, status_code=201)


@router.get("/api/admin/ingest-keys", response_model=list[IngestKeyOut])
def list_keys(admin: AdminUser, session: ReadSessionDep) -> list[IngestKeyOut]:
    return [_key_out(key) for key in EventService(session).list_keys(admin)]


@router.delete("/api/admin/ingest-keys/{key_id}", response_model=IngestKeyOut)
def revoke_key(admin: AdminUser, ctx: ContextDep, session: SessionDep, key_id: int) -> IngestKeyOut:
    """Revoke: refused at once here, within 10 s on other machines."""
    key = EventService(session).revoke_key(admin, key_id)
    ctx.component(Senders).forget_keys()
    return _key_out(key)
