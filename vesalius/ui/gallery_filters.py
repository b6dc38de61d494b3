"""The gallery's filter bar: text, file type, modality, status and an upload date range."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time
from typing import Any

from nicegui import ui

from vesalius.common.errors import BadRequest
from vesalius.imaging.models import FileType, ImageStatus
from vesalius.imaging.service import GalleryFilter
from vesalius.ui.images import FILE_TYPE_LABELS, STATUS_LABELS
from vesalius.ui.widgets import error_label, hook, readable

ALL = ""
HALF_ON_PHONES = "w-40 max-sm:w-[calc(50%-6px)]"  # two filters a row on a phone (gap-3)
# The modalities people file most; the service matches any code, these are just the choices.
MODALITIES = ("CT", "MR", "MG", "CR", "DX", "US", "XA", "NM", "PT", "RF", "OT", "SC")


@dataclass(frozen=True)
class Choices:
    """What the filter bar shows, before it is turned into the service's ``GalleryFilter``."""

    q: str = ""
    file_type: str = ALL
    modality: str = ALL
    status: str = ALL
    uploaded_from: str = ""
    uploaded_to: str = ""

    def gallery_filter(self) -> GalleryFilter:
        """Raises ``BadRequest`` for a range that ends before it starts."""
        return GalleryFilter(
            file_type=FileType(self.file_type) if self.file_type else None,
            modality=self.modality or None,
            status=ImageStatus(self.status) if self.status else None,
            created_from=_day_edge(self.uploaded_from, time.min),
            created_to=_day_edge(self.uploaded_to, time.max),
            q=self.q.strip() or None,
        )

    @property
    def is_default(self) -> bool:
        return self == Choices()


def _day_edge(day: str, moment: time) -> datetime | None:
    """The first or last instant of a day in UTC (the hub keeps times in UTC)."""
    if not day:
        return None
    try:
        return datetime.combine(date.fromisoformat(day), moment, tzinfo=UTC)
    except ValueError:
        return None


Changed = Callable[[GalleryFilter], Awaitable[None]]


class FilterBar:
    def __init__(self, on_change: Changed) -> None:
        self.on_change = on_change
        self.choices = Choices()
        with ui.row().classes("w-full items-center gap-3"):
            self.search = hook(
                ui.input(
                    placeholder="Search name or patient",
                    on_change=lambda e: self.change(q=e.value or ""),
                )
                .props("outlined dense clearable debounce=300")
                .classes("w-64 max-sm:w-full"),
                "filter-search",
            )
            with self.search.add_slot("prepend"):
                ui.icon("search")
            self.file_type = self._select(
                "filter-file-type",
                {ALL: "All types", **{t.value: label for t, label in FILE_TYPE_LABELS.items()}},
                "file_type",
            )
            self.modality = self._select(
                "filter-modality",
                {ALL: "All modalities", **{m: m for m in MODALITIES}},
                "modality",
            )
            self.status = self._select(
                "filter-status",
                {ALL: "Any status", **{s.value: label for s, label in STATUS_LABELS.items()}},
                "status",
            )
            self.uploaded_from = self._day("filter-from", "Uploaded from", "uploaded_from")
            self.uploaded_to = self._day("filter-to", "Uploaded to", "uploaded_to")
            self.clear_button = hook(
                ui.button("Clear", icon="filter_alt_off", on_click=self.clear).props(
                    "flat no-caps color=grey-8"
                ),
                "filter-clear",
            )
            self.clear_button.set_visibility(False)
        self.error = error_label("filter-error")

    def _select(self, name: str, options: dict[str, str], field: str) -> ui.select:
        return hook(
            ui.select(options, value=ALL, on_change=lambda e: self.change(**{field: e.value or ""}))
            .props("outlined dense options-dense")
            .classes(HALF_ON_PHONES),
            name,
        )

    def _day(self, name: str, label: str, field: str) -> ui.input:
        return hook(
            ui.input(label, on_change=lambda e: self.change(**{field: e.value or ""}))
            .props("outlined dense stack-label type=date")
            .classes(HALF_ON_PHONES),
            name,
        )

    async def change(self, **change: Any) -> None:
        choices = replace(self.choices, **change)
        if choices == self.choices:
            return
        self.choices = choices
        self.clear_button.set_visibility(not choices.is_default)
        try:
            wanted = choices.gallery_filter()
        except BadRequest as refusal:
            self.error.set_text(readable(refusal))
            return
        self.error.set_text("")
        await self.on_change(wanted)

    async def clear(self) -> None:
        # Setting each field fires its own change; apply them as one change instead.
        self.choices = Choices()
        for element in (self.file_type, self.modality, self.status):
            element.set_value(ALL)
        for field in (self.search, self.uploaded_from, self.uploaded_to):
            field.set_value("")
        self.clear_button.set_visibility(False)
        self.error.set_text("")
        await self.on_change(Choices().gallery_filter())
