"""A background thread that rescues jobs periodically, in every process that runs workers."""

import logging
import threading

from vesalius.context import AppContext
from vesalius.jobs.service import JobService

log = logging.getLogger(__name__)


class Maintenance:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="vesalius-maintenance", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def run_once(self) -> int:
        with self.ctx.db.session() as session:
            return JobService(self.ctx, session).rescue()

    def _loop(self) -> None:
        interval = self.ctx.settings.job_rescue_interval_seconds
        while not self._stop.wait(interval):
            try:
                rescued = self.run_once()
                if rescued:
                    log.info("rescued %s jobs", rescued)
            except Exception:  # keep the loop alive through database restarts
                log.exception("job rescue failed")
