"""Starting and stopping the workers of one process: queue consumers plus job rescue."""

from vesalius.context import AppContext
from vesalius.jobs.maintenance import Maintenance
from vesalius.jobs.registry import load_handlers
from vesalius.queue import QUEUE_NAMES


class Workers:
    def __init__(
        self, ctx: AppContext, queues: tuple[str, ...] = QUEUE_NAMES, concurrency: int | None = None
    ):
        self.ctx = ctx
        self.queues = queues
        self.concurrency = concurrency
        self.maintenance = Maintenance(ctx)

    def start(self) -> None:
        load_handlers()
        self.ctx.queues.start(self.queues, self.concurrency)
        self.maintenance.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Graceful: running jobs get ``timeout`` seconds to finish; the rest are rescued later."""
        self.maintenance.stop()
        self.ctx.queues.stop(timeout)
