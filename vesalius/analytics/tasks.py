"""The daily duty: aggregate the day that ended, then delete raw activity past retention."""

from vesalius.analytics.aggregation import aggregate_due, apply_retention
from vesalius.context import AppContext


def daily_statistics(ctx: AppContext) -> str | None:
    with ctx.db.session() as session:
        done = aggregate_due(session, ctx.settings)
        deleted = apply_retention(session, ctx.settings)
    parts = []
    if done is not None:
        parts.append(f"aggregated {done.isoformat()}")
    if deleted:
        parts.append(f"deleted {deleted} activity rows past retention")
    return ", ".join(parts) or None
