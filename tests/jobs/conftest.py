"""A test job type whose behaviour each test scripts, and helpers to look at job rows."""

import threading
from collections.abc import Callable
from typing import Any

import pytest

from vesalius.context import AppContext
from vesalius.domains import hub
from vesalius.jobs.models import Job
from vesalius.jobs.runner import RunningJob


class Script:
    """What the ``test_scripted`` handler does: ``steps[attempt-1]`` decides each attempt."""

    def __init__(self) -> None:
        self.steps: list[Callable[[RunningJob], dict[str, Any] | None]] = []
        self.calls: list[int] = []
        self.failures: list[tuple[dict[str, Any], str]] = []
        self.lock = threading.Lock()

    def run(self, job: RunningJob) -> dict[str, Any] | None:
        with self.lock:
            self.calls.append(job.attempt)
        step = (
            self.steps[min(job.attempt, len(self.steps)) - 1]
            if self.steps
            else (lambda _j: {"ok": True})
        )
        return step(job)


SCRIPT = Script()


def _on_failure(_ctx: AppContext, job_input: dict[str, Any], error: str) -> None:
    SCRIPT.failures.append((job_input, error))


def _scripted(_ctx: AppContext, job: RunningJob) -> dict[str, Any] | None:
    return SCRIPT.run(job)


if "test_scripted" not in hub().job_types:
    hub().job("test_scripted", queue="thumbnails", handler=_scripted, on_failure=_on_failure)


@pytest.fixture
def script() -> Script:
    SCRIPT.__init__()  # type: ignore[misc]
    return SCRIPT


def job_row(ctx: AppContext, job_id: int) -> Job:
    with ctx.db.read_session() as session:
        job = session.get(Job, job_id)
        assert job is not None
        return job
