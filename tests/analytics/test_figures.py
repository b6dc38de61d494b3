"""Every endpoint's figures against the hand-computed history in conftest.py."""

import csv
import io
from datetime import timedelta

import pytest

from tests.analytics.conftest import World


@pytest.fixture
def aggregated(world: World) -> World:
    response = world.client.post  # the nightly job, run for each past day
    for n in (3, 2, 1):
        r = response(
            "/api/analytics/system/stats/update",
            params={"date": world.day(n).isoformat()},
            headers=world.headers("admin"),
        )
        assert r.status_code == 200, r.text
    return world


def test_each_day_is_computed_in_the_configured_time_zone(aggregated: World) -> None:
    w = aggregated
    rows = w.client.get(
        "/api/analytics/system/stats",
        params={"startDate": w.day(3).isoformat(), "endDate": w.day(1).isoformat()},
        headers=w.headers("admin"),
    ).json()["stats"]
    by_day = {row["date"]: row for row in rows}
    d3, d2, d1 = (by_day[w.day(n).isoformat()] for n in (3, 2, 1))
    # D3: only the admin existed and logged in.
    assert (d3["totalUsers"], d3["newUsers"], d3["activeUsers"], d3["logins"]) == (1, 0, 1, 1)
    assert (d3["totalImages"], d3["uploads"], d3["storageUsedBytes"]) == (0, 0, 0)
    # D2: clara arrives, logs in, uploads img1 and img2 (img2 at 23:59:59 local = 18:29:59 UTC).
    # Failed sign-ins (one without a user, one against the admin) make nobody active.
    assert (d2["totalUsers"], d2["newUsers"], d2["activeUsers"], d2["logins"]) == (2, 1, 1, 1)
    assert (d2["totalImages"], d2["newImages"], d2["uploads"], d2["uploadBytes"]) == (2, 2, 2, 1200)
    assert d2["storageUsedBytes"] == 1200
    assert d2["fileTypes"] == {
        "dcm": {"count": 1, "bytes": 1000},
        "png": {"count": 1, "bytes": 200},
    }
    # D1: ravi created at 23:59:59.9 still counts on D1; img3 one second past midnight too.
    assert (d1["totalUsers"], d1["newUsers"], d1["activeUsers"], d1["logins"]) == (3, 1, 3, 1)
    assert (d1["totalImages"], d1["newImages"], d1["uploads"], d1["uploadBytes"]) == (3, 1, 1, 3000)
    assert (d1["views"], d1["downloads"], d1["storageUsedBytes"]) == (2, 1, 4200)
    assert all(row["aggregated"] for row in rows)


def test_dashboard_over_four_and_seven_days(aggregated: World) -> None:
    w = aggregated
    board = w.client.get(
        "/api/analytics/dashboard", params={"days": 4}, headers=w.headers("admin")
    ).json()
    assert board["range"] == {
        "from": w.day(3).isoformat(),
        "to": w.d.isoformat(),
        "days": 4,
        "timezone": "Asia/Kolkata",
    }
    assert board["summary"] == {
        "totalImages": 4,  # img1–img4
        "newImages": 4,
        "totalUsers": 3,
        "activeUsers": 3,  # everyone was active since D3
        "views": 3,  # two on D1, one today
        "downloads": 2,  # D1 and today
        "uploads": 4,
        "storageUsedBytes": 4250,
    }
    assert [(d["uploads"], d["bytes"]) for d in board["uploadTrend"]] == [
        (0, 0),
        (2, 1200),
        (1, 3000),
        (1, 50),
    ]
    assert [
        (d["views"], d["uploads"], d["downloads"], d["logins"]) for d in board["userActivity"]
    ] == [
        (0, 0, 0, 1),
        (0, 2, 0, 1),
        (2, 1, 1, 1),
        (1, 1, 1, 0),
    ]
    assert [d["storageUsedBytes"] for d in board["storageGrowth"]] == [0, 1200, 4200, 4250]
    assert board["fileTypes"] == [
        {"fileType": "dcm", "count": 2, "bytes": 4000},
        {"fileType": "jpg", "count": 1, "bytes": 50},
        {"fileType": "png", "count": 1, "bytes": 200},
    ]
    week = w.client.get(
        "/api/analytics/dashboard", params={"days": 7}, headers=w.headers("admin")
    ).json()
    assert len(week["uploadTrend"]) == 7
    assert [d["uploads"] for d in week["uploadTrend"]][:3] == [0, 0, 0]  # zeros, not gaps
    assert week["summary"]["uploads"] == 4


