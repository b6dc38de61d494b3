"""The queue monitor's job tables: running (with progress), waiting, and failed (with the error
and a Retry button). Rows are keyed by job id and updated in place, so a table refreshed every
two seconds neither flickers nor loses the button under the pointer."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from nicegui import ui

from vesalius.jobs.models import Job, JobStatus
from vesalius.ui.viewer_info import JOB_LABELS, JOB_STATUS_COLORS
from vesalius.ui.widgets import hook, when

Action = Callable[[int], Awaitable[None]]


@dataclass(frozen=True)
class JobRow:
    """A job as the monitor shows it, copied out of the database session."""

    id: int
    type: str
    queue: str
    status: JobStatus
    progress: int
    message: str | None
    error: str | None
    attempts: int
    max_attempts: int
    worker: str | None
    resource_type: str | None
    resource_id: int | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    run_after: datetime | None

    @classmethod
    def of(cls, job: Job) -> "JobRow":
        return cls(
            job.id,
            job.type,
            job.queue,
            job.status,
            job.progress,
            job.message,
            job.error,
            job.attempts,
            job.max_attempts,
            job.worker,
            job.resource_type,
            job.resource_id,
            job.created_at,
            job.started_at,
            job.finished_at,
            job.run_after,
        )


@dataclass(frozen=True)
class Section:
    """One table: which jobs, which columns, which buttons."""

    name: str
    title: str
    empty: str
    columns: tuple[str, ...]
    retry: bool = False
    cancel: bool = False


RUNNING = Section(
    "running",
    "Running",
    "No job is running.",
    ("Job", "Image", "Progress", "Worker", "Started (UTC)", ""),
    cancel=True,
)
WAITING = Section(
    "waiting",
    "Waiting",
    "Nothing is waiting.",
    ("Job", "Image", "Status", "Attempts", "Queued (UTC)", ""),
    cancel=True,
)
FAILED = Section(
    "failed",
    "Failed",
    "No failed jobs.",
    ("Job", "Image", "Error", "Attempts", "Failed (UTC)", ""),
    retry=True,
)


class JobTable:
    def __init__(self, section: Section, *, retry: Action, cancel: Action) -> None:
        self.section = section
        self.retry = retry
        self.cancel = cancel
        self.rows: dict[int, tuple[JobRow, ui.element]] = {}
        with ui.row().classes("w-full items-center gap-2 mt-2"):
            ui.label(section.title).classes("text-subtitle1 text-weight-medium")
            self.count = hook(ui.badge("0", color="grey-6"), f"queue-{section.name}-count")
        with hook(ui.card(), f"queue-{section.name}").classes("w-full p-0").props("flat bordered"):
            with (
                ui.element("q-markup-table")
                .props("flat dense separator=horizontal")
                .classes("w-full")
            ):
                with ui.element("thead"), ui.element("tr"):
                    for title in section.columns:
                        with ui.element("th").classes("text-left text-grey-8"):
                            ui.label(title)
                self.body = ui.element("tbody")
            self.empty = ui.label(section.empty).classes("text-grey-7 p-4")

    def show(self, jobs: list[JobRow]) -> None:
        wanted = [job.id for job in jobs]
        for job_id in [i for i in self.rows if i not in wanted]:
            self.rows.pop(job_id)[1].delete()
        for index, job in enumerate(jobs):
            known = self.rows.get(job.id)
            if known is not None and known[0] == job:
                element = known[1]
            else:
                if known is not None:
                    known[1].delete()
                with self.body:
                    element = self._row(job)
                self.rows[job.id] = (job, element)
            if self.body.default_slot.children.index(element) != index:
                element.move(self.body, target_index=index)
        self.count.set_text(str(len(jobs)))
        self.count.props(f"color={'negative' if self.section.retry and jobs else 'grey-6'}")
        self.empty.set_visibility(not jobs)

    def _row(self, job: JobRow) -> ui.element:
        row = hook(ui.element("tr"), "job-row")
        row.props["data-job-id"] = str(job.id)
        row.props["data-status"] = job.status.value
        if job.finished_at is not None:
            row.props["data-finished-at"] = job.finished_at.isoformat()
        with row:
            with ui.element("td"), ui.column().classes("gap-0"):
                ui.label(f"#{job.id} {JOB_LABELS.get(job.type, job.type)}").classes(
                    "text-weight-medium"
                )
                ui.label(f"queue: {job.queue}").classes("text-caption text-grey-7")
            with ui.element("td"):
                if job.resource_type == "image" and job.resource_id is not None:
                    ui.link(f"Image {job.resource_id}", f"/images/{job.resource_id}")
                else:
                    ui.label("—")
            if self.section is RUNNING:
                self._running_cells(job)
            elif self.section is WAITING:
                self._waiting_cells(job)
            else:
                self._failed_cells(job)
            with ui.element("td").classes("text-right"):
                if self.section.retry:
                    hook(
                        ui.button("Retry", icon="replay", on_click=lambda: self.retry(job.id)),
                        "job-retry",
                    ).props("flat dense no-caps color=primary")
                if self.section.cancel:
                    hook(
                        ui.button("Cancel", icon="cancel", on_click=lambda: self.cancel(job.id)),
                        "job-cancel",
                    ).props("flat dense no-caps color=grey-8")
        return row

    def _running_cells(self, job: JobRow) -> None:
        with ui.element("td").classes("min-w-[14rem]"), ui.column().classes("w-full gap-1"):
            with ui.row().classes("w-full items-center no-wrap gap-2"):
                hook(
                    ui.linear_progress(value=job.progress / 100, show_value=False, size="10px"),
                    "job-progress",
                ).props("rounded color=primary track-color=grey-3").classes("col")
                ui.label(f"{job.progress}%").classes("text-caption w-10 text-right")
            if job.message:
                ui.label(job.message).classes("text-caption text-grey-7")
        with ui.element("td"):
            ui.label(job.worker or "—").classes("text-caption break-all")
        with ui.element("td"):
            ui.label(when(job.started_at))

    def _waiting_cells(self, job: JobRow) -> None:
        with ui.element("td"):
            ui.badge(job.status.value, color=JOB_STATUS_COLORS[job.status])
            if job.run_after is not None:
                # A retry waits for its back-off; a queued job may be scheduled for later.
                due = "next try" if job.status == JobStatus.retrying else "not before"
                ui.label(f"{due} {when(job.run_after)}").classes("text-caption text-grey-7")
        with ui.element("td"):
            ui.label(f"{job.attempts} of {job.max_attempts}")
        with ui.element("td"):
            ui.label(when(job.created_at))

    def _failed_cells(self, job: JobRow) -> None:
        error = (job.error or "no error was recorded").strip()
        first_line = error.splitlines()[0] if error else error
        with ui.element("td").classes("max-w-[28rem]"):
            label = hook(ui.label(first_line), "job-error").classes(
                "text-negative text-body2 break-words"
            )
            if first_line != error:
                with label:
                    ui.tooltip(error).classes("text-body2 whitespace-pre-wrap max-w-xl")
        with ui.element("td"):
            ui.label(f"{job.attempts} of {job.max_attempts}")
        with ui.element("td"):
            ui.label(when(job.finished_at))
