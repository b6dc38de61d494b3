"""Periodic duties: per-minute figures from raw events, and raw-event retention."""

from datetime import timedelta

from vesalius.context import AppContext
from vesalius.db import utcnow
from vesalius.events.service import EventService

# Minutes re-built each round: an event is received (and stamped) up to one commit interval
# before it is committed, so the last closed minutes are built again until they are settled.
ROLL_UP_MINUTES = 3


def roll_up_minutes(ctx: AppContext) -> str | None:
    end = utcnow().replace(second=0, microsecond=0)
    with ctx.db.session() as session:
        built = EventService(session).roll_up(end - timedelta(minutes=ROLL_UP_MINUTES), end)
    return f"{built} event minutes built" if built else None


def drop_expired_events(ctx: AppContext) -> str | None:
    with ctx.db.session() as session:
        dropped = EventService(session).drop_expired(ctx.settings.events_retention_days)
    return f"dropped {dropped} raw events past retention" if dropped else None
