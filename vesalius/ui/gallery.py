"""The gallery: upload, filter and browse images, newest first, loading more as you scroll.

Pages come from ``ImageService.list_cursor`` (the same cursor pagination as ``GET
/api/images?useCursor=true``), so scrolling stays fast however deep it goes and images that
arrive meanwhile are neither repeated nor skipped. Cards of images still being converted are
polled every 1.5 s through ``ImageService.statuses`` and turn ready in place.
"""

from collections.abc import Callable
from dataclasses import dataclass

from nicegui import ui
from nicegui.events import GenericEventArguments
from sqlalchemy.orm import Session

from vesalius.accounts.deps import Principal
from vesalius.common.errors import AppError, NotFound
from vesalius.context import AppContext
from vesalius.imaging.models import ImageStatus
from vesalius.imaging.service import GalleryFilter, ImageService
from vesalius.ui.gallery_filters import FilterBar
from vesalius.ui.gallery_grid import GRID_CLASSES, ImageCard
from vesalius.ui.images import ImageInfo, Links
from vesalius.ui.layout import signed_in_page
from vesalius.ui.session import SignIn, Viewer
from vesalius.ui.uploader import Uploader
from vesalius.ui.widgets import hook, report

PAGE_SIZE = 24
POLL_SECONDS = 1.5
# Start loading the next page while the end of the grid is still this far below the window.
PREFETCH_MARGIN = "0px 0px 300px 0px"


@dataclass(frozen=True)
class Listing:
    images: list[ImageInfo]
    next_cursor: str | None


@dataclass(frozen=True)
class StatusUpdate:
    progress: dict[int, int]  # still processing: id → percent
    finished: list[ImageInfo]  # turned ready or failed since the page last looked
    gone: list[int]  # deleted meanwhile (or no longer visible to this user)


def register(ctx: AppContext) -> None:
    @signed_in_page("/gallery", ctx, title="Gallery", section="gallery")
    async def gallery_page(signin: SignIn, viewer: Viewer) -> None:
        page = GalleryPage(ctx, signin, viewer)
        try:
            first = await signin.call(page.listing(GalleryFilter(), cursor=None))
        except AppError as failure:
            report(failure)
            return
        page.build(first)


