"""WebSockets for domains: authentication in the first message or ``?token=``, pluggable
authenticators, ping/pong, a per-socket token bucket and backpressure.

    @router.websocket("/api/things/ws")
    async def things_socket(websocket: WebSocket) -> None:
        ctx = websocket.app.state.ctx
        await serve_socket(websocket, ctx, handler=ThingHandler(ctx),
                           authenticators=[jwt_authenticator(ctx)],
                           rate=50, burst=100, channels=lambda who: ["things"])

Protocol (JSON text frames):
- The client authenticates first: ``{"auth": {"token": JWT}}`` (or ``?token=`` on the URL;
  other authenticators accept other keys, e.g. ``{"auth": {"key": …}}``), and gets
  ``{"type": "ready"}``. It may send ``{"auth": …}`` again later to extend an expiring token.
- Each later message goes to the handler; what the handler returns is sent back. A refusal
  is ``{"error": {"code", "message", "details"}}`` and the socket stays open.
- ``{"type": "ping"}`` is answered ``{"type": "pong"}``; the server sends ``{"type":
  "ping"}`` every ``VESALIUS_WS_PING_SECONDS`` (uvicorn's protocol-level pings detect dead
  peers too).
- Too many messages: ``rate_limited`` errors (the message is not processed). A client that
  does not read what it is sent is closed with 1013 "client too slow" once its bounded send
  queue is full: the server never buffers without bound.
"""

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import anyio
from starlette.websockets import WebSocket, WebSocketState

from vesalius.common.errors import AppError, Unauthorized, error_body
from vesalius.common.token_bucket import TokenBucket
from vesalius.context import AppContext
from vesalius.realtime.auth import user_for_token
from vesalius.realtime.pubsub import Message

log = logging.getLogger(__name__)

POLICY_VIOLATION = 1008
MESSAGE_TOO_BIG = 1009
INTERNAL_ERROR = 1011
TRY_AGAIN_LATER = 1013
CLOSE_WAIT = 10.0


@dataclass(frozen=True)
class Authenticated:
    """Who a socket speaks for; ``expires_at`` (epoch seconds) closes it unless renewed."""

    principal: Any
    expires_at: float | None = None


Authenticator = Callable[[Mapping[str, Any]], Awaitable[Authenticated | None]]
"""Given the ``auth`` object: who it is, ``None`` if it is not this authenticator's kind,
or an ``AppError`` for a credential of its kind that is wrong."""


def jwt_authenticator(ctx: AppContext) -> Authenticator:
    """``{"token": <access token>}``: a signed-in user, until the token expires."""

    async def authenticate(auth: Mapping[str, Any]) -> Authenticated | None:
        token = auth.get("token")
        if not isinstance(token, str):
            return None
        user = await anyio.to_thread.run_sync(user_for_token, ctx, token)
        expires = ctx.access_tokens.decode(token).expires_at.timestamp()
        return Authenticated(user, expires)

    return authenticate


class SocketHandler(Protocol):
    async def on_message(self, peer: "SocketPeer", data: Any) -> Any:
        """Handle one message; a non-None result is sent back. Raise ``AppError`` to refuse."""
        ...


@dataclass
class SocketStats:
    open: int = 0
    slow_closed: int = 0
    rate_limited: int = 0


STATS = SocketStats()


class ClientTooSlow(Exception):
    pass


@dataclass
class SocketPeer:
    websocket: WebSocket
    who: Authenticated
    queue: "asyncio.Queue[str]"
    closing: asyncio.Event = field(default_factory=asyncio.Event)
    close_code: int = 1000
    close_reason: str = ""

    @property
    def principal(self) -> Any:
        return self.who.principal

    def send(self, data: Any) -> None:
        """Queue ``data`` (JSON) for the client; a full queue closes the socket (1013)."""
        if self.closing.is_set():
            return
        try:
            self.queue.put_nowait(json.dumps(data, separators=(",", ":"), default=str))
        except asyncio.QueueFull:
            STATS.slow_closed += 1
            self.close(TRY_AGAIN_LATER, "client too slow: it does not read what it is sent")

    def close(self, code: int, reason: str) -> None:
        if not self.closing.is_set():
            self.close_code, self.close_reason = code, reason[:120]
            self.closing.set()


async def serve_socket(
    websocket: WebSocket,
    ctx: AppContext,
    *,
    handler: SocketHandler | None = None,
    authenticators: Sequence[Authenticator],
    rate: float | None = None,
    burst: float | None = None,
    channels: Callable[[Any], Sequence[str]] | None = None,
    forward: Callable[[Message], Any] | None = None,
    max_message_bytes: int = 65_536,
) -> None:
    """Run one socket to its end (see the module's docstring for the protocol)."""
    settings = ctx.settings
    await websocket.accept()
    who = await _authenticate_first(websocket, authenticators, settings.ws_auth_timeout_seconds)
    if who is None:
        return
    peer = SocketPeer(websocket, who, asyncio.Queue(maxsize=settings.ws_send_queue))
    bucket = TokenBucket(rate, burst or max(1.0, rate)) if rate else None
    STATS.open += 1
    tasks = [
        asyncio.create_task(_write(peer)),
        asyncio.create_task(_keepalive(peer, settings.ws_ping_seconds)),
    ]
    if channels is not None:
        wanted = channels(who.principal)
        if wanted:
            tasks.append(asyncio.create_task(_forward(peer, ctx, wanted, forward)))
    reader = asyncio.create_task(_read(peer, handler, authenticators, bucket, max_message_bytes))
    peer.send({"type": "ready"})
    try:
        await peer.closing.wait()
    finally:
        STATS.open -= 1
        reader.cancel()
        for task in tasks:
            task.cancel()
        await asyncio.gather(reader, *tasks, return_exceptions=True)
        await _close(websocket, peer.close_code, peer.close_reason)


