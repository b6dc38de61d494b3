"""Periodic duties of every process that runs workers: rescuing jobs, aggregating the day
that just ended, applying retention. Each duty is safe to run on many machines at once."""

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass
class Duty:
    name: str
    interval_seconds: float
    run: Callable[[], object]
    next_at: float = 0.0


class Maintenance:
    def __init__(self, duties: list[Duty]) -> None:
        self.duties = duties
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="vesalius-maintenance", daemon=True)

    def start(self) -> None:
        now = time.monotonic()
        for duty in self.duties:
            duty.next_at = now + duty.interval_seconds
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def _loop(self) -> None:
        while not self._stop.is_set():
            now = time.monotonic()
            for duty in self.duties:
                if now >= duty.next_at:
                    duty.next_at = now + duty.interval_seconds
                    self._run(duty)
            wake_at = min(d.next_at for d in self.duties)
            self._stop.wait(max(0.05, wake_at - time.monotonic()))

    @staticmethod
    def _run(duty: Duty) -> None:
        try:
            outcome = duty.run()
            if outcome:
                log.info("%s: %s", duty.name, outcome)
        except Exception:  # keep going through database restarts and the like
            log.exception("%s failed", duty.name)
