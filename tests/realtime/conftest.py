"""A real uvicorn server in a thread (event streams and sockets need a real connection: the
in-process test client waits for a response to end), an SSE reader, a signed-in user."""

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import APIRouter

from tests.conftest import PASSWORD, MakeUser
from tests.services import free_port
from tests.waiting import wait_until
from vesalius.accounts.models import Role, User
from vesalius.app import create_app
from vesalius.context import AppContext


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    """The push layer does not depend on the database: SQLite only, to stay quick."""
    return sqlite_url


@dataclass
class LiveServer:
    url: str
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


@pytest.fixture
def extra_routes() -> list[APIRouter]:
    """Routes a test module adds to the served app (a socket endpoint to exercise)."""
    return []


@pytest.fixture
def live(ctx: AppContext, extra_routes: list[APIRouter]) -> Iterator[LiveServer]:
    app = create_app(ctx.settings, with_ui=False, ctx=ctx)
    for router in extra_routes:
        app.include_router(router)
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="test-uvicorn", daemon=True)
    thread.start()
    wait_until(lambda: server.started, timeout=30)
    running = LiveServer(f"http://127.0.0.1:{port}", server, thread)
    yield running
    running.stop()


def sign_in(base_url: str, email: str, password: str = PASSWORD) -> str:
    response = httpx.post(
        f"{base_url}/api/auth/login", json={"email": email, "password": password}, timeout=30
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["accessToken"]
    return token


@dataclass
class Member:
    user: User
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
def member(live: LiveServer, make_user: MakeUser) -> Member:
    user = make_user(Role.researcher)
    return Member(user, sign_in(live.url, user.email))


@dataclass
class SseEvent:
    event: str
    data: Any
    id: str | None


@dataclass
class SseReader:
    """Reads ``text/event-stream`` lines into events; comments count as heartbeats."""

    lines: Iterator[str]
    heartbeats: int = 0
    retry: int | None = None
    _fields: dict[str, str] = field(default_factory=dict)

    def next(self) -> SseEvent:
        data: list[str] = []
        fields: dict[str, str] = {}
        for line in self.lines:
            if line == "":
                if data:
                    text = "\n".join(data)
                    return SseEvent(
                        fields.get("event", "message"), json.loads(text), fields.get("id")
                    )
                continue
            if line.startswith(":"):
                self.heartbeats += 1
                continue
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "data":
                data.append(value)
            elif name == "retry":
                self.retry = int(value)
            else:
                fields[name] = value
        raise EOFError("the stream ended")
