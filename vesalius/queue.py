"""The job queues: the ``jobs`` table is the queue, on SQLite and PostgreSQL alike.

A worker claims the next due job of its queue with one short statement (``UPDATE … RETURNING``
on the highest-priority, oldest due row; ``FOR UPDATE SKIP LOCKED`` on PostgreSQL so many
workers never wait for each other). Queuing a job rings the queue's doorbell after the
commit (``jobs/doorbell.py``), so idle workers start at once instead of polling.

This replaced Huey. Huey kept its own copy of every message (a second SQLite file in
embedded mode, Redis lists in scaled mode) beside the ``jobs`` table that already held
status, attempts and retry times: every job cost writes in both, idle SQLite consumers
polled up to once a second, and the table and the messages had to be reconciled by the
rescue duty ("lost" messages). With the table as the queue there is one write to queue a
job, one to claim it and one to finish it, and nothing to reconcile.
"""

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import func, select

from vesalius.config import Settings
from vesalius.db import Database, utcnow
from vesalius.domains import QueueSpec
from vesalius.jobs.doorbell import Doorbell, open_doorbell
from vesalius.jobs.models import Job, JobStatus

log = logging.getLogger(__name__)
# Idle workers look at the table this often even without a ring (a ring lost with a
# crashed sender, a job queued by hand in SQL).
IDLE_RECHECK_SECONDS = 30.0
WAITING = (JobStatus.queued, JobStatus.retrying)
RunNext = Callable[[str], bool]


class _Bell:
    """Wakes idle workers of one queue; a generation number so a ring between a worker
    finding nothing and starting to wait is not missed. One ring (one job) wakes one
    worker per process: waking them all had every idle thread race for the same job, each
    with a write transaction."""

    def __init__(self) -> None:
        self.condition = threading.Condition()
        self.generation = 0

    def ring(self, everyone: bool = False) -> None:
        with self.condition:
            self.generation += 1
            if everyone:
                self.condition.notify_all()
            else:
                self.condition.notify()


class Queues:
    def __init__(self, settings: Settings, specs: dict[str, QueueSpec], db: Database) -> None:
        """The queues the domains declared (``DomainHub.queue``)."""
        self.settings = settings
        self.specs = specs
        self.db = db
        self.doorbell: Doorbell = open_doorbell(settings)
        self._run_next: RunNext | None = None
        self._bells = {name: _Bell() for name in specs}
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        self._listening = False

    def bind(self, run_next: RunNext) -> None:
        """What every worker thread runs: ``run_next(queue)`` claims and runs one due job and
        says whether there was one."""
        self._run_next = run_next

    def send(
        self, queue: str, job_id: int, *, priority: int = 0, delay: float | None = None
    ) -> None:
        """The job's row is committed: wake the queue's workers. A delayed job needs no
        timer; idle workers wake when the earliest delayed job falls due."""
        self.doorbell.ring(queue)

    def pending(self, queue: str) -> int:
        """Jobs waiting in ``queue`` (due now or later)."""
        with self.db.read_session() as session:
            return int(
                session.scalar(
                    select(func.count())
                    .select_from(Job)
                    .where(Job.queue == queue, Job.status.in_(WAITING))
                )
                or 0
            )

    def concurrency(self, queue: str) -> int:
        return self.specs[queue].concurrency(self.settings)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.specs)

    # -- workers ------------------------------------------------------------------------------
    def start(
        self,
        queues: tuple[str, ...] | None = None,
        concurrency: int | None = None,
        *,
        share: int = 1,
    ) -> None:
        """Start worker threads for ``queues`` (each with its own worker count, or its
        ``1/share`` part, rounded up, when several processes share the counts)."""
        if self._run_next is None:
            raise RuntimeError("Queues.bind() was not called")
        self._stopping.clear()
        if not self._listening:
            self.doorbell.listen(self._rung)
            self._listening = True
        for name in queues or self.names:
            count = concurrency or -(-self.concurrency(name) // share)
            for number in range(count):
                thread = threading.Thread(
                    target=self._work, args=(name,), name=f"{name}-{number + 1}", daemon=True
                )
                thread.start()
                self._threads.append(thread)
            log.info("queue %s: %s workers started", name, count)

    def _rung(self, queue: str) -> None:
        if queue == "*":
            for bell in self._bells.values():
                bell.ring(everyone=True)
        elif queue in self._bells:
            self._bells[queue].ring()

    def _work(self, queue: str) -> None:
        assert self._run_next is not None
        bell = self._bells[queue]
        while not self._stopping.is_set():
            seen = bell.generation
            try:
                if self._run_next(queue):
                    continue
                wait = self._until_next_due(queue)
            except Exception:  # the database is restarting, say: try again shortly
                log.exception("queue %s: claiming a job failed", queue)
                wait = 1.0
            with bell.condition:
                if bell.generation == seen and not self._stopping.is_set():
                    bell.condition.wait(wait)

    def _until_next_due(self, queue: str) -> float:
        with self.db.read_session() as session:
            due: datetime | None = session.scalar(
                select(func.min(Job.run_after)).where(
                    Job.queue == queue, Job.status.in_(WAITING), Job.run_after.is_not(None)
                )
            )
        if due is None:
            return IDLE_RECHECK_SECONDS
        return max(0.01, min(IDLE_RECHECK_SECONDS, (due - utcnow()).total_seconds()))

    def stop(self, timeout: float = 30.0) -> None:
        """Let running jobs finish (up to ``timeout``), then stop."""
        self._stopping.set()
        for bell in self._bells.values():
            bell.ring(everyone=True)
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                log.warning("%s is still running a job; it will be rescued", thread.name)
        self._threads.clear()

    def close(self) -> None:
        self.stop(timeout=0)
        self.doorbell.close()
        self._listening = False
