"""A small world with known history, in a time zone far from UTC (Asia/Kolkata, +05:30), so
that "which day" is never the same question as "which UTC date".

Days are named relative to today: D is today, D1 yesterday, D2 the day before, D3 before
that. Every figure the tests expect is worked out by hand in the comments below.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from tests.conftest import PASSWORD, login, make_settings
from vesalius.accounts.models import Role, User
from vesalius.accounts.service import UserService
from vesalius.analytics.aggregation import recount_image_views
from vesalius.analytics.days import today
from vesalius.analytics.models import ImageView, UserActivity
from vesalius.app import create_app
from vesalius.context import AppContext, build_context
from vesalius.imaging.models import FileType, Image, ImageStatus

ZONE = "Asia/Kolkata"


@dataclass
class World:
    ctx: AppContext
    client: TestClient
    d: date  # today
    users: dict[str, User]
    images: dict[str, int]

    def day(self, n: int) -> date:
        return self.d - timedelta(days=n)

    def headers(self, name: str) -> dict[str, str]:
        return login(self.client, self.users[name].email)


def local(day: date, hh: int, mm: int = 0, ss: int = 0, micro: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, ss, micro, tzinfo=ZoneInfo(ZONE))


@pytest.fixture
def analytics_ctx(data_dir: Path, database_url: str) -> Iterator[AppContext]:
    # Recording off: the tests' own sign-ins must not add to the hand-counted history.
    ctx = build_context(
        make_settings(data_dir, database_url, analytics_timezone=ZONE, analytics_enabled=False)
    )
    yield ctx
    ctx.close()


@pytest.fixture
def world(analytics_ctx: AppContext) -> Iterator[World]:
    ctx = analytics_ctx
    d = today(ZONE)
    d1, d2, d3 = (d - timedelta(days=n) for n in (1, 2, 3))
    users: dict[str, User] = {}
    with ctx.db.session() as session:
        service = UserService(ctx, session)
        for name, role in (
            ("admin", Role.admin),
            ("clara", Role.clinician),
            ("ravi", Role.radiologist),
        ):
            users[name], _ = service.create_user(
                None,
                email=f"{name}@example.org",
                role=role,
                password=PASSWORD,
                display_name=name.title(),
            )
        # admin: long ago; clara: D2 10:00; ravi: D1 23:59:59.9 (the very end of D1).
        created = {
            "admin": local(d - timedelta(days=10), 9),
            "clara": local(d2, 10),
            "ravi": local(d1, 23, 59, 59, 900_000),
        }
        # Who was last active when (what the recorder would have written).
        last_active = {
            "admin": local(d, 0, 0, 3),
            "clara": local(d, 0, 0, 2),
            "ravi": local(d1, 10, 6),
        }
        for name, user in users.items():
            session.execute(
                update(User)
                .where(User.id == user.id)
                .values(created_at=created[name], last_active_at=last_active[name])
            )
        clara = users["clara"].id
        images = {}
        # img2 at 23:59:59 on D2 is 18:29:59 UTC; img3 one second past midnight on D1.
        for key, kind, size, at in (
            ("img1", FileType.dcm, 1000, local(d2, 9)),
            ("img2", FileType.png, 200, local(d2, 23, 59, 59)),
            ("img3", FileType.dcm, 3000, local(d1, 0, 0, 1)),
            ("img4", FileType.jpg, 50, local(d, 0, 0, 1)),
        ):
            image = Image(
                user_id=clara,
                original_name=f"{key}.{kind.value}",
                file_type=kind,
                content_type="x/y",
                size_bytes=size,
                sha256="0" * 64,
                storage_key=f"originals/{key}",
                status=ImageStatus.ready,
                modality="CT" if kind == FileType.dcm else None,
                created_at=at,
            )
            session.add(image)
            session.flush()
            images[key] = image.id
        admin, ravi = users["admin"].id, users["ravi"].id

        def act(
            user: int | None, kind: str, at: datetime, image: str | None = None, **details: Any
        ) -> None:
            session.add(
                UserActivity(
                    user_id=user,
                    activity_type=kind,
                    created_at=at,
                    resource_type="image" if image else None,
                    resource_id=images[image] if image else None,
                    details=details or None,
                    ip_address="10.1.2.3",
                )
            )

        act(admin, "login", local(d3, 12))
        act(clara, "login", local(d2, 8))
        act(clara, "upload", local(d2, 9), "img1", sizeBytes=1000)
        act(None, "login_failed", local(d2, 12), email="ravi@example.org")
        act(admin, "login_failed", local(d2, 13), email="admin@example.org")  # not "active"
        act(clara, "upload", local(d2, 23, 59, 59), "img2", sizeBytes=200)
        act(clara, "upload", local(d1, 0, 0, 1), "img3", sizeBytes=3000)
        act(ravi, "login", local(d1, 10))
        act(ravi, "view", local(d1, 10, 5), "img1")
        act(ravi, "download", local(d1, 10, 6), "img1")
        act(admin, "view", local(d1, 11), "img1")
        act(clara, "upload", local(d, 0, 0, 1), "img4", sizeBytes=50)
        act(clara, "view", local(d, 0, 0, 2), "img3")
        act(admin, "download", local(d, 0, 0, 3), "img3")
        for key, image, user, at, duration in (
            ("v1", "img1", ravi, local(d1, 10, 5), 4000),
            ("v2", "img1", admin, local(d1, 11), 2000),
            ("v3", "img3", clara, local(d, 0, 0, 2), None),
        ):
            session.add(
                ImageView(
                    view_key=key,
                    image_id=images[image],
                    user_id=user,
                    viewed_at=at,
                    duration_ms=duration,
                )
            )
        session.flush()
        recount_image_views(session)  # the views were written around the recorder
        session.commit()
    with TestClient(create_app(ctx.settings, with_ui=False, ctx=ctx)) as client:
        yield World(ctx=ctx, client=client, d=d, users=users, images=images)
