"""Embedded mode's workers in child processes of ``vesalius serve``.

Conversions are CPU-bound Python (decoding, windowing, PNG/JPEG encoding); run as threads of
the web process they hold the GIL long enough for the event loop to miss the web UI's
socket pings (a page lost its connection and reloaded during a 60-file conversion). Each
child is a ``vesalius worker`` with a share of the configured worker counts, reading the
same environment; a child that dies is started again, and a child whose parent died stops.
"""

import logging
import os
import subprocess
import sys
import threading
import time

from vesalius.config import Settings

log = logging.getLogger(__name__)
RESTART_DELAY_SECONDS = 1.0


class WorkerProcesses:
    def __init__(self, settings: Settings, count: int | None = None) -> None:
        self.settings = settings
        self.count = count or settings.worker_processes
        self._children: list[subprocess.Popen[bytes] | None] = [None] * self.count
        self._stop = threading.Event()
        self._monitor = threading.Thread(
            target=self._watch, name="vesalius-worker-processes", daemon=True
        )

    def _command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "vesalius",
            "worker",
            "--share",
            str(self.count),
            "--parent",
            str(os.getpid()),
        ]

    def _spawn(self, slot: int) -> None:
        self._children[slot] = subprocess.Popen(self._command())
        log.info("worker process %s started (pid %s)", slot + 1, self._children[slot].pid)  # type: ignore[union-attr]

    def start(self) -> None:
        for slot in range(self.count):
            self._spawn(slot)
        self._monitor.start()

    def pids(self) -> list[int]:
        return [child.pid for child in self._children if child is not None]

    def _watch(self) -> None:
        while not self._stop.wait(RESTART_DELAY_SECONDS):
            for slot, child in enumerate(self._children):
                if child is not None and child.poll() is not None and not self._stop.is_set():
                    log.warning(
                        "worker process %s (pid %s) exited with %s; starting another",
                        slot + 1,
                        child.pid,
                        child.returncode,
                    )
                    self._spawn(slot)

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM: each child lets its running jobs finish (up to ``timeout``), then exits."""
        self._stop.set()
        if self._monitor.is_alive():
            self._monitor.join(timeout=5)
        children = [c for c in self._children if c is not None and c.poll() is None]
        for child in children:
            child.terminate()
        deadline = time.monotonic() + timeout
        for child in children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("worker process %s did not stop in time; killed", child.pid)
                child.kill()
                child.wait()
