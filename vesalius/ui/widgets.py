"""Small pieces every page uses: test hooks, readable errors, a confirmation dialog, times."""

from datetime import UTC, datetime
from typing import Any, TypeVar

from nicegui import ui
from nicegui.element import Element

from vesalius.accounts.models import Role, UserStatus
from vesalius.common.errors import AppError, Forbidden
from vesalius.ui.session import SignInRequired, login_url

E = TypeVar("E", bound=Element)

ROLE_LABELS = {role.value: role.value.capitalize() for role in Role}
STATUS_LABELS = {status.value: status.value.capitalize() for status in UserStatus}

# Service messages are written for API clients; a few read better said differently on a page.
FRIENDLIER = {
    "totp_not_started": "Two-factor set-up was not started. Close this window and open it again.",
    "invalid_date_range": "The “from” date is after the “to” date.",
}


def hook(element: E, name: str) -> E:
    """Give an element a stable name for browser tests (data-testid) and NiceGUI's own tests
    (marker), so they never depend on wording."""
    element.props["data-testid"] = name
    return element.mark(name)


def readable(error: AppError) -> str:
    text = FRIENDLIER.get(error.code, error.message).strip()
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else f"{text}."


def report(error: AppError, into: ui.label | None = None) -> None:
    """Show a service error where the user is looking; a lost sign-in goes to the login page."""
    if isinstance(error, SignInRequired):
        ui.navigate.to(login_url(str(ui.context.client.request.url)))
        return
    if into is None:
        ui.notify(readable(error), type="negative", attrs={"data-testid": "notice-error"})
    else:
        into.set_text(readable(error))


def done(message: str) -> None:
    """Say that something worked (a toast that goes away by itself)."""
    ui.notify(message, type="positive", attrs={"data-testid": "notice"})


def error_label(name: str) -> ui.label:
    """An inline error line that takes no room while it is empty."""
    label = ui.label().classes("text-negative text-body2")
    label.bind_visibility_from(label, "text", backward=bool)
    return hook(label, name)


async def confirm(title: str, message: str, *, action: str) -> bool:
    """Ask before a change that loses something (an account, a sign-in, a second factor);
    True when the user confirmed."""
    with (
        ui.context.client.content,
        ui.dialog() as dialog,
        ui.card().classes("w-[26rem] max-w-full gap-3") as card,
    ):
        hook(card, "confirm-dialog")
        ui.label(title).classes("text-h6")
        ui.label(message).classes("text-body2 text-grey-8")
        with ui.row().classes("w-full justify-end gap-2"):
            hook(
                ui.button("Cancel", on_click=lambda: dialog.submit(False)).props("flat"),
                "confirm-cancel",
            )
            hook(
                ui.button(action, color="negative", on_click=lambda: dialog.submit(True)),
                "confirm-ok",
            )
    return bool(await wait_for(dialog))


async def wait_for(dialog: ui.dialog) -> Any:
    """Open the dialog, wait until it closes, then remove it.

    Answers None when the page went away meanwhile (the browser closed), so the caller has
    nothing left to update.
    """
    result = await dialog
    if dialog.is_deleted:
        return None
    dialog.delete()
    return result


def admin_refused(refusal: Forbidden, why: str) -> None:
    """The page a non-administrator gets instead of an admin page; ``refusal`` comes from the
    service's own permission check, so the UI refuses exactly when the REST API would."""
    ui.status_code(403)
    with (
        hook(ui.card(), "admin-refused")
        .classes("w-full items-center py-16 gap-3")
        .props("flat bordered")
    ):
        ui.icon("lock", size="4rem", color="grey-5")
        ui.label("You need the admin role").classes("text-h6 text-grey-9")
        ui.label(f"{why} Ask one of them if you need access.").classes(
            "text-body1 text-grey-7 text-center"
        )
        ui.label(readable(refusal)).classes("text-caption text-grey-6")


def empty_state(name: str, *, icon: str, title: str, text: str) -> ui.card:
    """A large, quiet card saying there is nothing to show, and why."""
    with (
        hook(ui.card(), name)
        .classes("w-full items-center py-16 gap-3")
        .props("flat bordered") as card
    ):
        ui.icon(icon, size="4rem", color="grey-5")
        ui.label(title).classes("text-h6 text-grey-8")
        ui.label(text).classes("text-body1 text-grey-7 text-center max-w-xl")
    return card


def when(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if moment else "—"
