"""Where job progress and completion leave the job machinery for whoever listens.

The runner calls ``job_changed`` after the transaction that recorded the change has
committed. Listeners (SSE streams, live pages) hear it through the push layer
(``ctx.pubsub``) on the channels ``jobs:{id}`` and ``jobs``, in every process.
"""

import logging
from typing import TYPE_CHECKING

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
    event = {
        "id": job_id,
        "status": status,
        "progress": progress,
        "message": message,
        "resourceType": resource[0] if resource else None,
        "resourceId": resource[1] if resource else None,
    }
    try:
        ctx.pubsub.publish(job_channel(job_id), event)
        ctx.pubsub.publish(ALL_JOBS_CHANNEL, event)
    except Exception:
        log.warning("job %s: change not published", job_id, exc_info=True)
