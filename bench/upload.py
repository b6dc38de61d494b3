"""Upload answer time: how long a client waits after its last byte, with 1,000 jobs waiting.

Seed reference (``000_…``): ~200 ms for an upload to answer. Target (issue 3): p95 under
20 ms, excluding the transfer itself, for 1 MB and 100 MB DICOM files, on the embedded set-up
(SQLite, local files, SQLite queue) and the scaled one (PostgreSQL, Redis queue, local
files). Baseline in the same run, interleaved: ``GET /api/auth/me`` answered whole.

The clock: an ASGI wrapper notes when the app reads the request's last body chunk and when
it starts the response; the difference is what the uploader waits for once its file is
sent (closing the stored file, proving it is DICOM, the rows, the queue, the JSON). The
whole request time is shown too, transfer included, for context.
"""

import io
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import func, select

from bench.common import (
    Report,
    RunOptions,
    Stats,
    Table,
    console,
    describe_machine,
    fmt_ms,
    load_average,
    progress_bar,
    today,
)
from bench.conversion import ct_small
from bench.harness import (
    BENCH_PASSWORD,
    Hub,
    bench_settings,
    create_database,
    login,
    migrated,
    postgres,
    postgres_available,
    quiet_logging,
    running_hub,
    server_version,
    sqlite_url,
)
from tests.imaging.dicom_factory import make_dicom
from tests.services import find_binary, redis_server
from vesalius.accounts.models import Role, User, UserStatus
from vesalius.jobs.models import Job, JobStatus

NAME = "upload"
TITLE = "Upload answer time"
P95_TARGET_MS = 20.0
WAITING_JOBS = 1_000
BATCH_FILES = 100  # the per-request file limit
MB = 1024 * 1024
UPLOADER_EMAIL = "uploader@bench.example"


@dataclass(frozen=True)
class Sizes:
    small_samples: int
    large_samples: int
    large_side: int  # the 100 MB file is large_side² 16-bit pixels
    waiting: int


FULL = Sizes(small_samples=200, large_samples=30, large_side=7240, waiting=WAITING_JOBS)
QUICK = Sizes(small_samples=30, large_samples=4, large_side=2300, waiting=200)


@dataclass
class Clock:
    """Filled in by ``TimedApp`` for the request in flight."""

    last_body_ns: int = 0
    answer_ns: int = 0


class TimedApp:
    """ASGI middleware outside everything: the moments the last body chunk is read and the
    response starts."""

    def __init__(self, app: Any, clock: Clock) -> None:
        self.app = app
        self.clock = clock

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.clock.last_body_ns = 0

        async def timed_receive() -> Any:
            message = await receive()
            if message["type"] == "http.request" and not message.get("more_body", False):
                self.clock.last_body_ns = time.perf_counter_ns()
            return message

        async def timed_send(message: Any) -> None:
            if message["type"] == "http.response.start":
                self.clock.answer_ns = time.perf_counter_ns()
            await send(message)

        await self.app(scope, timed_receive, timed_send)


@dataclass
class Samples:
    answer_ns: list[int]
    whole_ns: list[int]

    def answer(self) -> Stats:
        return Stats.from_ns(self.answer_ns)

    def whole(self) -> Stats:
        return Stats.from_ns(self.whole_ns)


@dataclass
class BackendResult:
    name: str
    file_bytes: dict[str, int]
    samples: dict[str, Samples]
    waiting_before: int
    waiting_after: int
    queue_pending: int


# -- files ----------------------------------------------------------------------------------
def dicom_of_size(folder: Path, side: int) -> Path:
    """A side × side 16-bit DICOM image (noise, so nothing compresses it away)."""
    pixels = np.random.default_rng(side).integers(0, 4096, (side, side), dtype=np.uint16)
    return make_dicom(
        folder / f"image_{side}.dcm",
        rows=side,
        columns=side,
        bits=16,
        bits_stored=12,
        pixels=pixels,
    )


def multipart(files: list[tuple[str, bytes]]) -> list[tuple[str, tuple[str, io.BytesIO, str]]]:
    """A form httpx streams in 64 KiB chunks (a BytesIO, not bytes), as a browser sends it."""
    return [("files", (name, io.BytesIO(data), "application/dicom")) for name, data in files]


# -- one set-up -----------------------------------------------------------------------------
def make_uploader(hub: Hub) -> None:
    with hub.ctx.db.session() as session:
        session.add(
            User(
                email=UPLOADER_EMAIL,
                display_name="Uploader",
                password_hash=hub.ctx.passwords.hash(BENCH_PASSWORD),
                role=Role.clinician,
                status=UserStatus.active,
            )
        )
        session.commit()


