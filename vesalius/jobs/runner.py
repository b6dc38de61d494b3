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


def _claim(ctx: "AppContext", job_id: int) -> RunningJob | None:
    now = utcnow()
    stale = now - timedelta(seconds=ctx.settings.job_stale_after_seconds)
    lease = uuid.uuid4().hex
    with ctx.db.session() as session:
        claimed = session.execute(
            update(Job)
            .where(
                Job.id == job_id,
                or_(
                    and_(
                        Job.status.in_([JobStatus.queued, JobStatus.retrying]),
                        or_(Job.run_after.is_(None), Job.run_after <= now),
                    ),
                    and_(Job.status == JobStatus.running, Job.heartbeat_at < stale),
                ),
            )
            .values(
                status=JobStatus.running,
                attempts=Job.attempts + 1,
                worker=worker_name(),
                lease=lease,
                heartbeat_at=now,
                started_at=func.coalesce(Job.started_at, now),
                run_after=None,
                message=None,
            )
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            session.rollback()
            return None
        row = session.execute(
            select(Job.type, Job.input, Job.attempts).where(Job.id == job_id)
        ).one()
        session.commit()
    return RunningJob(
        id=job_id, type=row.type, input=dict(row.input), attempt=row.attempts, lease=lease, ctx=ctx
    )


def _heartbeat(job: RunningJob, stop: threading.Event) -> None:
    interval = job.ctx.settings.job_heartbeat_seconds
    while not stop.wait(interval):
        try:
            with job.ctx.db.session() as session:
                beat = session.execute(
                    update(Job)
                    .where(
                        Job.id == job.id, Job.lease == job.lease, Job.status == JobStatus.running
                    )
                    .values(heartbeat_at=utcnow())
                )
                session.commit()
            if beat.rowcount != 1:  # type: ignore[attr-defined]
                job.lost.set()
                return
        except Exception:  # a database blip must not kill the job; the next beat retries
            log.warning("heartbeat for job %s failed", job.id, exc_info=True)


def retry_delay(attempt: int, base: float) -> float:
    """Exponential backoff with full jitter around it: ~base, ~2·base, ~4·base …"""
    return float(base * 2 ** (attempt - 1) * random.uniform(0.5, 1.5))  # noqa: S311


def run_job(ctx: "AppContext", job_id: int) -> None:
    job = _claim(ctx, job_id)
    if job is None:
        log.debug("job %s not claimable (done, cancelled, not due or running elsewhere)", job_id)
        return
    handler = hub().job_type(job.type).handler.get()
    stop = threading.Event()
    beat = threading.Thread(
        target=_heartbeat, args=(job, stop), name=f"heartbeat-{job_id}", daemon=True
    )
    beat.start()
    try:
        result = handler(ctx, job)
    except JobLost:
        log.info("job %s stopped: cancelled or reassigned", job_id)
    except PermanentJobError as error:
        _finish_failed(ctx, job, str(error))
    except Exception as error:
        log.warning(
            "job %s (%s) attempt %s failed: %s", job_id, job.type, job.attempt, error, exc_info=True
        )
        _retry_or_fail(ctx, job, f"{type(error).__name__}: {error}")
    else:
        if not job.finished:
            _finish_completed(ctx, job, result)
        job_changed(ctx, job.id, status=JobStatus.completed.value, progress=100)
    finally:
        stop.set()
        beat.join(timeout=5)


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
