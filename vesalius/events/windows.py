"""Rolling 1 s / 5 s / 60 s windows kept in memory, in one-second buckets.

Each bucket holds counts, distinct users and sessions (exact up to a bound, then a sketch:
see ``distinct``), counts by type and client, and per route a count and a log-scale histogram
of durations (bins 10 % wide, so a p95 is within 10 %). The number of routes, types and
clients a bucket tracks is bounded (the rest is counted under "(other)"), and only the last
61 buckets are kept: memory does not grow with traffic. A window is the merge of its last
complete seconds; the same merge combines the buckets of several processes (scaled mode).

Windows go by reception time, so a late event counts when it arrives, the way a dashboard
of "now" should.
"""

import math
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from vesalius.events.distinct import DEFAULT_LIMIT, Distinct, from_wire, to_wire, union_count

WINDOWS = {"1s": 1, "5s": 5, "60s": 60}
KEPT_SECONDS = 61
MAX_KEYS = 500  # routes, types or clients per bucket; the rest are "(other)"
MAX_CLIENT_BUCKETS = 100  # clients with a breakdown of their own (for ?clientId=)
# A second's exact sets are the bulk of the state (61 buckets, users and sessions each), so a
# bucket folds into its 4 KiB sketch sooner than a window does: a window stays exact up to
# ``limit`` distinct values while each of its seconds saw at most this many. Per-client
# buckets fold sooner still: there are up to a hundred of them per second.
BUCKET_EXACT_LIMIT = 1024
CLIENT_BUCKET_EXACT_LIMIT = 128
OTHER = "(other)"
TOP_ROUTES = 10
BIN_BASE = math.log(1.1)


def duration_bin(ms: float) -> int:
    return int(math.log1p(ms) / BIN_BASE)


def bin_upper_ms(index: int) -> float:
    return math.expm1((index + 1) * BIN_BASE)


def _bounded(counter: Counter[str], key: str, amount: int = 1) -> None:
    if key in counter or len(counter) < MAX_KEYS:
        counter[key] += amount
    else:
        counter[OTHER] += amount


@dataclass
class RouteFigures:
    count: int = 0
    durations: Counter[int] = field(default_factory=Counter)

    def merge(self, other: "RouteFigures") -> None:
        self.count += other.count
        self.durations.update(other.durations)

    def p95(self) -> float | None:
        total = sum(self.durations.values())
        if not total:
            return None
        rank = math.ceil(total * 0.95)
        seen = 0
        for index in sorted(self.durations):
            seen += self.durations[index]
            if seen >= rank:
                return round(bin_upper_ms(index), 1)
        return None


class Bucket:
    """One second of one process (or of a client in it)."""

    __slots__ = ("clients", "errors", "events", "routes", "second", "sessions", "types", "users")

    def __init__(self, second: int, limit: int = DEFAULT_LIMIT) -> None:
        self.second = second
        self.events = 0
        self.errors = 0
        self.users = Distinct(limit)
        self.sessions = Distinct(limit)
        self.types: Counter[str] = Counter()
        self.clients: Counter[str] = Counter()
        self.routes: dict[str, RouteFigures] = {}

    def add(self, row: dict[str, Any]) -> None:
        self.events += 1
        status = row["status_code"]
        kind = row["type"]
        if kind == "error" or (status is not None and status >= 500):
            self.errors += 1
        if row["user_id"] is not None:
            self.users.add(row["user_id"])
        self.sessions.add(row["session_id"])
        _bounded(self.types, kind)
        _bounded(self.clients, row["client_id"])
        route = row["route"]
        figures = self.routes.get(route)
        if figures is None:
            if len(self.routes) >= MAX_KEYS:
                route = OTHER
            figures = self.routes.setdefault(route, RouteFigures())
        figures.count += 1
        if row["duration_ms"] is not None:
            figures.durations[duration_bin(row["duration_ms"])] += 1

    def to_wire(self) -> dict[str, Any]:
        return {
            "second": self.second,
            "events": self.events,
            "errors": self.errors,
            "users": to_wire(self.users),
            "sessions": to_wire(self.sessions),
            "types": dict(self.types),
            "clients": dict(self.clients),
            "routes": {r: [f.count, dict(f.durations)] for r, f in self.routes.items()},
        }

    @classmethod
    def from_wire(cls, data: dict[str, Any], limit: int = DEFAULT_LIMIT) -> "Bucket":
        bucket = cls(int(data["second"]), limit)
        bucket.events = int(data["events"])
        bucket.errors = int(data["errors"])
        bucket.users = from_wire(data["users"], limit)
        bucket.sessions = from_wire(data["sessions"], limit)
        bucket.types = Counter(data["types"])
        bucket.clients = Counter(data["clients"])
        bucket.routes = {
            route: RouteFigures(count, Counter({int(k): v for k, v in bins.items()}))
            for route, (count, bins) in data["routes"].items()
        }
        return bucket


