"""``/api/events/ws``: event ingestion over a WebSocket.

The client authenticates in its first message (``{"auth": {"token": JWT}}`` or
``{"auth": {"key": INGEST_KEY}}``) or with ``?token=``, then sends an event or
``{"events": [...]}`` per message (optionally with ``"id"``, echoed in the ack). Each message
is answered in order with ``{accepted, duplicates, rejected}`` once its events are committed;
a refused message gets ``{"error": {code, message}}`` and the socket stays open.

Messages are parsed as they arrive and their commits overlap (up to ``MAX_IN_FLIGHT``
unanswered messages; past that the socket stops reading, which is the backpressure), so one
socket is not held to one commit per round trip.

A token bucket per socket (``VESALIUS_EVENTS_WS_MESSAGES_PER_SECOND``, burst
``VESALIUS_EVENTS_WS_BURST``; a batch is one message) answers ``rate_limited`` instead of
dropping silently. ``{"type": "ping"}`` gets ``{"type": "pong"}``; the server pings an idle
socket every ``VESALIUS_WS_PING_SECONDS``. A signed-in user's socket is closed (4401) when
their access token expires: the client reconnects with a fresh one.
"""

import asyncio
import contextlib
import time
from typing import Any

import anyio
import msgspec
from fastapi import WebSocket, WebSocketDisconnect

from vesalius.common.errors import AppError
from vesalius.context import AppContext
from vesalius.events.ingest import EventIngest, Outcome
from vesalius.events.senders import Sender, Senders

MAX_IN_FLIGHT = 64
CLOSE_POLICY = 1008
CLOSE_EXPIRED = 4401
_decoder = msgspec.json.Decoder()


class TokenBucket:
    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.tokens = float(burst)
        self.updated = time.monotonic()

    def take(self) -> float:
        """0 when a message may pass; otherwise seconds until one may."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


def error(code: str, message: str, **extra: Any) -> bytes:
    return msgspec.json.encode({"error": {"code": code, "message": message, **extra}})


async def authenticate(ws: WebSocket, ctx: AppContext) -> Sender | None:
    senders = ctx.component(Senders)
    origin = ws.headers.get("origin")
    try:
        token = ws.query_params.get("token")
        if token:
            return await anyio.to_thread.run_sync(senders.by_token, token)
        timeout = ctx.settings.ws_auth_timeout_seconds
        with anyio.fail_after(timeout):
            first = await ws.receive_text()
        try:
            auth = _decoder.decode(first).get("auth") or {}
        except (msgspec.DecodeError, AttributeError):
            auth = {}
        if auth.get("key"):
            return await anyio.to_thread.run_sync(senders.by_key, str(auth["key"]), origin)
        if auth.get("token"):
            return await anyio.to_thread.run_sync(senders.by_token, str(auth["token"]))
        await ws.send_bytes(
            error("not_authenticated", 'first message: {"auth": {"token" | "key": …}}')
        )
    except AppError as refused:
        await ws.send_bytes(error(refused.code, refused.message))
    except TimeoutError:
        await ws.send_bytes(error("auth_timeout", "no authentication message in time"))
    await ws.close(CLOSE_POLICY)
    return None


async def serve_ingest_socket(ws: WebSocket, ctx: AppContext) -> None:
    await ws.accept()
    sender = await authenticate(ws, ctx)
    if sender is None:
        return
    ingest = ctx.component(EventIngest)
    settings = ctx.settings
    bucket = TokenBucket(settings.events_ws_messages_per_second, settings.events_ws_burst)
    max_frame = settings.events_max_batch * settings.events_max_event_bytes + 4096
    answers: asyncio.Queue[asyncio.Future[bytes] | None] = asyncio.Queue(MAX_IN_FLIGHT)
    loop = asyncio.get_running_loop()
    await ws.send_bytes(msgspec.json.encode({"type": "ready", "sender": sender.kind}))
    ingest.metrics.open_sockets.inc()

    async def send_answers() -> None:
        while (answer := await answers.get()) is not None:
            await ws.send_bytes(await answer)

    def now_answer(data: bytes) -> asyncio.Future[bytes]:
        done: asyncio.Future[bytes] = loop.create_future()
        done.set_result(data)
        return done

    sending = asyncio.create_task(send_answers())
    try:
        while True:
            try:
                with anyio.move_on_after(settings.ws_ping_seconds) as idle:
                    frame = await ws.receive()
            except WebSocketDisconnect:
                break
            if idle.cancelled_caught:
                await answers.put(now_answer(b'{"type":"ping"}'))
                continue
            if frame["type"] == "websocket.disconnect":
                break
            body: bytes = frame.get("bytes") or (frame.get("text") or "").encode()
            if sender.expires_at is not None and time.time() >= sender.expires_at:
                await answers.put(now_answer(error("token_expired", "sign in again")))
                await answers.put(None)
                await sending
                await ws.close(CLOSE_EXPIRED)
                return
            if body.startswith(b'{"type":"ping"') or body.startswith(b'{"type": "ping"'):
                await answers.put(now_answer(b'{"type":"pong"}'))
                continue
            wait = bucket.take()
            if wait:
                await answers.put(
                    now_answer(
                        error(
                            "rate_limited",
                            f"at most {bucket.rate:g} messages a second; slow down",
                            retryAfterMs=round(wait * 1000),
                        )
                    )
                )
                continue
            if len(body) > max_frame:
                await answers.put(
                    now_answer(error("frame_too_large", f"a message may be {max_frame} bytes"))
                )
                continue
            await answers.put(asyncio.ensure_future(_ingest(ingest, body)))
    finally:
        ingest.metrics.open_sockets.dec()
        with contextlib.suppress(asyncio.QueueFull):
            answers.put_nowait(None)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(sending, timeout=5)
        sending.cancel()


async def _ingest(ingest: EventIngest, body: bytes) -> bytes:
    try:
        parsed = ingest.parse(body)
        message_id = _message_id(body) if not parsed.single else None
        if parsed.single and parsed.rejected and parsed.rejected[0].code == "malformed_json":
            ingest.count(0, 0, parsed)
            return error("malformed_json", parsed.rejected[0].message)
        outcome: Outcome = await ingest.ingest(parsed)
    except AppError as refused:
        return error(refused.code, refused.message)
    answer = outcome.as_dict()
    if message_id is not None:
        answer["id"] = message_id
    return msgspec.json.encode(answer)


class _Envelope(msgspec.Struct):
    id: Any = None


_envelope = msgspec.json.Decoder(_Envelope)


def _message_id(body: bytes) -> Any:
    try:
        return _envelope.decode(body).id
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