def waiting_jobs(hub: Hub) -> int:
    with hub.ctx.db.read_session() as session:
        return session.scalar(select(func.count()).where(Job.status == JobStatus.queued)) or 0


def fill_queue(hub: Hub, headers: dict[str, str], count: int) -> None:
    """``count`` real uploads of CT_small (39 KB), 100 per request: their conversion jobs
    wait, since no worker runs."""
    data = ct_small().read_bytes()
    with progress_bar("queueing jobs") as bar:
        task = bar.add_task("jobs", total=count)
        done = 0
        while done < count:
            batch = min(BATCH_FILES, count - done)
            form = multipart([(f"ct_{done + i}.dcm", data) for i in range(batch)])
            response = hub.client.post("/api/upload", files=form, headers=headers)
            if response.status_code != 202:
                raise RuntimeError(f"filling the queue: {response.status_code} {response.text}")
            done += batch
            bar.update(task, completed=done)


def upload_once(
    hub: Hub, clock: Clock, headers: dict[str, str], name: str, data: bytes
) -> tuple[int, int]:
    """One upload; returns (answer ns, whole request ns) and deletes the image afterwards
    (outside the clock) so a hundred 100 MB files do not fill the disk."""
    form = multipart([(name, data)])
    started = time.perf_counter_ns()
    response = hub.client.post("/api/upload", files=form, headers=headers)
    whole = time.perf_counter_ns() - started
    if response.status_code != 202 or len(response.json()["images"]) != 1:
        raise RuntimeError(f"upload of {name}: {response.status_code} {response.text[:300]}")
    answer = clock.answer_ns - clock.last_body_ns
    if clock.last_body_ns == 0 or answer <= 0:
        raise RuntimeError("the clock missed the end of the body")
    image_id = response.json()["images"][0]["id"]
    deleted = hub.client.delete(f"/api/images/{image_id}", headers=headers)
    if deleted.status_code != 204:
        raise RuntimeError(f"delete {image_id}: {deleted.status_code}")
    return answer, whole


def floor_once(hub: Hub, clock: Clock, headers: dict[str, str]) -> tuple[int, int]:
    started = time.perf_counter_ns()
    response = hub.client.get("/api/auth/me", headers=headers)
    whole = time.perf_counter_ns() - started
    if response.status_code != 200:
        raise RuntimeError(f"GET /api/auth/me: {response.status_code}")
    return clock.answer_ns - started, whole


@contextmanager
def timed_hub(settings: Any) -> Iterator[tuple[Hub, Clock]]:
    clock = Clock()
    with running_hub(settings, wrap=lambda app: TimedApp(app, clock)) as hub:
        yield hub, clock


