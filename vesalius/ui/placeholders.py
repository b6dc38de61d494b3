"""Analytics: a friendly empty page until analytics land."""

from nicegui import ui

from vesalius.context import AppContext
from vesalius.ui.layout import signed_in_page
from vesalius.ui.session import SignIn, Viewer
from vesalius.ui.widgets import empty_state


def register(ctx: AppContext) -> None:
    @signed_in_page("/analytics", ctx, title="Analytics", section="analytics")
    async def analytics(_signin: SignIn, _viewer: Viewer) -> None:
        ui.label("Analytics").classes("text-h5 text-weight-medium")
        empty_state(
            "analytics-empty",
            icon="insights",
            title="Nothing here yet",
            text="Activity, daily statistics and live charts will appear here; "
            "they arrive with analytics.",
        )
