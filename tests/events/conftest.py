"""Helpers for the events tests: events built fresh, an ingest key, an admin's headers."""

import socket
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from tests.conftest import PASSWORD
from tests.waiting import wait_until
from vesalius.app import create_app
from vesalius.context import AppContext


def event(**fields: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "eventId": str(uuid.uuid4()),
        "type": "page_view",
        "timestamp": datetime.now(UTC).isoformat(),
        "clientId": "web",
        "sessionId": "s1",
        "userId": "u1",
        "route": "/home",
        "statusCode": 200,
        "durationMs": 12.5,
    }
    values.update(fields)
    return {k: v for k, v in values.items() if v is not None}


def ago(**delta: float) -> str:
    return (datetime.now(UTC) - timedelta(**delta)).isoformat()


def make_key(client: TestClient, headers: dict[str, str], **body: Any) -> str:
    response = client.post(
        "/api/admin/ingest-keys", json={"name": "web app", **body}, headers=headers
    )
    assert response.status_code == 201, response.text
    return str(response.json()["key"])


@pytest.fixture
def ingest_key(client: TestClient, admin_headers: dict[str, str]) -> dict[str, str]:
    return {"X-Ingest-Key": make_key(client, admin_headers)}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def live_server(ctx: AppContext) -> Iterator[str]:
    """The app served by a real uvicorn (real WebSockets and streams), on a thread."""
    app = create_app(ctx.settings, with_ui=False, ctx=ctx)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", ws="websockets-sansio"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started, timeout=30)
    yield f"127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=15)


def admin_token(base: str, email: str = "admin@example.org") -> str:
    response = httpx.post(
        f"http://{base}/api/auth/login", json={"email": email, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    return str(response.json()["accessToken"])
