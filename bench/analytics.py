"""Analytics dashboard over a year of history, and what recording activity costs a request.

Data (``bench.analytics_seed``): 10,000,000 ``user_activity`` rows over the 365 days before
today plus today, 1,000,000 images, one ``image_views`` row per view, 365 ``system_stats``
rows, 10,000 users. Seed reference (``001_…``): ~80 ms for the dashboard's user-stats query.

Targets (issue 4), on SQLite and on PostgreSQL:

- ``GET /api/analytics/dashboard?days=30`` and ``?days=365`` as an administrator, through the
  whole app in-process: p95 under 50 ms. Beside them, interleaved: the service call alone,
  a user's own page, the activity feed, and ``GET /api/auth/me`` (the floor every request
  pays). The image tables (most viewed, per-type statistics) are timed apart, fewer rounds.
- Recording: ``GET /api/images/{id}/download`` records a ``download``; timed in two hubs on
  the same database, recording on and off (``VESALIUS_ANALYTICS_ENABLED``), interleaved:
  the p95 difference must stay under 1 ms. The recorder's ``record()`` alone is timed too,
  and the rows its background writer wrote are counted.
"""

import contextlib
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as day_time
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bench.analytics_seed import STATS_COLUMNS, Seeded, SeedSizes, seed, to_us
from bench.common import (
    Report,
    RunOptions,
    Stats,
    Table,
    console,
    describe_machine,
    fmt_ms,
    load_average,
    measure,
    today,
)
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
from bench.plans import Statement, capture_statements, explain
from bench.users_seed import ADMIN_EMAIL
from tests.services import PostgresServer
from vesalius.accounts.models import User
from vesalius.accounts.passwords import Passwords
from vesalius.analytics.aggregation import compute_day
from vesalius.analytics.models import ActivityType, UserActivity
from vesalius.analytics.service import AnalyticsService
from vesalius.config import Settings
from vesalius.imaging.models import FileType, Image

NAME = "analytics"
TITLE = "Analytics dashboard and activity recording"
P95_TARGET_MS = 50.0
RECORDING_TARGET_MS = 1.0
RETENTION_DAYS = 400  # a hub that keeps a year of raw activity (the default, 90, would purge it)
# Compared exactly with ``compute_day`` run now; the image and view figures move as images
# are deleted after their day (``compute_day`` counts what is left), so they are shown only.
EXACT_FIELDS = (
    "total_users",
    "new_users",
    "active_users",
    "uploads",
    "upload_bytes",
    "downloads",
    "logins",
)
SHOWN_FIELDS = (*EXACT_FIELDS, "views", "new_images", "total_images", "storage_used_bytes")


@dataclass(frozen=True)
class Sizes:
    seed: SeedSizes
    samples: int
    warmup: int
    slow_samples: int  # the image tables read a whole table: fewer rounds, on their own
    record_samples: int
    record_calls: int


FULL = Sizes(
    SeedSizes(users=10_000, images=1_000_000, activity=10_000_000),
    samples=200,
    warmup=20,
    slow_samples=3,
    record_samples=1_000,
    record_calls=20_000,
)
QUICK = Sizes(
    SeedSizes(users=1_000, images=100_000, activity=1_000_000),
    samples=30,
    warmup=3,
    slow_samples=2,
    record_samples=200,
    record_calls=5_000,
)


@dataclass(frozen=True)
class Case:
    key: str
    label: str
    target: bool = False


CASES = (
    Case("d30", "GET /api/analytics/dashboard?days=30", target=True),
    Case("d365", "GET /api/analytics/dashboard?days=365", target=True),
    Case("s30", "service: dashboard(days=30, charts_only=True), as the API calls it"),
    Case("s365", "service: dashboard(days=365, charts_only=True)"),
    Case("user", "GET /api/analytics/user/{busiest user}?days=30"),
    Case("recent", "GET /api/analytics/activity/recent?limit=50"),
    Case("me", "floor: GET /api/auth/me (bearer token check)"),
)
SLOW_CASES = (
    Case("viewed", "GET /api/analytics/images/most-viewed (all-time views)"),
    Case("types", "GET /api/analytics/images/statistics (per file type)"),
)


