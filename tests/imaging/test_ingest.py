"""The ingest path as a user meets it: one conversion job per image, and an image id never
handed out twice (deleting the newest image once made the next upload inherit its id and
stay "processing", its predecessor's finished job taken for its own)."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.conftest import MakeUser, login
from tests.imaging.test_pipeline import upload, wait_ready
from tests.uploads.files import bundled_dicom, png_bytes
from vesalius.context import AppContext
from vesalius.jobs.workers import Workers


@pytest.fixture
def workers(ctx: AppContext) -> Iterator[Workers]:
    pool = Workers(ctx)
    pool.start()
    yield pool
    pool.stop(timeout=10)


def test_one_job_per_image_and_a_deleted_images_id_is_never_reused(
    client: TestClient, workers: Workers, make_user: MakeUser
) -> None:
    headers = login(client, make_user().email)
    first, newest = upload(
        client, headers, ("ct.dcm", bundled_dicom("CT_small.dcm")), ("chart.png", png_bytes(90, 60))
    )
    for image in (first, newest):
        detail = wait_ready(client, headers, image["id"])
        assert len(detail["jobs"]) == 1
        assert detail["jobs"][0]["status"] == "completed"
        assert detail["jobs"][0]["result"]["thumbnails"]

    assert client.delete(f"/api/images/{newest['id']}", headers=headers).status_code == 204
    (again,) = upload(client, headers, ("again.png", png_bytes(80, 40)))
    assert again["id"] > newest["id"]
    detail = wait_ready(client, headers, again["id"])
    assert [j["type"] for j in detail["jobs"]] == ["convert_image"]
    assert client.get(f"/api/images/{again['id']}/thumbnail", headers=headers).status_code == 200
