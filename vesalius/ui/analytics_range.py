"""The range selector of the analytics pages: the last 7 to 90 days, or any two dates.

It only says what the user picked; the page asks the service, whose validation (a "from"
after the "to", too long a range …) comes back into ``error``.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date

from nicegui import ui
from nicegui.events import ValueChangeEventArguments

from vesalius.ui.widgets import error_label, hook

PRESETS = (7, 14, 30, 60, 90)
DEFAULT_DAYS = 30  # the seed's and the API's default
CUSTOM = "custom"


@dataclass(frozen=True)
class Period:
    """The last ``days`` days (today included), or the days ``first`` to ``last``."""

    days: int | None = DEFAULT_DAYS
    first: date | None = None
    last: date | None = None

    @property
    def is_custom(self) -> bool:
        return self.days is None


Changed = Callable[[Period], Awaitable[None]]


class RangeSelector:
    def __init__(self, on_change: Changed, *, custom: bool) -> None:
        self.on_change = on_change
        self.shown: tuple[date, date] | None = None
        options: dict[int | str, str] = {days: f"{days} days" for days in PRESETS}
        if custom:
            options[CUSTOM] = "Custom"
        with ui.row().classes("items-center gap-x-3 gap-y-2"):
            self.toggle = hook(
                ui.toggle(options, value=DEFAULT_DAYS, on_change=self._picked)
                .props(
                    "no-caps no-wrap unelevated dense toggle-color=primary color=white "
                    "text-color=grey-9"
                )
                .classes("gt-xs border border-gray-300 rounded-borders [&_.q-btn]:px-3"),
                "range-toggle",
            )
            # A phone has no room for six buttons: the same choice as a list, bound to the
            # buttons, which alone act on it.
            hook(
                ui.select({k: _longer(v) for k, v in options.items()})
                .bind_value(self.toggle, "value")
                .props("outlined dense options-dense")
                .classes("xs w-44"),
                "range-select",
            )
            with ui.row().classes("items-center gap-2 no-wrap") as self.custom_row:
                self.first = self._day("range-from", "From")
                ui.label("–").classes("text-grey-7")
                self.last = self._day("range-to", "To")
            self.custom_row.set_visibility(False)
        self.error = error_label("range-error")

    def _day(self, name: str, label: str) -> ui.input:
        return hook(
            ui.input(label, on_change=self._dates_changed)
            .props("outlined dense stack-label type=date")
            .classes("w-40 max-sm:w-36"),
            name,
        )

    def show(self, first: date, last: date) -> None:
        """The days the page now shows (what "Custom" starts from)."""
        self.shown = (first, last)
        self.error.set_text("")

    async def _picked(self, event: ValueChangeEventArguments[int | str | None]) -> None:
        if event.value == CUSTOM:
            self.custom_row.set_visibility(True)
            if self.shown is not None:
                # Start from the days on screen; setting the fields asks for them once each.
                first, last = self.shown
                self.first.set_value(first.isoformat())
                self.last.set_value(last.isoformat())
            return
        self.custom_row.set_visibility(False)
        if isinstance(event.value, int):
            await self.on_change(Period(days=event.value))

    async def _dates_changed(self) -> None:
        if self.toggle.value != CUSTOM:
            return
        first, last = _day(self.first.value), _day(self.last.value)
        if first is None or last is None:
            self.error.set_text("Pick both a “from” and a “to” date.")
            return
        if self.shown == (first, last):
            self.error.set_text("")
            return
        await self.on_change(Period(days=None, first=first, last=last))


def _longer(label: str) -> str:
    return "Custom range" if label == "Custom" else f"Last {label}"


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value or "")
    except ValueError:
        return None
