"""The figures of the live windows as every dashboard sees them.

Embedded mode: this process's windows. Scaled mode (Redis): every API process publishes each
second it has closed to Redis (a hash per second, one field per process, expiring after
two minutes) and reads the others', so all processes show the same windows. A process's own
events show within a second; another process's within about two.
"""

import os
import re
import socket
import threading
import time
from typing import Any

import msgspec

from vesalius.context import AppContext
from vesalius.events.distinct import Distinct, union_sketch
from vesalius.events.ingest import EventIngest
from vesalius.events.windows import WINDOWS, Bucket, RouteFigures, summarise

SECOND_KEY = "vesalius:events:second:"
TICK_KEY = "vesalius:events:tick:"
KEEP_SECONDS = 120
PUBLISH_DELAY = 0.12
LIVE_CHANNEL = "events:live"
LIVE_CLIENTS = 20  # clients with a live channel of their own (the busiest of the minute)
SHOWN_KEYS = 20  # types and clients listed per window in a tick
CHANNEL_SAFE = re.compile(r"[A-Za-z0-9:._/-]{1,150}")


def client_channel(client_id: str) -> str:
    return f"{LIVE_CHANNEL}:client:{client_id}"


def tick_message(
    second: int, client_id: str | None, figures: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """What dashboards get every second: every window's figures (a tick replaces the last)."""
    windows = {}
    for name, window in figures.items():
        trimmed = dict(window)
        for key in ("byType", "byClient"):
            trimmed[key] = dict(list(window[key].items())[:SHOWN_KEYS])
        windows[name] = trimmed
    return {"type": "tick", "second": second, "clientId": client_id, "windows": windows}


class LiveFigures:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self.ingest = ctx.component(EventIngest)
        self.redis = ctx.redis
        self.process = f"{socket.gethostname()}:{os.getpid()}:{id(self)}"
        self._published: set[int] = set()
        self._remote: dict[tuple[int, str], Bucket] = {}
        self._lock = threading.Lock()

    def tick(self) -> None:
        """Once a second, just after it ended: share the closed second (scaled mode), then
        publish the windows to the live channels, refresh the gauges."""
        last = self.ingest.windows.closed_second()
        if self.redis is not None:
            self.publish_closed(last)
            # One process publishes each second (all compute the same figures); it waits a
            # moment so the other processes' buckets of that second are in Redis.
            time.sleep(PUBLISH_DELAY)
            won = self.redis.set(f"{TICK_KEY}{last}", self.process, nx=True, ex=10)
            if not won:
                self.ingest.last_published = time.time()
                return
        self.publish_tick(last)
        self.ingest.last_published = time.time()
        self.ingest.refresh_gauges()

    def publish_tick(self, second: int) -> None:
        figures = self.snapshot()
        pubsub = self.ctx.pubsub
        pubsub.publish(LIVE_CHANNEL, tick_message(second, None, figures))
        clients = [c for c in figures["60s"]["byClient"] if CHANNEL_SAFE.fullmatch(c)]
        for client in clients[:LIVE_CLIENTS]:
            pubsub.publish(
                client_channel(client), tick_message(second, client, self.snapshot(client))
            )

    def snapshot(self, client_id: str | None = None) -> dict[str, dict[str, Any]]:
        windows = self.ingest.windows
        last = windows.closed_second()
        if self.redis is None:
            return windows.snapshot(client_id)
        self.publish_closed(last)
        buckets = self._shared(last - 59, last, client_id)
        limit = windows.limit
        return {
            name: summarise(name, [b for b in buckets if b.second > last - n], limit)
            for name, n in WINDOWS.items()
        }

    # -- scaled mode ----------------------------------------------------------------------------
    def publish_closed(self, last: int) -> None:
        """Send this process's closed seconds that are not in Redis yet."""
        assert self.redis is not None
        windows = self.ingest.windows
        with self._lock:
            due = [s for s in range(last - 2, last + 1) if s not in self._published]
            if not due:
                return
            pipe = self.redis.pipeline()
            for second in due:
                for client in [None, *windows.clients_in(second)]:
                    buckets = windows.buckets(second, second, client)
                    if not buckets:
                        continue
                    key = f"{SECOND_KEY}{second}:{client or ''}"
                    pipe.hset(key, self.process, msgspec.msgpack.encode(buckets[0].to_wire()))
                    pipe.expire(key, KEEP_SECONDS)
                self._published.add(second)
            pipe.execute()
            self._published = {s for s in self._published if s > last - KEEP_SECONDS}

    def _shared(self, first: int, last: int, client_id: str | None) -> list[Bucket]:
        assert self.redis is not None
        limit = self.ingest.windows.limit
        seconds = list(range(first, last + 1))
        # Seconds older than 3 s are complete on every process that is alive: read them once.
        with self._lock:
            cached = {s for (s, c) in self._remote if c == (client_id or "")}
        wanted = [s for s in seconds if s not in cached or s > last - 3]
        pipe = self.redis.pipeline()
        for second in wanted:
            pipe.hgetall(f"{SECOND_KEY}{second}:{client_id or ''}")
        results = pipe.execute() if wanted else []
        with self._lock:
            for second, found in zip(wanted, results, strict=True):
                merged = Bucket(second, limit)
                parts = [Bucket.from_wire(msgspec.msgpack.decode(v), limit) for v in found.values()]
                if parts:
                    merged = merge_buckets(second, parts, limit)
                self._remote[(second, client_id or "")] = merged
            for key in [k for k in self._remote if k[0] < first]:
                del self._remote[key]
            return [
                self._remote[(s, client_id or "")]
                for s in seconds
                if (s, client_id or "") in self._remote
            ]


def merge_buckets(second: int, parts: list[Bucket], limit: int) -> Bucket:
    """One bucket of several processes' buckets of the same second."""
    merged = Bucket(second, limit)
    for part in parts:
        merged.events += part.events
        merged.errors += part.errors
        merged.types.update(part.types)
        merged.clients.update(part.clients)
        for route, figures in part.routes.items():
            merged.routes.setdefault(route, RouteFigures()).merge(figures)
    merged.users = union_sketch([p.users for p in parts], limit) if parts else Distinct(limit)
    merged.sessions = union_sketch([p.sessions for p in parts], limit) if parts else Distinct(limit)
    return merged


def wait_for_next_second() -> float:
    """Seconds to sleep until just after the next second starts (ticks follow the clock, so
    every process closes a second at the same moment)."""
    return 1.0 - (time.time() % 1.0) + 0.02
