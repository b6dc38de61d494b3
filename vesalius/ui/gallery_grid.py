"""The gallery's cards: thumbnail, name, what the image shows, and a live status badge."""

from nicegui import ui

from vesalius.imaging.models import ImageStatus
from vesalius.ui.images import FILE_TYPE_LABELS, STATUS_COLORS, STATUS_LABELS, ImageInfo, Links
from vesalius.ui.widgets import hook, when

# auto-fill columns: as many cards of at least 150 px as fit (two on a phone, six on a
# laptop), so the grid needs no breakpoints.
GRID_CLASSES = "w-full grid gap-4 grid-cols-[repeat(auto-fill,minmax(150px,1fr))]"


class ImageCard:
    """One card; ``show`` moves it to a new status without rebuilding the whole grid."""

    def __init__(self, info: ImageInfo, links: Links, *, progress: int = 0) -> None:
        self.info = info
        self.links = links
        self.link = hook(ui.link(target=f"/images/{info.id}"), "image-card").classes(
            "no-underline text-grey-9 block"
        )
        self.link.props["data-image-id"] = str(info.id)
        self.link.props["data-name"] = info.original_name
        with (
            self.link,
            ui.card().classes("w-full p-0 gap-0 overflow-hidden").props("flat bordered"),
        ):
            self.picture = ui.element("div").classes(
                "w-full aspect-square bg-grey-10 relative-position flex flex-center"
            )
            with ui.column().classes("w-full px-3 py-2 gap-0"):
                name = ui.label(info.original_name).classes(
                    "text-body2 text-weight-medium ellipsis w-full"
                )
                name.props["title"] = info.original_name
                hook(name, "image-name")
                hook(ui.label(_subtitle(info)), "image-subtitle").classes(
                    "text-caption text-grey-8 ellipsis w-full"
                )
                dates = ui.label(_dates(info)).classes("text-caption text-grey-6 ellipsis w-full")
                dates.props["title"] = f"Uploaded {when(info.created_at)} UTC"
        self.show(info, progress)

    @property
    def id(self) -> int:
        return self.info.id

    @property
    def processing(self) -> bool:
        return self.info.status == ImageStatus.processing

    def show(self, info: ImageInfo, progress: int = 0) -> None:
        self.info = info
        self.link.props["data-status"] = info.status.value
        self.picture.clear()
        with self.picture:
            if info.status == ImageStatus.ready:
                hook(
                    ui.image(self.links.thumbnail(info.id)).props("fit=contain no-spinner"),
                    "image-thumbnail",
                ).classes("w-full h-full")
            elif info.status == ImageStatus.processing:
                with ui.column().classes("items-center gap-2 text-grey-5"):
                    self.spinner = ui.circular_progress(
                        value=progress, max=100, show_value=False, size="3rem", color="amber-7"
                    ).props("track-color=grey-8 thickness=0.15")
                    ui.label("Converting…").classes("text-caption")
            else:
                with ui.column().classes("items-center gap-1 text-grey-5 px-4"):
                    ui.icon("broken_image", size="3rem")
                    ui.label("No preview").classes("text-caption")
            self.badge = hook(
                ui.badge(_badge_text(info.status, progress), color=STATUS_COLORS[info.status]),
                "image-status",
            ).classes("absolute-top-right q-ma-sm text-weight-medium")
            if info.status == ImageStatus.failed:
                self.badge.classes("cursor-help")
                with self.badge:
                    hook(
                        ui.tooltip(info.failure_reason or "The conversion failed."),
                        "image-failure-reason",
                    ).classes("text-body2 max-w-xs")
        self.link.update()

    def show_progress(self, progress: int) -> None:
        if self.processing:
            self.spinner.set_value(progress)
            self.badge.set_text(_badge_text(ImageStatus.processing, progress))


def _badge_text(status: ImageStatus, progress: int) -> str:
    if status == ImageStatus.processing:
        return f"{STATUS_LABELS[status]} {progress}%"
    return STATUS_LABELS[status]


def _subtitle(info: ImageInfo) -> str:
    if info.is_dicom:
        parts = [info.modality or "DICOM", info.patient or "no patient name"]
    else:
        parts = [FILE_TYPE_LABELS[info.file_type]]
        if info.width and info.height:
            parts.append(f"{info.width}×{info.height}")
    return " · ".join(parts)


def _dates(info: ImageInfo) -> str:
    if info.study_date is not None:
        return f"Study {info.study_date.isoformat()}"
    return f"Uploaded {info.created_at:%Y-%m-%d}"
