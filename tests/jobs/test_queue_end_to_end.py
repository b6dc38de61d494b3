"""Jobs flow through real queue workers running in this process (embedded mode), woken by
the doorbell when a job is queued."""

from collections.abc import Iterator

import pytest

from tests.jobs.conftest import Script, job_row
from tests.waiting import wait_until
from vesalius.context import AppContext
from vesalius.jobs.models import JobStatus
from vesalius.jobs.runner import RunningJob
from vesalius.jobs.service import JobService
from vesalius.jobs.workers import Workers


@pytest.fixture
def workers(ctx: AppContext) -> Iterator[Workers]:
    pool = Workers(ctx)
    pool.start()
    yield pool
    pool.stop(timeout=10)


def test_jobs_run_through_the_consumers(ctx: AppContext, script: Script, workers: Workers) -> None:
    def work(job: RunningJob) -> dict[str, int]:
        job.progress(50)
        return {"n": job.input["n"]}

    script.steps = [work]
    with ctx.db.session() as session:
        service = JobService(ctx, session)
        ids = [service.create("test_scripted", input={"n": n}).id for n in range(10)]
        session.commit()
    wait_until(lambda: all(job_row(ctx, i).status == JobStatus.completed for i in ids))
    assert sorted(job_row(ctx, i).result["n"] for i in ids) == list(range(10))  # type: ignore[index]
    assert len(script.calls) == 10


def test_a_failed_attempt_is_retried_by_the_consumers(
    ctx: AppContext, script: Script, workers: Workers
) -> None:
    ctx.settings.job_retry_base_seconds = 0.2

    def fail_once(_job: RunningJob) -> None:
        raise TimeoutError("slow disk")

    script.steps = [fail_once, lambda _j: {"ok": True}]
    with ctx.db.session() as session:
        job_id = JobService(ctx, session).create("test_scripted", input={}).id
        session.commit()
    wait_until(lambda: job_row(ctx, job_id).status == JobStatus.completed)
    assert job_row(ctx, job_id).attempts == 2