def bench_backend(name: str, settings: Any, files: dict[str, bytes], sizes: Sizes) -> BackendResult:
    with timed_hub(settings) as (hub, clock):
        make_uploader(hub)
        headers = login(hub.client, UPLOADER_EMAIL)
        console.print(f"[dim]{name}: {sizes.waiting:,} conversion jobs to leave waiting[/]")
        fill_queue(hub, headers, sizes.waiting)
        waiting_before = waiting_jobs(hub)
        samples = {label: Samples([], []) for label in (*files, "floor")}
        small, large = list(files)
        rounds = sizes.small_samples
        every = max(1, rounds // sizes.large_samples)
        for _ in range(3):  # warm-up: first imports, first connections
            upload_once(hub, clock, headers, "warm.dcm", files[small])
            floor_once(hub, clock, headers)
        with progress_bar(f"{name}: uploads") as bar:
            task = bar.add_task("rounds", total=rounds)
            for index in range(rounds):
                for label, result in (
                    (small, upload_once(hub, clock, headers, f"s{index}.dcm", files[small])),
                    ("floor", floor_once(hub, clock, headers)),
                ):
                    samples[label].answer_ns.append(result[0])
                    samples[label].whole_ns.append(result[1])
                if index % every == 0 and len(samples[large].answer_ns) < sizes.large_samples:
                    answer, whole = upload_once(hub, clock, headers, f"l{index}.dcm", files[large])
                    samples[large].answer_ns.append(answer)
                    samples[large].whole_ns.append(whole)
                bar.update(task, completed=index + 1)
        return BackendResult(
            name=name,
            file_bytes={label: len(data) for label, data in files.items()},
            samples=samples,
            waiting_before=waiting_before,
            waiting_after=waiting_jobs(hub),
            queue_pending=hub.ctx.queues.pending("dicom"),
        )


# -- the report -----------------------------------------------------------------------------
def figures_table(result: BackendResult) -> Table:
    table = Table(
        [
            "request",
            "n",
            "answer p50",
            "answer p95",
            "answer p99",
            "whole p50",
            "whole p95",
            "transfer MB/s",
        ],
        title=f"{result.name}: milliseconds",
    )
    for label, samples in result.samples.items():
        answer, whole = samples.answer(), samples.whole()
        size = result.file_bytes.get(label)
        rate = "–"
        if size:
            transfer_s = (whole.p50 - answer.p50) / 1000
            rate = f"{size / MB / transfer_s:.0f}" if transfer_s > 0 else "–"
        title = f"upload, {label}" if size else "floor: GET /api/auth/me"
        table.add(
            title,
            str(answer.n),
            fmt_ms(answer.p50),
            fmt_ms(answer.p95),
            fmt_ms(answer.p99),
            fmt_ms(whole.p50),
            fmt_ms(whole.p95),
            rate,
        )
    return table


def targets_table(report: Report, results: list[BackendResult], sizes: Sizes) -> Table:
    table = Table(["set-up", "target (issue 3)", "measured", "result"], title="Targets")
    for result in results:
        for label in result.file_bytes:
            p95 = result.samples[label].answer().p95
            text = f"{label} answer p95 < {P95_TARGET_MS:.0f} ms"
            table.add(
                result.name,
                text,
                f"{fmt_ms(p95)} ms",
                report.check(f"{result.name}: {text}", p95 < P95_TARGET_MS),
            )
        ok = result.waiting_before >= WAITING_JOBS
        table.add(
            result.name,
            f"≥ {WAITING_JOBS:,} jobs waiting throughout",
            f"{result.waiting_before:,} → {result.waiting_after:,}",
            report.check(f"{result.name}: jobs waiting", ok),
        )
    return table


def write_report(
    results: list[BackendResult], sizes: Sizes, machine: str, notes: list[str]
) -> Report:
    report = Report(NAME, TITLE)
    report.text(
        f"Run {today()} on {machine}. One DICOM file per `POST /api/upload`, through the whole "
        "ASGI app in-process, as a browser's multipart form (64 KiB chunks). **answer** is "
        "from the app reading the last body chunk to the response starting: closing and "
        "syncing the stored file, parsing its DICOM header, the image and job rows, the queue "
        "message, the JSON. **whole** adds the transfer (here: receiving, hashing and writing "
        "the bytes, as fast as this machine can). The 100 MB upload runs every few rounds "
        "between the 1 MB ones and the floor (`GET /api/auth/me`); each uploaded image is "
        "deleted again outside the clock."
    )
    report.text(
        f"Before timing, {sizes.waiting:,} real uploads (pydicom's CT_small, 100 per request) "
        "left their conversion jobs waiting (no worker runs), so every figure is taken with "
        "at least that many jobs queued. Seed reference (`000_…`): ~200 ms. Target (issue 3): "
        "answer p95 < 20 ms for 1 MB and 100 MB."
    )
    for note in notes:
        report.text(note)
    for result in results:
        report.table(figures_table(result))
        report.text(
            f"{result.name}: jobs waiting {result.waiting_before:,} before timing, "
            f"{result.waiting_after:,} after; {result.queue_pending:,} messages in the dicom "
            "queue (those of the images deleted after timing included: a worker drops them)."
        )
    report.table(targets_table(report, results, sizes))
    return report


def run(options: RunOptions) -> Report:
    quiet_logging()
    sizes = QUICK if options.quick else FULL
    load_before = load_average()
    results: list[BackendResult] = []
    notes: list[str] = []
    pg_version: str | None = None
    with tempfile.TemporaryDirectory(prefix="vesalius-bench-") as tmp:
        base = Path(tmp)
        small = dicom_of_size(base, 724).read_bytes()
        large = dicom_of_size(base, sizes.large_side).read_bytes()
        files = {f"{len(small) / MB:.0f} MB": small, f"{len(large) / MB:.0f} MB": large}
        url = migrated(sqlite_url(base / "sqlite"))
        embedded = bench_settings(base / "d1", url, embedded_workers=False)
        results.append(bench_backend("embedded (SQLite, SQLite queue)", embedded, files, sizes))
        if postgres_available() and find_binary("redis-server"):
            with postgres(base / "postgres") as server, redis_server(base / "redis") as redis:
                pg_version = server_version(server)
                url = migrated(create_database(server, "bench_upload"))
                scaled = bench_settings(
                    base / "d2", url, embedded_workers=False, redis_url=redis.url
                )
                results.append(
                    bench_backend("scaled (PostgreSQL, Redis queue)", scaled, files, sizes)
                )
        else:
            notes.append("PostgreSQL or redis-server is not installed: scaled set-up not measured.")
        notes.append(
            "Files go to the local blob store in both set-ups. S3 is left out: moto's server "
            "keeps and assembles multipart uploads in Python memory, which says nothing about "
            "a real object store."
        )
        machine = describe_machine(base, load_before, pg_version).line()
    return write_report(results, sizes, machine, notes)
