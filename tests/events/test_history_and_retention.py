"""Per-minute figures kept after the raw events are dropped by retention."""

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import update

from tests.events.conftest import event
from vesalius.context import AppContext
from vesalius.db import utcnow
from vesalius.events.models import Event
from vesalius.events.service import HUB_CLIENT, EventService
from vesalius.events.tasks import drop_expired_events, roll_up_minutes


def test_minutes_survive_retention_and_an_expired_id_may_come_back(
    client: TestClient, ctx: AppContext, ingest_key: dict[str, str], admin_headers: dict[str, str]
) -> None:
    old = event(userId="a", statusCode=500)
    sent = [old, event(userId="b", type="click"), event(clientId="other")]
    client.post("/api/events", json={"events": sent}, headers=ingest_key)
    minute = (utcnow() - timedelta(days=8)).replace(second=0, microsecond=0)
    with ctx.db.session() as session:  # as if received eight days ago
        session.execute(
            update(Event)
            .where(Event.client_id != HUB_CLIENT)
            .values(received_at=minute + timedelta(seconds=5))
        )
        session.commit()
        EventService(session).roll_up(minute, minute + timedelta(minutes=1))
    roll_up_minutes(ctx)  # the usual duty: recent minutes only, the old one stays
    assert drop_expired_events(ctx) is not None

    history = client.get(
        "/api/events/history",
        params={
            "from": (minute - timedelta(hours=1)).isoformat(),
            "to": (minute + timedelta(hours=1)).isoformat(),
            "clientId": "web",
        },
        headers=admin_headers,
    ).json()
    [point] = history["points"]
    assert point["events"] == 2
    assert point["errors"] == 1
    assert point["users"] == 2
    assert point["byType"] == {"page_view": 1, "click": 1}
    hourly = client.get(
        "/api/events/history",
        params={
            "from": (minute - timedelta(hours=2)).isoformat(),
            "to": (minute + timedelta(hours=2)).isoformat(),
            "bucket": "hour",
        },
        headers=admin_headers,
    ).json()
    assert sum(p["events"] for p in hourly["points"]) == 3

    assert client.get("/api/events/count", headers=admin_headers).json()["count"] >= 0
    again = client.post("/api/events", json=old, headers=ingest_key).json()
    assert again["accepted"] == 1  # its first copy is gone with the raw events


def test_listing_pages_with_a_cursor(
    client: TestClient, ingest_key: dict[str, str], admin_headers: dict[str, str]
) -> None:
    sent = [
        event(route=f"/r{i}", timestamp=(utcnow() - timedelta(minutes=i)).isoformat())
        for i in range(5)
    ]
    client.post("/api/events", json={"events": sent}, headers=ingest_key)
    seen: list[str] = []
    cursor = None
    while True:
        params = {"clientId": "web", "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/events", params=params, headers=admin_headers).json()
        seen += [e["route"] for e in page["events"]]
        if not page["hasMore"]:
            break
        cursor = page["nextCursor"]
    assert seen == ["/r0", "/r1", "/r2", "/r3", "/r4"]
    bad = client.get("/api/events", params={"cursor": "nope"}, headers=admin_headers)
    assert bad.status_code == 400
