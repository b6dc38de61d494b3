"""The frame around every signed-in page: header, navigation and the user menu."""

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from nicegui import ui

from vesalius.context import AppContext
from vesalius.domains import NavEntry, hub
from vesalius.ui.account import change_password_dialog, two_factor_dialog
from vesalius.ui.session import SignIn, Viewer, client_of_page, login_url
from vesalius.ui.widgets import hook

PRODUCT = "Vesalius"
# Building a page waits for the database (token check, maybe a refresh behind another
# writer's lock on SQLite); NiceGUI's default of 3 s would show an error page instead.
PAGE_BUILD_SECONDS = 20.0

PageBuilder = Callable[..., Awaitable[None]]


def signed_in_page(
    path: str, ctx: AppContext, *, title: str, section: str, wide: bool = False
) -> Callable[[PageBuilder], PageBuilder]:
    """Register a page that needs a signed-in user; others are sent to the login page.

    ``build(signin, viewer, **path_parameters)`` fills the page; ``wide`` pages (the image
    viewer) use the whole window instead of a reading-width column.
    """

    def register(build: PageBuilder) -> PageBuilder:
        @ui.page(path, title=f"{title} · {PRODUCT}", response_timeout=PAGE_BUILD_SECONDS)
        async def page(request: Request) -> Response | None:
            signin = SignIn(ctx, client_of_page())
            viewer = await signin.viewer()
            if viewer is None:
                return RedirectResponse(login_url(str(request.url)), status_code=303)
            with app_frame(signin, viewer, section=section, wide=wide):
                await build(signin, viewer, **request.path_params)
            return None

        return build

    return register


@contextmanager
def app_frame(
    signin: SignIn, viewer: Viewer, *, section: str, wide: bool = False
) -> Iterator[None]:
    ui.query("body").classes("bg-grey-1")
    with ui.header().classes("items-center gap-1 px-2 sm:px-4 py-1 bg-white text-grey-9 shadow-1"):
        with ui.link(target="/gallery").classes(
            "row items-center gap-2 no-underline text-grey-9 mr-1 sm:mr-4"
        ):
            ui.icon("biotech", color="primary", size="sm")
            ui.label(PRODUCT).classes("text-h6 text-weight-medium")
        for entry in _visible(viewer, "main"):
            _nav_button(entry, section == entry.section)
        admin_entries = list(_visible(viewer, "admin"))
        if admin_entries:
            _admin_menu(admin_entries, active=section == "admin")
        ui.space()
        _user_menu(signin, viewer)
    width = "max-w-screen-2xl" if wide else "max-w-6xl"
    with ui.column().classes(f"w-full {width} mx-auto px-4 py-6 gap-4"):
        yield


def _labelled(label: str, icon: str) -> ui.button:
    """A header button whose label gives way to its icon alone on a phone, so the header keeps
    to one line."""
    button = ui.button(icon=icon).props(f'flat no-caps aria-label="{label}"')
    with button:
        ui.label(label).classes("gt-xs q-ml-sm")
    return button


def _visible(viewer: Viewer, menu: str) -> Iterator[NavEntry]:
    """The entries of one menu that the viewer's role may use (the domains declared them)."""
    for entry in hub().navigation(menu):
        if entry.roles is None or viewer.role in entry.roles:
            yield entry


def _nav_button(entry: NavEntry, active: bool) -> None:
    button = _labelled(entry.label, entry.icon).props(f"href={entry.path} tag=a")
    button.props("color=primary" if active else "color=grey-8")
    if active:
        button.classes("bg-blue-1")
    if entry.hook:
        hook(button, entry.hook)


def _admin_menu(entries: list[NavEntry], *, active: bool) -> None:
    button = _labelled("Admin", "admin_panel_settings")
    button.props("color=primary" if active else "color=grey-8")
    if active:
        button.classes("bg-blue-1")
    hook(button, "nav-admin")
    with button, ui.menu():
        for entry in entries:
            item = ui.menu_item(entry.label, on_click=lambda path=entry.path: ui.navigate.to(path))
            if entry.hook:
                hook(item, entry.hook)


def _user_menu(signin: SignIn, viewer: Viewer) -> None:
    initials = "".join(part[0] for part in viewer.display_name.split()[:2]).upper() or "?"
    with hook(ui.button().props("flat no-caps color=grey-9"), "user-menu"):
        with ui.row().classes("items-center gap-2 no-wrap"):
            with ui.avatar(color="primary", text_color="white", size="32px", font_size="13px"):
                ui.label(initials).classes("text-weight-medium")
            with ui.column().classes("gap-0 items-start gt-xs"):
                ui.label(viewer.display_name).classes("text-body2 text-weight-medium")
                ui.label(viewer.role.value.capitalize()).classes("text-caption text-grey-7")
        with ui.menu().classes("min-w-[16rem]"):
            with ui.column().classes("px-4 py-3 gap-0"):
                ui.label(viewer.display_name).classes("text-weight-medium")
                ui.label(viewer.email).classes("text-caption text-grey-7")
                hook(ui.badge(viewer.role.value.capitalize(), color="blue-1"), "viewer-role").props(
                    "text-color=primary"
                ).classes("mt-1")
            ui.separator()
            for entry in _visible(viewer, "user"):
                item = ui.menu_item(on_click=lambda path=entry.path: ui.navigate.to(path))
                if entry.hook:
                    hook(item, entry.hook)
                with item:
                    with ui.item_section().props("avatar"):
                        ui.icon(entry.icon)
                    with ui.item_section():
                        ui.label(entry.label)
            with hook(
                ui.menu_item(on_click=lambda: two_factor_dialog(signin, viewer)),
                "menu-two-factor",
            ):
                with ui.item_section().props("avatar"):
                    ui.icon("verified_user")
                with ui.item_section():
                    ui.label("Two-factor sign-in")
                with ui.item_section().props("side"):
                    state = ui.badge().props("outline")
                    state.bind_text_from(
                        viewer, "totp_enabled", backward=lambda on: "On" if on else "Off"
                    )
                    hook(state, "two-factor-state")
            with hook(
                ui.menu_item(on_click=lambda: change_password_dialog(signin)),
                "menu-change-password",
            ):
                with ui.item_section().props("avatar"):
                    ui.icon("password")
                with ui.item_section():
                    ui.label("Change password")
            ui.separator()

            async def sign_out() -> None:
                await signin.logout()
                ui.navigate.to("/login")

            with hook(ui.menu_item(on_click=sign_out), "menu-sign-out"):
                with ui.item_section().props("avatar"):
                    ui.icon("logout")
                with ui.item_section():
                    ui.label("Sign out")