@dataclass
class Recording:
    stats: dict[str, Stats]
    record_us: dict[str, Stats]  # record() alone, microseconds (as Stats of µs)
    requests: int  # downloads requested from the recording hub
    written_during: int  # their rows the background writer had written before the end
    written: int  # their rows in the table after the final flush
    record_calls: int
    record_written: int


@dataclass
class BackendResult:
    name: str
    stats: dict[str, Stats]
    recording: Recording
    plans: list[tuple[str, str]]
    checks: list[str]
    compared: list[tuple[str, int, int]]  # field, seeded row, compute_day now
    sizes: dict[str, str] = field(default_factory=dict)


def progress(message: str) -> None:
    console.print(f"[dim]{message}[/]")


def hub_settings(data_dir: Path, url: str, **overrides: Any) -> Settings:
    # No queue workers or maintenance duties: their statements would run between the timed
    # ones (and show up among the captured query plans).
    return bench_settings(
        data_dir,
        url,
        analytics_retention_days=RETENTION_DAYS,
        embedded_workers=False,
        **overrides,
    )


# -- calls ----------------------------------------------------------------------------------
def api_call(hub: Hub, headers: dict[str, str], path: str) -> Callable[[], Any]:
    def call() -> Any:
        response = hub.client.get(path, headers=headers)
        if response.status_code != 200:
            raise RuntimeError(f"GET {path}: {response.status_code} {response.text[:200]}")
        return response

    return call


def service_call(hub: Hub, admin: User, days: int) -> Callable[[], Any]:
    def call() -> Any:
        with hub.ctx.db.read_session() as session:
            return AnalyticsService(hub.ctx, session).dashboard(admin, days, charts_only=True)

    return call


# -- checks: the bench must not time an error page or a wrong answer -----------------------
def expect(checks: list[str], label: str, got: object, wanted: object) -> None:
    if got != wanted:
        raise RuntimeError(f"{label}: got {got!r}, seeded {wanted!r}")
    checks.append(label)


def stat(seeded: Seeded, day: date, column: str) -> int:
    value: int = seeded.stats[day][STATS_COLUMNS.index(column)]
    return value


def check_dashboard(
    hub: Hub, headers: dict[str, str], seeded: Seeded, admin_id: int, days: int
) -> list[str]:
    checks: list[str] = []
    body = api_call(hub, headers, f"/api/analytics/dashboard?days={days}")().json()
    day = seeded.today
    past = [day - timedelta(days=n) for n in range(1, days)]
    yesterday = day - timedelta(days=1)
    now = seeded.today_counts
    summary = body["summary"]
    label = f"dashboard?days={days}"
    expect(checks, f"{label}: days", len(body["userActivity"]), days)
    for name, column, live in (
        ("views", "views", now.view_rows),
        ("downloads", "downloads", now.downloads),
        ("uploads", "uploads", now.uploads),
        ("newImages", "new_images", seeded.today_new_images),
    ):
        wanted = sum(stat(seeded, d, column) for d in past) + live
        expect(checks, f"{label}: {name}", summary[name], wanted)
    new_bytes = sum(t["bytes"] for t in seeded.today_new_types.values())
    expect(
        checks,
        f"{label}: totalImages",
        summary["totalImages"],
        stat(seeded, yesterday, "total_images") + seeded.today_new_images,
    )
    expect(
        checks,
        f"{label}: storageUsedBytes",
        summary["storageUsedBytes"],
        stat(seeded, yesterday, "storage_used_bytes") + new_bytes,
    )
    expect(
        checks,
        f"{label}: totalUsers",
        summary["totalUsers"],
        stat(seeded, yesterday, "total_users") + seeded.today_new_users,
    )
    since = to_us(datetime.combine(day - timedelta(days=days - 1), day_time.min, tzinfo=UTC))
    active = {user for user, moment in seeded.last_active.items() if moment >= since}
    expect(checks, f"{label}: activeUsers", summary["activeUsers"], len(active | {admin_id}))
    today_row = body["userActivity"][-1]
    expect(
        checks, f"{label}: today's logins (+ the bench's own)", today_row["logins"], now.logins + 1
    )
    return checks


