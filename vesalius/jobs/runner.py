"""Running one job: claim it, keep its heartbeat, report progress, then complete, retry with
exponential backoff and jitter, or fail.

A claim is a compare-and-set on the row, so a job runs in one place at a time even when its
message is delivered twice; a job whose worker died (heartbeat older than the stale limit)
can be claimed again and finishes once.
"""

import logging
import os
import random
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, func, or_, select, update

from vesalius.db import after_commit, utcnow
from vesalius.domains import hub
from vesalius.jobs.events import job_changed
from vesalius.jobs.models import Job, JobStatus

WAITING = (JobStatus.queued, JobStatus.retrying)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from vesalius.context import AppContext

log = logging.getLogger(__name__)
PROGRESS_WRITE_INTERVAL = 0.5


class PermanentJobError(Exception):
    """The job cannot succeed however often it is retried (corrupt input, gone input)."""


class JobLost(Exception):
    """The job was cancelled or handed to another worker while this one ran it."""


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.current_thread().name}"[:120]


@dataclass
class RunningJob:
    id: int
    type: str
    input: dict[str, Any]
    attempt: int
    lease: str
    ctx: "AppContext"
    lost: threading.Event = field(default_factory=threading.Event)
    # Set by ``finish_in``: the handler recorded its result in its own transaction.
    finished: bool = False
    _last_write: float = 0.0

    def progress(self, percent: int, message: str | None = None) -> None:
        """Record progress (0–100), at most every ``PROGRESS_WRITE_INTERVAL`` seconds;
        raises ``JobLost`` if the job was taken away."""
        self.check()
        now = time.monotonic()
        if percent < 100 and now - self._last_write < PROGRESS_WRITE_INTERVAL:
            return
        self._last_write = now
        percent = max(0, min(100, percent))
        with self.ctx.db.session() as session:
            updated = session.execute(
                update(Job)
                .where(Job.id == self.id, Job.lease == self.lease, Job.status == JobStatus.running)
                .values(progress=percent, message=message, heartbeat_at=utcnow())
            )
            session.commit()
        if updated.rowcount != 1:  # type: ignore[attr-defined]
            self.lost.set()
            raise JobLost(f"job {self.id} was cancelled or reassigned")
        job_changed(
            self.ctx, self.id, status=JobStatus.running.value, progress=percent, message=message
        )

    def finish_in(self, session: "Session", result: dict[str, Any] | None) -> None:
        """Mark the job completed inside the handler's own transaction, so the job's result
        and what it changed commit together (one write transaction per job). Raises
        ``JobLost`` — and the caller's transaction must then roll back — if the job was
        cancelled or reassigned meanwhile."""
        self.check()
        done = session.execute(_completion(self, result))
        if done.rowcount != 1:  # type: ignore[attr-defined]
            self.lost.set()
            raise JobLost(f"job {self.id} was cancelled or reassigned")
        self.finished = True

    def check(self) -> None:
        if self.lost.is_set():
            raise JobLost(f"job {self.id} was cancelled or reassigned")


def _claiming(ctx: "AppContext", lease: str) -> dict[str, Any]:
    now = utcnow()
    return {
        "status": JobStatus.running,
        "attempts": Job.attempts + 1,
        "worker": worker_name(),
        "lease": lease,
        "heartbeat_at": now,
        "started_at": func.coalesce(Job.started_at, now),
        "run_after": None,
        "message": None,
    }


def _claimed(ctx: "AppContext", stmt: Any, lease: str) -> RunningJob | None:
    """Run one claiming ``UPDATE … RETURNING`` in its own short write transaction."""
    with ctx.db.session() as session:
        row = session.execute(
            stmt.values(**_claiming(ctx, lease)).returning(
                Job.id, Job.type, Job.input, Job.attempts
            )
        ).first()
        session.commit()
    if row is None:
        return None
    return RunningJob(
        id=row.id, type=row.type, input=dict(row.input), attempt=row.attempts, lease=lease, ctx=ctx
    )


def _claim(ctx: "AppContext", job_id: int) -> RunningJob | None:
    """This job, if it is due, or running on a worker that stopped responding."""
    now = utcnow()
    stale = now - timedelta(seconds=ctx.settings.job_stale_after_seconds)
    stmt = update(Job).where(
        Job.id == job_id,
        or_(
            and_(Job.status.in_(WAITING), or_(Job.run_after.is_(None), Job.run_after <= now)),
            and_(Job.status == JobStatus.running, Job.heartbeat_at < stale),
        ),
    )
    return _claimed(ctx, stmt, uuid.uuid4().hex)