class GalleryPage:
    def __init__(self, ctx: AppContext, signin: SignIn, viewer: Viewer) -> None:
        self.ctx = ctx
        self.signin = signin
        self.viewer = viewer
        self.links = Links(ctx, viewer.id)
        self.filters = GalleryFilter()
        self.cards: dict[int, ImageCard] = {}
        self.next_cursor: str | None = None
        self.loading = False
        # Filters can change faster than the database answers; only the newest answer counts.
        self.generation = 0

    # -- reading ----------------------------------------------------------------------------
    def listing(
        self, filters: GalleryFilter, *, cursor: str | None
    ) -> Callable[[Session, Principal], Listing]:
        def load(session: Session, principal: Principal) -> Listing:
            page = ImageService(self.ctx, session).list_cursor(
                principal.user, filters, cursor=cursor, limit=PAGE_SIZE
            )
            return Listing([ImageInfo.of(image) for image in page.images], page.next_cursor)

        return load

    def _images(self, ids: list[int]) -> Callable[[Session, Principal], list[ImageInfo]]:
        def load(session: Session, principal: Principal) -> list[ImageInfo]:
            service = ImageService(self.ctx, session)
            return [ImageInfo.of(service.get_for(principal.user, i)) for i in ids]

        return load

    def _statuses(self, ids: list[int]) -> Callable[[Session, Principal], StatusUpdate]:
        def load(session: Session, principal: Principal) -> StatusUpdate:
            service = ImageService(self.ctx, session)
            found = service.statuses(principal.user, ids)
            progress: dict[int, int] = {}
            finished: list[ImageInfo] = []
            for image_id, (status, percent) in list(found.items()):
                if status == ImageStatus.processing:
                    progress[image_id] = percent
                    continue
                try:  # the reason it failed, and the size the conversion found
                    finished.append(ImageInfo.of(service.get_for(principal.user, image_id)))
                except NotFound:
                    found.pop(image_id)  # deleted this very moment
            return StatusUpdate(progress, finished, [i for i in ids if i not in found])

        return load

    # -- layout -----------------------------------------------------------------------------
    def build(self, first: Listing) -> None:
        with ui.row().classes("w-full items-center"):
            ui.label("Gallery").classes("text-h5 text-weight-medium")
            ui.space()
            self.summary = hook(ui.label().classes("text-body2 text-grey-7"), "gallery-summary")
        hook(Uploader(self.links, self.add_uploaded), "uploader").classes("w-full").props(
            "flat bordered color=primary"
        )
        FilterBar(self.refilter)
        self.grid = hook(ui.element("div").classes(GRID_CLASSES), "gallery-grid")
        self.empty = hook(
            ui.label().classes("w-full text-center text-grey-7 py-12"), "gallery-empty"
        )
        self.tail = ui.element("div").classes("w-full")
        self.poller = ui.timer(POLL_SECONDS, self.poll, active=False)
        self._show(first, replace=True)

    def _show(self, listing: Listing, *, replace: bool) -> None:
        if replace:
            self.grid.clear()
            self.cards.clear()
        with self.grid:
            for info in listing.images:
                if info.id not in self.cards:  # an upload shown at the top may come by again
                    self.cards[info.id] = ImageCard(info, self.links)
        self.next_cursor = listing.next_cursor
        self._update_tail()
        self._update_summary()
        self._watch_processing()

    def _update_tail(self) -> None:
        """A fresh sentinel after each page: if it is already in view (a tall window, a short
        page) it reports so at once and the next page follows."""
        self.tail.clear()
        if self.next_cursor is None:
            return
        with self.tail:
            sentinel = hook(
                ui.element("q-intersection").props(f'margin="{PREFETCH_MARGIN}"'),
                "gallery-more",
            ).classes("w-full min-h-[48px]")
            sentinel.on("visibility", self._sentinel_seen)
            with sentinel, ui.row().classes("w-full justify-center items-center gap-2 py-3"):
                ui.spinner(size="sm", color="grey-6")
                ui.label("Loading more images…").classes("text-body2 text-grey-7")

    def _update_summary(self) -> None:
        count = len(self.cards)
        self.empty.set_visibility(count == 0)
        self.empty.set_text(
            "No images yet. Drop files on the uploader above to add some."
            if self.filters == GalleryFilter()
            else "No images match these filters."
        )
        more = " — scroll for more" if self.next_cursor else ""
        self.summary.set_text(f"{count} image{'s' if count != 1 else ''} shown{more}")

    # -- loading ----------------------------------------------------------------------------
    async def refilter(self, filters: GalleryFilter) -> None:
        self.filters = filters
        self.generation += 1
        generation = self.generation
        try:
            listing = await self.signin.call(self.listing(filters, cursor=None))
        except AppError as failure:
            report(failure)
            return
        if generation == self.generation:
            self._show(listing, replace=True)

    async def _sentinel_seen(self, event: GenericEventArguments) -> None:
        if event.args is True:
            await self.load_more()

    async def load_more(self) -> None:
        if self.loading or self.next_cursor is None:
            return
        generation = self.generation
        self.loading = True
        try:
            listing = await self.signin.call(self.listing(self.filters, cursor=self.next_cursor))
        except AppError as failure:
            report(failure)
            return
        finally:
            self.loading = False
        if generation == self.generation:
            self._show(listing, replace=False)

    async def add_uploaded(self, ids: list[int]) -> None:
        """Put just-uploaded images at the top at once, whatever the filters say: the user
        wants to see that they arrived."""
        try:
            infos = await self.signin.call(self._images(ids))
        except AppError as failure:
            report(failure)
            return
        for info in infos:
            if info.id in self.cards:
                continue
            with self.grid:
                card = ImageCard(info, self.links)
            card.link.move(self.grid, target_index=0)
            self.cards[info.id] = card
        self._update_summary()
        self._watch_processing()

    # -- live status ------------------------------------------------------------------------
    def _watch_processing(self) -> None:
        self.poller.active = any(card.processing for card in self.cards.values())

    async def poll(self) -> None:
        ids = [card.id for card in self.cards.values() if card.processing]
        if not ids:
            self.poller.active = False
            return
        try:
            update = await self.signin.call(self._statuses(ids))
        except AppError as failure:
            self.poller.active = False
            report(failure)
            return
        for image_id, percent in update.progress.items():
            if image_id in self.cards:
                self.cards[image_id].show_progress(percent)
        for info in update.finished:
            if info.id in self.cards:
                self.cards[info.id].show(info)
        for image_id in update.gone:
            card = self.cards.pop(image_id, None)
            if card is not None:
                card.link.delete()
        self._update_summary()
        self._watch_processing()
