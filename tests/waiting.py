"""Waiting for background work (queue workers, the activity writer) in tests."""

import time
from collections.abc import Callable


def wait_until(check: Callable[[], bool], timeout: float = 60.0, interval: float = 0.05) -> None:
    """Poll until ``check()`` holds: a deadline for progress, not a timing assertion."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {timeout} s")
        time.sleep(interval)
