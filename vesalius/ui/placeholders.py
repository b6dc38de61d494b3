"""Gallery and Analytics: friendly empty pages until the imaging pipeline and analytics land."""

from nicegui import ui

from vesalius.context import AppContext
from vesalius.ui.layout import signed_in_page
from vesalius.ui.session import SignIn, Viewer
from vesalius.ui.widgets import hook


def register(ctx: AppContext) -> None:
    @signed_in_page("/gallery", ctx, title="Gallery", section="gallery")
    async def gallery(_signin: SignIn, viewer: Viewer) -> None:
        _empty_state(
            "gallery",
            icon="photo_library",
            title="Gallery",
            text=f"Welcome, {viewer.display_name}. Studies and images you upload will appear "
            "here; the gallery arrives with the imaging pipeline.",
        )

    @signed_in_page("/analytics", ctx, title="Analytics", section="analytics")
    async def analytics(_signin: SignIn, _viewer: Viewer) -> None:
        _empty_state(
            "analytics",
            icon="insights",
            title="Analytics",
            text="Activity, daily statistics and live charts will appear here; "
            "they arrive with analytics.",
        )


def _empty_state(name: str, *, icon: str, title: str, text: str) -> None:
    ui.label(title).classes("text-h5 text-weight-medium")
    with (
        hook(ui.card(), f"{name}-empty")
        .classes("w-full items-center py-16 gap-3")
        .props("flat bordered")
    ):
        ui.icon(icon, size="4rem", color="grey-5")
        ui.label("Nothing here yet").classes("text-h6 text-grey-8")
        ui.label(text).classes("text-body1 text-grey-7 text-center max-w-xl")