def check_others(
    hub: Hub, headers: dict[str, str], seeded: Seeded, paths: dict[str, str]
) -> list[str]:
    checks: list[str] = []
    user = api_call(hub, headers, paths["user"])().json()
    kinds = {kind.value: seeded.busy_user_kinds.get(kind.value, 0) for kind in ActivityType}
    expect(checks, "user page: totals by type", user["totals"], kinds)
    recent = api_call(hub, headers, paths["recent"])().json()
    expect(
        checks,
        "activity feed: 50 rows and more",
        (len(recent["activities"]), recent["hasMore"]),
        (50, True),
    )
    viewed = api_call(hub, headers, paths["viewed"])().json()["images"]
    counts = [image["views"] for image in viewed]
    expect(checks, "most viewed: 10, most first", counts, sorted(counts, reverse=True)[:10])
    types = api_call(hub, headers, paths["types"])().json()
    expect(checks, "image statistics: every image", types["totalImages"], seeded.images)
    return checks


def compare_with_compute_day(hub: Hub, seeded: Seeded) -> list[tuple[str, int, int]]:
    """Yesterday's seeded row beside ``compute_day`` run now, in a transaction rolled back."""
    day = seeded.today - timedelta(days=1)
    with hub.ctx.db.engine.connect() as conn:
        outer = conn.begin()
        try:
            session = Session(bind=conn, join_transaction_mode="create_savepoint")
            row = compute_day(session, day, hub.ctx.settings.analytics_timezone)
            rows = [
                (name, stat(seeded, day, name), int(getattr(row, name))) for name in SHOWN_FIELDS
            ]
            session.close()
        finally:
            outer.rollback()
    wrong = [(name, a, b) for name, a, b in rows if name in EXACT_FIELDS and a != b]
    if wrong:
        raise RuntimeError(f"seeded statistics for {day} disagree with compute_day: {wrong}")
    views = {name: b for name, _a, b in rows}["views"]
    if views != seeded.view_rows[day]:
        raise RuntimeError(
            f"{day}: compute_day counts {views} views, seeded {seeded.view_rows[day]}"
        )
    return rows


# -- query plans ----------------------------------------------------------------------------
def one_line(sql: str, limit: int = 170) -> str:
    text = " ".join(sql.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def selects(statements: list[Statement]) -> list[Statement]:
    return [s for s in statements if s.sql.lstrip().upper().startswith("SELECT")]


def query_plans(hub: Hub, admin: User, busy_user: int) -> list[tuple[str, str]]:
    """EXPLAIN of each SELECT the calls really send (the dashboard's all of them)."""
    plans: list[tuple[str, str]] = []
    seen: set[tuple[str, str]] = set()

    def run(title: str, call: Callable[[AnalyticsService], Any]) -> None:
        with (
            capture_statements(hub.ctx.db.engine) as statements,
            hub.ctx.db.read_session() as session,
        ):
            call(AnalyticsService(hub.ctx, session))
        for statement in selects(statements):
            key = (statement.sql, repr(statement.parameters))
            if key in seen or ("FROM users" in statement.sql and "WHERE users.id" in statement.sql):
                continue
            seen.add(key)
            plans.append(
                (f"{title}: `{one_line(statement.sql)}`", explain(hub.ctx.db.engine, statement))
            )

    run("dashboard?days=30", lambda s: s.dashboard(admin, 30, charts_only=True))
    run(
        "dashboard?days=365 (statements that differ)",
        lambda s: s.dashboard(admin, 365, charts_only=True),
    )
    run("user page", lambda s: s.user_analytics(admin, busy_user, 30))
    run("activity feed", lambda s: s.recent_activity(admin, limit=50))
    run("most viewed", lambda s: s.most_viewed(admin, 10))
    run("image statistics", lambda s: s.image_statistics(admin))
    return plans


# -- recording --------------------------------------------------------------------------------
def downloads_by(hub: Hub, user_id: int, since: datetime) -> int:
    with hub.ctx.db.read_session() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(UserActivity)
                .where(
                    UserActivity.user_id == user_id,
                    UserActivity.activity_type == ActivityType.download,
                    UserActivity.created_at >= since,
                )
            )
            or 0
        )


