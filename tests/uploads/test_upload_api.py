"""POST /api/upload: answers at once, checks every file, keeps what it accepted."""

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.conftest import MakeUser, login, make_settings
from tests.uploads.files import bundled_dicom, jpeg_bytes, png_bytes, png_declaring
from vesalius.accounts.models import Role, User
from vesalius.accounts.service import UserService
from vesalius.accounts.signed_urls import sign_path
from vesalius.app import create_app
from vesalius.context import AppContext, build_context
from vesalius.jobs.models import Job, JobStatus
from vesalius.uploads.names import safe_filename

Files = list[tuple[str, tuple[str, bytes, str]]]


def files(*items: tuple[str, bytes]) -> Files:
    return [("files", (name, data, "application/octet-stream")) for name, data in items]


@pytest.fixture
def uploader(make_user: MakeUser) -> User:
    return make_user(email="ward7@example.org")


@pytest.fixture
def headers(client: TestClient, uploader: User) -> dict[str, str]:
    return login(client, uploader.email)


def originals(ctx: AppContext) -> list[str]:
    return list(ctx.blobs.iter_keys("originals/"))


def test_a_dicom_upload_is_accepted_at_once_with_its_metadata(
    client: TestClient, ctx: AppContext, headers: dict[str, str]
) -> None:
    data = bundled_dicom("CT_small.dcm")
    response = client.post("/api/upload", files=files(("CT_small.dcm", data)), headers=headers)
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["rejected"] == []
    (image,) = body["images"]
    assert image["status"] == "processing"  # nothing has been processed: no worker runs here
    assert image["fileType"] == "dcm"
    assert image["originalName"] == "CT_small.dcm"
    assert image["sizeBytes"] == len(data)
    assert image["sha256"] == hashlib.sha256(data).hexdigest()
    assert (image["width"], image["height"]) == (128, 128)
    assert image["dicom"]["modality"] == "CT"
    assert image["dicom"]["patientName"]
    assert image["dicom"]["sopInstanceUid"]
    (job,) = body["jobs"]
    assert (job["queue"], job["type"], job["status"], job["imageId"]) == (
        "dicom",
        "convert_dicom",
        "queued",
        image["id"],
    )
    (key,) = originals(ctx)
    assert ctx.blobs.read(key) == data
    with ctx.db.read_session() as session:
        stored = session.get(Job, job["id"])
        assert stored is not None
        assert stored.status == JobStatus.queued
        assert stored.enqueued_at is not None


def test_several_files_with_good_and_bad_ones(
    client: TestClient, ctx: AppContext, headers: dict[str, str]
) -> None:
    truncated = bundled_dicom("CT_small.dcm")[:3000]
    batch = files(
        ("ct.dcm", bundled_dicom("CT_small.dcm")),
        ("chart.png", png_bytes()),
        ("photo.jpeg", jpeg_bytes()),
        ("liar.png", os.urandom(4000)),  # not a PNG at all
        ("photo-as.png", jpeg_bytes()),  # a JPEG that claims to be a PNG
        ("empty.dcm", b""),
        ("truncated.dcm", truncated),
        ("plan.dcm", bundled_dicom("rtplan.dcm")),  # DICOM, but no image in it
        ("mystery", os.urandom(5000)),
        ("bomb.png", png_declaring(60_000, 60_000)),
        ("mr.dcm", bundled_dicom("MR_small.dcm")),
    )
    response = client.post("/api/upload", files=batch, headers=headers)
    assert response.status_code == 202, response.text
    body = response.json()
    assert [i["originalName"] for i in body["images"]] == [
        "ct.dcm",
        "chart.png",
        "photo.jpeg",
        "mr.dcm",
    ]
    assert [i["fileType"] for i in body["images"]] == ["dcm", "png", "jpg", "dcm"]
    assert [j["queue"] for j in body["jobs"]] == ["dicom", "thumbnails", "thumbnails", "dicom"]
    refusals = {r["filename"]: r["code"] for r in body["rejected"]}
    assert refusals == {
        "liar.png": "content_mismatch",
        "photo-as.png": "content_mismatch",
        "empty.dcm": "empty_file",
        "truncated.dcm": "invalid_dicom",
        "plan.dcm": "no_pixel_data",
        "mystery": "unsupported_file_type",
        "bomb.png": "image_too_large",
    }
    assert all(r["message"] for r in body["rejected"])
    assert len(originals(ctx)) == 4  # nothing of a refused file stays in storage


@pytest.mark.parametrize(
    ("name", "data", "status", "code"),
    [
        ("fake.png", b"MZ\x90\x00" + os.urandom(300), 415, "content_mismatch"),
        ("empty.png", b"", 400, "empty_file"),
        ("broken.dcm", b"\x00" * 128 + b"DICM" + os.urandom(200), 422, "invalid_dicom"),
    ],
)
def test_a_single_refused_file_is_the_answer(
    client: TestClient,
    ctx: AppContext,
    headers: dict[str, str],
    name: str,
    data: bytes,
    status: int,
    code: str,
) -> None:
    response = client.post("/api/upload", files=files((name, data)), headers=headers)
    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == code
    assert error["details"]["rejected"][0]["filename"] == name
    assert originals(ctx) == []


