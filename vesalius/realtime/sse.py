"""Server-Sent Events for FastAPI routes: a channel's messages as an event stream, with event
ids, ``Last-Event-ID`` resume, heartbeats and a clean end when the server shuts down.

    @router.get("/api/things/{id}/events")
    async def thing_events(id: int, request: Request, ctx: ContextDep, …):
        … check the caller may see thing ``id`` (a service call) …
        return sse_response(channel_stream(
            ctx.pubsub, [f"things:{id}"], last_event_id=last_event_id(request),
            snapshot=current_state,
        ))

On resume the stream replays what the client missed from the bus's replay buffer, or asks the
domain's ``loader`` (its own table) when the buffer does not reach back; when neither can, it
sends a ``reset`` event followed by the ``snapshot``: the client starts again from the present.
"""

import asyncio
import contextlib
import signal
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from types import FrameType
from typing import Any

import anyio
from fastapi import Request
from starlette.responses import StreamingResponse

from vesalius.realtime.pubsub import Message, PubSub, encode, event_key

HEARTBEAT = b": keep-alive\n\n"
RETRY_MS = 2000


@dataclass(frozen=True, slots=True)
class ServerEvent:
    data: Any
    """A string is sent as is; anything else as JSON."""
    event: str | None = None
    id: str | None = None

    def encode(self) -> bytes:
        lines: list[str] = []
        if self.id is not None:
            lines.append(f"id: {self.id}")
        if self.event is not None:
            lines.append(f"event: {self.event}")
        text = self.data if isinstance(self.data, str) else encode(self.data)
        lines.extend(f"data: {line}" for line in text.split("\n"))
        return ("\n".join(lines) + "\n\n").encode()


Snapshot = Callable[[], Awaitable[Sequence[ServerEvent]]]
Loader = Callable[[str], Awaitable[Sequence[ServerEvent] | None]]


def message_event(message: Message) -> ServerEvent:
    """The default event for a message: its ``type`` (when it is an object with one) names
    the event, so browsers can ``addEventListener("progress", …)``."""
    data = message.data
    kind = data.get("type") if isinstance(data, dict) else None
    return ServerEvent(data, event=kind if isinstance(kind, str) else None, id=message.id)


def last_event_id(request: Request) -> str | None:
    """The id a reconnecting ``EventSource`` sends (or ``?lastEventId=`` for other clients)."""
    value = request.headers.get("last-event-id") or request.query_params.get("lastEventId")
    return value.strip()[:100] if value and value.strip() else None


async def channel_stream(
    pubsub: PubSub,
    channels: Sequence[str],
    *,
    last_event_id: str | None = None,
    snapshot: Snapshot | None = None,
    loader: Loader | None = None,
    to_event: Callable[[Message], ServerEvent | None] = message_event,
    heartbeat_seconds: float = 15.0,
) -> AsyncIterator[ServerEvent | bytes]:
    """Events of ``channels`` (``bytes`` items are heartbeat comments). Subscribes before
    reading the replay buffer or the snapshot, so nothing published in between is lost; a
    message the replay already sent is not sent twice."""
    async with pubsub.subscribe(*channels) as subscription:
        _live_streams.add(subscription)
        seen: tuple[int, ...] = ()
        if last_event_id is None:
            for event in await snapshot() if snapshot else ():
                yield event
        else:
            replayed = await anyio.to_thread.run_sync(pubsub.replay, channels, last_event_id)
            resumed: Sequence[ServerEvent] | None = None
            if replayed is not None:
                resumed = [e for e in map(to_event, replayed) if e is not None]
                if replayed:
                    seen = event_key(replayed[-1].id)
            elif loader is not None:
                resumed = await loader(last_event_id)
            if resumed is None:
                async for event in _reset("too_old", snapshot):
                    yield event
            else:
                for event in resumed:
                    yield event
        while True:
            message = await subscription.get(timeout=heartbeat_seconds)
            if subscription.overflowed():
                async for event in _reset("fell_behind", snapshot):
                    yield event
            if message is None:
                if subscription.closed:
                    return
                yield HEARTBEAT
                continue
            if seen and event_key(message.id) <= seen:
                continue
            converted = to_event(message)
            if converted is not None:
                yield converted


async def _reset(reason: str, snapshot: Snapshot | None) -> AsyncIterator[ServerEvent]:
    yield ServerEvent({"reason": reason}, event="reset")
    for event in await snapshot() if snapshot else ():
        yield event


def sse_response(
    stream: AsyncIterator[ServerEvent | bytes], *, headers: dict[str, str] | None = None
) -> StreamingResponse:
    async def body() -> AsyncIterator[bytes]:
        yield f"retry: {RETRY_MS}\n\n".encode()
        async for item in stream:
            yield item if isinstance(item, bytes) else item.encode()

    return StreamingResponse(
        body(),
        media_type="text/event-stream",
        headers={
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",  # nginx would otherwise hold events back
            **(headers or {}),
        },
    )


# -- ending streams at shutdown --------------------------------------------------------------
# uvicorn waits for open responses to finish before it runs the app's shutdown, and an event
# stream never finishes by itself: so the first shutdown signal ends every live stream.
_live_streams: "weakref.WeakSet[Any]" = weakref.WeakSet()
_loops: "weakref.WeakSet[asyncio.AbstractEventLoop]" = weakref.WeakSet()


def end_live_streams() -> None:
    for subscription in list(_live_streams):
        subscription.close()


def _on_exit_signal() -> None:
    for loop in list(_loops):
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(end_live_streams)


@contextlib.contextmanager
def closing_streams() -> Iterator[None]:
    """While serving: end live streams on SIGINT/SIGTERM (before uvicorn waits for them)
    and when the server stops."""
    _install_exit_hook()
    with contextlib.suppress(RuntimeError):
        _loops.add(asyncio.get_running_loop())
    try:
        yield
    finally:
        end_live_streams()


def _install_exit_hook() -> None:
    try:
        from uvicorn.server import Server
    except ImportError:  # pragma: no cover - uvicorn is a dependency
        return
    original = Server.handle_exit
    if getattr(original, "_ends_streams", False):
        return

    def handle_exit(self: Server, sig: int, frame: FrameType | None) -> None:
        if sig in (signal.SIGINT, signal.SIGTERM):
            _on_exit_signal()
        original(self, sig, frame)

    handle_exit._ends_streams = True  # type: ignore[attr-defined]
    Server.handle_exit = handle_exit  # type: ignore[method-assign]
