"""The image viewer: the picture with zoom and pan, window/level and frames for DICOM, what the
file says about itself, conversion progress, download and delete.

The picture is a signed ``/api/images/{id}/preview`` link; a new window or frame is a new
link, so the API renders (and caches) exactly what is asked for. Another user's image is
"not found", as the service says, never "forbidden".
"""

import time
from dataclasses import dataclass

from nicegui import ui
from sqlalchemy.orm import Session

from vesalius.accounts.deps import Principal
from vesalius.common.errors import AppError, NotFound
from vesalius.context import AppContext
from vesalius.imaging.models import ImageStatus
from vesalius.imaging.service import ImageService
from vesalius.jobs.models import JobStatus
from vesalius.ui.images import STATUS_COLORS, STATUS_LABELS, ImageInfo, Links
from vesalius.ui.layout import signed_in_page
from vesalius.ui.pan_zoom import PanZoomImage
from vesalius.ui.session import SignIn, Viewer
from vesalius.ui.viewer_info import JobInfo, automatic_window, job_panel, metadata_table
from vesalius.ui.viewer_window import Window, WindowControls
from vesalius.ui.widgets import confirm, empty_state, hook, report

POLL_SECONDS = 1.5
STAGE_CLASSES = "w-full h-[calc(100vh-210px)] min-h-[420px] rounded-borders"


@dataclass(frozen=True)
class Detail:
    image: ImageInfo
    jobs: list[JobInfo]


def register(ctx: AppContext) -> None:
    @signed_in_page("/images/{image_id}", ctx, title="Image", section="gallery", wide=True)
    async def viewer_page(signin: SignIn, viewer: Viewer, image_id: str) -> None:
        page = ViewerPage(ctx, signin, viewer, int(image_id) if image_id.isdigit() else 0)
        try:
            detail = await signin.call(page.detail)
        except NotFound:
            _not_found()
            return
        except AppError as failure:
            report(failure)
            return
        ui.page_title(f"{detail.image.original_name} · Vesalius")
        page.build(detail)
        page.time_the_view()


def _not_found() -> None:
    ui.status_code(404)
    card = empty_state(
        "image-not-found",
        icon="image_not_supported",
        title="Image not found",
        text="There is no such image, or it belongs to someone else. Images you upload are "
        "in your gallery.",
    )
    with card:
        ui.button("Back to the gallery", icon="photo_library").props(
            "flat no-caps href=/gallery tag=a"
        )


