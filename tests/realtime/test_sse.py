"""Server-Sent Events: a job's progress as it happens, resume after a reconnect, who may
watch, heartbeats, and streams that end when the server shuts down."""

import asyncio
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from tests.conftest import MakeUser
from tests.realtime.conftest import LiveServer, Member, SseReader, sign_in
from vesalius.accounts.models import Role
from vesalius.context import AppContext
from vesalius.domains import hub
from vesalius.jobs.events import job_changed
from vesalius.jobs.runner import RunningJob, run_job
from vesalius.jobs.service import JobService
from vesalius.realtime.sse import HEARTBEAT, ServerEvent, channel_stream


def _progressing(_ctx: AppContext, job: RunningJob) -> dict[str, Any]:
    job.progress(40, "halfway")
    return {"cells": 12}


if "test_live_progress" not in hub().job_types:
    hub().job("test_live_progress", queue="thumbnails", handler=_progressing)


def _new_job(ctx: AppContext, owner_id: int) -> int:
    with ctx.db.session() as session:
        job = JobService(ctx, session).create("test_live_progress", input={}, owner_id=owner_id)
        session.commit()
        return job.id


@contextmanager
def events(
    live: LiveServer, path: str, headers: dict[str, str], **extra: str
) -> Iterator[SseReader]:
    with (
        httpx.Client(base_url=live.url, timeout=30) as client,
        client.stream("GET", path, headers={**headers, **extra}) as response,
    ):
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        yield SseReader(response.iter_lines())


def test_a_job_streams_its_progress_and_completion(
    live: LiveServer, member: Member, ctx: AppContext
) -> None:
    job_id = _new_job(ctx, member.user.id)
    with events(live, f"/api/jobs/{job_id}/events", member.headers) as stream:
        first = stream.next()
        assert (first.event, first.data["status"], first.data["progress"]) == ("job", "queued", 0)
        worker = threading.Thread(target=run_job, args=(ctx, job_id))
        worker.start()
        seen = [stream.next()]
        while seen[-1].data["status"] != "completed":
            seen.append(stream.next())
        worker.join()
    assert stream.retry == 2000  # the browser's reconnect delay
    assert [(e.data["status"], e.data["progress"]) for e in seen] == [
        ("running", 40),
        ("completed", 100),
    ]
    assert seen[0].data["message"] == "halfway"
    assert all(e.id for e in seen)


def test_a_reconnecting_client_gets_what_it_missed(
    live: LiveServer, member: Member, ctx: AppContext
) -> None:
    job_id = _new_job(ctx, member.user.id)
    ctx.pubsub.start()  # the server's bus is this context's: it keeps the replay buffer
    with events(live, f"/api/jobs/{job_id}/events", member.headers) as stream:
        stream.next()  # the state now
        for progress in (10, 20, 30):
            job_changed(ctx, job_id, status="running", progress=progress)
        seen = [stream.next() for _ in range(3)]
    # The client saw 10, lost its connection, reconnects with the last id it saw.
    with events(
        live, f"/api/jobs/{job_id}/events", member.headers, **{"Last-Event-ID": seen[0].id or ""}
    ) as stream:
        replayed = [stream.next(), stream.next()]
    assert [e.data["progress"] for e in replayed] == [20, 30]
    assert [e.id for e in replayed] == [seen[1].id, seen[2].id]

    # An id the buffer does not reach: the job's row answers with its state now.
    with events(
        live, f"/api/jobs/{job_id}/events", member.headers, **{"Last-Event-ID": "1-0-1"}
    ) as stream:
        state = stream.next()
    assert (state.event, state.data["status"]) == ("job", "queued")


def test_only_the_owner_and_admins_may_watch_a_job(
    live: LiveServer, member: Member, ctx: AppContext, make_user: MakeUser
) -> None:
    job_id = _new_job(ctx, member.user.id)
    stranger = sign_in(live.url, make_user(Role.researcher).email)
    admin = sign_in(live.url, make_user(Role.admin).email)
    with httpx.Client(base_url=live.url, timeout=30) as client:
        refused = client.get(
            f"/api/jobs/{job_id}/events", headers={"Authorization": f"Bearer {stranger}"}
        )
        assert refused.status_code == 404
        assert refused.json()["error"]["code"] == "not_found"
        anonymous = client.get(f"/api/jobs/{job_id}/events")
        assert anonymous.status_code == 401
        assert anonymous.json()["error"]["code"] == "not_authenticated"
        forged = client.get(f"/api/jobs/{job_id}/events?token=forged")
        assert forged.status_code == 401
    # EventSource cannot send headers: the token may come as ?token=.
    with events(live, f"/api/jobs/{job_id}/events?token={admin}", {}) as stream:
        assert stream.next().data["id"] == job_id


def test_streams_end_when_the_server_shuts_down(
    live: LiveServer, member: Member, ctx: AppContext
) -> None:
    job_id = _new_job(ctx, member.user.id)
    with events(live, f"/api/jobs/{job_id}/events", member.headers) as stream:
        stream.next()
        live.server.handle_exit(signal.SIGTERM, None)  # as `kill -TERM` would
        with pytest.raises(EOFError):
            stream.next()
    live.thread.join(timeout=30)
    assert not live.thread.is_alive()


# -- the stream helper itself -----------------------------------------------------------------
async def _take(stream: Any, count: int) -> list[Any]:
    got = []
    async for item in stream:
        got.append(item)
        if len(got) == count:
            break
    await stream.aclose()
    return got


def test_too_old_a_gap_resets_the_client(ctx: AppContext) -> None:
    async def snapshot() -> list[ServerEvent]:
        return [ServerEvent({"now": True}, event="state")]

    async def scenario() -> list[Any]:
        ctx.pubsub.start()
        stream = channel_stream(ctx.pubsub, ["things:1"], last_event_id="1-0-1", snapshot=snapshot)
        return await _take(stream, 2)

    reset, state = asyncio.run(scenario())
    assert (reset.event, reset.data) == ("reset", {"reason": "too_old"})
    assert (state.event, state.data) == ("state", {"now": True})


def test_an_idle_stream_sends_heartbeats(ctx: AppContext) -> None:
    async def scenario() -> list[Any]:
        stream = channel_stream(ctx.pubsub, ["quiet"], heartbeat_seconds=0.01)
        return await _take(stream, 2)

    assert asyncio.run(scenario()) == [HEARTBEAT, HEARTBEAT]
    assert (
        ServerEvent({"a": 1}, event="x", id="5").encode() == b'id: 5\nevent: x\ndata: {"a":1}\n\n'
    )
