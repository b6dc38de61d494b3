"""Summary cards: one big figure with a line of context, updated in place."""

from nicegui import ui

from vesalius.ui.widgets import hook

# Four cards a row on a laptop, two on a phone.
CARDS_GRID = "w-full grid gap-3 sm:gap-4 grid-cols-2 md:grid-cols-4"


def cards_grid() -> ui.element:
    return ui.element("div").classes(CARDS_GRID)


class StatCard:
    def __init__(self, name: str, title: str, icon: str, color: str) -> None:
        card = hook(ui.card(), name).classes("w-full min-w-0 gap-1 p-4").props("flat bordered")
        with card:
            with ui.row().classes("w-full items-center no-wrap gap-2"):
                ui.label(title).classes("text-body2 text-grey-8 col ellipsis")
                with ui.avatar(color=f"{color}-1", text_color=f"{color}-8", size="32px").classes(
                    "gt-xs"
                ):
                    ui.icon(icon, size="18px")
            self.value = hook(
                ui.label().classes("text-h5 text-weight-medium leading-tight tabular-nums"),
                "card-value",
            )
            self.detail = hook(ui.label().classes("text-caption text-grey-7"), "card-detail")

    def show(self, value: str, detail: str) -> None:
        self.value.set_text(value)
        self.detail.set_text(detail)


def count(n: int, one: str, many: str | None = None) -> str:
    return f"{n:,} {one if n == 1 else (many or one + 's')}"