def bench_recording(
    hub: Hub, headers: dict[str, str], admin: User, url: str, data_dir: Path, sizes: Sizes
) -> Recording:
    """The same download from two hubs on one database, recording on and off, interleaved."""
    with hub.ctx.db.read_session() as session:
        image = session.scalars(
            select(Image).where(Image.file_type == FileType.jpg).order_by(Image.id.desc()).limit(1)
        ).one()
    data = bytes(range(256)) * 1024  # 256 KiB: a small JPEG; the file itself is not the point
    with running_hub(hub_settings(data_dir, url, analytics_enabled=False)) as quiet:
        quiet_headers = login(quiet.client, ADMIN_EMAIL)
        for each in (hub, quiet):
            each.ctx.blobs.put(image.storage_key, data)
        path = f"/api/images/{image.id}/download"
        calls: dict[str, Callable[[], Any]] = {
            "on": api_call(hub, headers, path),
            "off": api_call(quiet, quiet_headers, path),
        }
        for call in calls.values():
            if call().content != data:
                raise RuntimeError(f"{path} did not return the file")
        calls = {
            "on": hub.client.server_timed(calls["on"]),
            "off": quiet.client.server_timed(calls["off"]),
        }
        hub.ctx.activity.flush()
        since = datetime.now(UTC)
        progress(f"recording: 2 hubs × {sizes.record_samples} downloads, interleaved")
        warmup = 20
        stats = measure(calls, samples=sizes.record_samples, warmup=warmup)
        requests = sizes.record_samples + warmup
        written_during = downloads_by(hub, admin.id, since)
        hub.ctx.activity.flush()
        written = downloads_by(hub, admin.id, since)

        def record(recorder: Any) -> Callable[[], None]:
            def call() -> None:
                recorder.record(
                    admin.id,
                    ActivityType.download,
                    resource=("image", image.id),
                    details={"sizeBytes": image.size_bytes},
                    ip="10.0.0.1",
                    user_agent="bench",
                )

            return call

        mark = datetime.now(UTC)
        alone = measure(
            {"on": record(hub.ctx.activity), "off": record(quiet.ctx.activity)},
            samples=sizes.record_calls,
            warmup=10,
        )
        hub.ctx.activity.flush()
        record_written = downloads_by(hub, admin.id, mark)
    micro = {key: Stats(tuple(v * 1000 for v in s.samples_ms)) for key, s in alone.items()}
    return Recording(
        stats, micro, requests, written_during, written, sizes.record_calls + 10, record_written
    )


