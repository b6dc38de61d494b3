"""Live analytics: event ingestion (REST, WebSocket), rolling windows, live stream, keys."""

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import FastAPI

from vesalius.accounts.models import Role
from vesalius.context import AppContext
from vesalius.domains import DomainHub, NavEntry
from vesalius.events import api
from vesalius.events.ingest import EventIngest
from vesalius.events.live import LiveFigures, wait_for_next_second
from vesalius.events.selffeed import SelfFeedMiddleware
from vesalius.events.senders import Senders
from vesalius.events.tasks import drop_expired_events, roll_up_minutes

ROLL_UP_SECONDS = 30.0
RETENTION_SECONDS = 3600.0


def _max_request(settings: object) -> int:
    # A full batch of full-size events, plus the JSON around them.
    s = settings
    return int(s.events_max_batch * s.events_max_event_bytes + 4096)  # type: ignore[attr-defined]


@contextmanager
def _serving(ctx: AppContext) -> Iterator[None]:
    ingest = ctx.component(EventIngest)
    ingest.writer.start()
    live = ctx.component(LiveFigures)
    stop = threading.Event()

    def tick() -> None:
        # Every second, just after it ends: publish this process's second (scaled mode) and
        # note when windows were last fresh (the window-lag gauge).
        while not stop.wait(wait_for_next_second()):
            try:
                live.tick()
            except Exception:  # a Redis hiccup; the next second tries again
                time.sleep(0.1)

    thread = threading.Thread(target=tick, name="vesalius-events-tick", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)
        ingest.writer.stop()


def _metrics(app: FastAPI, ctx: AppContext) -> None:
    # The ingest counters live with the pipeline; /metrics reads them through the app's
    # registry (a registry is itself a collector).
    app.state.metrics_registry.register(ctx.component(EventIngest).metrics.registry)


def register(hub: DomainHub) -> None:
    hub.router(api.router)
    hub.routes(_metrics)
    hub.body_limit("/api/events", _max_request)
    hub.component(EventIngest, EventIngest, close=EventIngest.close)
    hub.component(Senders, Senders)
    hub.component(LiveFigures, LiveFigures)
    hub.middleware(SelfFeedMiddleware)
    hub.health("events", lambda ctx: ctx.component(EventIngest).health())
    hub.while_serving(_serving)
    hub.page("vesalius.ui.events_live:register")
    hub.page("vesalius.ui.ingest_keys:register")
    hub.nav(
        NavEntry(
            "Live",
            "sensors",
            "/analytics/live",
            section="analytics-live",
            roles=frozenset({Role.admin}),
            hook="nav-analytics-live",
            order=51,
        )
    )
    hub.nav(
        NavEntry(
            "Ingest keys",
            "key",
            "/admin/ingest-keys",
            section="admin",
            menu="admin",
            roles=frozenset({Role.admin}),
            hook="nav-admin-ingest-keys",
            order=60,
        )
    )
    hub.command("loadgen", "vesalius.events.loadgen:loadgen")
    hub.duty("event minutes", every=lambda _s: ROLL_UP_SECONDS, run=roll_up_minutes)
    hub.duty("event retention", every=lambda _s: RETENTION_SECONDS, run=drop_expired_events)
