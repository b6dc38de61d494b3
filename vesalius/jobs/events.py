"""Where job progress and completion leave the job machinery for whoever listens.

The runner calls ``job_changed`` after the transaction that recorded the change has
committed. Listeners (the push layer's ``ctx.pubsub`` once it exists, live pages) hear it on
the channels ``jobs:{id}`` and ``jobs``; without a bus it costs one attribute lookup.
"""

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vesalius.context import AppContext

log = logging.getLogger(__name__)


def job_channel(job_id: int) -> str:
    return f"jobs:{job_id}"


ALL_JOBS_CHANNEL = "jobs"


def job_changed(
    ctx: "AppContext",
    job_id: int,
    *,
    status: str,
    progress: int,
    message: str | None = None,
    resource: tuple[str, int] | None = None,
) -> None:
    """Publish one job's new state. Never raises: a lost notification is repaired by the next
    one or by reading the job, never worth failing the job for."""
    pubsub: Any = getattr(ctx, "pubsub", None)
    if pubsub is None:
        return
    event = {
        "id": job_id,
        "status": status,
        "progress": progress,
        "message": message,
        "resourceType": resource[0] if resource else None,
        "resourceId": resource[1] if resource else None,
    }
    try:
        pubsub.publish(job_channel(job_id), event)
        pubsub.publish(ALL_JOBS_CHANNEL, event)
    except Exception:
        log.warning("job %s: change not published", job_id, exc_info=True)