def test_today_is_counted_live_before_any_aggregation(world: World) -> None:
    # Nothing aggregated: today still shows; totals are counted from the tables.
    board = world.client.get(
        "/api/analytics/dashboard", params={"days": 1}, headers=world.headers("admin")
    ).json()
    assert board["summary"]["totalImages"] == 4
    assert board["summary"]["storageUsedBytes"] == 4250
    assert board["summary"]["totalUsers"] == 3
    assert board["summary"]["activeUsers"] == 2  # clara and the admin today
    assert board["userActivity"] == [
        {"date": world.d.isoformat(), "views": 1, "uploads": 1, "downloads": 1, "logins": 0}
    ]


def test_image_statistics_and_most_viewed(aggregated: World) -> None:
    w = aggregated
    stats = w.client.get("/api/analytics/images/statistics", headers=w.headers("admin")).json()
    assert stats == {
        "fileTypes": [
            {"fileType": "dcm", "count": 2, "totalBytes": 4000, "averageBytes": 2000},
            {"fileType": "jpg", "count": 1, "totalBytes": 50, "averageBytes": 50},
            {"fileType": "png", "count": 1, "totalBytes": 200, "averageBytes": 200},
        ],
        "totalImages": 4,
        "totalBytes": 4250,
    }
    viewed = w.client.get(
        "/api/analytics/images/most-viewed", params={"limit": 10}, headers=w.headers("admin")
    ).json()
    assert [(i["id"], i["views"], i["averageDurationMs"]) for i in viewed["images"]] == [
        (w.images["img1"], 2, 3000),
        (w.images["img3"], 1, None),
    ]
    assert viewed["images"][0]["thumbnailUrl"] == f"/api/images/{w.images['img1']}/thumbnail"
    one = w.client.get(
        "/api/analytics/images/most-viewed", params={"limit": 1}, headers=w.headers("admin")
    ).json()
    assert len(one["images"]) == 1


def test_upload_trends_json_and_csv(aggregated: World) -> None:
    w = aggregated
    trends = w.client.get(
        "/api/analytics/uploads/trends", params={"days": 4}, headers=w.headers("admin")
    ).json()
    assert [(d["date"], d["uploads"], d["bytes"]) for d in trends["days"]] == [
        (w.day(3).isoformat(), 0, 0),
        (w.day(2).isoformat(), 2, 1200),
        (w.day(1).isoformat(), 1, 3000),
        (w.d.isoformat(), 1, 50),
    ]
    response = w.client.get(
        "/api/analytics/uploads/trends",
        params={"days": 4, "format": "csv"},
        headers=w.headers("admin"),
    )
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith("attachment; filename=")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["date", "uploads", "bytes"]
    assert rows[1:] == [
        [w.day(3).isoformat(), "0", "0"],
        [w.day(2).isoformat(), "2", "1200"],
        [w.day(1).isoformat(), "1", "3000"],
        [w.d.isoformat(), "1", "50"],
    ]


def test_system_stats_csv_flattens_file_types(aggregated: World) -> None:
    w = aggregated
    response = w.client.get(
        "/api/analytics/system/stats",
        params={
            "startDate": w.day(2).isoformat(),
            "endDate": w.day(2).isoformat(),
            "format": "csv",
        },
        headers=w.headers("admin"),
    )
    header, row = list(csv.reader(io.StringIO(response.text)))
    record = dict(zip(header, row, strict=True))
    assert record["date"] == w.day(2).isoformat()
    assert (record["dcm_count"], record["dcm_bytes"], record["png_count"], record["jpg_count"]) == (
        "1",
        "1000",
        "1",
        "0",
    )