async def _authenticate_first(
    websocket: WebSocket, authenticators: Sequence[Authenticator], timeout: float
) -> Authenticated | None:
    token = websocket.query_params.get("token")
    try:
        if token:
            return await _authenticate({"token": token}, authenticators)
        try:
            first = await asyncio.wait_for(websocket.receive(), timeout)
        except TimeoutError:
            await _refuse(websocket, "auth_timeout", f"authenticate within {timeout:g} s")
            return None
        if first["type"] == "websocket.disconnect":
            return None
        data = _parse(first.get("text"))
        auth = data.get("auth") if isinstance(data, dict) else None
        if not isinstance(auth, dict):
            await _refuse(
                websocket,
                "not_authenticated",
                'the first message must be {"auth": {"token": "<access token>"}}',
            )
            return None
        return await _authenticate(auth, authenticators)
    except AppError as error:
        await _refuse(websocket, error.code, error.message)
        return None


async def _authenticate(
    auth: Mapping[str, Any], authenticators: Sequence[Authenticator]
) -> Authenticated:
    for authenticate in authenticators:
        who = await authenticate(auth)
        if who is not None:
            if who.expires_at is not None and who.expires_at <= time.time():
                raise Unauthorized("the credential has expired", code="token_expired")
            return who
    raise Unauthorized("no accepted credential in auth", code="not_authenticated")


async def _refuse(websocket: WebSocket, code: str, message: str) -> None:
    with contextlib.suppress(Exception):
        await websocket.send_text(json.dumps(error_body(code, message)))
    await _close(websocket, POLICY_VIOLATION, message)


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    if websocket.application_state == WebSocketState.DISCONNECTED:
        return
    # The close frame waits behind what the client has not read yet: a slow client gets it
    # (with its reason) once it catches up; a stalled one is cut off after CLOSE_WAIT.
    with contextlib.suppress(Exception):
        await asyncio.wait_for(websocket.close(code, reason[:120]), CLOSE_WAIT)


def _parse(text: str | None) -> Any:
    if text is None:
        raise AppError("send JSON text frames", code="binary_not_accepted")
    try:
        return json.loads(text)
    except ValueError:
        raise AppError("the message is not valid JSON", code="invalid_json") from None


async def _read(
    peer: SocketPeer,
    handler: SocketHandler | None,
    authenticators: Sequence[Authenticator],
    bucket: TokenBucket | None,
    max_bytes: int,
) -> None:
    websocket = peer.websocket
    try:
        while True:
            frame = await websocket.receive()
            if frame["type"] == "websocket.disconnect":
                peer.close(frame.get("code", 1000), "")
                return
            text, raw = frame.get("text"), frame.get("bytes")
            size = len(text.encode()) if text is not None else len(raw or b"")
            if size > max_bytes:
                peer.send(error_body("payload_too_large", f"a message may be {max_bytes} bytes"))
                peer.close(MESSAGE_TOO_BIG, f"message over {max_bytes} bytes")
                return
            if peer.who.expires_at is not None and peer.who.expires_at <= time.time():
                peer.send(error_body("token_expired", "the token expired: send a new auth"))
                peer.close(POLICY_VIOLATION, "token expired")
                return
            if bucket is not None and not bucket.take():
                STATS.rate_limited += 1
                retry = round(bucket.retry_after(), 3)
                peer.send(
                    error_body(
                        "rate_limited",
                        f"over {bucket.rate:g} messages a second; this one was not processed",
                        {"retryAfter": retry},
                    )
                )
                continue
            try:
                data = _parse(text)
                reply = await _dispatch(peer, handler, authenticators, data)
            except AppError as error:
                reply = error_body(error.code, error.message, error.details)
            if reply is not None:
                peer.send(reply)
    except Exception:
        log.exception("websocket handler failed")
        peer.close(INTERNAL_ERROR, "internal error")


async def _dispatch(
    peer: SocketPeer,
    handler: SocketHandler | None,
    authenticators: Sequence[Authenticator],
    data: Any,
) -> Any:
    if isinstance(data, dict):
        if data.get("type") == "ping":
            return {"type": "pong"}
        if data.get("type") == "pong":
            return None
        if isinstance(data.get("auth"), dict):
            peer.who = await _authenticate(data["auth"], authenticators)
            return {"type": "ready"}
    if handler is None:
        raise AppError("this socket only sends", code="not_accepted")
    return await handler.on_message(peer, data)


async def _write(peer: SocketPeer) -> None:
    try:
        while True:
            text = await peer.queue.get()
            await peer.websocket.send_text(text)
    except Exception:
        peer.close(1000, "")


async def _keepalive(peer: SocketPeer, every: float) -> None:
    while True:
        await asyncio.sleep(every)
        expires = peer.who.expires_at
        if expires is not None and expires <= time.time():
            peer.send(error_body("token_expired", "the token expired: send a new auth"))
            peer.close(POLICY_VIOLATION, "token expired")
            return
        peer.send({"type": "ping"})


async def _forward(
    peer: SocketPeer,
    ctx: AppContext,
    channels: Sequence[str],
    forward: Callable[[Message], Any] | None,
) -> None:
    async with ctx.pubsub.subscribe(*channels) as subscription:
        async for message in subscription:
            if subscription.overflowed():
                peer.send({"type": "reset", "reason": "fell_behind"})
            data = (
                forward(message)
                if forward
                else {"channel": message.channel, "id": message.id, "data": message.data}
            )
            if data is not None:
                peer.send(data)
