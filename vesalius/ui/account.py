"""The signed-in user's own account: two-factor enrolment and changing the password."""

from nicegui import ui
from sqlalchemy.orm import Session

from vesalius.accounts.deps import Principal
from vesalius.accounts.service import TotpEnrollment, UserService
from vesalius.common.errors import AppError
from vesalius.ui.session import SignIn, Viewer
from vesalius.ui.widgets import done, error_label, hook, report, wait_for


async def two_factor_dialog(signin: SignIn, viewer: Viewer) -> None:
    """Show that two-factor sign-in is on, or enrol: QR code and secret, then a code."""
    ctx = signin.ctx

    def start(session: Session, principal: Principal) -> TotpEnrollment:
        return UserService(ctx, session).start_totp_enrollment(principal.user)

    with (
        ui.context.client.content,
        ui.dialog() as dialog,
        ui.card().classes("w-[28rem] max-w-full gap-3") as card,
    ):
        hook(card, "totp-dialog")
        with ui.row().classes("items-center gap-2"):
            ui.icon("verified_user", color="primary", size="md")
            ui.label("Two-factor sign-in").classes("text-h6")
        body = ui.column().classes("w-full gap-3")

    def show_enabled() -> None:
        body.clear()
        with body:
            with hook(ui.row().classes("items-center gap-2"), "totp-on"):
                ui.icon("check_circle", color="positive")
                ui.label("On: signing in asks for a code from your authenticator app.")
            ui.label("Lost the device? An administrator can turn it off for you.").classes(
                "text-body2 text-grey-7"
            )
            with ui.row().classes("w-full justify-end"):
                ui.button("Close", on_click=dialog.close).props("flat")

    def show_enrollment(enrollment: TotpEnrollment) -> None:
        body.clear()
        with body:
            ui.label(
                "Scan the code with an authenticator app (or type the key into it), "
                "then enter the 6-digit code the app shows."
            ).classes("text-body2")
            with ui.row().classes("w-full justify-center"):
                ui.image(enrollment.qr_svg).classes("w-48 h-48").props("no-spinner alt='QR code'")
            with ui.column().classes("w-full gap-0"):
                ui.label("Key").classes("text-caption text-grey-7")
                hook(ui.label(enrollment.secret), "totp-secret").classes(
                    "font-mono text-body1 break-all select-all"
                )
            code = hook(
                ui.input("6-digit code").props(
                    "outlined dense inputmode=numeric autocomplete=one-time-code maxlength=8"
                ),
                "totp-code",
            ).classes("w-full")
            error = error_label("totp-error")
            with ui.row().classes("w-full justify-end gap-2"):
                ui.button("Cancel", on_click=dialog.close).props("flat")
                confirm = hook(ui.button("Turn on", icon="lock"), "totp-confirm")

        async def turn_on() -> None:
            entered = (code.value or "").strip()
            if not entered:
                error.set_text("Enter the code your app shows.")
                return
            error.set_text("")
            confirm.props("loading")

            def verify(session: Session, principal: Principal) -> None:
                UserService(ctx, session).confirm_totp(principal.user, entered)

            try:
                await signin.call(verify, write=True)
            except AppError as failure:
                report(failure, into=error)
                return
            finally:
                confirm.props(remove="loading")
            viewer.totp_enabled = True
            done("Two-factor sign-in is on.")
            show_enabled()

        confirm.on_click(turn_on)
        code.on("keydown.enter", turn_on)

    dialog.open()
    if viewer.totp_enabled:
        show_enabled()
    else:
        with body:
            ui.spinner(size="lg").classes("self-center")
        try:
            show_enrollment(await signin.call(start, write=True))
        except AppError as failure:
            if failure.code == "totp_already_enabled":  # turned on from another tab meanwhile
                viewer.totp_enabled = True
                show_enabled()
            else:
                dialog.close()
                report(failure)
    if dialog.value:  # the user may have closed it while the secret was being created
        await wait_for(dialog)
    elif not dialog.is_deleted:
        dialog.delete()


async def change_password_dialog(signin: SignIn) -> None:
    ctx = signin.ctx
    with (
        ui.context.client.content,
        ui.dialog() as dialog,
        ui.card().classes("w-[26rem] max-w-full gap-3") as card,
    ):
        hook(card, "password-dialog")
        ui.label("Change password").classes("text-h6")
        ui.label("Your other signed-in browsers and apps will be signed out.").classes(
            "text-body2 text-grey-7"
        )
        current = hook(_password_input("Current password", "current-password"), "password-current")
        new = hook(_password_input("New password", "new-password"), "password-new")
        repeat = hook(_password_input("Repeat the new password", "new-password"), "password-repeat")
        error = error_label("password-error")
        with ui.row().classes("w-full justify-end gap-2"):
            ui.button("Cancel", on_click=dialog.close).props("flat")
            save = hook(ui.button("Change password"), "password-save")

    async def change() -> None:
        if not current.value or not new.value:
            error.set_text("Enter your current and your new password.")
            return
        if new.value != repeat.value:
            error.set_text("The two new passwords are not the same.")
            return
        error.set_text("")
        old_password, new_password = current.value, new.value

        def apply(session: Session, principal: Principal) -> None:
            UserService(ctx, session).change_password(
                principal.user,
                current=old_password,
                new=new_password,
                keep_session=principal.session_id,
            )

        save.props("loading")
        try:
            await signin.call(apply, write=True)
        except AppError as failure:
            report(failure, into=error)
            return
        finally:
            save.props(remove="loading")
        done("Password changed.")
        dialog.close()

    save.on_click(change)
    await wait_for(dialog)


def _password_input(label: str, autocomplete: str) -> ui.input:
    return (
        ui.input(label, password=True, password_toggle_button=True)
        .props(f"outlined dense autocomplete={autocomplete}")
        .classes("w-full")
    )
