"""Known activity for the analytics browser tests, in the test server's database.

Today's part happens through the product (API sign-in, upload, a timed view, a download, all
written by the server's recorder); the past is put in place directly, then aggregated with
``vesalius analytics rebuild``. Days are UTC (the server's default zone); D is today.

    D-60  ada (the administrator) joins
    D-40  mo signs in
    D-25  mo joins
    D-20  mo uploads a.png (moved back from today); mo signs in; mo views a.png (2.0 s)
    D-10  mo uploads b.png (moved back from today); ada signs in; ada views a.png (6.0 s);
          ada downloads a.png
    D-3   mo signs in; mo views b.png (no duration reported)
    D-2   eight failed sign-ins as intruder@example.org
    D     ada signs in; mo signs in, uploads CT_small.dcm, views it (8.0 s), downloads a.png
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock

import httpx
from sqlalchemy import func, select, update

from tests.ui import files
from tests.ui.conftest import Hub, hub_env, vesalius
from vesalius.accounts.models import Role, User
from vesalius.accounts.service import UserService
from vesalius.analytics.aggregation import recount_image_views
from vesalius.analytics.days import today
from vesalius.analytics.models import ImageView, UserActivity
from vesalius.context import AppContext
from vesalius.imaging.models import Image, ImageStatus

MO_EMAIL = "mo@example.org"
MO_PASSWORD = "mo-clinician-password-1"
# The recorder writes within VESALIUS_ANALYTICS_FLUSH_SECONDS; conversion takes about 1 s.
SETTLE_SECONDS = 45.0


@dataclass(frozen=True)
class History:
    d: date
    ct: int
    a: int
    b: int
    sizes: dict[int, int]
    mo: int
    admin_auth: dict[str, str]

    def day(self, n: int) -> date:
        return self.d - timedelta(days=n)


def at(day: date, hour: int) -> datetime:
    return datetime.combine(day, clock(hour), tzinfo=UTC)


def bearer(hub: Hub, email: str, password: str) -> dict[str, str]:
    response = httpx.post(f"{hub.url}/api/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['accessToken']}"}


def settle(ctx: AppContext, done: Callable[[], bool], what: str) -> None:
    """Wait for the server's background work (its recorder, its conversion workers): a
    bounded poll of the database, the server-side counterpart of Playwright's ``expect``."""
    deadline = time.monotonic() + SETTLE_SECONDS
    while not done():
        assert time.monotonic() < deadline, f"the server never finished: {what}"
        time.sleep(0.05)


def make_history(hub: Hub, ctx: AppContext, admin_email: str, admin_password: str) -> History:
    with ctx.db.session() as session:
        mo, _ = UserService(ctx, session).create_user(
            None, email=MO_EMAIL, role=Role.clinician, password=MO_PASSWORD, display_name="Mo Lee"
        )
        mo_id = mo.id
    d = today("UTC")

    # -- today, through the product -------------------------------------------------------
    admin_auth = bearer(hub, admin_email, admin_password)
    auth = bearer(hub, MO_EMAIL, MO_PASSWORD)
    uploads = [
        ("CT_small.dcm", files.ct_small(), "application/dicom"),
        ("a.png", files.png(seed=1), "image/png"),
        ("b.png", files.png(240, 180, seed=2), "image/png"),
    ]
    response = httpx.post(
        f"{hub.url}/api/upload",
        files=[("files", item) for item in uploads],
        headers=auth,
        timeout=30,
    )
    assert response.status_code == 202, response.text
    ids = {image["originalName"]: image["id"] for image in response.json()["images"]}
    ct, a, b = ids["CT_small.dcm"], ids["a.png"], ids["b.png"]
    opened = httpx.post(f"{hub.url}/api/images/{ct}/views", headers=auth)
    assert opened.status_code == 201, opened.text
    closed = httpx.patch(
        f"{hub.url}/api/images/{ct}/views/{opened.json()['viewId']}",
        json={"durationMs": 8000},
        headers=auth,
    )
    assert closed.status_code == 204, closed.text
    assert httpx.get(f"{hub.url}/api/images/{a}/download", headers=auth).status_code == 200

    def recorded_and_ready() -> bool:
        with ctx.db.read_session() as session:
            rows = session.scalar(
                select(func.count()).select_from(UserActivity).where(UserActivity.user_id == mo_id)
            )
            timed = session.scalar(select(ImageView.duration_ms).where(ImageView.image_id == ct))
            ada_active = session.scalar(
                select(User.last_active_at).where(User.email == admin_email)
            )
            ready = session.scalar(
                select(func.count())
                .select_from(Image)
                .where(Image.id.in_([ct, a, b]), Image.status == ImageStatus.ready)
            )
        # mo: 1 sign-in, 3 uploads, 1 view, 1 download; ada: signed in
        return rows == 6 and timed == 8000 and ready == 3 and ada_active is not None

    settle(ctx, recorded_and_ready, "recording today's activity and converting the uploads")

    # -- the past, in place ---------------------------------------------------------------
    with ctx.db.session() as session:
        ada = session.scalar(select(User.id).where(User.email == admin_email))
        for user_id, days_ago in ((ada, 60), (mo_id, 25)):
            session.execute(
                update(User)
                .where(User.id == user_id)
                .values(created_at=at(d - timedelta(days=days_ago), 8))
            )
        for image_id, days_ago in ((a, 20), (b, 10)):
            moment = at(d - timedelta(days=days_ago), 9)
            session.execute(update(Image).where(Image.id == image_id).values(created_at=moment))
            session.execute(
                update(UserActivity)
                .where(UserActivity.activity_type == "upload", UserActivity.resource_id == image_id)
                .values(created_at=moment)
            )
        for user, kind, days_ago, image, duration in (
            (mo_id, "login", 40, None, None),
            (mo_id, "login", 20, None, None),
            (mo_id, "view", 20, a, 2000),
            (ada, "login", 10, None, None),
            (ada, "view", 10, a, 6000),
            (ada, "download", 10, a, None),
            (mo_id, "login", 3, None, None),
            (mo_id, "view", 3, b, None),
        ):
            moment = at(d - timedelta(days=days_ago), 14)
            session.add(
                UserActivity(
                    user_id=user,
                    activity_type=kind,
                    resource_type="image" if image else None,
                    resource_id=image,
                    ip_address="10.0.0.7",
                    created_at=moment,
                )
            )
            if kind == "view":
                session.add(
                    ImageView(
                        view_key=f"seed-{days_ago}-{image}",
                        image_id=image,
                        user_id=user,
                        viewed_at=moment,
                        duration_ms=duration,
                    )
                )
        for attempt in range(8):  # someone guessing passwords: fills the feed beyond a page
            session.add(
                UserActivity(
                    user_id=None,
                    activity_type="login_failed",
                    details={"email": "intruder@example.org", "reason": "invalid_credentials"},
                    ip_address="203.0.113.9",
                    created_at=at(d - timedelta(days=2), 3) + timedelta(minutes=attempt),
                )
            )
        session.flush()
        recount_image_views(session)  # the views were written around the recorder
        session.commit()
        found = session.execute(select(Image.id, Image.size_bytes).where(Image.id.in_([ct, a, b])))
        sizes = {row.id: row.size_bytes for row in found}
    base = hub.data_dir.parent
    first, last = d - timedelta(days=45), d - timedelta(days=1)
    vesalius(
        *("analytics", "rebuild", "--from", first.isoformat(), "--to", last.isoformat()),
        env=hub_env(hub.data_dir),
        cwd=base,
    )
    return History(d=d, ct=ct, a=a, b=b, sizes=sizes, mo=mo_id, admin_auth=admin_auth)