# -- one database ---------------------------------------------------------------------------
def bench_backend(
    name: str, url: str, data_dir: Path, sizes: Sizes, seeded: Seeded
) -> BackendResult:
    with running_hub(hub_settings(data_dir / "on", url)) as hub:
        headers = login(hub.client, ADMIN_EMAIL)
        hub.ctx.activity.flush()  # the bench's own sign-in, counted today
        with hub.ctx.db.read_session() as session:
            admin = session.scalars(select(User).where(User.email == ADMIN_EMAIL)).one()
            session.expunge(admin)
        paths = {
            "d30": "/api/analytics/dashboard?days=30",
            "d365": "/api/analytics/dashboard?days=365",
            "user": f"/api/analytics/user/{seeded.busy_user}?days=30",
            "recent": "/api/analytics/activity/recent?limit=50",
            "me": "/api/auth/me",
            "viewed": "/api/analytics/images/most-viewed",
            "types": "/api/analytics/images/statistics",
        }
        progress(f"{name}: checking the answers against the seed")
        checks = check_dashboard(hub, headers, seeded, admin.id, 30)
        checks += check_dashboard(hub, headers, seeded, admin.id, 365)
        checks += check_others(hub, headers, seeded, paths)
        compared = compare_with_compute_day(hub, seeded)

        cases: dict[str, Callable[[], Any]] = {
            key: api_call(hub, headers, path)
            for key, path in paths.items()
            if key not in ("viewed", "types")
        }
        cases["s30"] = service_call(hub, admin, 30)
        cases["s365"] = service_call(hub, admin, 365)
        # Checked above; from here on each request is timed by the server side.
        cases = {
            case.key: hub.client.server_timed(cases[case.key])
            if case.key in paths
            else cases[case.key]
            for case in CASES
        }
        progress(f"{name}: {len(cases)} cases × {sizes.samples} samples, interleaved")
        stats = measure(cases, samples=sizes.samples, warmup=sizes.warmup)
        slow: dict[str, Callable[[], Any]] = {
            case.key: hub.client.server_timed(api_call(hub, headers, paths[case.key]))
            for case in SLOW_CASES
        }
        progress(f"{name}: image tables, {sizes.slow_samples} samples")
        stats |= measure(slow, samples=sizes.slow_samples, warmup=0)  # the checks warmed them

        plans = query_plans(hub, admin, seeded.busy_user)
        recording = bench_recording(hub, headers, admin, url, data_dir / "off", sizes)
    return BackendResult(name, stats, recording, plans, checks, compared)


# -- the report -----------------------------------------------------------------------------
def figures_table(result: BackendResult, sizes: Sizes) -> Table:
    table = Table(
        ["case", "n", "p50", "p95", "p99"],
        title=f"{result.name}: milliseconds, interleaved rounds",
    )
    for case in (*CASES, *SLOW_CASES):
        s = result.stats[case.key]
        table.add(case.label, str(s.n), fmt_ms(s.p50), fmt_ms(s.p95), fmt_ms(s.p99))
    return table


def fmt_us(value: float) -> str:
    return f"{value:.1f} µs" if value < 100 else f"{value:.0f} µs"


def recording_table(result: BackendResult) -> Table:
    rec = result.recording
    on, off = rec.stats["on"], rec.stats["off"]
    table = Table(
        ["case", "n", "p50", "p95", "p99"],
        title=f"{result.name}: recording, milliseconds (record() alone in µs)",
    )
    table.add(
        "GET …/download, recording on", str(on.n), fmt_ms(on.p50), fmt_ms(on.p95), fmt_ms(on.p99)
    )
    table.add(
        "GET …/download, recording off",
        str(off.n),
        fmt_ms(off.p50),
        fmt_ms(off.p95),
        fmt_ms(off.p99),
    )
    table.add(
        "difference (on − off)",
        "",
        fmt_ms(on.p50 - off.p50),
        fmt_ms(on.p95 - off.p95),
        fmt_ms(on.p99 - off.p99),
    )
    for key, label in (("on", "record(), recording on"), ("off", "record(), recording off")):
        s = rec.record_us[key]
        table.add(label, str(s.n), fmt_us(s.p50), fmt_us(s.p95), fmt_us(s.p99))
    return table


