"""A hub killed with SIGKILL in the middle of a stream keeps every event it acknowledged,
once; after a restart the same events are answered as duplicates."""

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
import websockets
from sqlalchemy import func, select

from tests.events.conftest import event, free_port
from tests.events.hub_process import hub_process
from vesalius.accounts.models import Role
from vesalius.context import AppContext
from vesalius.events.models import Event
from vesalius.events.service import EventService


def _key(ctx: AppContext, make_user: Any) -> str:
    admin = make_user(Role.admin)
    with ctx.db.session() as session:
        return EventService(session).create_key(admin, "kill test", None, None).secret


async def _stream(url: str, key: str, acknowledged: list[str], stop_after: int) -> None:
    """Send batches of 20 over two sockets until the hub dies; keep the ids it acked."""

    async def one_socket() -> None:
        async with websockets.connect(url.replace("http", "ws") + "/api/events/ws") as ws:
            await ws.send(json.dumps({"auth": {"key": key}}))
            assert json.loads(await ws.recv())["type"] == "ready"
            while True:
                batch = [event(clientId="kill") for _ in range(20)]
                await ws.send(json.dumps({"events": batch}))
                answer = json.loads(await ws.recv())
                assert answer["accepted"] == 20
                acknowledged.extend(e["eventId"] for e in batch)

    tasks = [asyncio.create_task(one_socket()) for _ in range(2)]
    while len(acknowledged) < stop_after and not any(t.done() for t in tasks):
        await asyncio.sleep(0.01)
    return


# SQLite only: its durability (WAL, synchronous=NORMAL) is the one in question; PostgreSQL
# commits durably by default, and two process starts per database would double a slow test.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_sigkill_mid_stream_loses_no_acknowledged_event(
    ctx: AppContext, make_user: Any, tmp_path: Path
) -> None:
    key = _key(ctx, make_user)
    env = {
        "VESALIUS_DATA_DIR": str(ctx.settings.data_dir),
        "VESALIUS_DATABASE_URL": ctx.settings.database_url or "",
        "VESALIUS_LOG_FORMAT": "text",
        "VESALIUS_EVENTS_WS_MESSAGES_PER_SECOND": "100000",
        "VESALIUS_EVENTS_WS_BURST": "100000",
    }
    acknowledged: list[str] = []
    port = free_port()
    with hub_process(port, env, tmp_path / "hub.log") as hub:

        async def run() -> None:
            streaming = asyncio.create_task(_stream(hub.url, key, acknowledged, 2000))
            await streaming
            # Killed while both sockets still have batches in flight.
            hub.kill()

        asyncio.run(run())
    assert len(acknowledged) >= 2000

    with ctx.db.read_session() as session:
        stored = dict(
            session.execute(
                select(Event.event_id, func.count())
                .where(Event.client_id == "kill")
                .group_by(Event.event_id)
            ).all()
        )
    missing = [i for i in acknowledged if i not in stored]
    assert missing == []
    assert set(stored.values()) == {1}

    # Restarted: the acknowledged events are duplicates now, a new one is accepted.
    with hub_process(port, env, tmp_path / "hub.log") as hub:

        async def resend() -> dict[str, Any]:
            async with websockets.connect(hub.url.replace("http", "ws") + "/api/events/ws") as ws:
                await ws.send(json.dumps({"auth": {"key": key}}))
                await ws.recv()
                again = [event(eventId=i, clientId="kill") for i in acknowledged[:499]] + [
                    event(eventId=str(uuid.uuid4()), clientId="kill")
                ]
                await ws.send(json.dumps({"events": again}))
                return json.loads(await ws.recv())  # type: ignore[no-any-return]

        assert asyncio.run(resend()) == {"accepted": 1, "duplicates": 499, "rejected": []}