def summarise(window: str, buckets: Iterable[Bucket], limit: int = DEFAULT_LIMIT) -> dict[str, Any]:
    """The figures of one window from its buckets (of one or several processes)."""
    parts = list(buckets)
    seconds = WINDOWS[window]
    events = sum(b.events for b in parts)
    errors = sum(b.errors for b in parts)
    types: Counter[str] = Counter()
    clients: Counter[str] = Counter()
    routes: dict[str, RouteFigures] = {}
    for bucket in parts:
        types.update(bucket.types)
        clients.update(bucket.clients)
        for route, figures in bucket.routes.items():
            routes.setdefault(route, RouteFigures()).merge(figures)
    users, users_exact = union_count([b.users for b in parts], limit)
    sessions, sessions_exact = union_count([b.sessions for b in parts], limit)
    top = sorted(routes.items(), key=lambda item: (-item[1].count, item[0]))[:TOP_ROUTES]
    overall = RouteFigures()
    for figures in routes.values():
        overall.merge(figures)
    return {
        "window": window,
        "events": events,
        "eventsPerSecond": round(events / seconds, 2),
        "activeUsers": users,
        "activeSessions": sessions,
        "distinctExact": users_exact and sessions_exact,
        "topRoutes": [
            {"route": route, "count": f.count, "p95DurationMs": f.p95()} for route, f in top
        ],
        "p95DurationMs": overall.p95(),
        "errorRate": round(errors / events, 4) if events else 0.0,
        "errors": errors,
        "byType": dict(types.most_common()),
        "byClient": dict(clients.most_common()),
    }


class LocalWindows:
    """This process's buckets. ``add`` is called by the writer after each commit."""

    def __init__(self, limit: int = DEFAULT_LIMIT, clock: Any = time.time) -> None:
        self.limit = limit
        self.clock = clock
        self._lock = threading.Lock()
        self._all: dict[int, Bucket] = {}
        self._clients: dict[int, dict[str, Bucket]] = {}

    def add(self, rows: Iterable[dict[str, Any]]) -> None:
        second = int(self.clock())
        with self._lock:
            bucket = self._all.get(second)
            if bucket is None:
                bucket = self._all[second] = Bucket(second, min(self.limit, BUCKET_EXACT_LIMIT))
                self._clients[second] = {}
                self._expire(second)
            per_client = self._clients[second]
            for row in rows:
                bucket.add(row)
                client = row["client_id"]
                own = per_client.get(client)
                if own is None:
                    if len(per_client) >= MAX_CLIENT_BUCKETS:
                        continue
                    own = per_client[client] = Bucket(
                        second, min(self.limit, CLIENT_BUCKET_EXACT_LIMIT)
                    )
                own.add(row)

    def _expire(self, now: int) -> None:
        for second in [s for s in self._all if s <= now - KEPT_SECONDS]:
            del self._all[second]
            self._clients.pop(second, None)

    def buckets(self, first: int, last: int, client_id: str | None = None) -> list[Bucket]:
        """Buckets of the seconds ``first..last`` (inclusive) that saw events."""
        with self._lock:
            if client_id is None:
                return [b for s, b in self._all.items() if first <= s <= last]
            return [
                c[client_id]
                for s, c in self._clients.items()
                if first <= s <= last and client_id in c
            ]

    def clients_in(self, second: int) -> list[str]:
        with self._lock:
            return list(self._clients.get(second, {}))

    def closed_second(self) -> int:
        """The last second that is over."""
        return int(self.clock()) - 1

    def snapshot(self, client_id: str | None = None) -> dict[str, dict[str, Any]]:
        last = self.closed_second()
        buckets = self.buckets(last - 59, last, client_id)
        return {
            name: summarise(name, [b for b in buckets if b.second > last - n], self.limit)
            for name, n in WINDOWS.items()
        }
