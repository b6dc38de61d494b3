"""The gallery: offset and cursor pages, filters, bad parameters, who sees what."""

from datetime import UTC, date, datetime, timedelta
from itertools import count

import pytest
from fastapi.testclient import TestClient

from tests.conftest import MakeUser, login
from vesalius.accounts.models import Role, User
from vesalius.context import AppContext
from vesalius.imaging.models import FileType, Image, ImageStatus

_ids = count(1)
BASE = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def add_images(
    ctx: AppContext,
    owner: User,
    n: int,
    *,
    start: datetime = BASE,
    step: timedelta = timedelta(minutes=1),
    **fields: object,
) -> list[int]:
    """Insert ``n`` image rows (no files: the gallery only reads rows), oldest first."""
    ids = []
    with ctx.db.session() as session:
        for i in range(n):
            serial = next(_ids)
            image = Image(
                user_id=owner.id,
                original_name=str(fields.get("original_name", f"scan-{serial}.dcm")),
                file_type=fields.get("file_type", FileType.dcm),
                content_type="application/dicom",
                size_bytes=1000 + serial,
                sha256=f"{serial:064x}",
                storage_key=f"originals/test/{serial}",
                status=fields.get("status", ImageStatus.ready),
                modality=fields.get("modality", "MG"),
                patient_name=fields.get("patient_name", "DOE^JANE"),
                patient_id=fields.get("patient_id", f"P{serial}"),
                created_at=start + step * i,
            )
            session.add(image)
            session.flush()
            ids.append(image.id)
        session.commit()
    return ids


def _ids_of(body: dict) -> list[int]:  # type: ignore[type-arg]
    return [image["id"] for image in body["images"]]


@pytest.fixture
def owner(make_user: MakeUser) -> User:
    return make_user(Role.clinician, email="owner@example.org")


@pytest.fixture
def owner_headers(client: TestClient, owner: User) -> dict[str, str]:
    return login(client, owner.email)


def test_offset_mode_pages_newest_first_with_total(
    client: TestClient, ctx: AppContext, owner: User, owner_headers: dict[str, str]
) -> None:
    ids = add_images(ctx, owner, 25)
    first = client.get("/api/images", params={"limit": 10}, headers=owner_headers).json()
    assert first["total"] == 25
    assert first["page"] == 1
    assert first["limit"] == 10
    assert _ids_of(first) == ids[::-1][:10]
    third = client.get("/api/images", params={"limit": 10, "page": 3}, headers=owner_headers).json()
    assert _ids_of(third) == ids[::-1][20:]
    image = first["images"][0]
    assert image["urls"]["thumbnail"] == f"/api/images/{ids[-1]}/thumbnail"
    assert image["dicom"]["modality"] == "MG"


def test_cursor_mode_walks_forward_and_back(
    client: TestClient, ctx: AppContext, owner: User, owner_headers: dict[str, str]
) -> None:
    ids = add_images(ctx, owner, 7)
    newest_first = ids[::-1]
    params = {"useCursor": "true", "limit": 3}
    page1 = client.get("/api/images", params=params, headers=owner_headers).json()
    assert set(page1) == {"images", "nextCursor", "prevCursor", "hasMore", "limit"}
    assert _ids_of(page1) == newest_first[:3]
    assert page1["hasMore"] is True
    assert page1["prevCursor"] is None
    created = datetime.fromisoformat(page1["images"][-1]["createdAt"].replace("Z", "+00:00"))
    assert (
        page1["nextCursor"]
        == f"{created.isoformat(timespec='microseconds').replace('+00:00', 'Z')}_{newest_first[2]}"
    )

    page2 = client.get(
        "/api/images", params={**params, "cursor": page1["nextCursor"]}, headers=owner_headers
    ).json()
    assert _ids_of(page2) == newest_first[3:6]
    page3 = client.get(
        "/api/images", params={**params, "cursor": page2["nextCursor"]}, headers=owner_headers
    ).json()
    assert _ids_of(page3) == newest_first[6:]
    assert page3["hasMore"] is False
    assert page3["nextCursor"] is None

    back = client.get(
        "/api/images",
        params={**params, "cursor": page3["prevCursor"], "direction": "prev"},
        headers=owner_headers,
    ).json()
    assert _ids_of(back) == newest_first[3:6]
    assert back["hasMore"] is True
    back2 = client.get(
        "/api/images",
        params={**params, "cursor": back["prevCursor"], "direction": "prev"},
        headers=owner_headers,
    ).json()
    assert _ids_of(back2) == newest_first[:3]
    assert back2["hasMore"] is False


def test_ties_on_created_at_are_broken_by_id(
    client: TestClient, ctx: AppContext, owner: User, owner_headers: dict[str, str]
) -> None:
    ids = add_images(ctx, owner, 9, step=timedelta(0))  # all in the same microsecond
    seen: list[int] = []
    cursor = None
    while True:
        params = {"useCursor": "true", "limit": 4, **({"cursor": cursor} if cursor else {})}
        body = client.get("/api/images", params=params, headers=owner_headers).json()
        seen += _ids_of(body)
        cursor = body["nextCursor"]
        if not body["hasMore"]:
            break
    assert seen == sorted(ids, reverse=True)


