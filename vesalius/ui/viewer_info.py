"""The viewer's side panels: what the file says about itself, and its conversion jobs."""

from dataclasses import dataclass
from typing import Any

from nicegui import ui
from pydicom.uid import UID

from vesalius.jobs.models import Job, JobStatus
from vesalius.ui.images import FILE_TYPE_LABELS, ImageInfo, human_size
from vesalius.ui.widgets import hook, when

JOB_LABELS = {
    "convert_dicom": "DICOM conversion, preview and thumbnails",
    "convert_image": "Preview and thumbnails",
    "make_thumbnails": "Preview and thumbnails",
}
JOB_STATUS_COLORS = {
    JobStatus.queued: "grey-7",
    JobStatus.running: "primary",
    JobStatus.retrying: "amber-8",
    JobStatus.completed: "positive",
    JobStatus.failed: "negative",
    JobStatus.cancelled: "grey-7",
}


@dataclass(frozen=True)
class JobInfo:
    id: int
    type: str
    status: JobStatus
    progress: int
    message: str | None
    error: str | None
    attempts: int
    max_attempts: int
    window: tuple[float, float] | None  # what the conversion chose, when it had to choose

    @classmethod
    def of(cls, job: Job) -> "JobInfo":
        result: dict[str, Any] = job.result or {}
        window = result.get("window")
        return cls(
            job.id,
            job.type,
            job.status,
            job.progress,
            job.message,
            job.error,
            job.attempts,
            job.max_attempts,
            (float(window[0]), float(window[1])) if isinstance(window, list | tuple) else None,
        )


def automatic_window(jobs: list[JobInfo]) -> tuple[float, float] | None:
    for job in jobs:
        if job.type == "convert_dicom" and job.window is not None:
            return job.window
    return None


def metadata_rows(info: ImageInfo) -> list[tuple[str, str]]:
    size = f"{info.width} × {info.height} px" if info.width and info.height else None
    rows: list[tuple[str, str | None]] = []
    if info.is_dicom:
        rows += [
            ("Patient", info.patient),
            ("Patient ID", info.patient_id),
            ("Study date", info.study_date.isoformat() if info.study_date else None),
            ("Modality", info.modality),
            ("View", info.view_position),
            ("Laterality", info.laterality),
            ("Body part", info.body_part),
            ("Manufacturer", info.manufacturer),
        ]
    rows += [
        ("Size", size),
        ("Bit depth", f"{info.bit_depth} bits" if info.bit_depth else None),
        ("Frames", str(info.frames)),
    ]
    if info.is_dicom:
        window = (
            f"C {info.window_center:g} / W {info.window_width:g}"
            if info.window_center is not None and info.window_width is not None
            else "none in the file (automatic)"
        )
        rows += [
            ("Photometric", info.photometric_interpretation),
            ("Transfer syntax", _uid_name(info.transfer_syntax_uid)),
            ("Window", window),
            ("SOP class", _uid_name(info.sop_class_uid)),
            ("SOP instance UID", info.sop_instance_uid),
            ("Study UID", info.study_instance_uid),
            ("Series UID", info.series_instance_uid),
        ]
    rows += [
        ("File", f"{FILE_TYPE_LABELS[info.file_type]}, {human_size(info.size_bytes)}"),
        ("Uploaded", f"{when(info.created_at)} UTC"),
        ("SHA-256", info.sha256),
    ]
    return [(label, value) for label, value in rows if value]


def _uid_name(uid: str | None) -> str | None:
    """ "1.2.840.10008.1.2.1" → "Explicit VR Little Endian (1.2.840.10008.1.2.1)"."""
    if not uid:
        return None
    name = UID(uid).name
    return uid if name == uid else f"{name} ({uid})"


def metadata_table(info: ImageInfo) -> None:
    with (
        hook(ui.element("q-markup-table"), "image-metadata")
        .props("flat dense wrap-cells separator=horizontal")
        .classes("w-full"),
        ui.element("tbody"),
    ):
        for label, value in metadata_rows(info):
            row = ui.element("tr")
            row.props["data-field"] = label
            with row:
                with ui.element("td").classes("text-grey-7 align-top w-32"):
                    ui.label(label)
                with ui.element("td").classes("break-all"):
                    ui.label(value)


def job_panel(jobs: list[JobInfo]) -> None:
    with ui.column().classes("w-full gap-2"):
        if not jobs:
            ui.label("Waiting for a worker to pick it up.").classes("text-caption text-grey-7")
        for job in jobs:
            with hook(ui.column(), "image-job").classes("w-full gap-1"):
                with ui.row().classes("w-full items-center no-wrap gap-2"):
                    ui.label(JOB_LABELS.get(job.type, job.type)).classes("text-body2 col")
                    ui.badge(job.status.value, color=JOB_STATUS_COLORS[job.status])
                ui.linear_progress(value=job.progress / 100, show_value=False, size="8px").props(
                    f"rounded color={JOB_STATUS_COLORS[job.status]} track-color=grey-3"
                )
                detail = job.error if job.status == JobStatus.failed else job.message
                if detail:
                    ui.label(detail).classes("text-caption text-grey-7 break-all")
                if job.attempts > 1:
                    ui.label(f"Attempt {job.attempts} of {job.max_attempts}").classes(
                        "text-caption text-grey-6"
                    )
