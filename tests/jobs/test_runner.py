"""The job life cycle: claim, progress, retry with backoff, permanent failure, cancellation,
duplicate delivery, and rescue of a job whose worker died."""

from datetime import timedelta

import pytest
from sqlalchemy import update

from tests.jobs.conftest import Script, job_row
from vesalius.context import AppContext
from vesalius.db import utcnow
from vesalius.jobs.models import Job, JobStatus
from vesalius.jobs.runner import JobLost, PermanentJobError, RunningJob, retry_delay, run_job
from vesalius.jobs.service import JobService


def _create(ctx: AppContext, **input: object) -> int:
    with ctx.db.session() as session:
        job = JobService(ctx, session).create("test_scripted", input=dict(input))
        session.commit()
        return job.id


def _make_due(ctx: AppContext, job_id: int) -> None:
    with ctx.db.session() as session:
        session.execute(
            update(Job).where(Job.id == job_id).values(run_after=utcnow() - timedelta(seconds=1))
        )
        session.commit()


def test_a_job_runs_reports_progress_and_completes(ctx: AppContext, script: Script) -> None:
    seen = []

    def work(job: RunningJob) -> dict[str, object]:
        job.progress(40, "half-way")
        seen.append(job_row(ctx, job.id).message)
        return {"answer": job.input["n"] * 2}

    script.steps = [work]
    job_id = _create(ctx, n=21)
    queued = job_row(ctx, job_id)
    assert queued.status == JobStatus.queued
    assert queued.enqueued_at is not None
    run_job(ctx, job_id)
    done = job_row(ctx, job_id)
    assert done.status == JobStatus.completed
    assert done.progress == 100
    assert done.result == {"answer": 42}
    assert done.attempts == 1
    assert done.started_at is not None
    assert done.finished_at is not None
    assert seen == ["half-way"]


def test_transient_failures_retry_with_backoff_then_succeed(
    ctx: AppContext, script: Script
) -> None:
    def flaky(_job: RunningJob) -> None:
        raise ConnectionError("PACS unreachable")

    script.steps = [flaky, flaky, lambda _j: {"ok": True}]
    job_id = _create(ctx)
    run_job(ctx, job_id)
    first = job_row(ctx, job_id)
    assert first.status == JobStatus.retrying
    assert "ConnectionError: PACS unreachable" in (first.error or "")
    assert first.run_after is not None
    assert first.run_after > utcnow()
    # Not due yet: a duplicate or early delivery must not run it.
    run_job(ctx, job_id)
    assert script.calls == [1]
    for _ in range(2):
        _make_due(ctx, job_id)
        run_job(ctx, job_id)
    done = job_row(ctx, job_id)
    assert done.status == JobStatus.completed
    assert done.attempts == 3
    assert script.calls == [1, 2, 3]


def test_backoff_grows_and_is_jittered() -> None:
    samples = [[retry_delay(attempt, 5.0) for _ in range(200)] for attempt in (1, 2, 3)]
    for attempt, values in enumerate(samples, start=1):
        centre = 5.0 * 2 ** (attempt - 1)
        assert min(values) >= centre * 0.5
        assert max(values) <= centre * 1.5
        assert len(set(values)) > 150  # jitter: retries of many jobs do not stampede together
    assert sum(samples[2]) / 200 > sum(samples[1]) / 200 > sum(samples[0]) / 200


def test_gives_up_after_max_attempts_and_calls_the_failure_hook_once(
    ctx: AppContext, script: Script
) -> None:
    def broken(_job: RunningJob) -> None:
        raise RuntimeError("still broken")

    script.steps = [broken]
    job_id = _create(ctx, imageId=7)
    for _ in range(ctx.settings.job_max_attempts):
        _make_due(ctx, job_id)
        run_job(ctx, job_id)
    failed = job_row(ctx, job_id)
    assert failed.status == JobStatus.failed
    assert failed.attempts == ctx.settings.job_max_attempts == 4
    assert (failed.error or "").startswith("gave up after 4 attempts")
    assert len(script.failures) == 1
    assert script.failures[0][0] == {"imageId": 7}
    run_job(ctx, job_id)
    assert len(script.calls) == 4


