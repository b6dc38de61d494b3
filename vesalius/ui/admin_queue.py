"""Admin → Queue monitor: live counts per queue, running jobs with their progress, waiting jobs,
and failed jobs with their error and a Retry button. Refreshed every two seconds.

Everything is read and changed through ``JobService`` as the signed-in user, so a
non-administrator is refused by the service's own check, as by ``GET /api/admin/queue/stats``.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from nicegui import ui
from sqlalchemy.orm import Session

from vesalius.accounts.deps import Principal
from vesalius.common.errors import AppError, Forbidden
from vesalius.context import AppContext
from vesalius.jobs.models import JobStatus
from vesalius.jobs.service import JobService, QueueStats
from vesalius.ui.admin_queue_jobs import FAILED, RUNNING, WAITING, JobRow, JobTable
from vesalius.ui.layout import signed_in_page
from vesalius.ui.session import SignIn, Viewer
from vesalius.ui.widgets import admin_refused, done, hook, report

REFRESH_SECONDS = 2.0
LISTED = 50  # per table; a longer backlog shows in the counts
QUEUE_TITLES = {"dicom": "DICOM conversion", "thumbnails": "Thumbnails"}
Apply = Callable[[Session, Principal], None]
COUNTERS = (
    ("waiting", "Waiting"),
    ("active", "Active"),
    ("delayed", "Delayed"),
    ("completed", "Completed"),
    ("failed", "Failed"),
    ("cancelled", "Cancelled"),
)

FIELDS = (
    *COUNTERS,
    ("rate", "Jobs / min"),
    ("oldest", "Oldest waiting"),
    ("workers", "Workers"),
)


@dataclass(frozen=True)
class Snapshot:
    queues: list[QueueStats]
    running: list[JobRow]
    waiting: list[JobRow]
    failed: list[JobRow]


def load_snapshot(ctx: AppContext, session: Session, principal: Principal) -> Snapshot:
    jobs = JobService(ctx, session)
    actor = principal.user
    stats = jobs.stats(actor)  # first: a non-administrator is refused here

    def listed(*statuses: JobStatus) -> list[JobRow]:
        found = [job for s in statuses for job in jobs.list_jobs(actor, status=s, limit=LISTED)]
        return [JobRow.of(job) for job in sorted(found, key=lambda job: -job.id)][:LISTED]

    return Snapshot(
        stats,
        listed(JobStatus.running),
        listed(JobStatus.queued, JobStatus.retrying),
        listed(JobStatus.failed),
    )


def register(ctx: AppContext) -> None:
    @signed_in_page("/admin/queue", ctx, title="Queue monitor", section="admin")
    async def queue_page(signin: SignIn, _viewer: Viewer) -> None:
        monitor = QueueMonitor(ctx, signin)
        try:
            first = await signin.call(monitor.snapshot)
        except Forbidden as refusal:
            admin_refused(refusal, "Watching the job queues is for administrators.")
            return
        except AppError as failure:
            report(failure)
            return
        monitor.build(first)


class QueueMonitor:
    def __init__(self, ctx: AppContext, signin: SignIn) -> None:
        self.ctx = ctx
        self.signin = signin
        self.counters: dict[tuple[str, str], ui.label] = {}

    def snapshot(self, session: Session, principal: Principal) -> Snapshot:
        return load_snapshot(self.ctx, session, principal)

    # -- layout -----------------------------------------------------------------------------
    def build(self, first: Snapshot) -> None:
        with ui.row().classes("w-full items-center gap-2"):
            ui.label("Queue monitor").classes("text-h5 text-weight-medium")
            ui.space()
            ui.icon("circle", color="positive", size="10px")
            self.updated = hook(ui.label().classes("text-body2 text-grey-7"), "queue-updated")
        with ui.element("div").classes(
            "w-full grid gap-4 grid-cols-[repeat(auto-fill,minmax(320px,1fr))]"
        ):
            for stats in first.queues:
                self._queue_card(stats)
        self.running = JobTable(RUNNING, retry=self.retry, cancel=self.cancel)
        self.waiting = JobTable(WAITING, retry=self.retry, cancel=self.cancel)
        self.failed = JobTable(FAILED, retry=self.retry, cancel=self.cancel)
        self._show(first)
        self.timer = ui.timer(REFRESH_SECONDS, self.refresh)

    def _queue_card(self, stats: QueueStats) -> None:
        card = hook(ui.card(), "queue-card").classes("w-full gap-3").props("flat bordered")
        card.props["data-queue"] = stats.queue
        with card:
            with ui.row().classes("w-full items-baseline gap-2"):
                ui.label(QUEUE_TITLES.get(stats.queue, stats.queue)).classes("text-h6")
                ui.label(f"queue “{stats.queue}”").classes("text-caption text-grey-7")
            with ui.element("div").classes("w-full grid grid-cols-3 gap-y-3 gap-x-2"):
                for field, title in FIELDS:
                    with ui.column().classes("gap-0"):
                        value = hook(ui.label().classes("text-h6 leading-tight"), f"queue-{field}")
                        ui.label(title).classes("text-caption text-grey-7")
                    self.counters[(stats.queue, field)] = value

    # -- refreshing -------------------------------------------------------------------------
    def _show(self, snapshot: Snapshot) -> None:
        for stats in snapshot.queues:
            values = {field: str(getattr(stats, field)) for field, _ in COUNTERS}
            values["rate"] = f"{stats.jobs_per_minute:g}"
            values["oldest"] = _age(stats.oldest_waiting_seconds)
            values["workers"] = str(stats.concurrency)
            for field, text in values.items():
                label = self.counters.get((stats.queue, field))
                if label is not None:
                    label.set_text(text)
                    if field == "failed":
                        label.classes(
                            "text-negative" if stats.failed else "", remove="text-negative"
                        )
        self.running.show(snapshot.running)
        self.waiting.show(snapshot.waiting)
        self.failed.show(snapshot.failed)
        self.updated.set_text(f"Live · updated {datetime.now(UTC):%H:%M:%S} UTC")

    async def refresh(self) -> None:
        try:
            snapshot = await self.signin.call(self.snapshot)
        except AppError as failure:
            # Say it once (the role was taken away, the database is down), not every 2 s.
            self.timer.deactivate()
            self.updated.set_text("Not updating — reload the page to try again")
            report(failure)
            return
        self._show(snapshot)

    # -- actions ----------------------------------------------------------------------------
    async def retry(self, job_id: int) -> None:
        def apply(session: Session, principal: Principal) -> None:
            JobService(self.ctx, session).retry(principal.user, job_id)

        await self._act(apply, f"Job #{job_id} is queued again.")

    async def cancel(self, job_id: int) -> None:
        def apply(session: Session, principal: Principal) -> None:
            JobService(self.ctx, session).cancel(principal.user, job_id)

        await self._act(apply, f"Job #{job_id} was cancelled.")

    async def _act(self, apply: Apply, message: str) -> None:
        try:
            await self.signin.call(apply, write=True)
        except AppError as failure:
            report(failure)
            return
        done(message)
        await self.refresh()


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