def targets_table(report: Report, results: list[BackendResult | None], names: list[str]) -> Table:
    table = Table(["database", "target (issue 4)", "measured", "result"], title="Targets")
    for name, result in zip(names, results, strict=True):
        if result is None:
            table.add(
                name, "measured at all", "PostgreSQL not installed", report.check(name, False)
            )
            continue
        for case in CASES:
            if case.target:
                p95 = result.stats[case.key].p95
                label = (
                    f"{case.label.removeprefix('GET /api/analytics/')} p95 < {P95_TARGET_MS:.0f} ms"
                )
                table.add(
                    name,
                    label,
                    f"{fmt_ms(p95)} ms",
                    report.check(f"{name}: {label}", p95 < P95_TARGET_MS),
                )
        rec = result.recording
        added = rec.stats["on"].p95 - rec.stats["off"].p95
        label = f"recording adds < {RECORDING_TARGET_MS:.0f} ms at p95"
        table.add(
            name,
            label,
            f"{fmt_ms(added)} ms",
            report.check(f"{name}: {label}", added < RECORDING_TARGET_MS),
        )
        label = "every recorded download written"
        ok = rec.written == rec.requests
        table.add(
            name,
            label,
            f"{rec.written:,} of {rec.requests:,}",
            report.check(f"{name}: {label}", ok),
        )
    return table


def seed_text(seeded: Seeded, sizes: Sizes) -> str:
    kinds = ", ".join(
        f"{kind} {count / seeded.activity:.1%}" for kind, count in seeded.kinds.most_common()
    )
    seconds = seeded.seconds
    timing = "; ".join(
        f"{name} {seconds[name]:.0f} s (rows {seconds[f'{name} rows']:.0f} s, "
        f"indexes {seconds[f'{name} indexes']:.0f} s, "
        f"vacuum and analyse {seconds[f'{name} vacuum']:.0f} s)"
        for name in ("SQLite", "PostgreSQL")
        if name in seconds
    )
    today_rows = seeded.today_counts.rows
    return (
        f"Data (`bench/analytics_seed.py`), generated for this run and identical in both "
        f"databases: {seeded.users:,} users; {seeded.images:,} images over three years "
        f"(plus {seeded.deleted_images:,} uploaded and deleted again); {seeded.activity:,} "
        f"`user_activity` rows from {seeded.today - timedelta(days=365)} to now ({kinds}); "
        f"{seeded.image_views:,} `image_views` rows (one per view, minus those of deleted "
        f"images); 365 `system_stats` rows computed from the generator's own counts, as "
        f"`compute_day` would have written each just after its day. Today holds "
        f"{today_rows:,} activity rows between midnight and now, a busy weekday's worth "
        f"(the dashboard counts today live from raw rows), with {seeded.today_counts.view_rows:,} "
        f"views, {seeded.today_new_images:,} uploads and {seeded.today_new_users} new users. "
        f"Seeded both databases at once, one process each: {timing}. The hubs keep raw "
        f"activity {RETENTION_DAYS} days (`VESALIUS_ANALYTICS_RETENTION_DAYS`; the default 90 "
        f"would have its daily duty delete three quarters of it)."
    )


