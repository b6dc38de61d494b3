"""The whole path in embedded mode: upload → background conversion → ready → gallery →
preview, thumbnails, file, download, delete. Real files, real workers in this process."""

import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image as PILImage
from pydicom.uid import JPEG2000Lossless

from tests.conftest import MakeUser, login
from tests.imaging.dicom_factory import make_dicom
from tests.uploads.files import bundled_dicom, png_bytes
from tests.waiting import wait_until
from vesalius.context import AppContext
from vesalius.jobs.runner import run_job
from vesalius.jobs.workers import Workers


@pytest.fixture
def workers(ctx: AppContext) -> Iterator[Workers]:
    pool = Workers(ctx)
    pool.start()
    yield pool
    pool.stop(timeout=10)


@pytest.fixture
def headers(client: TestClient, make_user: MakeUser) -> dict[str, str]:
    return login(client, make_user().email)


def upload(client: TestClient, headers: dict[str, str], *items: tuple[str, bytes]) -> list[dict]:  # type: ignore[type-arg]
    response = client.post(
        "/api/upload",
        files=[("files", (n, d, "application/octet-stream")) for n, d in items],
        headers=headers,
    )
    assert response.status_code == 202, response.text
    return list(response.json()["images"])


def wait_ready(client: TestClient, headers: dict[str, str], image_id: int) -> dict:  # type: ignore[type-arg]
    def ready() -> bool:
        status = client.get(f"/api/images/{image_id}", headers=headers).json()["status"]
        assert status != "failed"
        return bool(status == "ready")

    wait_until(ready)
    return dict(client.get(f"/api/images/{image_id}", headers=headers).json())


def png_pixels(data: bytes) -> np.ndarray:  # type: ignore[type-arg]
    with PILImage.open(io.BytesIO(data)) as image:
        return np.asarray(image)


def test_dicom_upload_becomes_ready_and_everything_is_served(
    client: TestClient, workers: Workers, headers: dict[str, str], tmp_path: Path
) -> None:
    original = bundled_dicom("CT_small.dcm")
    (image,) = upload(client, headers, ("ct.dcm", original))
    detail = wait_ready(client, headers, image["id"])
    assert [j["type"] for j in detail["jobs"]] == ["convert_dicom"]  # one pass does it all
    assert all(j["status"] == "completed" and j["progress"] == 100 for j in detail["jobs"])
    assert detail["processedAt"] is not None

    gallery = client.get("/api/images", params={"useCursor": "true"}, headers=headers).json()
    assert gallery["images"][0]["id"] == image["id"]
    assert gallery["images"][0]["status"] == "ready"

    preview = client.get(f"/api/images/{image['id']}/preview", headers=headers)
    assert preview.headers["content-type"] == "image/png"
    pixels = png_pixels(preview.content)
    assert pixels.shape == (128, 128)
    assert pixels.dtype == np.uint8
    assert pixels.std() > 10  # an image, not a blank

    # A narrow soft-tissue window saturates more pixels than the file's own window.
    narrow = png_pixels(
        client.get(
            f"/api/images/{image['id']}/preview",
            params={"windowCenter": 40, "windowWidth": 80},
            headers=headers,
        ).content
    )
    assert ((narrow == 0) | (narrow == 255)).mean() > ((pixels == 0) | (pixels == 255)).mean()
    small = png_pixels(
        client.get(
            f"/api/images/{image['id']}/preview", params={"size": 64}, headers=headers
        ).content
    )
    assert small.shape == (64, 64)

    for size in (256, 512):
        thumb = client.get(
            f"/api/images/{image['id']}/thumbnail", params={"size": size}, headers=headers
        )
        assert thumb.status_code == 200
        assert thumb.headers["content-type"] == "image/jpeg"
        with PILImage.open(io.BytesIO(thumb.content)) as jpeg:
            assert jpeg.format == "JPEG"
            assert max(jpeg.size) <= size
            assert jpeg.size[0] == jpeg.size[1]  # 128 × 128 source: aspect kept

    assert client.get(f"/api/images/{image['id']}/file", headers=headers).content == original
    download = client.get(f"/api/images/{image['id']}/download", headers=headers)
    assert download.content == original
    assert download.headers["content-disposition"].startswith('attachment; filename="ct.dcm"')


def test_multi_frame_frames_render_differently(
    client: TestClient, workers: Workers, headers: dict[str, str], tmp_path: Path
) -> None:
    frames = np.stack([np.full((32, 48), value, dtype=np.uint16) for value in (100, 2000, 4000)])
    frames[:, :, :4] = 0  # an edge, so the automatic window has two values to spread
    path = make_dicom(
        tmp_path / "mf.dcm",
        rows=32,
        columns=48,
        frames=3,
        pixels=frames,
        window=(2000, 4000),
        modality="CT",
    )
    (image,) = upload(client, headers, ("mf.dcm", path.read_bytes()))
    detail = wait_ready(client, headers, image["id"])
    assert detail["frames"] == 3
    rendered = [
        png_pixels(
            client.get(
                f"/api/images/{image['id']}/preview", params={"frame": f}, headers=headers
            ).content
        )
        for f in range(3)
    ]
    means = [float(r[:, 10:].mean()) for r in rendered]
    assert means[0] < means[1] < means[2]
    bad = client.get(f"/api/images/{image['id']}/preview", params={"frame": 3}, headers=headers)
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "invalid_frame"


