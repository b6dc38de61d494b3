"""Scaled mode: two API processes behind one Redis show the same live windows, whichever of
them received the events and whichever a dashboard is connected to."""

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import PASSWORD
from tests.events.conftest import event, free_port
from tests.events.hub_process import hub_process
from tests.services import RedisServer
from vesalius.accounts.models import Role
from vesalius.context import AppContext
from vesalius.events.service import EventService


def _key(ctx: AppContext, make_user: Any) -> tuple[str, str]:
    admin = make_user(Role.admin, email="scaled-admin@example.org")
    with ctx.db.session() as session:
        key = EventService(session).create_key(admin, "scaled test", None, None).secret
    return key, admin.email


def _ticks(url: str, token: str, seconds: float) -> list[dict[str, Any]]:
    """The ticks a dashboard connected to ``url`` receives for ``seconds``."""
    found: list[dict[str, Any]] = []
    until = time.monotonic() + seconds
    with httpx.stream(
        "GET",
        f"{url}/api/live/stream",
        headers={"Authorization": f"Bearer {token}"},
        timeout=httpx.Timeout(10, read=5),
    ) as stream:
        for line in stream.iter_lines():
            if line.startswith("data:"):
                found.append(json.loads(line[5:]))
            if time.monotonic() > until:
                break
    return found


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_two_processes_show_the_same_windows(
    ctx: AppContext, make_user: Any, redis: RedisServer, tmp_path: Path
) -> None:
    key, email = _key(ctx, make_user)
    env = {
        "VESALIUS_DATA_DIR": str(ctx.settings.data_dir),
        "VESALIUS_DATABASE_URL": ctx.settings.database_url or "",
        "VESALIUS_REDIS_URL": redis.url,
        "VESALIUS_LOG_FORMAT": "text",
        "VESALIUS_EVENTS_SELF_FEED": "false",
    }
    with (
        hub_process(free_port(), env, tmp_path / "a.log") as first,
        hub_process(free_port(), env, tmp_path / "b.log") as second,
    ):
        token = httpx.post(
            f"{first.url}/api/auth/login", json={"email": email, "password": PASSWORD}
        )
        assert token.status_code == 200, token.text
        access = token.json()["accessToken"]
        # 30 events through one process and 12 through the other, users shared between them.
        sent = {first.url: 30, second.url: 12}
        for url, count in sent.items():
            batch = [event(clientId="scaled", userId=f"u{i % 10}") for i in range(count)]
            answer = httpx.post(
                f"{url}/api/events", json={"events": batch}, headers={"X-Ingest-Key": key}
            )
            assert answer.json()["accepted"] == count
        seen_by = {url: _ticks(url, access, 3.5) for url in (first.url, second.url)}

    def sixty(ticks: list[dict[str, Any]]) -> tuple[int, int]:
        window = ticks[-1]["windows"]["60s"]
        return window["events"], window["activeUsers"]

    # Every event of both processes, the ten users counted once, on both dashboards.
    assert sixty(seen_by[first.url]) == (42, 10)
    assert sixty(seen_by[second.url]) == (42, 10)