def test_system_stats_include_today_live_and_unaggregated_days_as_zeros(world: World) -> None:
    rows = world.client.get(
        "/api/analytics/system/stats",
        params={"startDate": world.day(1).isoformat(), "endDate": world.d.isoformat()},
        headers=world.headers("admin"),
    ).json()["stats"]
    yesterday, today_row = rows
    assert yesterday["aggregated"] is False
    assert yesterday["uploads"] == 0
    assert today_row["aggregated"] is False
    assert today_row["uploads"] == 1


def test_recent_activity_pages_newest_first(aggregated: World) -> None:
    w = aggregated
    admin = w.headers("admin")
    first = w.client.get(
        "/api/analytics/activity/recent", params={"limit": 3}, headers=admin
    ).json()
    assert [(a["activityType"], a["userEmail"]) for a in first["activities"]] == [
        ("download", "admin@example.org"),
        ("view", "clara@example.org"),
        ("upload", "clara@example.org"),
    ]
    assert first["activities"][0]["resourceId"] == w.images["img3"]
    assert first["activities"][2]["metadata"] == {"sizeBytes": 50}
    assert first["activities"][2]["resourceName"] == "img4.jpg"
    assert first["hasMore"] is True
    seen = [a["id"] for a in first["activities"]]
    cursor = first["nextCursor"]
    while cursor:
        page = w.client.get(
            "/api/analytics/activity/recent", params={"limit": 3, "cursor": cursor}, headers=admin
        ).json()
        seen += [a["id"] for a in page["activities"]]
        cursor = page["nextCursor"]
    assert len(seen) == len(set(seen)) == 14
    as_csv = w.client.get(
        "/api/analytics/activity/recent", params={"limit": 2, "format": "csv"}, headers=admin
    )
    assert as_csv.text.splitlines()[0].startswith("id,created_at,user_id,user_email,activity_type")
    assert len(as_csv.text.splitlines()) == 3


def test_user_analytics_own_and_admin_and_403(aggregated: World) -> None:
    w = aggregated
    clara_id = w.users["clara"].id
    own = w.client.get(
        f"/api/analytics/user/{clara_id}", params={"days": 4}, headers=w.headers("clara")
    )
    assert own.status_code == 200
    body = own.json()
    assert body["user"]["email"] == "clara@example.org"
    assert body["images"] == 4
    assert body["storageUsedBytes"] == 4250
    assert body["viewsOfOwnImages"] == 3
    assert body["totals"]["upload"] == 4
    assert body["totals"]["login"] == 1
    assert body["totals"]["view"] == 1
    assert [d["upload"] for d in body["days"]] == [0, 2, 1, 1]
    assert (
        w.client.get(f"/api/analytics/user/{clara_id}", headers=w.headers("admin")).status_code
        == 200
    )
    other = w.client.get(f"/api/analytics/user/{clara_id}", headers=w.headers("ravi"))
    assert other.status_code == 403
    assert other.json()["error"]["code"] == "not_your_analytics"
    assert w.client.get("/api/analytics/user/99999", headers=w.headers("admin")).status_code == 404


def test_recomputing_a_day_gives_the_same_row(aggregated: World) -> None:
    w = aggregated
    admin = w.headers("admin")
    params = {"date": w.day(2).isoformat()}
    first = w.client.post(
        "/api/analytics/system/stats/update", params=params, headers=admin
    ).json()["stats"]
    second = w.client.post(
        "/api/analytics/system/stats/update", params=params, headers=admin
    ).json()["stats"]
    assert first == second
    assert first["uploads"] == 2
    stats = w.client.get(
        "/api/analytics/system/stats",
        params={"startDate": w.day(2).isoformat(), "endDate": w.day(2).isoformat()},
        headers=admin,
    ).json()["stats"]
    assert len(stats) == 1
    future = w.client.post(
        "/api/analytics/system/stats/update",
        params={"date": (w.d + timedelta(days=1)).isoformat()},
        headers=admin,
    )
    assert future.status_code == 400
    today_row = w.client.post("/api/analytics/system/stats/update", headers=admin).json()["stats"]
    assert today_row["date"] == w.d.isoformat()
    assert today_row["uploads"] == 1
