from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from vesalius.db import Base, string_enum, utcnow


class JobStatus(StrEnum):
    queued = "queued"
    running = "running"
    retrying = "retrying"
    completed = "completed"
    failed = "failed"
    cancelled = "cancelled"


FINISHED = (JobStatus.completed, JobStatus.failed, JobStatus.cancelled)


class Job(Base):
    """The seed's ``job_queue``: one row per unit of background work."""

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_queue_status", "queue", "status"),
        Index("ix_jobs_status_heartbeat_at", "status", "heartbeat_at"),
        Index("ix_jobs_resource", "resource_type", "resource_id"),
        Index("ix_jobs_finished_at", "finished_at"),
        # SQLite: never hand a deleted row's id to a new one (migration 0006).
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    queue: Mapped[str] = mapped_column(String(40))
    type: Mapped[str] = mapped_column(String(60))
    status: Mapped[JobStatus] = mapped_column(
        string_enum(JobStatus, "job_status"),
        default=JobStatus.queued,
    )
    priority: Mapped[int] = mapped_column(default=0)
    progress: Mapped[int] = mapped_column(default=0)
    message: Mapped[str | None] = mapped_column(String(200))
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=4)
    input: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    worker: Mapped[str | None] = mapped_column(String(120))
    # Changes on every claim: a worker that lost its job (declared dead, job rescued) can no
    # longer write to it.
    lease: Mapped[str | None] = mapped_column(String(32))
    resource_type: Mapped[str | None] = mapped_column(String(40))
    resource_id: Mapped[int | None]
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    enqueued_at: Mapped[datetime | None]
    run_after: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class JobWorker(Base):
    """One row per process running workers, beaten every ``VESALIUS_JOB_HEARTBEAT_SECONDS``:
    the same transaction refreshes the heartbeat of every job the process runs, so a job
    costs no heartbeat writes of its own, and a process that stops beating has its jobs
    rescued (``JobService.rescue``)."""

    __tablename__ = "job_workers"

    name: Mapped[str] = mapped_column(String(120), primary_key=True)  # host:pid
    host: Mapped[str] = mapped_column(String(100))
    pid: Mapped[int]
    queues: Mapped[str] = mapped_column(String(200))
    running: Mapped[int] = mapped_column(default=0)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
