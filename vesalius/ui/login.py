"""The login page: email and password, then the authenticator code when the account has one."""

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from nicegui import ui

from vesalius.common.errors import AppError
from vesalius.context import AppContext
from vesalius.ui.layout import PAGE_BUILD_SECONDS, PRODUCT
from vesalius.ui.session import LOGIN, SignIn, client_of_page, safe_next
from vesalius.ui.widgets import error_label, hook, readable


def register(ctx: AppContext) -> None:
    @ui.page(LOGIN, title=f"Sign in · {PRODUCT}", response_timeout=PAGE_BUILD_SECONDS)
    async def login_page(request: Request) -> Response | None:
        target = safe_next(request.query_params.get("next"))
        signin = SignIn(ctx, client_of_page())
        if await signin.viewer() is not None:
            return RedirectResponse(target, status_code=303)
        LoginForm(signin, target).build()
        return None


class LoginForm:
    """Both steps live on one page: the password step hands over to the code step without a
    reload, keeping what was typed (in server memory only) for the second request."""

    def __init__(self, signin: SignIn, target: str) -> None:
        self.signin = signin
        self.target = target
        self.busy = False

    def build(self) -> None:
        ui.query("body").classes("bg-grey-2")
        with (
            ui.column().classes("w-full min-h-screen items-center justify-center p-4"),
            hook(ui.card(), "login-card").classes("w-[24rem] max-w-full p-6 gap-4"),
        ):
            with ui.row().classes("items-center gap-2"):
                ui.icon("biotech", color="primary", size="lg")
                with ui.column().classes("gap-0"):
                    ui.label(PRODUCT).classes("text-h5 text-weight-medium")
                    ui.label("Medical imaging hub").classes("text-caption text-grey-7")
            self.error = error_label("login-error")
            # A real form: Enter submits, and password managers recognise the fields.
            with (
                ui.element("form")
                .props("novalidate")
                .classes("w-full")
                .on("submit.prevent", self.submit, [])
            ):
                with ui.column().classes("w-full gap-3") as self.password_step:
                    self.email = hook(
                        ui.input("Email").props(
                            "outlined autofocus type=email autocomplete=username"
                        ),
                        "login-email",
                    ).classes("w-full")
                    self.password = hook(
                        ui.input("Password", password=True, password_toggle_button=True).props(
                            "outlined autocomplete=current-password"
                        ),
                        "login-password",
                    ).classes("w-full")
                    self.sign_in_button = hook(
                        ui.button("Sign in").props("unelevated type=submit"),
                        "login-submit",
                    ).classes("w-full")
                with ui.column().classes("w-full gap-3") as self.code_step:
                    ui.label("Two-factor sign-in").classes("text-subtitle1 text-weight-medium")
                    ui.label("Enter the 6-digit code from your authenticator app.").classes(
                        "text-body2 text-grey-8"
                    )
                    self.code = hook(
                        ui.input("Code").props(
                            "outlined inputmode=numeric autocomplete=one-time-code maxlength=8"
                        ),
                        "login-code",
                    ).classes("w-full")
                    self.verify_button = hook(
                        ui.button("Verify").props("unelevated type=submit"),
                        "login-verify",
                    ).classes("w-full")
                    hook(
                        ui.button("Use another account", on_click=self.back_to_password).props(
                            "flat no-caps size=sm"
                        ),
                        "login-back",
                    ).classes("self-center")
                self.code_step.visible = False

    async def submit(self) -> None:
        if self.busy:  # a second Enter while the first is still being checked
            return
        email, password = (self.email.value or "").strip(), self.password.value or ""
        code = (self.code.value or "").strip() if self.code_step.visible else None
        if not email or not password:
            self.error.set_text("Enter your email and password.")
            return
        if code == "":
            self.error.set_text("Enter the code from your authenticator app.")
            return
        self._set_busy(True)
        try:
            await self.signin.login(email, password, code)
        except AppError as failure:
            self._set_busy(False)
            self._show_failure(failure)
            return
        ui.navigate.to(self.target)

    def _show_failure(self, failure: AppError) -> None:
        if failure.code == "totp_required":
            self.error.set_text("")
            self.password_step.visible = False
            self.code_step.visible = True
            self.code.run_method("focus")
            return
        if failure.code == "invalid_totp":
            self.code.set_value("")
        self.error.set_text(readable(failure))

    def back_to_password(self) -> None:
        self.error.set_text("")
        self.code.set_value("")
        self.password.set_value("")
        self.code_step.visible = False
        self.password_step.visible = True

    def _set_busy(self, busy: bool) -> None:
        self.busy = busy
        for button in (self.sign_in_button, self.verify_button):
            if busy:
                button.props("loading")
            else:
                button.props(remove="loading")
