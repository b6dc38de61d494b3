from datetime import datetime
from typing import Any

from vesalius.common.schemas import ApiModel
from vesalius.jobs.models import JobStatus


class JobOut(ApiModel):
    id: int
    queue: str
    type: str
    status: JobStatus
    progress: int
    message: str | None
    attempts: int
    max_attempts: int
    error: str | None
    result: dict[str, Any] | None
    resource_type: str | None
    resource_id: int | None
    worker: str | None
    created_at: datetime
    started_at: datetime | None
    heartbeat_at: datetime | None
    finished_at: datetime | None
    run_after: datetime | None


class QueueStatsOut(ApiModel):
    queue: str
    waiting: int
    active: int
    completed: int
    failed: int
    delayed: int
    cancelled: int
    jobs_per_minute: float
    oldest_waiting_seconds: float | None
    concurrency: int


class QueueStatsPage(ApiModel):
    queues: list[QueueStatsOut]


class JobListOut(ApiModel):
    jobs: list[JobOut]