def claim_next(ctx: "AppContext", queue: str) -> RunningJob | None:
    """The highest-priority, oldest due job of ``queue``, claimed in one statement. On
    PostgreSQL ``SKIP LOCKED`` lets concurrent workers pass over each other's pick; SQLite
    has one writer at a time, so the statement alone is atomic. A read first: a worker
    that finds nothing (another process took the job it was woken for) never asks for
    SQLite's write lock."""
    now = utcnow()
    due = (
        Job.queue == queue,
        Job.status.in_(WAITING),
        or_(Job.run_after.is_(None), Job.run_after <= now),
    )
    with ctx.db.read_session() as session:
        if session.scalar(select(Job.id).where(*due).limit(1)) is None:
            return None
    pick = select(Job.id).where(*due).order_by(Job.priority.desc(), Job.id).limit(1)
    if not ctx.db.is_sqlite:
        pick = pick.with_for_update(skip_locked=True)
    return _claimed(ctx, update(Job).where(Job.id == pick.scalar_subquery()), uuid.uuid4().hex)


# The jobs this process is running, by lease: the worker heartbeat keeps them alive with
# one statement per interval and tells each whether it was taken away.
_active: dict[str, RunningJob] = {}
_active_lock = threading.Lock()


def active_jobs() -> list[RunningJob]:
    with _active_lock:
        return list(_active.values())


def retry_delay(attempt: int, base: float) -> float:
    """Exponential backoff with full jitter around it: ~base, ~2·base, ~4·base …"""
    return float(base * 2 ** (attempt - 1) * random.uniform(0.5, 1.5))  # noqa: S311


def run_job(ctx: "AppContext", job_id: int) -> None:
    """Run this job if it can be claimed (a duplicate or early call does nothing)."""
    job = _claim(ctx, job_id)
    if job is None:
        log.debug("job %s not claimable (done, cancelled, not due or running elsewhere)", job_id)
        return
    execute(ctx, job)


def run_next(ctx: "AppContext", queue: str) -> bool:
    """Claim and run the next due job of ``queue``; False when there was none."""
    job = claim_next(ctx, queue)
    if job is None:
        return False
    execute(ctx, job)
    return True


def execute(ctx: "AppContext", job: RunningJob) -> None:
    handler = hub().job_type(job.type).handler.get()
    with _active_lock:
        _active[job.lease] = job
    try:
        result = handler(ctx, job)
    except JobLost:
        log.info("job %s stopped: cancelled or reassigned", job.id)
    except PermanentJobError as error:
        _finish_failed(ctx, job, str(error))
    except Exception as error:
        log.warning(
            "job %s (%s) attempt %s failed: %s", job.id, job.type, job.attempt, error, exc_info=True
        )
        _retry_or_fail(ctx, job, f"{type(error).__name__}: {error}")
    else:
        if not job.finished:
            _finish_completed(ctx, job, result)
        job_changed(ctx, job.id, status=JobStatus.completed.value, progress=100)
    finally:
        with _active_lock:
            _active.pop(job.lease, None)


def _completion(job: RunningJob, result: dict[str, Any] | None) -> Any:
    return (
        update(Job)
        .where(Job.id == job.id, Job.lease == job.lease, Job.status == JobStatus.running)
        .values(
            status=JobStatus.completed,
            progress=100,
            result=result,
            error=None,
            finished_at=utcnow(),
            message=None,
        )
    )


def _finish_completed(ctx: "AppContext", job: RunningJob, result: dict[str, Any] | None) -> None:
    with ctx.db.session() as session:
        session.execute(_completion(job, result))
        session.commit()


def _finish_failed(ctx: "AppContext", job: RunningJob, error: str) -> None:
    with ctx.db.session() as session:
        failed = session.execute(
            update(Job)
            .where(Job.id == job.id, Job.lease == job.lease, Job.status == JobStatus.running)
            .values(status=JobStatus.failed, error=error[:4000], finished_at=utcnow())
        )
        session.commit()
    if failed.rowcount == 1:  # type: ignore[attr-defined]
        job_changed(ctx, job.id, status=JobStatus.failed.value, progress=0, message=error[:200])
        on_failure = hub().job_type(job.type).on_failure
        if on_failure is not None:
            on_failure.get()(ctx, job.input, error)


def _retry_or_fail(ctx: "AppContext", job: RunningJob, error: str) -> None:
    with ctx.db.session() as session:
        row = session.execute(
            select(Job.max_attempts, Job.queue, Job.priority).where(Job.id == job.id)
        ).one()
        if job.attempt >= row.max_attempts:
            session.rollback()
            _finish_failed(ctx, job, f"gave up after {job.attempt} attempts: {error}")
            return
        delay = retry_delay(job.attempt, ctx.settings.job_retry_base_seconds)
        retried = session.execute(
            update(Job)
            .where(Job.id == job.id, Job.lease == job.lease, Job.status == JobStatus.running)
            .values(
                status=JobStatus.retrying,
                error=error[:4000],
                run_after=utcnow() + timedelta(seconds=delay),
                enqueued_at=utcnow(),
                lease=None,
                message=f"retrying in {delay:.0f} s",
            )
        )
        if retried.rowcount == 1:  # type: ignore[attr-defined]
            queue, priority = row.queue, row.priority
            after_commit(
                session, lambda: ctx.queues.send(queue, job.id, priority=priority, delay=delay)
            )
        session.commit()
