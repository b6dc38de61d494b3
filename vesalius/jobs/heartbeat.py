"""The heartbeat of one worker process: one small write transaction per interval, whatever
the number of jobs it runs (it used to be a thread and a transaction per running job)."""

import logging
import os
import socket
import threading

from sqlalchemy import update

from vesalius.context import AppContext
from vesalius.db import utcnow
from vesalius.jobs.models import Job, JobStatus, JobWorker
from vesalius.jobs.runner import active_jobs

log = logging.getLogger(__name__)


def process_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:120]


class WorkerHeartbeat:
    def __init__(self, ctx: AppContext, queues: tuple[str, ...]) -> None:
        self.ctx = ctx
        self.queues = ",".join(queues)[:200]
        self.name = process_name()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="vesalius-heartbeat", daemon=True)

    def start(self) -> None:
        self.beat()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        try:
            with self.ctx.db.session() as session:
                row = session.get(JobWorker, self.name)
                if row is not None:
                    session.delete(row)
                session.commit()
        except Exception:  # shutting down with the database gone: the row just goes stale
            log.warning("worker %s: row not removed", self.name, exc_info=True)

    def _loop(self) -> None:
        while not self._stop.wait(self.ctx.settings.job_heartbeat_seconds):
            try:
                self.beat()
            except Exception:  # a database blip must not stop the beats; the next one retries
                log.warning("worker %s: heartbeat failed", self.name, exc_info=True)

    def beat(self) -> None:
        """Refresh this process's row and its running jobs; tell each job taken away from it
        (cancelled, or rescued while this process was frozen) that it was lost."""
        now = utcnow()
        jobs = active_jobs()
        with self.ctx.db.session() as session:
            kept: set[str] = set()
            if jobs:
                kept = set(
                    session.scalars(
                        update(Job)
                        .where(
                            Job.lease.in_([j.lease for j in jobs]), Job.status == JobStatus.running
                        )
                        .values(heartbeat_at=now)
                        .returning(Job.lease)
                    )
                )
            row = session.get(JobWorker, self.name)
            if row is None:
                session.add(
                    JobWorker(
                        name=self.name,
                        host=socket.gethostname()[:100],
                        pid=os.getpid(),
                        queues=self.queues,
                        running=len(jobs),
                        started_at=now,
                        heartbeat_at=now,
                    )
                )
            else:
                row.heartbeat_at, row.running, row.queues = now, len(jobs), self.queues
            session.commit()
        for job in jobs:
            if job.lease not in kept:
                job.lost.set()
