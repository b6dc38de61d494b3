"""``GET /api/live/stream`` (Server-Sent Events) and ``/api/live/ws``: the live windows once a
second, for administrators' dashboards. Both read the push layer's channel ``events:live``
(or ``events:live:client:<id>`` with ``?clientId=``), which one process publishes each
second: through Redis pub/sub in scaled mode, so every process's subscribers see the same."""

import asyncio
from typing import Any

import anyio
import msgspec
from fastapi import WebSocket, WebSocketDisconnect

from vesalius.common.errors import AppError, Forbidden
from vesalius.context import AppContext
from vesalius.events.live import LIVE_CHANNEL, LiveFigures, client_channel, tick_message
from vesalius.events.senders import Sender, Senders
from vesalius.events.sockets import CLOSE_POLICY, error
from vesalius.realtime.sse import ServerEvent

_decoder = msgspec.json.Decoder()


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


async def serve_live_socket(ws: WebSocket, ctx: AppContext, client_id: str | None) -> None:
    await ws.accept()
    try:
        token = ws.query_params.get("token")
        if not token:
            with anyio.fail_after(ctx.settings.ws_auth_timeout_seconds):
                first: Any = _decoder.decode(await ws.receive_text())
            token = str(((first or {}).get("auth") or {}).get("token") or "")
        await anyio.to_thread.run_sync(admin_sender, ctx, token)
    except AppError as refused:
        await ws.send_bytes(error(refused.code, refused.message))
        await ws.close(CLOSE_POLICY)
        return
    except (TimeoutError, msgspec.DecodeError, AttributeError, WebSocketDisconnect):
        await ws.close(CLOSE_POLICY)
        return
    async with ctx.pubsub.subscribe(channel_for(client_id)) as subscription:
        for event in await current(ctx, client_id):
            await ws.send_bytes(msgspec.json.encode(event.data))

        async def pump() -> None:
            while (message := await subscription.get(timeout=ctx.settings.ws_ping_seconds)) or (
                not subscription.closed
            ):
                await ws.send_bytes(
                    msgspec.json.encode(message.data) if message else b'{"type":"ping"}'
                )

        async def listen() -> None:
            # Only pings (answered) and the close matter from a dashboard.
            while True:
                frame = await ws.receive()
                if frame["type"] == "websocket.disconnect":
                    return
                if b"ping" in (frame.get("bytes") or (frame.get("text") or "").encode()):
                    await ws.send_bytes(b'{"type":"pong"}')

        tasks = [asyncio.create_task(pump()), asyncio.create_task(listen())]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        except WebSocketDisconnect:
            pass
        finally:
            for task in tasks:
                task.cancel()
