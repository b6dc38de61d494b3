"""Creating, inspecting, retrying, cancelling and rescuing jobs."""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from vesalius.accounts.models import User
from vesalius.accounts.permissions import ensure_active, ensure_admin, is_admin
from vesalius.common.errors import Conflict, NotFound, UnprocessableEntity
from vesalius.common.pagination import check_limit
from vesalius.context import AppContext
from vesalius.db import after_commit, utcnow
from vesalius.domains import hub
from vesalius.jobs.models import FINISHED, Job, JobStatus, JobWorker

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class QueueStats:
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


class JobService:
    def __init__(self, ctx: AppContext, session: Session) -> None:
        self.ctx = ctx
        self.session = session

    def create(
        self,
        type_name: str,
        *,
        input: dict[str, Any],
        resource: tuple[str, int] | None = None,
        owner_id: int | None = None,
        priority: int = 0,
    ) -> Job:
        """Add a job; its message is sent once the caller's transaction commits."""
        kind = hub().job_type(type_name)
        job = Job(
            queue=kind.queue,
            type=type_name,
            input=input,
            priority=priority,
            owner_id=owner_id,
            max_attempts=self.ctx.settings.job_max_attempts,
            resource_type=resource[0] if resource else None,
            resource_id=resource[1] if resource else None,
        )
        self.session.add(job)
        self.session.flush()
        self._send_after_commit(job)
        return job

    def _send_after_commit(self, job: Job, delay: float | None = None) -> None:
        job_id, queue, priority = job.id, job.queue, job.priority
        job.enqueued_at = utcnow()
        after_commit(
            self.session,
            lambda: self.ctx.queues.send(queue, job_id, priority=priority, delay=delay),
        )

    # -- reading ----------------------------------------------------------------------------
    def get_for(self, actor: User, job_id: int) -> Job:
        """A job its owner or an admin may see; anyone else gets 404, as if it did not exist."""
        ensure_active(actor)
        job = self.session.get(Job, job_id)
        if job is None or not (is_admin(actor) or job.owner_id == actor.id):
            raise NotFound("no such job", details={"id": job_id})
        return job

    def latest_for(self, resource_type: str, resource_ids: list[int]) -> dict[int, list[Job]]:
        """Jobs of each resource, oldest first (for image detail pages)."""
        if not resource_ids:
            return {}
        rows = self.session.scalars(
            select(Job)
            .where(Job.resource_type == resource_type, Job.resource_id.in_(resource_ids))
            .order_by(Job.id)
        )
        found: dict[int, list[Job]] = {}
        for job in rows:
            assert job.resource_id is not None
            found.setdefault(job.resource_id, []).append(job)
        return found

    def list_jobs(
        self,
        actor: User,
        *,
        status: JobStatus | None = None,
        queue: str | None = None,
        limit: int = 50,
        before_id: int | None = None,
    ) -> list[Job]:
        ensure_admin(actor)
        check_limit(limit)
        stmt = select(Job)
        if status is not None:
            stmt = stmt.where(Job.status == status)
        if queue is not None:
            if queue not in hub().queues:
                raise UnprocessableEntity(
                    f"unknown queue {queue!r}",
                    code="unknown_queue",
                    details={"queues": list(hub().queue_names())},
                )
            stmt = stmt.where(Job.queue == queue)
        if before_id is not None:
            stmt = stmt.where(Job.id < before_id)
        return list(self.session.scalars(stmt.order_by(Job.id.desc()).limit(limit)))

    def stats(self, actor: User | None) -> list[QueueStats]:
        ensure_admin(actor)
        now = utcnow()
        counts: dict[tuple[str, str], int] = {}
        for queue, status, count in self.session.execute(
            select(Job.queue, Job.status, func.count()).group_by(Job.queue, Job.status)
        ):
            counts[(queue, status)] = count
        recent = dict(
            self.session.execute(
                select(Job.queue, func.count())
                .where(
                    Job.status == JobStatus.completed, Job.finished_at >= now - timedelta(minutes=5)
                )
                .group_by(Job.queue)
            ).all()
        )
        oldest: dict[str, datetime] = dict(
            self.session.execute(
                select(Job.queue, func.min(Job.created_at))
                .where(Job.status == JobStatus.queued)
                .group_by(Job.queue)
            ).all()
        )
        result = []
        for queue in hub().queue_names():
            first_waiting = oldest.get(queue)
            result.append(
                QueueStats(
                    queue=queue,
                    waiting=counts.get((queue, JobStatus.queued), 0),
                    active=counts.get((queue, JobStatus.running), 0),
                    completed=counts.get((queue, JobStatus.completed), 0),
                    failed=counts.get((queue, JobStatus.failed), 0),
                    delayed=counts.get((queue, JobStatus.retrying), 0),
                    cancelled=counts.get((queue, JobStatus.cancelled), 0),
                    jobs_per_minute=round(recent.get(queue, 0) / 5, 2),
                    oldest_waiting_seconds=(
                        round((now - first_waiting).total_seconds(), 1) if first_waiting else None
                    ),
                    concurrency=self.ctx.queues.concurrency(queue),
                )
            )
        return result

    # -- administration ---------------------------------------------------------------------
    def retry(self, actor: User | None, job_id: int) -> Job:
        """Run a failed or cancelled job again, with a fresh set of attempts."""
        ensure_admin(actor)
        job = self._get(job_id)
        if job.status not in (JobStatus.failed, JobStatus.cancelled):
            raise Conflict(
                f"only failed or cancelled jobs can be retried (this one is {job.status.value})",
                code="job_not_retryable",
            )
        job.status = JobStatus.queued
        job.attempts = 0
        job.error = None
        job.progress = 0
        job.finished_at = None
        job.run_after = None
        job.message = "retried by an administrator"
        on_retry = hub().job_type(job.type).on_retry
        if on_retry is not None:
            on_retry.get()(self.session, job.input)
        self._send_after_commit(job)
        self.session.commit()
        return job

    def cancel(self, actor: User | None, job_id: int) -> Job:
        """Stop a job: queued ones never start, running ones stop at their next progress report."""
        ensure_admin(actor)
        job = self._get(job_id)
        if job.status in FINISHED:
            raise Conflict(
                f"the job has already finished ({job.status.value})", code="job_finished"
            )
        job.status = JobStatus.cancelled
        job.lease = None
        job.finished_at = utcnow()
        job.message = "cancelled by an administrator"
        self.session.commit()
        return job

    def _get(self, job_id: int) -> Job:
        job = self.session.get(Job, job_id)
        if job is None:
            raise NotFound("no such job", details={"id": job_id})
        return job

    # -- rescue -----------------------------------------------------------------------------
    def rescue(self) -> int:
        """Re-send jobs whose worker died or whose message was lost. Safe to run anywhere, any
        number of times: a duplicate message finds the job claimed and does nothing."""
        settings = self.ctx.settings
        now = utcnow()
        stale = now - timedelta(seconds=settings.job_stale_after_seconds)
        dead = list(
            self.session.scalars(
                select(Job).where(Job.status == JobStatus.running, Job.heartbeat_at < stale)
            )
        )
        for job in dead:
            gave_up = job.attempts >= job.max_attempts
            moved = self.session.execute(
                update(Job)
                .where(Job.id == job.id, Job.status == JobStatus.running, Job.heartbeat_at < stale)
                .values(
                    status=JobStatus.failed if gave_up else JobStatus.queued,
                    lease=None,
                    worker=None,
                    finished_at=now if gave_up else None,
                    error=f"worker stopped responding {job.attempts} times"
                    if gave_up
                    else job.error,
                    message=None if gave_up else "worker stopped responding; queued again",
                )
            )
            if moved.rowcount == 1 and not gave_up:  # type: ignore[attr-defined]
                log.warning("job %s: worker %s stopped responding; re-queued", job.id, job.worker)
                self._send_after_commit(job)
        # Rings lost with a process that crashed right after its commit: wake the workers
        # of every queue that has a due job. Idle workers wake on their own within
        # IDLE_RECHECK_SECONDS too; this only shortens the wait.
        due_queues = set(
            self.session.scalars(
                select(Job.queue)
                .where(
                    Job.status.in_([JobStatus.queued, JobStatus.retrying]),
                    or_(Job.run_after.is_(None), Job.run_after <= now),
                )
                .distinct()
            )
        )
        for queue in due_queues:
            after_commit(self.session, lambda q=queue: self.ctx.queues.send(q, 0))  # type: ignore[misc]
        self.session.execute(
            delete(JobWorker).where(JobWorker.heartbeat_at < now - timedelta(hours=1))
        )
        resent = len(due_queues)
        self.session.commit()
        return len(dead) + resent
