"""The "New user" dialog of Admin → Users."""

from nicegui import ui
from sqlalchemy.orm import Session

from vesalius.accounts.deps import Principal
from vesalius.accounts.models import Role
from vesalius.accounts.service import UserService
from vesalius.common.errors import AppError
from vesalius.ui.session import SignIn
from vesalius.ui.widgets import ROLE_LABELS, done, error_label, hook, report, wait_for


async def create_user_dialog(signin: SignIn) -> bool:
    """Ask for the new user's details and create them; True once a user was created.

    Without a password the service generates one; it is shown here once and never again.
    """
    ctx = signin.ctx
    with (
        ui.context.client.content,
        ui.dialog() as dialog,
        ui.card().classes("w-[28rem] max-w-full gap-3") as card,
    ):
        hook(card, "create-user-dialog")
        ui.label("New user").classes("text-h6")
        with ui.column().classes("w-full gap-3") as form:
            email = hook(
                ui.input("Email").props("outlined dense type=email autofocus autocomplete=off"),
                "new-user-email",
            ).classes("w-full")
            name = hook(
                ui.input("Name").props("outlined dense autocomplete=off hint='Optional'"),
                "new-user-name",
            ).classes("w-full")
            role = hook(
                ui.select(ROLE_LABELS, value=Role.clinician.value, label="Role").props(
                    "outlined dense"
                ),
                "new-user-role",
            ).classes("w-full")
            password = hook(
                ui.input("Password", password=True, password_toggle_button=True).props(
                    "outlined dense autocomplete=new-password "
                    "hint='Leave empty to generate a temporary password'"
                ),
                "new-user-password",
            ).classes("w-full")
            error = error_label("new-user-error")
            with ui.row().classes("w-full justify-end gap-2"):
                ui.button("Cancel", on_click=dialog.close).props("flat")
                submit = hook(ui.button("Create user").props("unelevated"), "new-user-submit")
        result = ui.column().classes("w-full gap-3")
        result.visible = False

    def show_temporary_password(user_email: str, temporary: str) -> None:
        form.visible = False
        result.visible = True
        # Until "Done", closing by accident would lose the only copy of the password.
        dialog.props("persistent")
        with result:
            with ui.row().classes("items-center gap-2"):
                ui.icon("check_circle", color="positive")
                ui.label(f"{user_email} was created.")
            ui.label(
                "Give them this temporary password. It is shown only now; they can change it "
                "after signing in."
            ).classes("text-body2 text-grey-8")
            shown = hook(
                ui.input("Temporary password", value=temporary).props("outlined dense readonly"),
                "temporary-password",
            ).classes("w-full font-mono")
            with shown.add_slot("append"):
                hook(
                    ui.button(icon="content_copy", on_click=lambda: _copy(temporary))
                    .props("flat round dense aria-label='Copy'")
                    .tooltip("Copy"),
                    "copy-temporary-password",
                )
            with ui.row().classes("w-full justify-end"):
                hook(
                    ui.button("Done", on_click=lambda: dialog.submit(True)).props("unelevated"),
                    "new-user-done",
                )

    async def create() -> None:
        chosen_role = Role(role.value)
        address, display_name, secret = (
            (email.value or "").strip(),
            name.value or None,
            password.value,
        )
        if not address:
            error.set_text("Enter the new user's email address.")
            return
        error.set_text("")

        def apply(session: Session, principal: Principal) -> tuple[str, str | None]:
            user, generated = UserService(ctx, session).create_user(
                principal.user,
                email=address,
                role=chosen_role,
                display_name=display_name,
                password=secret or None,
            )
            return user.email, generated

        submit.props("loading")
        try:
            user_email, generated = await signin.call(apply, write=True)
        except AppError as failure:
            report(failure, into=error)
            return
        finally:
            submit.props(remove="loading")
        if generated is None:
            done(f"{user_email} was created.")
            dialog.submit(True)
        else:
            show_temporary_password(user_email, generated)

    submit.on_click(create)
    return bool(await wait_for(dialog))


def _copy(text: str) -> None:
    ui.clipboard.write(text)
    ui.notify("Copied.")
