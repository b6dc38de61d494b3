"""Job status for owners, queue statistics and job administration for admins."""

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import update

from tests.conftest import MakeUser, login
from tests.jobs.conftest import Script
from vesalius.accounts.models import Role, User
from vesalius.context import AppContext
from vesalius.db import utcnow
from vesalius.jobs.models import Job, JobStatus
from vesalius.jobs.runner import PermanentJobError, RunningJob, run_job
from vesalius.jobs.service import JobService


def _job(ctx: AppContext, owner: User | None = None) -> int:
    with ctx.db.session() as session:
        job = JobService(ctx, session).create(
            "test_scripted", input={}, owner_id=owner.id if owner else None
        )
        session.commit()
        return job.id


def test_owner_and_admin_see_a_job_others_get_404(
    client: TestClient, ctx: AppContext, make_user: MakeUser, admin_headers: dict[str, str]
) -> None:
    owner = make_user()
    job_id = _job(ctx, owner)
    mine = client.get(f"/api/jobs/{job_id}", headers=login(client, owner.email))
    assert mine.status_code == 200
    body = mine.json()
    assert body["status"] == "queued"
    assert body["progress"] == 0
    assert body["queue"] == "thumbnails"
    assert client.get(f"/api/jobs/{job_id}", headers=admin_headers).status_code == 200
    stranger = client.get(f"/api/jobs/{job_id}", headers=login(client, make_user().email))
    assert stranger.status_code == 404
    assert client.get("/api/jobs/99999", headers=admin_headers).status_code == 404


def test_queue_stats_count_each_state(
    client: TestClient, ctx: AppContext, script: Script, admin_headers: dict[str, str]
) -> None:
    def fail(_job: RunningJob) -> None:
        raise PermanentJobError("bad input")

    ids = [_job(ctx) for _ in range(6)]
    run_job(ctx, ids[0])  # completed
    script.steps = [fail]
    run_job(ctx, ids[1])  # failed
    with ctx.db.session() as session:
        session.execute(
            update(Job)
            .where(Job.id == ids[2])
            .values(status=JobStatus.running, heartbeat_at=utcnow())
        )
        session.execute(
            update(Job)
            .where(Job.id == ids[3])
            .values(status=JobStatus.retrying, run_after=utcnow() + timedelta(minutes=1))
        )
        session.execute(
            update(Job).where(Job.id == ids[4]).values(created_at=utcnow() - timedelta(seconds=120))
        )
        session.commit()
    response = client.get("/api/admin/queue/stats", headers=admin_headers)
    assert response.status_code == 200
    queues = {q["queue"]: q for q in response.json()["queues"]}
    assert set(queues) == {"dicom", "thumbnails"}
    thumbs = queues["thumbnails"]
    assert (
        thumbs["waiting"],
        thumbs["active"],
        thumbs["completed"],
        thumbs["failed"],
        thumbs["delayed"],
    ) == (
        2,
        1,
        1,
        1,
        1,
    )
    assert thumbs["jobsPerMinute"] == 0.2
    assert thumbs["oldestWaitingSeconds"] >= 120
    assert thumbs["concurrency"] == 5
    assert queues["dicom"]["concurrency"] == 3
    assert queues["dicom"]["waiting"] == 0
    assert queues["dicom"]["oldestWaitingSeconds"] is None


def test_retry_and_cancel(
    client: TestClient, ctx: AppContext, script: Script, admin_headers: dict[str, str]
) -> None:
    def fail(_job: RunningJob) -> None:
        raise PermanentJobError("bad input")

    script.steps = [fail, lambda _j: {"ok": True}]
    failed_id = _job(ctx)
    run_job(ctx, failed_id)
    retried = client.post(f"/api/admin/jobs/{failed_id}/retry", headers=admin_headers)
    assert retried.status_code == 200
    assert retried.json()["status"] == "queued"
    assert retried.json()["attempts"] == 0
    again = client.post(f"/api/admin/jobs/{failed_id}/retry", headers=admin_headers)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "job_not_retryable"

    waiting_id = _job(ctx)
    cancelled = client.post(f"/api/admin/jobs/{waiting_id}/cancel", headers=admin_headers)
    assert cancelled.json()["status"] == "cancelled"
    run_job(ctx, waiting_id)  # its message still arrives: nothing happens
    assert (
        client.get(f"/api/jobs/{waiting_id}", headers=admin_headers).json()["status"] == "cancelled"
    )
    twice = client.post(f"/api/admin/jobs/{waiting_id}/cancel", headers=admin_headers)
    assert twice.json()["error"]["code"] == "job_finished"


def test_job_administration_is_admin_only(
    client: TestClient, ctx: AppContext, make_user: MakeUser
) -> None:
    headers = login(client, make_user(Role.radiologist).email)
    job_id = _job(ctx)
    assert client.get("/api/admin/queue/stats", headers=headers).status_code == 403
    assert client.post(f"/api/admin/jobs/{job_id}/retry", headers=headers).status_code == 403
    assert client.post(f"/api/admin/jobs/{job_id}/cancel", headers=headers).status_code == 403
    assert client.get("/api/admin/jobs", headers=headers).status_code == 403


def test_admin_job_list_filters(
    client: TestClient, ctx: AppContext, script: Script, admin_headers: dict[str, str]
) -> None:
    ids = [_job(ctx) for _ in range(3)]
    run_job(ctx, ids[0])
    listed = client.get(
        "/api/admin/jobs", params={"status": "queued"}, headers=admin_headers
    ).json()["jobs"]
    assert [j["id"] for j in listed] == [ids[2], ids[1]]
    page = client.get(
        "/api/admin/jobs", params={"limit": 1, "beforeId": ids[2]}, headers=admin_headers
    ).json()
    assert [j["id"] for j in page["jobs"]] == [ids[1]]
    bad = client.get("/api/admin/jobs", params={"queue": "nope"}, headers=admin_headers)
    assert bad.status_code == 422
