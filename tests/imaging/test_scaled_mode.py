"""Scaled mode end to end: PostgreSQL, Redis queues, S3 storage (moto's server over HTTP),
the API in this process without workers, and `vesalius worker` as a separate process — which
is then killed with SIGKILL in the middle of a job."""

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import redis as redis_lib
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.cli_helpers import settings_env
from tests.conftest import PASSWORD, login, make_settings
from tests.imaging.dicom_factory import make_dicom, mammogram_pixels
from tests.imaging.test_pipeline import upload, wait_ready
from tests.services import RedisServer, S3Server
from tests.uploads.files import bundled_dicom, png_bytes
from tests.waiting import wait_until
from vesalius.accounts.models import Role
from vesalius.accounts.service import UserService
from vesalius.app import create_app
from vesalius.config import Settings
from vesalius.context import AppContext, build_context
from vesalius.jobs.models import Job, JobStatus

VESALIUS = str(Path(sys.executable).with_name("vesalius"))


@dataclass
class Scaled:
    settings: Settings
    ctx: AppContext
    client: TestClient
    log_dir: Path

    def start_worker(self, name: str) -> subprocess.Popen[bytes]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("VESALIUS_")}
        env.update(settings_env(self.settings))
        with (self.log_dir / f"{name}.log").open("wb") as log:  # the child keeps its own copy
            return subprocess.Popen(
                [VESALIUS, "worker", "--queue", "all"], env=env, stdout=log, stderr=log
            )

    def sign_in(self, role: Role = Role.clinician) -> dict[str, str]:
        email = f"{role.value}-{uuid.uuid4().hex[:8]}@example.org"
        with self.ctx.db.session() as session:
            UserService(self.ctx, session).create_user(
                None, email=email, role=role, password=PASSWORD
            )
        return login(self.client, email)

    def job_rows(self, image_id: int) -> list[Job]:
        with self.ctx.db.read_session() as session:
            return list(
                session.scalars(select(Job).where(Job.resource_id == image_id).order_by(Job.id))
            )


@pytest.fixture
def scaled(
    data_dir: Path, postgres_url: str, redis: RedisServer, s3: S3Server, tmp_path: Path
) -> Iterator[Scaled]:
    bucket = f"vesalius-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(bucket)
    redis_lib.Redis.from_url(redis.url).flushdb()
    settings = make_settings(
        data_dir,
        postgres_url,
        redis_url=redis.url,
        storage_url=f"s3://{bucket}/hub",
        s3_endpoint_url=s3.endpoint,
        s3_access_key_id=s3.access_key,
        s3_secret_access_key=s3.secret_key,
        job_heartbeat_seconds=0.5,
        job_stale_after_seconds=3,
        job_rescue_interval_seconds=0.5,
    )
    ctx = build_context(settings)
    with TestClient(create_app(settings, with_ui=False, ctx=ctx)) as client:
        yield Scaled(settings=settings, ctx=ctx, client=client, log_dir=tmp_path)
    ctx.close()


@pytest.fixture
def worker(scaled: Scaled) -> Iterator[subprocess.Popen[bytes]]:
    proc = scaled.start_worker("worker")
    yield proc
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)


def test_upload_to_ready_through_a_separate_worker_process(
    scaled: Scaled, worker: subprocess.Popen[bytes]
) -> None:
    client = scaled.client
    headers = scaled.sign_in()
    dicom, png = upload(
        client,
        headers,
        ("ct.dcm", bundled_dicom("CT_small.dcm")),
        ("chart.png", png_bytes(300, 200)),
    )
    for image in (dicom, png):
        detail = wait_ready(client, headers, image["id"])
        assert all(job["worker"] and str(worker.pid) in job["worker"] for job in detail["jobs"])
    thumb = client.get(f"/api/images/{dicom['id']}/thumbnail", headers=headers)
    assert thumb.status_code == 200
    assert thumb.headers["content-type"] == "image/jpeg"
    keys = set(scaled.ctx.blobs.iter_keys())
    assert {f"derived/{dicom['id']}/preview.png", f"derived/{dicom['id']}/thumb-256.jpg"} <= keys
    assert scaled.ctx.blobs.url.startswith("s3://")
    stats = client.get("/api/admin/queue/stats", headers=scaled.sign_in(Role.admin))
    queues = {q["queue"]: q for q in stats.json()["queues"]}
    assert queues["dicom"]["completed"] == 1
    assert queues["thumbnails"]["completed"] == 1  # the PNG; the DICOM needed no second job


def test_a_worker_killed_mid_job_is_replaced_and_the_job_completes_once(
    scaled: Scaled, tmp_path: Path
) -> None:
    client = scaled.client
    headers = scaled.sign_in()
    # Big enough that converting it takes a while: the kill lands mid-job.
    pixels = mammogram_pixels(5200, 4200)
    path = make_dicom(
        tmp_path / "big.dcm", rows=5200, columns=4200, pixels=pixels, window=(2000, 3000)
    )
    first = scaled.start_worker("first")
    try:
        (image,) = upload(client, headers, ("big.dcm", path.read_bytes()))

        def converting() -> bool:
            jobs = scaled.job_rows(image["id"])
            return bool(
                jobs
                and jobs[0].status == JobStatus.running
                and str(first.pid) in (jobs[0].worker or "")
            )

        wait_until(converting, timeout=60)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    assert scaled.job_rows(image["id"])[0].status == JobStatus.running  # orphaned, heartbeat stops

    second = scaled.start_worker("second")
    try:
        wait_ready(client, headers, image["id"])
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=30)
    jobs = scaled.job_rows(image["id"])
    assert [(j.type, j.status) for j in jobs] == [("convert_dicom", JobStatus.completed)]
    convert = jobs[0]
    assert convert.attempts == 2
    assert str(second.pid) in (convert.worker or "")
    preview = client.get(
        f"/api/images/{image['id']}/preview", params={"size": 256}, headers=headers
    )
    assert preview.status_code == 200
    assert np.frombuffer(preview.content[:8], dtype=np.uint8).tolist() == list(b"\x89PNG\r\n\x1a\n")
