"""Job progress as it happens: ``GET /api/jobs/{id}/events`` (Server-Sent Events) from the
``jobs:{id}`` channel the runner publishes to (``vesalius/jobs/events.py``)."""

from collections.abc import Sequence
from typing import Any

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from vesalius.accounts.models import User
from vesalius.context import AppContext
from vesalius.deps import ContextDep
from vesalius.jobs.events import job_channel
from vesalius.jobs.service import JobService
from vesalius.realtime.auth import stream_user
from vesalius.realtime.pubsub import Message
from vesalius.realtime.sse import ServerEvent, channel_stream, last_event_id, sse_response

router = APIRouter(prefix="/api/jobs", tags=["jobs"])
JOB_EVENT = "job"


def job_state(ctx: AppContext, user: User, job_id: int) -> dict[str, Any]:
    """The job as the runner announces it (same fields), read from its row."""
    with ctx.db.read_session() as session:
        job = JobService(ctx, session).get_for(user, job_id)
        return {
            "id": job.id,
            "status": job.status.value,
            "progress": job.progress,
            "message": job.message if job.message is not None else job.error,
            "resourceType": job.resource_type,
            "resourceId": job.resource_id,
        }


def _as_job_event(message: Message) -> ServerEvent:
    return ServerEvent(message.data, event=JOB_EVENT, id=message.id)


@router.get(
    "/{job_id}/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def job_events(job_id: int, request: Request, ctx: ContextDep) -> StreamingResponse:
    """Server-Sent Events: a ``job`` event with the job's state now, then one per change
    (progress, completion, failure). A reconnecting client (``Last-Event-ID``) gets the
    changes it missed, or the current state when they are too old. ``?token=`` may carry
    the access token (``EventSource`` cannot send headers)."""
    user = await stream_user(request, ctx)
    await anyio.to_thread.run_sync(job_state, ctx, user, job_id)  # 404 before streaming

    async def now() -> Sequence[ServerEvent]:
        state = await anyio.to_thread.run_sync(job_state, ctx, user, job_id)
        return [ServerEvent(state, event=JOB_EVENT)]

    async def since(_event_id: str) -> Sequence[ServerEvent]:
        # A job's state is its latest change: the row answers any gap.
        return await now()

    return sse_response(
        channel_stream(
            ctx.pubsub,
            [job_channel(job_id)],
            last_event_id=last_event_id(request),
            snapshot=now,
            loader=since,
            to_event=_as_job_event,
            heartbeat_seconds=ctx.settings.sse_heartbeat_seconds,
        )
    )
