"""A page stays connected while the server converts a full queue: the conversions run in
worker processes of ``vesalius serve``, so they cannot starve the web process's event loop
of the GIL (as worker threads did: a page lost its socket and reloaded mid-conversion)."""

import time
from pathlib import Path

import httpx
import numpy as np
from playwright.sync_api import Page, expect
from sqlalchemy import select

from tests.imaging.dicom_factory import make_dicom
from tests.ui.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Hub, Shot, sign_in
from tests.ui.imaging import CONVERSION_MS
from vesalius.context import AppContext
from vesalius.jobs.models import Job

CONNECTION_WATCH = """() => {
    window.vesaliusStayed = 'same page';
    window.vesaliusDrops = 0;
    window.socket.on('disconnect', () => { window.vesaliusDrops += 1; });
}"""
CONNECTED = "() => Boolean(window.socket && window.socket.connected)"
LOAD = 24


def heavy_dicoms(directory: Path, count: int, size: int) -> list[tuple[str, bytes]]:
    noise = np.random.default_rng(3)
    files = []
    for n in range(count):
        path = make_dicom(
            directory / f"load-{n:02}.dcm",
            rows=size,
            columns=size,
            bits_stored=12,
            pixels=noise.integers(0, 4096, (size, size)),
        )
        files.append((path.name, path.read_bytes()))
    return files


def test_a_page_stays_connected_while_the_queue_is_full(
    page: Page, shot: Shot, hub: Hub, seed: AppContext, tmp_path: Path
) -> None:
    page.goto("/admin/queue")
    sign_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    dicom = page.locator('[data-testid="queue-card"][data-queue="dicom"]')
    completed = dicom.get_by_test_id("queue-completed")
    expect(completed).to_have_text("0")
    page.wait_for_function(CONNECTED)
    page.evaluate(CONNECTION_WATCH)

    load = heavy_dicoms(tmp_path, LOAD, 1536)
    token = httpx.post(
        f"{hub.url}/api/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    ).json()["accessToken"]
    answer = httpx.post(
        f"{hub.url}/api/upload",
        files=[("files", (name, data, "application/dicom")) for name, data in load],
        headers={"Authorization": f"Bearer {token}"},
        timeout=120,
    )
    assert answer.status_code == 202, answer.text
    ids = [image["id"] for image in answer.json()["images"]]

    # While the workers chew through the queue, the monitor keeps its socket and counts live.
    deadline = time.monotonic() + CONVERSION_MS / 1000
    while completed.inner_text() != str(LOAD):
        assert page.evaluate(CONNECTED), "the page lost its connection during the conversions"
        assert time.monotonic() < deadline, "the conversions did not finish"
        page.wait_for_timeout(250)
    shot(page, "40-queue-monitor-after-a-full-queue")
    assert page.evaluate("window.vesaliusStayed") == "same page"  # never reloaded
    assert page.evaluate("window.vesaliusDrops") == 0

    # The work was done by the server's worker processes (each listens on a doorbell named
    # after its pid), not by the web process.
    worker_pids = {int(bell.name.split("-")[0]) for bell in (hub.data_dir / "doorbells").iterdir()}
    with seed.db.read_session() as session:
        workers = session.scalars(
            select(Job.worker).where(Job.resource_type == "image", Job.resource_id.in_(ids))
        )
        job_pids = {int(worker.split(":")[1]) for worker in workers if worker}
    assert job_pids and job_pids <= worker_pids
