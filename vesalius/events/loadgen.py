"""``vesalius loadgen``: a load generator for the events API, over WebSocket or REST.

Spreads ``--rate`` events a second over ``--clients`` connections (``--rate 0``: as fast as
the server acknowledges), in batches of ``--batch``, for ``--duration`` seconds, and prints
sent / acknowledged / duplicates / rejected and the acknowledgement latency. A share of the
events (``--duplicates``) re-sends an id already sent, to show they are counted once.
"""

import asyncio
import json
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any

import httpx
import typer
import websockets
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

ROUTES = ["/", "/studies", "/studies/{id}", "/images/{id}", "/search", "/reports/{id}"]
TYPES = ["page_view", "click", "api_request", "api_request", "error"]


@dataclass
class Tally:
    sent: int = 0
    acknowledged: int = 0
    duplicates: int = 0
    rejected: int = 0
    refused_messages: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    # When each acknowledged batch was sent (for end-to-end lag checks).
    sent_at: dict[str, float] = field(default_factory=dict)

    def summary(self, elapsed: float) -> dict[str, Any]:
        lat = sorted(self.latencies_ms)

        def pct(p: float) -> float:
            return round(lat[min(len(lat) - 1, int(len(lat) * p))], 2) if lat else 0.0

        return {
            "sent": self.sent,
            "acknowledged": self.acknowledged,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "refusedMessages": self.refused_messages,
            "seconds": round(elapsed, 2),
            "eventsPerSecond": round(self.acknowledged / elapsed, 1) if elapsed else 0.0,
            "latencyP50Ms": pct(0.5),
            "latencyP95Ms": pct(0.95),
            "latencyP99Ms": pct(0.99),
        }


class EventMaker:
    """Events as JSON text, built from a template (fast enough not to be the bottleneck)."""

    def __init__(self, users: int, client_id: str, duplicates: float) -> None:
        self.users = users
        self.client_id = client_id
        self.duplicates = duplicates
        self.recent: list[str] = []
        # Load, not secrets: a seeded generator makes runs comparable.
        self.rng = random.Random(client_id)  # noqa: S311

    def one(self) -> str:
        if self.recent and self.rng.random() < self.duplicates:
            event_id = self.rng.choice(self.recent)
        else:
            event_id = str(uuid.uuid4())
            if len(self.recent) < 1000:
                self.recent.append(event_id)
            else:
                self.recent[self.rng.randrange(1000)] = event_id
        user = self.rng.randrange(self.users)
        status = 500 if self.rng.random() < 0.02 else 200
        return (
            f'{{"eventId":"{event_id}","type":"{self.rng.choice(TYPES)}",'
            f'"timestamp":"{datetime.now(UTC).isoformat()}","clientId":"{self.client_id}",'
            f'"sessionId":"s{user}-{user % 7}","userId":"u{user}",'
            f'"route":"{self.rng.choice(ROUTES)}","statusCode":{status},'
            f'"durationMs":{self.rng.expovariate(1 / 40):.2f}}}'
        )

    def batch(self, size: int) -> str:
        if size == 1:
            return self.one()
        return '{"events":[' + ",".join(self.one() for _ in range(size)) + "]}"


def _count(tally: Tally, answer: dict[str, Any], events: int) -> None:
    if "error" in answer:
        tally.refused_messages += 1
        return
    tally.acknowledged += int(answer.get("accepted", 0))
    tally.duplicates += int(answer.get("duplicates", 0))
    tally.rejected += len(answer.get("rejected", ()))


async def _pace(started: float, sent: int, per_connection_rate: float) -> None:
    if per_connection_rate > 0:
        due = started + sent / per_connection_rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)


async def _ws_connection(
    url: str,
    auth: dict[str, str],
    maker: EventMaker,
    batch: int,
    rate: float,
    until: float,
    tally: Tally,
    window: int = 8,
) -> None:
    ws_url = url.replace("http", "ws", 1).rstrip("/") + "/api/events/ws"
    async with websockets.connect(ws_url, max_size=None) as ws:
        await ws.send(json.dumps({"auth": auth}))
        ready = json.loads(await ws.recv())
        if ready.get("type") != "ready":
            raise RuntimeError(f"the server refused the socket: {ready}")
        in_flight: asyncio.Queue[tuple[float, int]] = asyncio.Queue(window)
        started = time.perf_counter()

        async def read() -> None:
            while True:
                answer = json.loads(await ws.recv())
                if answer.get("type") in ("ping", "pong"):
                    continue
                sent_at, size = in_flight.get_nowait()
                tally.latencies_ms.append((time.perf_counter() - sent_at) * 1000)
                _count(tally, answer, size)
                in_flight.task_done()

        reader = asyncio.create_task(read())
        sent = 0
        try:
            while time.perf_counter() < until:
                await _pace(started, sent, rate)
                body = maker.batch(batch)
                await in_flight.put((time.perf_counter(), batch))
                await ws.send(body)
                sent += batch
                tally.sent += batch
            await asyncio.wait_for(in_flight.join(), timeout=30)
        finally:
            reader.cancel()


