"""/api/events/ws with a real client (websockets) against a real uvicorn, and the live
stream (SSE and WebSocket) a dashboard reads."""

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from tests.events.conftest import admin_token, event, make_key
from vesalius.accounts.models import User
from vesalius.context import AppContext


def answer(ws: ClientConnection) -> dict[str, Any]:
    while True:
        reply = json.loads(ws.recv(timeout=15))
        if reply.get("type") != "ping":
            return reply  # type: ignore[no-any-return]


@contextmanager
def open_socket(base: str, auth: dict[str, str]) -> Iterator[ClientConnection]:
    with connect(f"ws://{base}/api/events/ws") as ws:
        ws.send(json.dumps({"auth": auth}))
        assert answer(ws)["type"] == "ready"
        yield ws


def new_key(base: str, headers: dict[str, str]) -> str:
    with httpx.Client(base_url=f"http://{base}") as http:
        return make_key(http, headers)  # type: ignore[arg-type]


def test_socket_acks_batches_and_duplicates_across_rest_and_ws(
    live_server: str, admin: User
) -> None:
    token = admin_token(live_server)
    headers = {"Authorization": f"Bearer {token}"}
    key = new_key(live_server, headers)
    sent_by_rest = event(clientId="ws-test")
    assert (
        httpx.post(
            f"http://{live_server}/api/events", json=sent_by_rest, headers={"X-Ingest-Key": key}
        ).json()["accepted"]
        == 1
    )

    with open_socket(live_server, {"key": key}) as ws:
        batch = [event(clientId="ws-test") for _ in range(50)]
        ws.send(json.dumps({"id": 1, "events": [*batch, sent_by_rest]}))
        assert answer(ws) == {"accepted": 50, "duplicates": 1, "rejected": [], "id": 1}
        ws.send(json.dumps(batch[0]))
        assert answer(ws) == {"accepted": 0, "duplicates": 1, "rejected": []}
        ws.send('{"events": [')  # malformed: refused, the socket stays open
        assert answer(ws)["error"]["code"] == "invalid_json"
        ws.send(json.dumps({"events": [event(properties={"x": "y" * 20_000})]}))
        assert answer(ws)["rejected"][0]["code"] == "event_too_large"
        ws.send(json.dumps({"events": [event() for _ in range(501)]}))
        assert answer(ws)["error"]["code"] == "batch_too_large"
        ws.send(json.dumps({"events": [{"type": 5}]}))
        assert answer(ws)["rejected"][0]["code"] == "invalid_event"
        ws.send('{"type": "ping"}')
        assert answer(ws) == {"type": "pong"}
        ws.send("x" * (500 * 16_384 + 5000))  # over any batch: refused and closed
        assert answer(ws)["error"]["code"] == "payload_too_large"
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 1009

    with open_socket(live_server, {"token": token}) as ws:  # a signed-in user may send too
        ws.send(json.dumps(event(clientId="ws-test")))
        assert answer(ws)["accepted"] == 1

    count = httpx.get(
        f"http://{live_server}/api/events/count", params={"clientId": "ws-test"}, headers=headers
    )
    assert count.json() == {"count": 52}


def test_a_socket_without_valid_credentials_is_refused(live_server: str) -> None:
    with connect(f"ws://{live_server}/api/events/ws") as ws:
        ws.send(json.dumps({"auth": {"key": "vik_wrong"}}))
        assert answer(ws)["error"]["code"] == "invalid_ingest_key"
    with connect(f"ws://{live_server}/api/events/ws") as ws:
        ws.send(json.dumps(event()))  # events before authenticating
        assert answer(ws)["error"]["code"] == "not_authenticated"


def test_a_flood_beyond_the_bucket_is_told_rate_limited(
    live_server: str, admin: User, ctx: AppContext
) -> None:
    ctx.settings.events_ws_burst = 5
    ctx.settings.events_ws_messages_per_second = 1
    token = admin_token(live_server)
    with open_socket(live_server, {"token": token}) as ws:
        for _ in range(8):
            ws.send(json.dumps(event()))
        replies = [answer(ws) for _ in range(8)]
    accepted = [r for r in replies if r.get("accepted") == 1]
    limited = [r for r in replies if "error" in r]
    assert len(accepted) == 5
    assert {r["error"]["code"] for r in limited} == {"rate_limited"}
    assert all(r["error"]["details"]["retryAfter"] > 0 for r in limited)


def test_an_expired_token_ends_the_socket(live_server: str, admin: User, ctx: AppContext) -> None:
    ctx.access_tokens.lifetime = timedelta(seconds=1)
    token = admin_token(live_server)
    with open_socket(live_server, {"token": token}) as ws:
        time.sleep(1.2)  # let the token run out (this is the scenario, not a timing check)
        ws.send(json.dumps(event()))
        assert answer(ws)["error"]["code"] == "token_expired"
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 1008


def test_dashboards_get_a_tick_each_second_with_the_new_events(
    live_server: str, admin: User, client: TestClient
) -> None:
    token = admin_token(live_server)
    headers = {"Authorization": f"Bearer {token}"}
    key = new_key(live_server, headers)
    with connect(f"ws://{live_server}/api/live/ws?clientId=kiosk&token={token}") as live:
        assert json.loads(live.recv(timeout=10))["type"] == "ready"
        httpx.post(
            f"http://{live_server}/api/events",
            json={"events": [event(clientId="kiosk", userId=f"u{i}") for i in range(3)]},
            headers={"X-Ingest-Key": key},
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            tick = json.loads(live.recv(timeout=10))
            if tick.get("type") == "tick" and tick["windows"]["60s"]["events"] == 3:
                break
        else:
            raise AssertionError("no tick showed the events")
        assert set(tick["windows"]) == {"1s", "5s", "60s"}
        assert tick["clientId"] == "kiosk"
        assert tick["windows"]["60s"]["activeUsers"] == 3

    with httpx.stream(
        "GET", f"http://{live_server}/api/live/stream", headers=headers, timeout=15
    ) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines = stream.iter_lines()
        seen = []
        for line in lines:
            if line.startswith("data: "):
                seen.append(json.loads(line[6:]))
                if len(seen) == 2:
                    break
    assert all(s["type"] == "tick" for s in seen)
    assert seen[-1]["windows"]["60s"]["byClient"].get("kiosk") == 3

    clinician_refused = httpx.get(f"http://{live_server}/api/live/stream")
    assert clinician_refused.status_code == 401