def test_images_arriving_while_paging_are_neither_repeated_nor_skipped(
    client: TestClient, ctx: AppContext, owner: User, owner_headers: dict[str, str]
) -> None:
    ids = add_images(ctx, owner, 10)
    params = {"useCursor": "true", "limit": 4}
    body = client.get("/api/images", params=params, headers=owner_headers).json()
    seen = _ids_of(body)
    add_images(ctx, owner, 3, start=BASE + timedelta(days=1))  # newer: appear at the top
    while body["hasMore"]:
        body = client.get(
            "/api/images", params={**params, "cursor": body["nextCursor"]}, headers=owner_headers
        ).json()
        seen += _ids_of(body)
    assert seen == ids[::-1]


def test_filters(
    client: TestClient, ctx: AppContext, owner: User, owner_headers: dict[str, str]
) -> None:
    ct = add_images(ctx, owner, 2, modality="CT", patient_name="SMITH^ANN")
    png = add_images(
        ctx,
        owner,
        1,
        file_type=FileType.png,
        modality=None,
        patient_name=None,
        original_name="Chart 100%.png",
    )
    failed = add_images(ctx, owner, 1, status=ImageStatus.failed, start=BASE + timedelta(days=3))

    def ids(**params: object) -> set[int]:
        return set(
            _ids_of(
                client.get(
                    "/api/images", params={"limit": 100, **params}, headers=owner_headers
                ).json()
            )
        )

    assert ids(modality="ct") == set(ct)
    assert ids(fileType="png") == set(png)
    assert ids(status="failed") == set(failed)
    assert ids(q="smith") == set(ct)
    assert ids(q="100%") == set(png)  # % is a character, not a wildcard
    assert ids(**{"from": (BASE + timedelta(days=2)).date().isoformat()}) == set(failed)
    assert ids(**{"to": BASE.date().isoformat()}) == set(ct + png)
    assert ids(useCursor="true", modality="CT") == set(ct)


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"limit": 0}, "invalid_limit"),
        ({"limit": 101}, "invalid_limit"),
        ({"useCursor": "true", "limit": 500}, "invalid_limit"),
        ({"useCursor": "true", "cursor": "not-a-cursor"}, "invalid_cursor"),
        ({"useCursor": "true", "cursor": "2026-13-45T99:00:00Z_5"}, "invalid_cursor"),
        ({"useCursor": "true", "direction": "sideways"}, "invalid_direction"),
        ({"page": 0}, "invalid_page"),
        ({"from": "yesterday"}, "invalid_date"),
        ({"from": "2026-03-05", "to": "2026-03-01"}, "invalid_date_range"),
    ],
)
def test_bad_parameters_are_400_with_a_reason(
    client: TestClient, owner_headers: dict[str, str], params: dict[str, object], code: str
) -> None:
    response = client.get("/api/images", params=params, headers=owner_headers)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code


def test_users_see_their_own_images_admins_see_all(
    client: TestClient,
    ctx: AppContext,
    owner: User,
    owner_headers: dict[str, str],
    make_user: MakeUser,
    admin_headers: dict[str, str],
) -> None:
    other = make_user(Role.radiologist)
    mine = add_images(ctx, owner, 2)
    theirs = add_images(ctx, other, 3)
    assert set(_ids_of(client.get("/api/images", headers=owner_headers).json())) == set(mine)
    assert set(_ids_of(client.get("/api/images", headers=admin_headers).json())) == set(
        mine + theirs
    )
    for path in ("", "/file", "/download", "/preview", "/thumbnail"):
        response = client.get(f"/api/images/{theirs[0]}{path}", headers=owner_headers)
        assert response.status_code == 404, path
    assert client.delete(f"/api/images/{theirs[0]}", headers=owner_headers).status_code == 404
    assert client.get("/api/images").status_code == 401


def test_study_date_filter(
    client: TestClient, ctx: AppContext, owner: User, owner_headers: dict[str, str]
) -> None:
    old, new = add_images(ctx, owner, 2)
    with ctx.db.session() as session:
        for image_id, day in ((old, date(2019, 5, 1)), (new, date(2025, 1, 9))):
            image = session.get(Image, image_id)
            assert image is not None
            image.study_date = day
        session.commit()

    def ids(**params: object) -> list[int]:
        return _ids_of(client.get("/api/images", params=params, headers=owner_headers).json())

    assert ids(studyFrom="2020-01-01") == [new]
    assert ids(studyTo="2020-01-01") == [old]
    assert ids(studyFrom="2019-05-01", studyTo="2025-01-09") == [new, old]
    bad = client.get(
        "/api/images",
        params={"studyFrom": "2025-02-01", "studyTo": "2025-01-01"},
        headers=owner_headers,
    )
    assert bad.json()["error"]["code"] == "invalid_date_range"


def test_study_date_round_trips(
    client: TestClient, ctx: AppContext, owner: User, owner_headers: dict[str, str]
) -> None:
    (image_id,) = add_images(ctx, owner, 1)
    with ctx.db.session() as session:
        image = session.get(Image, image_id)
        assert image is not None
        image.study_date = date(2025, 12, 24)
        session.commit()
    body = client.get(f"/api/images/{image_id}", headers=owner_headers).json()
    assert body["dicom"]["studyDate"] == "2025-12-24"
    assert body["jobs"] == []