def write_report(
    results: list[BackendResult | None], seeded: Seeded, sizes: Sizes, machine: str
) -> Report:
    report = Report(NAME, f"{TITLE} ({sizes.seed.activity:,} activity rows)")
    measured = [r for r in results if r is not None]
    report.text(
        f"Run {today()} on {machine}. API figures go through the whole ASGI app in-process "
        "(middlewares, bearer-token check, service, response model, JSON), signed in as an "
        "administrator, from the app being called to its last response byte; service "
        "figures call `AnalyticsService.dashboard` in a read session. "
        f"{sizes.warmup} warm-up rounds, then {sizes.samples} rounds in which every case runs "
        f"once (interleaved); the two image tables read whole tables and run "
        f"{sizes.slow_samples} rounds on their own."
    )
    report.text(seed_text(seeded, sizes))
    if measured:
        first = measured[0]
        report.text(
            f"Checked before timing, on each database: {len(first.checks)} figures of the "
            "answers equal what was seeded (the 30- and 365-day dashboards' views, downloads, "
            "uploads, new and total images, storage, users and active users; today's sign-ins; "
            "the busiest user's totals by type; the feed's 50 rows; most viewed in order; "
            "every image in the statistics). And yesterday's seeded `system_stats` row beside "
            "`compute_day` run now (in a transaction rolled back):"
        )
        table = Table(["field", "seeded row", "compute_day now"], title=f"{yesterday_of(seeded)}")
        for name, seeded_value, now_value in first.compared:
            table.add(name, f"{seeded_value:,}", f"{now_value:,}")
        report.table(table)
        report.text(
            "The user and event figures agree exactly; views, new and total images and storage "
            "differ only by what was deleted since (`compute_day` counts the images and views "
            "left; the seeded row is what it counted when the day ended)."
        )
    report.text(
        "Seed reference (`001_…`): ~80 ms for the dashboard's user-stats query. "
        f"Targets (issue 4): dashboard p95 < {P95_TARGET_MS:.0f} ms for 30 and 365 days; "
        f"recording adds < {RECORDING_TARGET_MS:.0f} ms at p95."
    )
    for result in measured:
        report.table(figures_table(result, sizes))
    report.heading("Cost of recording")
    report.text(
        "`GET /api/images/{id}/download` (a 256 KiB file) records a `download` activity on "
        "every call: timed in two hubs on the same database, one recording (the default) and "
        "one with `VESALIUS_ANALYTICS_ENABLED=false`, interleaved; 20 warm-up rounds. The "
        "recording hub's background writer flushes every second meanwhile, and its flushes "
        "(a batched INSERT and the users' `last_active_at`) compete for the same two cores, "
        "so they are in the figure. Then `ActivityRecorder.record()` itself, called directly."
    )
    for result in measured:
        report.table(recording_table(result))
        rec = result.recording
        report.text(
            f"{result.name}: of {rec.requests:,} recorded downloads, the background writer had "
            f"written {rec.written_during:,} by the end of the timing and "
            f"{rec.written:,} after the final flush; the {rec.record_calls:,} direct "
            f"`record()` calls wrote {rec.record_written:,} rows."
        )
    report.table(targets_table(report, results, ["SQLite", "PostgreSQL"]))
    for result in measured:
        report.plans(result.name, result.plans)
    return report


def yesterday_of(seeded: Seeded) -> str:
    return f"{seeded.today - timedelta(days=1)}: seeded row and compute_day now"


def run(options: RunOptions) -> Report:
    quiet_logging()
    sizes = QUICK if options.quick else FULL
    results: list[BackendResult | None] = []
    pg_version: str | None = None
    load_before = load_average()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="vesalius-bench-") as tmp:
        base = Path(tmp)
        urls = {"SQLite": sqlite_url(base / "sqlite")}
        with maybe_postgres(base) as server:
            if server is not None:
                pg_version = server_version(server)
                urls["PostgreSQL"] = create_database(server, "bench_analytics")
            for url in urls.values():
                migrated(url)
            password_hash = Passwords(bench_settings(base / "keys", urls["SQLite"])).hash(
                BENCH_PASSWORD
            )
            seeded = seed(urls, sizes.seed, password_hash, progress)
            progress("seeded: " + ", ".join(f"{k} {v:.0f} s" for k, v in seeded.seconds.items()))
            for name, url in urls.items():
                results.append(bench_backend(name, url, base / name, sizes, seeded))
            if server is None:
                results.append(None)
        machine = describe_machine(base, load_before, pg_version).line()
    report = write_report(results, seeded, sizes, machine)
    report.text(f"Whole bench, seeding included: {time.perf_counter() - started:.0f} s.")
    return report


def maybe_postgres(base: Path) -> contextlib.AbstractContextManager[PostgresServer | None]:
    """``postgres()`` when PostgreSQL is installed, else a context giving None."""
    if postgres_available():
        return postgres(base / "postgres")
    return contextlib.nullcontext(None)
