"""The analytics page's tables: file types, most-viewed images and the recent-activity feed."""

from collections.abc import Awaitable, Callable
from typing import Any

from nicegui import ui

from vesalius.imaging.models import FileType
from vesalius.ui.analytics_data import ActivityEntry, ActivityPage, ViewedImage
from vesalius.ui.images import FILE_TYPE_LABELS, Links, human_size
from vesalius.ui.widgets import hook, when

# What each activity reads as in the feed, and its icon, colour and background.
ACTIVITY_WORDS = {
    "login": ("signed in", "login", "primary", "blue-1"),
    "logout": ("signed out", "logout", "grey-7", "grey-3"),
    "login_failed": ("failed to sign in", "gpp_bad", "negative", "red-1"),
    "upload": ("uploaded", "cloud_upload", "secondary", "teal-1"),
    "view": ("viewed", "visibility", "primary", "blue-1"),
    "download": ("downloaded", "download", "amber-9", "amber-1"),
    "delete": ("deleted", "delete", "negative", "red-1"),
}
NUMBER = "text-right tabular-nums"


def section(title: str, subtitle: str) -> ui.card:
    card = ui.card().classes("w-full min-w-0 gap-2 p-4").props("flat bordered")
    with card, ui.column().classes("gap-0"):
        ui.label(title).classes("text-subtitle1 text-weight-medium")
        ui.label(subtitle).classes("text-caption text-grey-7")
    return card


def _header(*titles: str) -> None:
    for index, title in enumerate(titles):
        ui.label(title).classes(
            "text-caption text-grey-7 text-weight-medium uppercase"
            + (f" {NUMBER}" if index else "")
        )


def file_type_table(rows: list[dict[str, Any]]) -> None:
    """Per file type: images, total and average size (now, not per range)."""
    if not rows:
        ui.label("No images yet.").classes("text-body2 text-grey-7 py-2")
        return
    with hook(
        ui.element("div").classes("w-full grid grid-cols-4 gap-x-4 gap-y-2 items-center"),
        "file-type-table",
    ):
        _header("Type", "Images", "Total", "Average")
        for row in rows:
            label = FILE_TYPE_LABELS.get(FileType(row["file_type"]), row["file_type"])
            marker = hook(ui.label(label), "file-type-row").classes("text-body2")
            marker.props["data-file-type"] = row["file_type"]
            hook(ui.label(f"{row['count']:,}"), "file-type-count").classes(f"text-body2 {NUMBER}")
            hook(ui.label(human_size(row["total_bytes"])), "file-type-total").classes(
                f"text-body2 {NUMBER}"
            )
            ui.label(human_size(row["average_bytes"])).classes(f"text-body2 {NUMBER}")
        ui.separator().classes("col-span-4")
        ui.label("All").classes("text-body2 text-weight-medium")
        ui.label(f"{sum(r['count'] for r in rows):,}").classes(
            f"text-body2 text-weight-medium {NUMBER}"
        )
        ui.label(human_size(sum(r["total_bytes"] for r in rows))).classes(
            f"text-body2 text-weight-medium {NUMBER}"
        )
        ui.label("")


def duration(ms: int | None) -> str:
    if ms is None:
        return "—"
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.1f} s"
    return f"{seconds // 60:.0f} min {seconds % 60:02.0f} s"


def most_viewed_table(images: list[ViewedImage], links: Links) -> None:
    """The most-viewed images (all time); each links to the viewer."""
    if not images:
        ui.label("No image has been viewed yet.").classes("text-body2 text-grey-7 py-2")
        return
    with ui.column().classes("w-full gap-0"):
        with ui.row().classes("w-full items-center no-wrap gap-3 pb-1"):
            ui.label("Image").classes("col text-caption text-grey-7 text-weight-medium uppercase")
            for title in ("Views", "Avg. time"):
                ui.label(title).classes(
                    f"w-16 text-caption text-grey-7 text-weight-medium uppercase {NUMBER}"
                )
        for rank, image in enumerate(images, start=1):
            _viewed_row(rank, image, links)


