"""``GET /api/live/stream`` (Server-Sent Events) and ``/api/live/ws``: the live windows once a
second, for administrators' dashboards. Both read the push layer's channel ``events:live``
(or ``events:live:client:<id>`` with ``?clientId=``), which one process publishes each
second: through Redis pub/sub in scaled mode, so every process's subscribers see the same."""

from collections.abc import Mapping
from typing import Any

import anyio
from fastapi import WebSocket

from vesalius.accounts.models import Role
from vesalius.common.errors import Forbidden
from vesalius.context import AppContext
from vesalius.events.live import LIVE_CHANNEL, LiveFigures, client_channel, tick_message
from vesalius.events.senders import Sender, Senders
from vesalius.realtime.sse import ServerEvent
from vesalius.realtime.websocket import (
    Authenticated,
    Authenticator,
    jwt_authenticator,
    serve_socket,
)


def channel_for(client_id: str | None) -> str:
    return client_channel(client_id) if client_id else LIVE_CHANNEL


def admin_sender(ctx: AppContext, token: str) -> Sender:
    sender = ctx.component(Senders).by_token(token)
    if not sender.is_admin:
        raise Forbidden("the live dashboard is for administrators", code="insufficient_role")
    return sender


async def current(ctx: AppContext, client_id: str | None) -> list[ServerEvent]:
    """The figures right now, so a new dashboard need not wait for the next tick."""
    live = ctx.component(LiveFigures)
    figures = await anyio.to_thread.run_sync(live.snapshot, client_id)
    second = live.ingest.windows.closed_second()
    return [ServerEvent(tick_message(second, client_id, figures), event="tick")]


def admin_authenticator(ctx: AppContext) -> Authenticator:
    """A signed-in administrator (the live dashboard is theirs)."""
    signed_in = jwt_authenticator(ctx)

    async def authenticate(auth: Mapping[str, Any]) -> Authenticated | None:
        who = await signed_in(auth)
        if who is not None and who.principal.role != Role.admin:
            raise Forbidden("the live dashboard is for administrators", code="insufficient_role")
        return who

    return authenticate


async def serve_live_socket(ws: WebSocket, ctx: AppContext, client_id: str | None) -> None:
    """The ticks of ``events:live`` (or one client's) over the push layer's socket helper."""
    await serve_socket(
        ws,
        ctx,
        authenticators=[admin_authenticator(ctx)],
        channels=lambda _who: [channel_for(client_id)],
        forward=lambda message: message.data,
    )