class ViewerPage:
    def __init__(self, ctx: AppContext, signin: SignIn, viewer: Viewer, image_id: int) -> None:
        self.ctx = ctx
        self.signin = signin
        self.image_id = image_id
        self.links = Links(ctx, viewer.id)
        self.view_id = ""

    def detail(self, session: Session, principal: Principal) -> Detail:
        service = ImageService(self.ctx, session)
        found = service.detail_for(principal.user, self.image_id)
        # Opening the viewer is one view; the previews it then fetches are not more views.
        self.view_id = service.note_view(principal.user, found.image, self.signin.client)
        return Detail(ImageInfo.of(found.image), [JobInfo.of(job) for job in found.jobs])

    def time_the_view(self) -> None:
        """Report how long the viewer stayed open when the browser tab goes away.

        The tab's last disconnect marks the end (NiceGUI deletes the client a few seconds
        later, after waiting for a reconnect that did not come). The view was checked against
        the user's permissions when it opened, so the duration goes straight to the recorder.
        """
        opened = time.monotonic()
        last_seen = [opened]
        client = ui.context.client

        def disconnected() -> None:
            last_seen[0] = time.monotonic()

        def closed() -> None:
            self.ctx.activity.view_closed(self.view_id, int((last_seen[0] - opened) * 1000))

        client.on_disconnect(disconnected)
        client.on_delete(closed)

    # -- layout -----------------------------------------------------------------------------
    def build(self, detail: Detail) -> None:
        self.info = detail.image
        self.content = ui.column().classes("w-full gap-3")
        self._fill(detail)
        self.poller = ui.timer(
            POLL_SECONDS, self.poll, active=detail.image.status == ImageStatus.processing
        )

    def _fill(self, detail: Detail) -> None:
        info = self.info = detail.image
        self.content.clear()
        with self.content:
            self._header(info)
            with ui.row().classes("w-full items-start gap-4 no-wrap max-md:flex-wrap"):
                with ui.column().classes("col min-w-0 gap-2 max-md:w-full max-md:flex-none"):
                    self._stage(info)
                with ui.column().classes("w-full md:w-[22rem] shrink-0 gap-3"):
                    if info.status == ImageStatus.ready:
                        with ui.card().classes("w-full gap-2").props("flat bordered"):
                            self.controls = WindowControls(
                                info,
                                automatic_window(detail.jobs),
                                self.show,
                                windowing=info.is_greyscale_dicom,
                            )
                            if not (info.is_greyscale_dicom or info.frames > 1):
                                ui.label("Window/level applies to greyscale DICOM images.").classes(
                                    "text-caption text-grey-7"
                                )
                    if info.status != ImageStatus.ready or any(
                        job.status != JobStatus.completed for job in detail.jobs
                    ):
                        with ui.card().classes("w-full gap-2").props("flat bordered"):
                            ui.label("Processing").classes("text-subtitle2 text-grey-9")
                            self.jobs = ui.column().classes("w-full gap-2")
                            with self.jobs:
                                job_panel(detail.jobs)
                    with ui.card().classes("w-full gap-1").props("flat bordered"):
                        ui.label("Details").classes("text-subtitle2 text-grey-9")
                        metadata_table(info)

    def _header(self, info: ImageInfo) -> None:
        with ui.row().classes("w-full items-center gap-2"):
            hook(
                ui.button(icon="arrow_back").props("flat round href=/gallery tag=a color=grey-8"),
                "viewer-back",
            ).tooltip("Back to the gallery")
            hook(
                ui.label(info.original_name).classes("text-h6 text-weight-medium ellipsis"),
                "viewer-title",
            )
            hook(
                ui.badge(STATUS_LABELS[info.status], color=STATUS_COLORS[info.status]),
                "viewer-status",
            )
            ui.space()
            download = hook(
                ui.button("Download", icon="download").props("flat no-caps tag=a"),
                "viewer-download",
            )
            download.props["href"] = self.links.download(info.id)
            hook(
                ui.button("Delete", icon="delete", on_click=self.delete).props(
                    "flat no-caps color=negative"
                ),
                "viewer-delete",
            )

    def _stage(self, info: ImageInfo) -> None:
        if info.status == ImageStatus.ready:
            self.picture = hook(
                PanZoomImage(self.links.preview(info.id), alt=info.original_name),
                "viewer-stage",
            ).classes(STAGE_CLASSES)
            with ui.row().classes("w-full items-center gap-2 text-caption text-grey-7"):
                ui.icon("mouse", size="xs")
                ui.label("Wheel to zoom, drag to pan, double-click to reset.")
                ui.space()
                hook(
                    ui.button("Reset view", icon="fit_screen", on_click=self.picture.reset).props(
                        "flat dense no-caps"
                    ),
                    "viewer-reset",
                )
            return
        with (
            hook(ui.element("div"), "viewer-waiting").classes(
                f"{STAGE_CLASSES} bg-black flex flex-center"
            ),
            ui.column().classes("items-center gap-3 text-grey-5 px-8"),
        ):
            if info.status == ImageStatus.processing:
                ui.spinner(size="3rem", color="amber-7")
                ui.label("Converting the image…").classes("text-body1")
            else:
                ui.icon("broken_image", size="4rem")
                ui.label("This image could not be converted.").classes("text-body1")
                if info.failure_reason:
                    hook(ui.label(info.failure_reason), "viewer-failure").classes(
                        "text-body2 text-center"
                    )

    # -- actions ----------------------------------------------------------------------------
    def show(self, window: Window | None, frame: int) -> None:
        self.picture.set_source(self.links.preview(self.info.id, window=window, frame=frame))

    async def poll(self) -> None:
        try:
            detail = await self.signin.call(self.detail)
        except NotFound:
            self.poller.active = False
            ui.navigate.to("/gallery")
            return
        except AppError as failure:
            self.poller.active = False
            report(failure)
            return
        if detail.image.status != ImageStatus.processing:
            self.poller.active = False
            self._fill(detail)  # the picture, controls and final details at once
            return
        self.jobs.clear()
        with self.jobs:
            job_panel(detail.jobs)

    async def delete(self) -> None:
        name = self.info.original_name
        if not await confirm(
            "Delete this image?",
            f"{name} and everything made from it (previews, thumbnails) will be removed. "
            "This cannot be undone.",
            action="Delete",
        ):
            return

        def remove(session: Session, principal: Principal) -> None:
            ImageService(self.ctx, session).delete(
                principal.user, self.image_id, self.signin.client
            )

        try:
            await self.signin.call(remove, write=True)
        except AppError as failure:
            report(failure)
            return
        self.poller.active = False
        ui.navigate.to("/gallery")