def _viewed_row(rank: int, image: ViewedImage, links: Links) -> None:
    row = hook(ui.link(target=f"/images/{image.id}"), "most-viewed-row").classes(
        "w-full no-underline text-grey-9 rounded-borders hover:bg-grey-2 py-1"
    )
    row.props["data-image-id"] = str(image.id)
    with row, ui.row().classes("w-full items-center no-wrap gap-3"):
        ui.label(str(rank)).classes("w-4 text-caption text-grey-6 text-right gt-xs")
        with ui.element("div").classes(
            "w-12 h-12 shrink-0 rounded-borders overflow-hidden bg-grey-10 flex flex-center"
        ):
            if image.ready:
                hook(
                    ui.image(links.thumbnail(image.id)).props("fit=cover no-spinner"),
                    "most-viewed-thumbnail",
                ).classes("w-full h-full")
            else:
                ui.icon("image_not_supported", color="grey-5")
        with ui.column().classes("col min-w-0 gap-0"):
            name = hook(ui.label(image.name), "most-viewed-name").classes(
                "text-body2 text-weight-medium ellipsis w-full"
            )
            name.props["title"] = image.name
            kind = FILE_TYPE_LABELS.get(image.file_type, image.file_type.value)
            ui.label(" · ".join(p for p in (kind, image.modality) if p)).classes(
                "text-caption text-grey-7"
            )
        hook(ui.label(f"{image.views:,}"), "most-viewed-views").classes(
            f"w-16 text-body2 text-weight-medium {NUMBER}"
        )
        ui.label(duration(image.average_ms)).classes(f"w-16 text-body2 text-grey-8 {NUMBER}")


LoadMore = Callable[[str], Awaitable[ActivityPage | None]]


class ActivityFeed:
    """Newest first; "Load more" continues from the service's cursor."""

    def __init__(self, first: ActivityPage, load_more: LoadMore) -> None:
        self.load_more = load_more
        self.next_cursor = first.next_cursor
        self.list = hook(ui.column().classes("w-full gap-0"), "activity-feed")
        self.empty = ui.label("Nothing has happened yet.").classes("text-body2 text-grey-7 py-2")
        self.more = hook(
            ui.button("Load more", icon="expand_more", on_click=self._more).props(
                "flat no-caps color=primary"
            ),
            "activity-more",
        ).classes("self-center")
        self._add(first)

    def _add(self, page: ActivityPage) -> None:
        with self.list:
            for entry in page.entries:
                _activity_row(entry)
        self.next_cursor = page.next_cursor
        self.more.set_visibility(self.next_cursor is not None)
        self.empty.set_visibility(not self.list.default_slot.children)

    async def _more(self) -> None:
        if self.next_cursor is None:
            return
        self.more.props("loading")
        try:
            page = await self.load_more(self.next_cursor)
        finally:
            self.more.props(remove="loading")
        if page is not None:
            self._add(page)


def _activity_row(entry: ActivityEntry) -> None:
    words, icon, color, background = ACTIVITY_WORDS.get(
        entry.kind, (entry.kind, "bolt", "grey-7", "grey-3")
    )
    who = entry.email or entry.details.get("email") or "someone"
    row = hook(ui.row(), "activity-row").classes(
        "w-full items-center no-wrap gap-3 py-2 border-b border-gray-200 last:border-b-0"
    )
    row.props["data-activity"] = entry.kind
    with row:
        with ui.avatar(color=background, text_color=color, size="34px"):
            ui.icon(icon, size="18px")
        with ui.column().classes("col min-w-0 gap-0"):
            # Wraps on a phone rather than cutting the names short.
            with ui.row().classes("w-full gap-x-1 gap-y-0 items-baseline"):
                ui.label(str(who)).classes("text-body2 text-weight-medium ellipsis max-w-full")
                ui.label(words).classes("text-body2 text-grey-8")
                _resource(entry)
            ui.label(
                " · ".join(p for p in (f"{when(entry.at)} UTC", entry.ip_address) if p)
            ).classes("text-caption text-grey-6 ellipsis w-full")


def _resource(entry: ActivityEntry) -> None:
    if entry.resource_type != "image" or entry.resource_id is None:
        return
    text = entry.resource_name or str(entry.details.get("name") or f"image #{entry.resource_id}")
    if entry.resource_name is None:  # deleted since
        ui.label(text).classes("text-body2 text-grey-8 ellipsis max-w-full")
        return
    link = ui.link(text, target=f"/images/{entry.resource_id}").classes(
        "text-body2 text-primary ellipsis max-w-full"
    )
    link.props["title"] = text