def test_permanent_errors_fail_at_once(ctx: AppContext, script: Script) -> None:
    def corrupt(_job: RunningJob) -> None:
        raise PermanentJobError("pixel data is truncated")

    script.steps = [corrupt]
    job_id = _create(ctx)
    run_job(ctx, job_id)
    failed = job_row(ctx, job_id)
    assert failed.status == JobStatus.failed
    assert failed.attempts == 1
    assert failed.error == "pixel data is truncated"
    assert len(script.failures) == 1


def test_a_duplicate_delivery_of_a_finished_job_does_nothing(
    ctx: AppContext, script: Script
) -> None:
    job_id = _create(ctx)
    run_job(ctx, job_id)
    run_job(ctx, job_id)
    assert script.calls == [1]


def test_a_job_whose_worker_died_is_taken_over_and_the_old_worker_is_ignored(
    ctx: AppContext, script: Script
) -> None:
    takeover: list[int] = []

    def first_worker(job: RunningJob) -> dict[str, object]:
        # While this worker is "frozen", its heartbeat goes stale and another one claims the job.
        stale = utcnow() - timedelta(seconds=ctx.settings.job_stale_after_seconds + 1)
        with ctx.db.session() as session:
            session.execute(update(Job).where(Job.id == job.id).values(heartbeat_at=stale))
            session.commit()
        run_job(ctx, job.id)  # the rescuer's worker
        takeover.append(job_row(ctx, job.id).attempts)
        with pytest.raises(JobLost):
            job.progress(90)
        return {"from": "first worker"}

    script.steps = [first_worker, lambda _j: {"from": "second worker"}]
    job_id = _create(ctx)
    run_job(ctx, job_id)
    done = job_row(ctx, job_id)
    assert done.status == JobStatus.completed
    assert done.result == {"from": "second worker"}
    assert takeover == [2]


def test_a_running_job_with_a_fresh_heartbeat_is_not_claimed_twice(
    ctx: AppContext, script: Script
) -> None:
    nested: list[str] = []

    def busy(job: RunningJob) -> None:
        run_job(ctx, job.id)  # a duplicate message arrives while this one runs
        nested.append(job_row(ctx, job.id).status)

    script.steps = [busy]
    run_job(ctx, _create(ctx))
    assert script.calls == [1]
    assert nested == [JobStatus.running]


def test_cancelling_a_running_job_stops_it_at_its_next_progress_report(
    ctx: AppContext,
    script: Script,
    admin,  # type: ignore[no-untyped-def]
) -> None:
    reached: list[int] = []

    def long_job(job: RunningJob) -> None:
        job.progress(10)
        with ctx.db.session() as session:
            JobService(ctx, session).cancel(admin, job.id)
        reached.append(10)
        job.progress(100)
        reached.append(100)

    script.steps = [long_job]
    job_id = _create(ctx)
    run_job(ctx, job_id)
    assert reached == [10]
    assert job_row(ctx, job_id).status == JobStatus.cancelled


def test_rescue_requeues_dead_jobs_and_gives_up_after_max_attempts(
    ctx: AppContext, script: Script
) -> None:
    stale = utcnow() - timedelta(seconds=ctx.settings.job_stale_after_seconds + 5)
    job_id = _create(ctx)
    given_up_id = _create(ctx)
    with ctx.db.session() as session:
        session.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(status=JobStatus.running, heartbeat_at=stale, attempts=1)
        )
        session.execute(
            update(Job)
            .where(Job.id == given_up_id)
            .values(status=JobStatus.running, heartbeat_at=stale, attempts=4)
        )
        session.commit()
    with ctx.db.session() as session:
        assert JobService(ctx, session).rescue() >= 2
    requeued = job_row(ctx, job_id)
    assert requeued.status == JobStatus.queued
    assert requeued.message == "worker stopped responding; queued again"
    assert job_row(ctx, given_up_id).status == JobStatus.failed
    run_job(ctx, job_id)
    assert job_row(ctx, job_id).status == JobStatus.completed
    assert job_row(ctx, job_id).attempts == 2