async def _rest_connection(
    url: str,
    headers: dict[str, str],
    maker: EventMaker,
    batch: int,
    rate: float,
    until: float,
    tally: Tally,
) -> None:
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as http:
        started = time.perf_counter()
        sent = 0
        while time.perf_counter() < until:
            await _pace(started, sent, rate)
            body = maker.batch(batch)
            at = time.perf_counter()
            response = await http.post(
                "/api/events", content=body, headers={"Content-Type": "application/json"}
            )
            tally.latencies_ms.append((time.perf_counter() - at) * 1000)
            sent += batch
            tally.sent += batch
            if response.status_code == 200:
                _count(tally, response.json(), batch)
            else:
                tally.refused_messages += 1


async def generate(
    url: str,
    *,
    key: str | None = None,
    token: str | None = None,
    rate: float = 1000,
    duration: float = 10,
    clients: int = 4,
    use_ws: bool = True,
    batch: int = 100,
    users: int = 1000,
    duplicates: float = 0.0,
    client_id: str = "loadgen",
    on_progress: Callable[[Tally, float], None] | None = None,
) -> dict[str, Any]:
    """Run the load; returns the summary (what the command prints)."""
    tally = Tally()
    until = time.perf_counter() + duration
    per_connection = rate / clients if rate else 0.0
    if use_ws:
        auth = {"key": key} if key else {"token": token or ""}
        jobs = [
            _ws_connection(
                url,
                auth,
                EventMaker(users, client_id, duplicates),
                batch,
                per_connection,
                until,
                tally,
            )
            for _ in range(clients)
        ]
    else:
        headers = {"X-Ingest-Key": key} if key else {"Authorization": f"Bearer {token}"}
        jobs = [
            _rest_connection(
                url,
                headers,
                EventMaker(users, client_id, duplicates),
                batch,
                per_connection,
                until,
                tally,
            )
            for _ in range(clients)
        ]
    started = time.perf_counter()

    async def report() -> None:
        while True:
            await asyncio.sleep(0.25)
            if on_progress is not None:
                on_progress(tally, time.perf_counter() - started)

    reporter = asyncio.create_task(report())
    try:
        await asyncio.gather(*jobs)
    finally:
        reporter.cancel()
    return tally.summary(time.perf_counter() - started)


def loadgen(
    rate: Annotated[
        float, typer.Option(help="events per second in all (0: as fast as acked)")
    ] = 1000,
    duration: Annotated[float, typer.Option(help="seconds")] = 10,
    clients: Annotated[int, typer.Option(help="connections")] = 4,
    ws: Annotated[bool, typer.Option("--ws/--rest", help="WebSocket (default) or REST")] = True,
    batch: Annotated[int, typer.Option(help="events per message or request")] = 100,
    url: Annotated[str, typer.Option(help="the hub")] = "http://127.0.0.1:8000",
    key: Annotated[
        str | None, typer.Option(help="an ingest key", envvar="VESALIUS_LOADGEN_KEY")
    ] = None,
    token: Annotated[str | None, typer.Option(help="or an access token")] = None,
    users: Annotated[int, typer.Option(help="distinct users in the events")] = 1000,
    duplicates: Annotated[float, typer.Option(help="share of events re-sent (0–1)")] = 0.0,
) -> None:
    """Send events to a running hub and print what it acknowledged and how fast."""
    if not key and not token:
        raise typer.BadParameter("give --key (an ingest key) or --token")
    console = Console()
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[line]}"),
        TimeRemainingColumn(),
        console=console,
    ) as bar:
        task = bar.add_task("loadgen", total=duration, line="")

        def progress(tally: Tally, elapsed: float) -> None:
            bar.update(
                task,
                completed=min(elapsed, duration),
                line=f"sent {tally.sent:,}  acked {tally.acknowledged:,}  dup {tally.duplicates:,}",
            )

        summary = asyncio.run(
            generate(
                url,
                key=key,
                token=token,
                rate=rate,
                duration=duration,
                clients=clients,
                use_ws=ws,
                batch=batch,
                users=users,
                duplicates=duplicates,
                on_progress=progress,
            )
        )
    for name, value in summary.items():
        console.print(
            f"{name:>16}: {value:,}" if isinstance(value, int) else f"{name:>16}: {value}"
        )
