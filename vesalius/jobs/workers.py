"""Starting and stopping the workers of one process: queue consumers plus periodic duties."""

from vesalius.analytics.tasks import daily_statistics
from vesalius.context import AppContext
from vesalius.jobs.maintenance import Duty, Maintenance
from vesalius.jobs.registry import load_handlers
from vesalius.jobs.service import JobService
from vesalius.queue import QUEUE_NAMES

ANALYTICS_CHECK_SECONDS = 60.0


def rescue_jobs(ctx: AppContext) -> int:
    with ctx.db.session() as session:
        return JobService(ctx, session).rescue()


class Workers:
    def __init__(
        self, ctx: AppContext, queues: tuple[str, ...] = QUEUE_NAMES, concurrency: int | None = None
    ):
        self.ctx = ctx
        self.queues = queues
        self.concurrency = concurrency
        self.maintenance = Maintenance(
            [
                Duty(
                    "job rescue", ctx.settings.job_rescue_interval_seconds, lambda: rescue_jobs(ctx)
                ),
                Duty("daily statistics", ANALYTICS_CHECK_SECONDS, lambda: daily_statistics(ctx)),
            ]
        )

    def start(self) -> None:
        load_handlers()
        self.ctx.queues.start(self.queues, self.concurrency)
        self.maintenance.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Graceful: running jobs get ``timeout`` seconds to finish; the rest are rescued later."""
        self.maintenance.stop()
        self.ctx.queues.stop(timeout)
