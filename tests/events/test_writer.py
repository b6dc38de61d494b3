"""The group-commit writer on both databases: what it stores is what was sent, each
eventId once, and each answer says which rows were new."""

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from vesalius.context import AppContext
from vesalius.events.models import Event
from vesalius.events.writer import GroupCommitWriter


def _row(**fields: object) -> dict[str, object]:
    now = datetime.now(UTC)
    row: dict[str, object] = {
        "event_id": str(uuid.uuid4()),
        "type": "click",
        "occurred_at": now - timedelta(minutes=3),
        "received_at": now,
        "client_id": "web",
        "session_id": "s1",
        "user_id": None,
        "route": "/home",
        "status_code": None,
        "duration_ms": None,
        "properties": None,
    }
    row.update(fields)
    return row


def test_a_batch_is_stored_as_sent_and_duplicates_are_flagged(ctx: AppContext) -> None:
    writer = GroupCommitWriter(ctx.db)
    try:
        first = _row(user_id="u1", status_code=503, duration_ms=41.5, properties={"a": [1, "x"]})
        assert writer.submit([first]).result(timeout=30) == [True]
        again = _row(event_id=first["event_id"], type="other")
        fresh = _row(occurred_at=datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC))
        # Seen before, new, and new-but-repeated within the same batch.
        flags = writer.submit([again, fresh, dict(fresh)]).result(timeout=30)
    finally:
        writer.stop()
    assert flags == [False, True, False]
    with ctx.db.read_session() as session:
        stored = {e.event_id: e for e in session.scalars(select(Event))}
    assert set(stored) == {first["event_id"], fresh["event_id"]}
    kept = stored[str(first["event_id"])]
    assert (kept.type, kept.user_id, kept.status_code) == ("click", "u1", 503)
    assert kept.duration_ms == 41.5
    assert kept.properties == {"a": [1, "x"]}
    assert stored[str(fresh["event_id"])].occurred_at == datetime(
        2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC
    )
    assert stored[str(fresh["event_id"])].properties is None
