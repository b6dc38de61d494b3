"""The job queues: Huey on SQLite (embedded) or Redis (scaled), one Huey per named queue.

Huey carries only job ids; the ``jobs`` table (vesalius.jobs) holds status, progress,
attempts and retries, so a message can be lost or delivered twice without harm.
"""

import logging
from collections.abc import Callable
from typing import Any

from huey import PriorityRedisHuey, SqliteHuey
from huey.api import Huey, TaskWrapper
from huey.consumer import Consumer

from vesalius.config import Settings
from vesalius.domains import QueueSpec

log = logging.getLogger(__name__)


class EmbeddedConsumer(Consumer):  # type: ignore[misc]
    """A Huey consumer that lives inside another program (uvicorn, our worker command):
    it must not replace that program's signal handlers."""

    def _set_signal_handlers(self) -> None:
        pass


def _make_huey(name: str, settings: Settings) -> Huey:
    if settings.redis_url:
        return PriorityRedisHuey(
            name=f"vesalius-{name}", url=settings.redis_url, results=False, utc=True, blocking=True
        )
    return SqliteHuey(
        name=f"vesalius-{name}",
        filename=str(settings.resolved_data_dir / "queue.db"),
        results=False,
        utc=True,
    )


class Queues:
    def __init__(self, settings: Settings, specs: dict[str, QueueSpec]) -> None:
        """One Huey per queue the domains declared (``DomainHub.queue``)."""
        self.settings = settings
        self.specs = specs
        self.hueys: dict[str, Huey] = {name: _make_huey(name, settings) for name in specs}
        self._tasks: dict[str, TaskWrapper] = {}
        self._consumers: list[Consumer] = []

    def bind(self, run_job: Callable[[int], None]) -> None:
        """Register the one task every queue runs: ``run_job(job_id)``."""
        for name, huey in self.hueys.items():
            self._tasks[name] = huey.task(name="run_job")(run_job)

    def send(
        self, queue: str, job_id: int, *, priority: int = 0, delay: float | None = None
    ) -> None:
        task = self._tasks[queue]
        if delay:
            task.schedule(args=(job_id,), delay=delay, priority=priority)
        else:
            self.hueys[queue].enqueue(task.s(job_id, priority=priority))

    def pending(self, queue: str) -> int:
        return int(self.hueys[queue].pending_count())

    def concurrency(self, queue: str) -> int:
        return self.specs[queue].concurrency(self.settings)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.specs)

    def start(self, queues: tuple[str, ...] | None = None, concurrency: int | None = None) -> None:
        """Start consumer threads for ``queues`` (each with its own worker count)."""
        for name in queues or self.names:
            options: dict[str, Any] = {
                "workers": concurrency or self.concurrency(name),
                "worker_type": "thread",
                "periodic": False,
                # Poll an idle SQLite queue at most every second, not Huey's default 10 s.
                "max_delay": 1.0,
                "initial_delay": 0.05,
                "check_worker_health": True,
            }
            consumer = EmbeddedConsumer(self.hueys[name], **options)
            consumer.start()
            self._consumers.append(consumer)
            log.info("queue %s: %s workers started", name, options["workers"])

    def stop(self, timeout: float = 30.0) -> None:
        """Let running jobs finish (up to ``timeout``), then stop."""
        for consumer in self._consumers:
            consumer.shutdown_timeout = timeout
            consumer.stop(graceful=True)
        self._consumers.clear()
        for huey in self.hueys.values():
            huey.storage.close()