def test_all_refused_lists_every_reason(client: TestClient, headers: dict[str, str]) -> None:
    response = client.post(
        "/api/upload", files=files(("a.png", b""), ("b.png", b"nope")), headers=headers
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "all_files_rejected"
    assert [r["code"] for r in response.json()["error"]["details"]["rejected"]] == [
        "empty_file",
        "content_mismatch",
    ]


def test_path_components_are_stripped_from_names(
    client: TestClient, headers: dict[str, str]
) -> None:
    batch = files(
        ("../../etc/passwd.png", png_bytes()),
        ("C:\\Users\\nurse\\Desktop\\scan.png", png_bytes()),
        ("résumé-ÉCHO.png", png_bytes()),
    )
    names = [
        i["originalName"]
        for i in client.post("/api/upload", files=batch, headers=headers).json()["images"]
    ]
    assert names == ["passwd.png", "scan.png", "résumé-ÉCHO.png"]


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\boot.ini", "boot.ini"),
        ("scan\x07\x00.dcm", "scan.dcm"),
        ("  .hidden.png ", "hidden.png"),
        ("a<b>c:d|e?f*.png", "abcdef.png"),
        ("", "upload"),
        ("../", "upload"),
        (None, "upload"),
        ("x" * 300 + ".dcm", "x" * 251 + ".dcm"),
        ("e\u0301cho.png", "\u00e9cho.png"),  # decomposed accents are composed (NFC)
    ],
)
def test_safe_filename(raw: str | None, safe: str) -> None:
    assert safe_filename(raw) == safe


def test_not_multipart_no_files_and_a_broken_body(
    client: TestClient, headers: dict[str, str]
) -> None:
    as_json = client.post("/api/upload", json={"files": []}, headers=headers)
    assert as_json.status_code == 400
    assert as_json.json()["error"]["code"] == "not_multipart"
    only_fields = client.post(
        "/api/upload",
        data={"note": "hello"},
        files=[("x", ("", b"", "text/plain"))],
        headers=headers,
    )
    assert only_fields.status_code == 400
    boundary = "----vesalius"
    cut = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="a.png"\r\n'
        "Content-Type: image/png\r\n\r\n"
    ).encode() + png_bytes()  # the closing boundary never comes: the connection dropped
    broken = client.post(
        "/api/upload",
        content=cut,
        headers={**headers, "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert broken.status_code == 400
    assert broken.json()["error"]["code"] == "truncated_upload"


def test_uploading_needs_a_signed_in_user_or_a_signed_link(
    client: TestClient, ctx: AppContext, uploader: User
) -> None:
    assert client.post("/api/upload", files=files(("a.png", png_bytes()))).status_code == 401
    link = sign_path(ctx.keys, "/api/upload", uploader.id)
    signed = client.post(link, files=files(("a.png", png_bytes())))
    assert signed.status_code == 202
    assert signed.json()["images"][0]["userId"] == uploader.id
    forged = client.post(link.replace("sig=", "sig=x"), files=files(("a.png", png_bytes())))
    assert forged.status_code == 401
    assert forged.json()["error"]["code"] == "invalid_signature"
    other_path = sign_path(ctx.keys, "/api/images/1/file", uploader.id).replace(
        "/api/images/1/file", "/api/upload"
    )
    assert client.post(other_path, files=files(("a.png", png_bytes()))).status_code == 401


@pytest.fixture
def small_limits_client(data_dir: Path, sqlite_url: str) -> Iterator[tuple[TestClient, AppContext]]:
    settings = make_settings(data_dir, sqlite_url, max_upload_bytes=50_000, max_upload_files=2)
    ctx = build_context(settings)
    with TestClient(create_app(settings, with_ui=False, ctx=ctx)) as test_client:
        yield test_client, ctx
    ctx.close()


def test_size_and_count_limits_refuse_only_the_offending_files(
    small_limits_client: tuple[TestClient, AppContext],
) -> None:
    client, ctx = small_limits_client
    with ctx.db.session() as session:
        UserService(ctx, session).create_user(
            None, email="u@example.org", role=Role.clinician, password="a-long-password"
        )
    headers = login(client, "u@example.org", "a-long-password")
    big = png_bytes(400, 400)  # an uncompressible-enough PNG over 50 kB
    big = big + b"\x00" * max(0, 60_000 - len(big))
    response = client.post(
        "/api/upload",
        files=files(("big.png", big), ("ok.png", png_bytes()), ("third.png", png_bytes())),
        headers=headers,
    )
    assert response.status_code == 202
    body = response.json()
    assert [i["originalName"] for i in body["images"]] == ["ok.png"]
    assert {r["filename"]: r["code"] for r in body["rejected"]} == {
        "big.png": "file_too_large",
        "third.png": "too_many_files",
    }
    assert len(list(ctx.blobs.iter_keys("originals/"))) == 1
