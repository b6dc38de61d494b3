"""WebSockets through the helper, driven by the ``websockets`` client as an application
would: first-message or ``?token=`` authentication, another kind of credential, refusals
that keep the socket, ping/pong, the rate limit, a slow reader dropped with a reason."""

import json
import socket
import time
from collections.abc import Mapping
from typing import Any

import pytest
from fastapi import APIRouter, WebSocket
from websockets.client import ClientProtocol
from websockets.exceptions import ConnectionClosed
from websockets.protocol import State
from websockets.sync.client import ClientConnection, connect
from websockets.uri import parse_uri

from tests.realtime.conftest import LiveServer, Member
from tests.waiting import wait_until
from vesalius.common.errors import AppError, Forbidden
from vesalius.realtime.websocket import (
    STATS,
    Authenticated,
    SocketPeer,
    jwt_authenticator,
    serve_socket,
)

router = APIRouter()


class Echo:
    async def on_message(self, peer: SocketPeer, data: Any) -> Any:
        if data == "refuse":
            raise AppError("refused on purpose", code="refused")
        return {"echo": data, "who": getattr(peer.principal, "email", peer.principal)}


async def key_authenticator(auth: Mapping[str, Any]) -> Authenticated | None:
    """Another kind of credential, as ingest keys are: ``{"key": …}``."""
    if "key" not in auth:
        return None
    if auth["key"] != "good-key":
        raise Forbidden("unknown ingest key", code="invalid_key")
    return Authenticated("source-app")


@router.websocket("/test/ws")
async def echo_socket(websocket: WebSocket) -> None:
    ctx = websocket.app.state.ctx
    await serve_socket(
        websocket,
        ctx,
        handler=Echo(),
        authenticators=[jwt_authenticator(ctx), key_authenticator],
        rate=5,
        burst=10,
        channels=lambda _who: ["tests:ws"],
        max_message_bytes=1024,
    )


@pytest.fixture
def extra_routes() -> list[APIRouter]:
    return [router]


def ws_url(live: LiveServer, query: str = "") -> str:
    return live.url.replace("http://", "ws://") + "/test/ws" + query


def receive(socket: ClientConnection) -> Any:
    """The next message that is not a keepalive ping."""
    while True:
        data = json.loads(socket.recv(timeout=10))
        if data != {"type": "ping"}:
            return data


def test_first_message_authentication_then_echo(live: LiveServer, member: Member) -> None:
    with connect(ws_url(live)) as socket:
        socket.send(json.dumps({"auth": {"token": member.token}}))
        assert receive(socket) == {"type": "ready"}
        socket.send(json.dumps({"hello": 1}))
        assert receive(socket) == {"echo": {"hello": 1}, "who": member.user.email}
        socket.send(json.dumps({"type": "ping"}))
        assert receive(socket) == {"type": "pong"}
        # Refusals and bad frames are answered; the socket stays open.
        socket.send(json.dumps("refuse"))
        assert receive(socket)["error"]["code"] == "refused"
        socket.send("{not json")
        assert receive(socket)["error"]["code"] == "invalid_json"
        socket.send(b"\x00binary")
        assert receive(socket)["error"]["code"] == "binary_not_accepted"
        socket.send(json.dumps("still here"))
        assert receive(socket)["echo"] == "still here"


def test_query_token_and_other_credentials(live: LiveServer, member: Member) -> None:
    with connect(ws_url(live, f"?token={member.token}")) as socket:
        assert receive(socket) == {"type": "ready"}
    with connect(ws_url(live)) as socket:
        socket.send(json.dumps({"auth": {"key": "good-key"}}))
        assert receive(socket) == {"type": "ready"}
        socket.send(json.dumps(1))
        assert receive(socket)["who"] == "source-app"


