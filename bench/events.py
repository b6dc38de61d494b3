"""Live analytics (issue 11): sustained ingest, end-to-end lag, window memory.

Vesalius runs as a user runs it (``vesalius serve``, on SQLite and on PostgreSQL); the load
comes from ``vesalius loadgen``'s generator in this process (the issue counts the generator
in: both share these two cores). Measured:

- **Sustained ingest** with durable acknowledgement: batches of 100 over WebSocket, and
  single events over REST, each beside the seed's design (one INSERT and commit per event,
  ``bench/events_baseline.py`` under uvicorn, same database kind), interleaved round by round.
- **End-to-end lag**: while the WebSocket load runs, probe events (type ``probe``, one every
  ~0.7 s, sent alone over REST) and 100 subscribers of ``GET /api/live/stream``; a probe's
  lag is from just before it is sent to the first tick in which a subscriber sees it in the
  1 s window.
- **Window memory**: the in-memory window state (``LocalWindows``) fed 60 seconds of events
  from 1,000 to 1,000,000 distinct users, measured with ``tracemalloc``.

Targets: WebSocket ≥ 20,000 events/s, REST ≥ 2,000 events/s (both databases); lag p95 < 1 s
with 100 subscribers; window memory flat.
"""

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench.common import (
    Report,
    RunOptions,
    Table,
    console,
    describe_machine,
    fmt_ratio,
    load_average,
    percentile,
    today,
)
from bench.harness import create_database
from bench.ingest import BIN_DIR, vesalius_server
from tests.services import free_port, postgres_server, wait_for_port
from vesalius.events.loadgen import generate
from vesalius.events.windows import LocalWindows

NAME = "events"
TITLE = "Live analytics: event ingest, end-to-end lag, window memory"
CLIENTS = 4  # WebSocket connections
# REST answers each request once it is committed, so a sender keeps several requests in
# flight to reach its rate (as browsers' beacons and a busy backend do); both servers get
# the same number.
REST_CLIENTS = 16
WS_TARGET = 20_000.0
REST_TARGET = 2_000.0
LAG_TARGET_MS = 1_000.0
SUBSCRIBERS = 100
# The server's own limits are for the public; the bench measures the pipeline behind them.
UNLIMITED = {
    "VESALIUS_EVENTS_WS_MESSAGES_PER_SECOND": "100000",
    "VESALIUS_EVENTS_WS_BURST": "100000",
    "VESALIUS_EVENTS_USER_REQUESTS_PER_MINUTE": "100000000",
    "VESALIUS_EVENTS_IP_REQUESTS_PER_MINUTE": "100000000",
    "VESALIUS_EVENTS_SELF_FEED": "false",
}


@dataclass(frozen=True)
class Plan:
    rounds: int
    seconds: float
    lag_seconds: float
    memory_users: tuple[int, ...]


FULL = Plan(
    rounds=3, seconds=8.0, lag_seconds=15.0, memory_users=(1_000, 10_000, 100_000, 1_000_000)
)
QUICK = Plan(rounds=1, seconds=3.0, lag_seconds=5.0, memory_users=(1_000, 100_000))


@dataclass
class Rates:
    """Acknowledged events per second, one figure per round."""

    samples: list[float] = field(default_factory=list)
    refused: int = 0

    @property
    def median(self) -> float:
        return percentile(sorted(self.samples), 50) if self.samples else 0.0


