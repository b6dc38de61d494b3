"""Starting and stopping the workers of one process: queue consumers, the periodic duties the
domains declared, and whatever else they keep running alongside their workers."""

from collections.abc import Callable
from contextlib import ExitStack

from vesalius.context import AppContext
from vesalius.domains import hub
from vesalius.jobs.heartbeat import WorkerHeartbeat
from vesalius.jobs.maintenance import Duty, Maintenance


class Workers:
    def __init__(
        self,
        ctx: AppContext,
        queues: tuple[str, ...] | None = None,
        concurrency: int | None = None,
        *,
        share: int = 1,
    ):
        """``share``: this process is one of that many running the configured worker counts
        (``VESALIUS_WORKER_PROCESSES``), so it runs its part of each."""
        self.ctx = ctx
        self.queues = queues or ctx.queues.names
        self.concurrency = concurrency
        self.share = share
        self.maintenance = Maintenance(
            [
                Duty(duty.name, duty.interval_seconds(ctx.settings), _bound(duty.run.get(), ctx))
                for duty in hub().duties
            ]
        )
        self.heartbeat = WorkerHeartbeat(ctx, self.queues)
        self._hooks = ExitStack()

    def start(self) -> None:
        # Import the handlers (and their codecs) now: a fresh worker process would otherwise
        # spend its first job's time importing pydicom, Pillow and numpy.
        for kind in hub().job_types.values():
            if kind.queue in self.queues:
                kind.handler.get()
        for hook in hub().working:
            self._hooks.enter_context(hook(self.ctx))
        self.heartbeat.start()
        self.ctx.queues.start(self.queues, self.concurrency, share=self.share)
        self.maintenance.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Graceful: running jobs get ``timeout`` seconds to finish; the rest are rescued later."""
        self.maintenance.stop()
        self.ctx.queues.stop(timeout)
        self.heartbeat.stop()
        self._hooks.close()


def _bound(run: Callable[[AppContext], object], ctx: AppContext) -> Callable[[], object]:
    return lambda: run(ctx)
