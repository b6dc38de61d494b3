"""Permissions, bad parameters, the nightly job and retention."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from tests.analytics.conftest import ZONE, World, local
from vesalius.analytics.aggregation import aggregate_due, apply_retention, compute_day
from vesalius.analytics.days import day_bounds
from vesalius.analytics.models import SystemStats, UserActivity

ADMIN_ONLY = [
    ("GET", "/api/analytics/dashboard"),
    ("GET", "/api/analytics/images/statistics"),
    ("GET", "/api/analytics/uploads/trends"),
    ("GET", "/api/analytics/images/most-viewed"),
    ("GET", "/api/analytics/system/stats"),
    ("GET", "/api/analytics/activity/recent"),
    ("POST", "/api/analytics/system/stats/update"),
]


@pytest.mark.parametrize(("method", "path"), ADMIN_ONLY)
def test_admin_only_endpoints_refuse_others(world: World, method: str, path: str) -> None:
    for name in ("clara", "ravi"):
        response = world.client.request(method, path, headers=world.headers(name))
        assert response.status_code == 403, (name, path)
    assert world.client.request(method, path).status_code == 401
    assert world.client.request(method, path, headers=world.headers("admin")).status_code == 200


@pytest.mark.parametrize(
    ("path", "params", "code"),
    [
        ("/api/analytics/dashboard", {"days": 0}, "invalid_days"),
        ("/api/analytics/dashboard", {"days": 366}, "invalid_days"),
        ("/api/analytics/uploads/trends", {"days": 400}, "invalid_days"),
        ("/api/analytics/user/1", {"days": -1}, "invalid_days"),
        ("/api/analytics/system/stats", {"startDate": "2026-13-01"}, "invalid_date"),
        ("/api/analytics/system/stats", {"startDate": "last tuesday"}, "invalid_date"),
        (
            "/api/analytics/system/stats",
            {"startDate": "2026-03-05", "endDate": "2026-03-01"},
            "invalid_date_range",
        ),
        ("/api/analytics/activity/recent", {"limit": 201}, "invalid_limit"),
        ("/api/analytics/activity/recent", {"cursor": "nope"}, "invalid_cursor"),
        ("/api/analytics/images/most-viewed", {"limit": 500}, "invalid_limit"),
        ("/api/analytics/uploads/trends", {"format": "xml"}, "invalid_format"),
    ],
)
def test_bad_parameters_are_400_with_a_reason(
    world: World, path: str, params: dict[str, object], code: str
) -> None:
    response = world.client.get(path, params=params, headers=world.headers("admin"))
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == code


def test_the_nightly_job_computes_yesterday_once_after_midnight(world: World) -> None:
    ctx = world.ctx
    just_after = local(world.d, 0, 2).astimezone(UTC)
    later = local(world.d, 0, 10).astimezone(UTC)
    with ctx.db.session() as session:
        assert aggregate_due(session, ctx.settings, now=just_after) is None  # grace period
        assert aggregate_due(session, ctx.settings, now=later) == world.day(1)
        assert aggregate_due(session, ctx.settings, now=later) is None  # already there
        row = session.get(SystemStats, world.day(1))
        assert row is not None
        assert row.uploads == 1


def test_retention_only_deletes_days_that_are_aggregated(world: World) -> None:
    ctx = world.ctx
    ctx.settings.analytics_retention_days = 2  # keep D2 on; D3 is past retention
    with ctx.db.session() as session:
        before = session.scalar(select(func.count()).select_from(UserActivity))
        assert apply_retention(session, ctx.settings) == 0  # D3 has no statistics yet: kept
        compute_day(session, world.day(3), ZONE)
        assert apply_retention(session, ctx.settings) == 1  # D3's single login goes
        oldest = session.scalar(select(func.min(UserActivity.created_at)))
        assert oldest is not None
        assert oldest >= day_bounds(world.day(2), ZONE)[0]
        assert session.scalar(select(func.count()).select_from(UserActivity)) == before - 1
        assert session.get(SystemStats, world.day(3)) is not None  # the day's figures remain


def test_day_bounds_follow_daylight_saving() -> None:
    start, end = day_bounds(date(2026, 3, 29), "Europe/Paris")  # clocks go forward: 23 hours
    assert end - start == timedelta(hours=23)
    assert start == datetime(2026, 3, 28, 23, 0, tzinfo=UTC)
    start, end = day_bounds(date(2026, 10, 25), "Europe/Paris")  # back: 25 hours
    assert end - start == timedelta(hours=25)
    start, _ = day_bounds(date(2026, 6, 1), "Asia/Kolkata")
    assert start == datetime(2026, 5, 31, 18, 30, tzinfo=UTC)
    assert datetime(2026, 5, 31, 18, 30, tzinfo=UTC).astimezone(ZoneInfo("Asia/Kolkata")).day == 1


def test_unknown_time_zone_is_a_configuration_error() -> None:
    from pydantic import ValidationError

    from vesalius.config import Settings

    with pytest.raises(ValidationError, match="unknown time zone"):
        Settings(_env_file=None, analytics_timezone="Mars/Olympus_Mons")  # type: ignore[call-arg]