# -- servers ------------------------------------------------------------------------------------
@contextlib.contextmanager
def baseline_server(base: Path, database: str) -> Iterator[str]:
    port = free_port()
    with (base / "baseline.log").open("wb") as log:
        process = subprocess.Popen(
            [
                str(BIN_DIR / "python"),
                "-m",
                "uvicorn",
                "bench.events_baseline:app",
                "--port",
                str(port),
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            env={**os.environ, "BASELINE_DATABASE": database},
            cwd=Path(__file__).resolve().parent.parent,
            stdout=log,
            stderr=log,
        )
    try:
        wait_for_port(port, timeout=60, proc=process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _pg_dsn(sqlalchemy_url: str) -> str:
    return sqlalchemy_url.replace("postgresql+psycopg://", "postgresql://", 1)


# -- load ---------------------------------------------------------------------------------------
async def _load(url: str, token: str, *, ws: bool, batch: int, seconds: float) -> dict[str, Any]:
    return await generate(
        url,
        token=token,
        rate=0,  # as fast as acknowledgements come back
        duration=seconds,
        clients=CLIENTS if ws else REST_CLIENTS,
        use_ws=ws,
        batch=batch,
        users=10_000,
        client_id=f"bench-{uuid.uuid4().hex[:6]}",
    )


def sustained(
    hub_url: str, token: str, baseline_url: str, plan: Plan, label: str
) -> tuple[Rates, Rates, Rates]:
    """WebSocket batches, REST single events, and the baseline's REST, round by round."""
    ws, rest, baseline = Rates(), Rates(), Rates()
    for round_no in range(plan.rounds):
        # Alternate who goes first, so a slow start of the machine hits both alike.
        order = [("rest", rest, hub_url), ("baseline", baseline, baseline_url)]
        if round_no % 2:
            order.reverse()
        cases = [("ws", ws, hub_url), *order]
        for case, rates, url in cases:
            summary = asyncio.run(
                _load(
                    url,
                    token,
                    ws=case == "ws",
                    batch=100 if case == "ws" else 1,
                    seconds=plan.seconds,
                )
            )
            rates.samples.append(summary["eventsPerSecond"])
            rates.refused += summary["refusedMessages"] + summary["rejected"]
            console.print(
                f"  {label} round {round_no + 1} {case}: {summary['eventsPerSecond']:,.0f} "
                f"events/s acknowledged (ack p95 {summary['latencyP95Ms']:.0f} ms)"
            )
    return ws, rest, baseline


async def _subscriber(url: str, token: str, seen: dict[int, float], stop: asyncio.Event) -> None:
    """Records, per probe count in the 1 s window, when this subscriber first saw it."""
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        httpx.AsyncClient(base_url=url, timeout=httpx.Timeout(30, read=None)) as http,
        http.stream("GET", "/api/live/stream", headers=headers) as stream,
    ):
        async for line in stream.aiter_lines():
            if stop.is_set():
                return
            if not line.startswith("data:"):
                continue
            tick = json.loads(line[5:])
            window = tick.get("windows", {}).get("1s", {})
            second = int(tick.get("second", 0))
            if window.get("byType", {}).get("probe"):
                seen.setdefault(second, time.perf_counter())


async def _probe_lag(url: str, token: str, seconds: float) -> tuple[list[float], dict[str, Any]]:
    stop = asyncio.Event()
    per_subscriber: list[dict[int, float]] = [{} for _ in range(SUBSCRIBERS)]
    subscribers = [
        asyncio.create_task(_subscriber(url, token, seen, stop)) for seen in per_subscriber
    ]
    await asyncio.sleep(2.0)  # every subscriber connected and past its first snapshot
    load = asyncio.create_task(
        generate(
            url,
            token=token,
            rate=WS_TARGET,
            duration=seconds,
            clients=CLIENTS,
            use_ws=True,
            batch=100,
            users=10_000,
            client_id="bench-lag",
        )
    )
    sent: dict[int, float] = {}  # the second the probe was counted in → when it was sent
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as http:
        until = time.perf_counter() + seconds - 1.5
        while time.perf_counter() < until:
            at = time.perf_counter()
            event = {
                "eventId": str(uuid.uuid4()),
                "type": "probe",
                "timestamp": datetime.now(UTC).isoformat(),
                "clientId": "bench-probe",
                "sessionId": "probe",
                "route": "/probe",
            }
            answer = await http.post("/api/events", json=event)
            counted_in = int(time.time())  # acknowledged, so committed: counted this second
            if answer.status_code == 200 and answer.json().get("accepted") == 1:
                sent[counted_in] = at
            # ~0.7 s apart and never two in one second, so each 1 s window holds one probe.
            await asyncio.sleep(max(0.0, 1.05 - (time.time() % 1.0)) + 0.3 * (len(sent) % 3))
    summary = await load
    await asyncio.sleep(2.5)  # the last probes' ticks
    stop.set()
    for task in subscribers:
        task.cancel()
    await asyncio.gather(*subscribers, return_exceptions=True)
    lags = []
    for seen in per_subscriber:
        for second, at in sent.items():
            # A probe acknowledged at the very end of a second may be counted in the next.
            first = seen.get(second, seen.get(second + 1))
            if first is not None:
                lags.append((first - at) * 1000)
    missing = len(sent) * SUBSCRIBERS - len(lags)
    return lags, {**summary, "probes": len(sent), "missing": missing}


# -- memory -------------------------------------------------------------------------------------
def window_memory(users: int) -> tuple[int, int]:
    """Bytes the window state holds after a minute of ``users`` distinct users, and its
    distinct-user figure for the 60 s window."""
    now = [1_000_000.0]
    windows = LocalWindows(clock=lambda: now[0])
    per_second = -(-users // 60)  # every user once in the minute
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    user = 0
    for _second in range(60):  # the 60 s window: exactly these seconds
        rows = []
        for _ in range(per_second):
            rows.append(
                {
                    "type": "page_view",
                    "status_code": 200,
                    "user_id": f"u{user % users}",
                    "session_id": f"s{user % users}",
                    "client_id": "app",
                    "route": f"/route/{user % 40}",
                    "duration_ms": 12.5,
                }
            )
            user += 1
        windows.add(rows)
        del rows
        now[0] += 1
    held = tracemalloc.take_snapshot().compare_to(before, "filename")
    size = sum(stat.size_diff for stat in held)
    tracemalloc.stop()
    return size, int(windows.snapshot()["60s"]["activeUsers"])


# -- the run ------------------------------------------------------------------------------------
@dataclass
class DatabaseRun:
    name: str
    ws: Rates
    rest: Rates
    baseline: Rates
    lags: list[float]
    lag_summary: dict[str, Any]


def _measure(
    base: Path, label: str, plan: Plan, database_url: str | None, baseline_db: str
) -> DatabaseRun:
    overrides = dict(UNLIMITED)
    if database_url:
        overrides["VESALIUS_DATABASE_URL"] = database_url
    with (
        vesalius_server(base / label, **overrides) as hub,
        baseline_server(base / label, baseline_db) as baseline_url,
    ):
        ws, rest, baseline = sustained(hub.url, hub.token, baseline_url, plan, label)
        console.print(f"  {label}: lag with {SUBSCRIBERS} subscribers…")
        lags, lag_summary = asyncio.run(_probe_lag(hub.url, hub.token, plan.lag_seconds))
    return DatabaseRun(label, ws, rest, baseline, sorted(lags), lag_summary)


def run(options: RunOptions) -> Report:
    plan = QUICK if options.quick else FULL
    load_before = load_average()
    runs: list[DatabaseRun] = []
    with tempfile.TemporaryDirectory(prefix="vesalius-bench-events-") as tmp:
        base = Path(tmp)
        (base / "SQLite").mkdir()
        runs.append(_measure(base, "SQLite", plan, None, str(base / "SQLite" / "baseline.db")))
        with postgres_server(base / "pg") as pg:
            (base / "PostgreSQL").mkdir()
            hub_db = create_database(pg, "vesalius")
            baseline_db = _pg_dsn(create_database(pg, "baseline"))
            runs.append(_measure(base, "PostgreSQL", plan, hub_db, baseline_db))
        machine = describe_machine(base, load_before, postgresql="local").line()
    memory = [(users, *window_memory(users)) for users in plan.memory_users]
    return write_report(plan, machine, runs, memory)


def write_report(
    plan: Plan, machine: str, runs: list[DatabaseRun], memory: list[tuple[int, int, int]]
) -> Report:
    report = Report(NAME, TITLE)
    report.text(f"Measured {today()}. {machine}")
    report.text(
        f"`vesalius serve` (embedded), {CLIENTS} WebSocket or {REST_CLIENTS} REST generator "
        "connections in the bench process, "
        f"{plan.rounds} interleaved rounds of {plan.seconds:.0f} s per case; the median round "
        "is shown. Every figure is acknowledged events per second, and an acknowledgement "
        "means committed (group commit, at least every 100 ms). Baseline: the seed's design, "
        "one INSERT and commit per event (`bench/events_baseline.py`, uvicorn, same database)."
    )
    table = Table(["database", "case", "events/s", "baseline events/s", "ratio", "target", ""])
    for db in runs:
        table.add(
            db.name,
            "WebSocket, batches of 100",
            f"{db.ws.median:,.0f}",
            "",
            "",
            "≥ 20,000",
            report.check(f"{db.name}: WebSocket ≥ 20,000 events/s", db.ws.median >= WS_TARGET),
        )
        table.add(
            db.name,
            "REST, one event a request",
            f"{db.rest.median:,.0f}",
            f"{db.baseline.median:,.0f}",
            fmt_ratio(db.rest.median / max(db.baseline.median, 1e-9)),
            "≥ 2,000",
            report.check(f"{db.name}: REST ≥ 2,000 events/s", db.rest.median >= REST_TARGET),
        )
        table.add(
            db.name,
            "WebSocket vs baseline REST",
            f"{db.ws.median:,.0f}",
            f"{db.baseline.median:,.0f}",
            fmt_ratio(db.ws.median / max(db.baseline.median, 1e-9)),
            "",
            "",
        )
    report.table(table)

    report.heading("End-to-end lag")
    report.text(
        f"Probe events sent alone over REST during WebSocket load at up to "
        f"{WS_TARGET:,.0f} events/s, {SUBSCRIBERS} subscribers of `/api/live/stream`; lag "
        "from the probe being sent to a subscriber's first tick showing it in the 1 s window. "
        "Ticks are published once a second just after each second ends, so the lag of an "
        "event is spread evenly over one second plus the commit and delivery: p50 near "
        "0.5 s and p95 near 1 s is the floor of a once-a-second tick."
    )
    lag = Table(["database", "probes", "seen", "load events/s", "p50", "p95", "max", "target", ""])
    for db in runs:
        seen = len(db.lags)
        p95 = percentile(db.lags, 95) if db.lags else float("inf")
        lag.add(
            db.name,
            str(db.lag_summary["probes"]),
            f"{seen} of {db.lag_summary['probes'] * SUBSCRIBERS}",
            f"{db.lag_summary['eventsPerSecond']:,.0f}",
            f"{percentile(db.lags, 50):.0f} ms" if db.lags else "—",
            f"{p95:.0f} ms",
            f"{db.lags[-1]:.0f} ms" if db.lags else "—",
            "p95 < 1,000 ms",
            report.check(f"{db.name}: lag p95 < 1 s", p95 < LAG_TARGET_MS),
        )
    report.table(lag)

    report.heading("Window memory")
    report.text(
        "The rolling windows keep 61 one-second buckets; distinct users and sessions are "
        "exact up to 1,024 per second (128 in a client's own bucket) and 4,096 per window, "
        "then a 4 KiB HyperLogLog (standard error 1.6 %); routes, types and clients are "
        "capped at 500 per bucket, so the state is bounded whatever the traffic. Bytes held "
        "after a minute of traffic (tracemalloc), every user seen once in the minute:"
    )
    mem = Table(["distinct users / minute", "state held", "60 s active users shown", "error"])
    for users, size, shown in memory:
        mem.add(
            f"{users:,}",
            f"{size / 1024 / 1024:.2f} MiB",
            f"{shown:,}",
            f"{(shown - users) / users * 100:+.1f} %",
        )
    report.table(mem)
    largest = max(size for _users, size, _shown in memory)
    # Flat past the exact bound: the two largest cases hold about the same, and every case
    # stays under a small ceiling.
    growth = memory[-1][1] / max(memory[-2][1], 1)
    flat = largest <= 8 * 1024 * 1024 and growth <= 1.5
    report.text(
        f"At most {largest / 1024 / 1024:.1f} MiB; {memory[-1][0]:,} users hold {growth:.2f}× "
        f"the state of {memory[-2][0]:,}: {report.check('window memory flat', flat)}"
    )
    return report


if __name__ == "__main__":
    sys.exit("run it as: python -m bench events")
