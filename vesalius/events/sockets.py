"""``/api/events/ws``: event ingestion over a WebSocket, on the push layer's socket helper
(``vesalius.realtime.websocket.serve_socket``: first-message authentication, ping/pong, the
per-socket token bucket, bounded send queue).

The client authenticates in its first message (``{"auth": {"token": JWT}}`` or
``{"auth": {"key": INGEST_KEY}}``) or with ``?token=``, then sends an event or
``{"events": [...], "id"?: …}`` per message. Each message is answered with
``{accepted, duplicates, rejected[, id]}`` once its events are committed; a refused message
gets ``{"error": {code, message, details}}`` and the socket stays open. Messages over
``VESALIUS_EVENTS_WS_MESSAGES_PER_SECOND`` (after a burst of ``VESALIUS_EVENTS_WS_BURST``; a
batch is one message) are answered ``rate_limited``. A signed-in user's socket is closed
(1008, ``token_expired``) when the token expires, unless the client sent a fresh
``{"auth": …}`` before.
"""

from collections.abc import Mapping
from typing import Any

import anyio
import msgspec
from fastapi import WebSocket

from vesalius.common.errors import AppError
from vesalius.context import AppContext
from vesalius.events.ingest import EventIngest
from vesalius.events.senders import Senders
from vesalius.realtime.websocket import (
    Authenticated,
    Authenticator,
    SocketPeer,
    jwt_authenticator,
    serve_socket,
)

_encode = msgspec.json.encode


def key_authenticator(ctx: AppContext, origin: str | None) -> Authenticator:
    """``{"key": <ingest key>}``: a source application (its allowed origins are checked)."""
    senders = ctx.component(Senders)

    async def authenticate(auth: Mapping[str, Any]) -> Authenticated | None:
        key = auth.get("key")
        if not isinstance(key, str):
            return None
        sender = await anyio.to_thread.run_sync(senders.by_key, key, origin)
        return Authenticated(sender)

    return authenticate


class IngestHandler:
    def __init__(self, ingest: EventIngest) -> None:
        self.ingest = ingest

    async def on_message(self, peer: SocketPeer, data: Any) -> Any:
        # The helper hands over parsed JSON; events go back to bytes so that each is
        # size-checked and decoded into its typed struct exactly as on REST.
        ingest = self.ingest
        message_id = data.get("id") if isinstance(data, dict) and "events" in data else None
        parsed = ingest.parse(_encode(data))
        outcome = await ingest.ingest(parsed)
        answer = outcome.as_dict()
        if message_id is not None:
            answer["id"] = message_id
        return answer


async def serve_ingest_socket(ws: WebSocket, ctx: AppContext) -> None:
    settings = ctx.settings
    ingest = ctx.component(EventIngest)
    ingest.metrics.open_sockets.inc()
    try:
        await serve_socket(
            ws,
            ctx,
            handler=IngestHandler(ingest),
            authenticators=[
                jwt_authenticator(ctx),
                key_authenticator(ctx, ws.headers.get("origin")),
            ],
            rate=settings.events_ws_messages_per_second,
            burst=settings.events_ws_burst,
            max_message_bytes=settings.events_max_batch * settings.events_max_event_bytes + 4096,
        )
    except AppError:  # refused before the socket was up; the helper has answered
        pass
    finally:
        ingest.metrics.open_sockets.dec()