@pytest.mark.parametrize(
    ("first", "code"),
    [
        ({"auth": {"token": "forged"}}, "invalid_token"),
        ({"auth": {"key": "wrong"}}, "invalid_key"),
        ({"auth": {"password": "x"}}, "not_authenticated"),
        ({"hello": "no auth"}, "not_authenticated"),
    ],
)
def test_bad_credentials_are_refused_with_a_reason(
    live: LiveServer, first: dict[str, Any], code: str
) -> None:
    with connect(ws_url(live)) as socket:
        socket.send(json.dumps(first))
        assert receive(socket)["error"]["code"] == code
        with pytest.raises(ConnectionClosed) as closed:
            socket.recv(timeout=10)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1008


def test_a_flood_gets_rate_limited_messages_not_silence(live: LiveServer, member: Member) -> None:
    with connect(ws_url(live, f"?token={member.token}")) as socket:
        assert receive(socket) == {"type": "ready"}
        for n in range(30):
            socket.send(json.dumps(n))
        answers = [receive(socket) for _ in range(30)]
    echoed = [a["echo"] for a in answers if "echo" in a]
    limited = [a for a in answers if "error" in a]
    assert echoed[:10] == list(range(10))  # the burst
    assert len(echoed) < 30
    assert limited
    assert {a["error"]["code"] for a in limited} == {"rate_limited"}
    assert limited[0]["error"]["details"]["retryAfter"] > 0


def test_an_oversized_message_closes_the_socket(live: LiveServer, member: Member) -> None:
    with connect(ws_url(live, f"?token={member.token}")) as socket:
        assert receive(socket) == {"type": "ready"}
        socket.send(json.dumps("x" * 2000))
        assert receive(socket)["error"]["code"] == "payload_too_large"
        with pytest.raises(ConnectionClosed) as closed:
            socket.recv(timeout=10)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1009


def test_published_messages_reach_the_socket(live: LiveServer, member: Member) -> None:
    ctx = live.server.config.app.state.ctx
    with connect(ws_url(live, f"?token={member.token}")) as socket:
        assert receive(socket) == {"type": "ready"}
        ctx.pubsub.publish("tests:ws", {"tick": 1})
        got = receive(socket)
    assert (got["channel"], got["data"]) == ("tests:ws", {"tick": 1})


def _stalled_client(url: str) -> tuple[socket.socket, ClientProtocol]:
    """A websockets (sans-I/O) client on a socket with a tiny receive buffer, that completes
    the handshake and then stops reading, as a stalled phone on a ward network does."""
    protocol = ClientProtocol(parse_uri(url))
    host, port = url.removeprefix("ws://").split("/")[0].split(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((host, int(port)))
    protocol.send_request(protocol.connect())
    sock.sendall(b"".join(protocol.data_to_send()))
    sock.settimeout(10)
    while protocol.state is State.CONNECTING:
        protocol.receive_data(sock.recv(4096))
    assert protocol.handshake_exc is None
    return sock, protocol


def test_a_client_that_does_not_read_is_closed_with_a_reason(
    live: LiveServer, member: Member
) -> None:
    ctx = live.server.config.app.state.ctx
    sock, protocol = _stalled_client(ws_url(live, f"?token={member.token}"))
    with sock:
        wait_until(lambda: ctx.pubsub.stats.subscribers >= 1, timeout=10)
        closed_before = STATS.slow_closed
        payload = {"blob": "x" * 30_000}
        deadline = time.monotonic() + 60
        while STATS.slow_closed == closed_before and time.monotonic() < deadline:
            for _ in range(20):
                ctx.pubsub.publish("tests:ws", payload)
            time.sleep(0.01)
        assert STATS.slow_closed > closed_before, "the server kept buffering for the client"
        # The client catches up: what was sent, then the close frame with the reason.
        while protocol.close_rcvd is None:
            data = sock.recv(1 << 16)
            if not data:
                break
            protocol.receive_data(data)
            protocol.events_received()
    assert protocol.close_rcvd is not None
    assert protocol.close_rcvd.code == 1013
    assert "too slow" in protocol.close_rcvd.reason
