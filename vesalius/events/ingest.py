"""The process's ingestion pipeline: parse → group-commit writer → live windows, and the
counters ``/metrics`` shows. One per process (a component), shared by REST and WebSocket."""

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge

from vesalius.common.errors import AppError
from vesalius.context import AppContext
from vesalius.db import utcnow
from vesalius.events.validation import EventIn, Parsed, parse_body
from vesalius.events.windows import LocalWindows
from vesalius.events.writer import GroupCommitWriter, Row


class StorageUnavailable(AppError):
    status_code = 503
    code = "storage_unavailable"


@dataclass
class Outcome:
    accepted: int
    duplicates: int
    rejected: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return {"accepted": self.accepted, "duplicates": self.duplicates, "rejected": self.rejected}


def to_row(event: EventIn, received: Any) -> Row:
    return {
        "event_id": str(event.eventId),
        "type": event.type,
        "occurred_at": event.timestamp,
        "received_at": received,
        "client_id": event.clientId,
        "session_id": event.sessionId,
        "user_id": event.userId,
        "route": event.route,
        "status_code": event.statusCode,
        "duration_ms": event.durationMs,
        "properties": event.properties,
    }


class IngestMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.accepted = Counter(
            "vesalius_events_accepted", "Events stored and acknowledged", registry=self.registry
        )
        self.duplicates = Counter(
            "vesalius_events_duplicates", "Events answered as duplicates", registry=self.registry
        )
        self.rejected = Counter(
            "vesalius_events_rejected",
            "Events refused as invalid",
            ["code"],
            registry=self.registry,
        )
        self.open_sockets = Gauge(
            "vesalius_events_open_sockets", "Open ingest WebSockets", registry=self.registry
        )
        self.write_lag = Gauge(
            "vesalius_events_write_lag_seconds",
            "Age of the oldest event waiting for its commit",
            registry=self.registry,
        )
        self.window_lag = Gauge(
            "vesalius_events_window_lag_seconds",
            "Time since the live windows were last published",
            registry=self.registry,
        )
        self.rate = Gauge(
            "vesalius_events_ingest_rate",
            "Events acknowledged per second (last 5 s)",
            registry=self.registry,
        )


class EventIngest:
    def __init__(self, ctx: AppContext) -> None:
        settings = ctx.settings
        self.settings = settings
        self.windows = LocalWindows(settings.events_distinct_exact_limit)
        self.writer = GroupCommitWriter(
            ctx.db,
            max_wait=settings.events_commit_interval_ms / 1000,
            on_commit=self.windows.add,
        )
        self.metrics = IngestMetrics()
        self.accepted_total = 0
        self.duplicates_total = 0
        self.rejected_total = 0
        self.last_published = 0.0

    def parse(self, body: bytes) -> Parsed:
        return parse_body(
            body,
            max_event_bytes=self.settings.events_max_event_bytes,
            max_batch=self.settings.events_max_batch,
        )

    async def ingest(self, parsed: Parsed) -> Outcome:
        """Store the valid events; answers once they are committed."""
        rows = [to_row(event, utcnow()) for event in parsed.events] if parsed.events else []
        flags: list[bool] = []
        if rows:
            try:
                flags = await asyncio.wrap_future(self.writer.submit(rows))
            except Exception:
                raise StorageUnavailable(
                    "the events could not be stored; nothing was acknowledged, send them again",
                    headers={"Retry-After": "1"},
                ) from None
        accepted = sum(flags)
        duplicates = len(flags) - accepted
        self.count(accepted, duplicates, parsed)
        return Outcome(accepted, duplicates, [r.as_dict() for r in parsed.rejected])

    def submit_nowait(self, rows: list[Row]) -> None:
        """For the hub's own events: stored with the rest, nobody waits for the answer."""
        self.writer.submit(rows)

    def count(self, accepted: int, duplicates: int, parsed: Parsed) -> None:
        self.accepted_total += accepted
        self.duplicates_total += duplicates
        self.rejected_total += len(parsed.rejected)
        if accepted:
            self.metrics.accepted.inc(accepted)
        if duplicates:
            self.metrics.duplicates.inc(duplicates)
        for rejection in parsed.rejected:
            self.metrics.rejected.labels(rejection.code).inc()

    def ingest_rate(self) -> float:
        last = self.windows.closed_second()
        return round(sum(b.events for b in self.windows.buckets(last - 4, last)) / 5, 1)

    def refresh_gauges(self) -> None:
        self.metrics.write_lag.set(self.writer.lag_seconds())
        self.metrics.rate.set(self.ingest_rate())
        if self.last_published:
            self.metrics.window_lag.set(time.time() - self.last_published)

    def health(self) -> dict[str, Any]:
        return {
            "ingestRate": self.ingest_rate(),
            "accepted": self.accepted_total,
            "duplicates": self.duplicates_total,
            "rejected": self.rejected_total,
            "openSockets": int(self.metrics.open_sockets._value.get()),
            "writeLagSeconds": round(self.writer.lag_seconds(), 3),
            "windowLagSeconds": round(time.time() - self.last_published, 3)
            if self.last_published
            else None,
        }

    def close(self) -> None:
        self.writer.stop()