def test_ordinary_images_get_thumbnails_and_preview(
    client: TestClient, workers: Workers, headers: dict[str, str]
) -> None:
    (image,) = upload(client, headers, ("chart.png", png_bytes(600, 300)))
    detail = wait_ready(client, headers, image["id"])
    assert [j["type"] for j in detail["jobs"]] == ["convert_image"]
    thumb = client.get(f"/api/images/{image['id']}/thumbnail", headers=headers)
    with PILImage.open(io.BytesIO(thumb.content)) as jpeg:
        assert jpeg.size == (256, 128)
    window = client.get(
        f"/api/images/{image['id']}/preview",
        params={"windowCenter": 1, "windowWidth": 2},
        headers=headers,
    )
    assert window.json()["error"]["code"] == "window_not_applicable"


def test_a_file_that_cannot_be_converted_ends_failed_with_a_reason(
    client: TestClient, workers: Workers, headers: dict[str, str], tmp_path: Path
) -> None:
    # Intact structure, damaged JPEG 2000 codestream: the upload's header check passes and
    # the conversion finds the damage, fails, and does not retry (retrying cannot help).
    noise = np.random.default_rng(7).integers(0, 4096, (256, 256))  # incompressible
    path = make_dicom(
        tmp_path / "j2k.dcm", rows=256, columns=256, pixels=noise, transfer_syntax=JPEG2000Lossless
    )
    data = bytearray(path.read_bytes())
    start = data.index(b"\xff\x4f\xff\x51")  # SOC + SIZ: the codestream begins
    data[start + 100 : start + 600] = bytes(500)  # inside the codestream, not its framing
    (image,) = upload(client, headers, ("j2k.dcm", bytes(data)))

    def settled() -> bool:
        return bool(
            client.get(f"/api/images/{image['id']}", headers=headers).json()["status"]
            != "processing"
        )

    wait_until(settled)
    detail = client.get(f"/api/images/{image['id']}", headers=headers).json()
    assert detail["status"] == "failed"
    assert detail["failureReason"]
    assert detail["jobs"][0]["status"] == "failed"
    assert detail["jobs"][0]["attempts"] == 1
    assert (
        client.get(f"/api/images/{image['id']}/thumbnail", headers=headers).json()["error"]["code"]
        == "not_ready"
    )


def test_retrying_a_failed_conversion_puts_the_image_back_in_processing(
    client: TestClient,
    ctx: AppContext,
    headers: dict[str, str],
    admin_headers: dict[str, str],
    tmp_path: Path,
) -> None:
    noise = np.random.default_rng(8).integers(0, 4096, (128, 128))
    path = make_dicom(
        tmp_path / "j2k.dcm", rows=128, columns=128, pixels=noise, transfer_syntax=JPEG2000Lossless
    )
    data = bytearray(path.read_bytes())
    start = data.index(b"\xff\x4f\xff\x51")
    data[start + 100 : start + 600] = bytes(500)
    (image,) = upload(client, headers, ("j2k.dcm", bytes(data)))
    job_id = client.get(f"/api/images/{image['id']}", headers=headers).json()["jobs"][0]["id"]
    run_job(ctx, job_id)
    assert client.get(f"/api/images/{image['id']}", headers=headers).json()["status"] == "failed"
    assert client.post(f"/api/admin/jobs/{job_id}/retry", headers=admin_headers).status_code == 200
    again = client.get(f"/api/images/{image['id']}", headers=headers).json()
    assert (again["status"], again["failureReason"]) == ("processing", None)
    run_job(ctx, job_id)
    assert client.get(f"/api/images/{image['id']}", headers=headers).json()["status"] == "failed"


def test_frames_are_for_dicom_only(
    client: TestClient, workers: Workers, headers: dict[str, str]
) -> None:
    import io as io_module

    pages = [PILImage.new("L", (20, 10), value) for value in (10, 200)]
    buffer = io_module.BytesIO()
    pages[0].save(buffer, "TIFF", save_all=True, append_images=pages[1:])
    (image,) = upload(client, headers, ("two-pages.tif", buffer.getvalue()))
    wait_ready(client, headers, image["id"])
    second = client.get(f"/api/images/{image['id']}/preview", params={"frame": 1}, headers=headers)
    assert second.status_code == 400
    assert second.json()["error"]["code"] == "invalid_frame"


def test_delete_removes_rows_and_files(
    client: TestClient, ctx: AppContext, workers: Workers, headers: dict[str, str]
) -> None:
    (image,) = upload(client, headers, ("ct.dcm", bundled_dicom("CT_small.dcm")))
    wait_ready(client, headers, image["id"])
    client.get(
        f"/api/images/{image['id']}/preview", params={"size": 32}, headers=headers
    )  # fills the cache
    assert any(ctx.blobs.iter_keys(f"cache/{image['id']}/"))
    assert client.delete(f"/api/images/{image['id']}", headers=headers).status_code == 204
    assert client.get(f"/api/images/{image['id']}", headers=headers).status_code == 404
    assert list(ctx.blobs.iter_keys("originals/")) == []
    assert list(ctx.blobs.iter_keys(f"derived/{image['id']}/")) == []
    assert list(ctx.blobs.iter_keys(f"cache/{image['id']}/")) == []
