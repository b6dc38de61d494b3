"""Admin → Users: search, filter and page through users; change role and status, reset
two-factor sign-in, delete, and create users.

Every change goes through ``UserService`` with the signed-in user as the actor, so the
admin-only rule and the last-admin rule are the service's, exactly as for the REST API.
"""

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from nicegui import ui
from nicegui.events import ValueChangeEventArguments
from sqlalchemy.orm import Session

from vesalius.accounts.deps import Principal
from vesalius.accounts.models import Role, User, UserStatus
from vesalius.accounts.service import UserService
from vesalius.common.errors import AppError, Forbidden
from vesalius.context import AppContext
from vesalius.ui.admin_user_create import create_user_dialog
from vesalius.ui.layout import signed_in_page
from vesalius.ui.session import SignIn, Viewer
from vesalius.ui.widgets import (
    ROLE_LABELS,
    STATUS_LABELS,
    admin_refused,
    confirm,
    done,
    hook,
    report,
    when,
)

PAGE_SIZE = 25
ALL = ""  # the "no filter" choice of the role and status selects
COLUMNS = ("User", "Role", "Status", "2FA", "Created (UTC)", "Last sign-in (UTC)", "")


@dataclass(frozen=True)
class UserSummary:
    """What a row shows, copied out of the database session that loaded it."""

    id: int
    email: str
    display_name: str
    role: Role
    status: UserStatus
    totp_enabled: bool
    created_at: datetime
    last_login_at: datetime | None

    @classmethod
    def of(cls, user: User) -> "UserSummary":
        return cls(
            user.id,
            user.email,
            user.display_name,
            user.role,
            user.status,
            user.totp_enabled,
            user.created_at,
            user.last_login_at,
        )


@dataclass(frozen=True)
class Listing:
    users: list[UserSummary]
    next_cursor: str | None


@dataclass(frozen=True)
class Filters:
    q: str = ""
    role: str = ALL
    status: str = ALL


def register(ctx: AppContext) -> None:
    @signed_in_page("/admin/users", ctx, title="Users", section="admin")
    async def users_page(signin: SignIn, viewer: Viewer) -> None:
        page = UsersPage(ctx, signin, viewer)
        try:
            # Asking the service, not checking the role here: the refusal is the same
            # permission check the REST API makes.
            first = await signin.call(page.listing(cursor=None))
        except Forbidden as refusal:
            admin_refused(refusal, "Managing users is for administrators.")
            return
        except AppError as failure:
            report(failure)
            return
        page.build(first)


class UsersPage:
    def __init__(self, ctx: AppContext, signin: SignIn, viewer: Viewer) -> None:
        self.ctx = ctx
        self.signin = signin
        self.viewer = viewer
        self.filters = Filters()
        self.rows: dict[int, UserRow] = {}
        self.next_cursor: str | None = None
        # Filters can change faster than the database answers; only the newest answer counts.
        self.generation = 0

    def listing(self, *, cursor: str | None) -> Callable[[Session, Principal], Listing]:
        filters = self.filters

        def load(session: Session, principal: Principal) -> Listing:
            page = UserService(self.ctx, session).list_users(
                principal.user,
                cursor=cursor,
                limit=PAGE_SIZE,
                role=Role(filters.role) if filters.role else None,
                status=UserStatus(filters.status) if filters.status else None,
                q=filters.q or None,
            )
            return Listing([UserSummary.of(user) for user in page.users], page.next_cursor)

        return load

    # -- layout ---------------------------------------------------------------------------
    def build(self, first: Listing) -> None:
        with ui.row().classes("w-full items-center"):
            ui.label("Users").classes("text-h5 text-weight-medium")
            ui.space()
            hook(
                ui.button("New user", icon="person_add", on_click=self.create).props("unelevated"),
                "new-user",
            )
        with ui.card().classes("w-full p-0 gap-0").props("flat bordered"):
            with ui.row().classes("w-full items-center gap-3 p-3"):
                search = hook(
                    ui.input(
                        placeholder="Search email or name",
                        on_change=lambda e: self.refilter(q=(e.value or "").strip()),
                    )
                    .props("outlined dense clearable debounce=300")
                    .classes("w-72"),
                    "users-search",
                )
                with search.add_slot("prepend"):
                    ui.icon("search")
                hook(
                    ui.select(
                        {ALL: "All roles", **ROLE_LABELS},
                        value=ALL,
                        on_change=lambda e: self.refilter(role=e.value),
                    )
                    .props("outlined dense options-dense")
                    .classes("w-40"),
                    "users-role-filter",
                )
                hook(
                    ui.select(
                        {ALL: "All statuses", **STATUS_LABELS},
                        value=ALL,
                        on_change=lambda e: self.refilter(status=e.value),
                    )
                    .props("outlined dense options-dense")
                    .classes("w-40"),
                    "users-status-filter",
                )
            ui.separator()
            with ui.element("q-markup-table").props("flat separator=horizontal").classes("w-full"):
                with ui.element("thead"), ui.element("tr"):
                    for title in COLUMNS:
                        with ui.element("th").classes("text-left text-grey-8"):
                            ui.label(title)
                self.body = hook(ui.element("tbody"), "users-table")
            with ui.row().classes("w-full items-center p-3"):
                self.summary = hook(ui.label().classes("text-body2 text-grey-7"), "users-summary")
                ui.space()
                self.more = hook(
                    ui.button("Load more", icon="expand_more", on_click=self.load_more).props(
                        "flat no-caps"
                    ),
                    "users-load-more",
                )
        self._show(first, replace=True)

    def _show(self, listing: Listing, *, replace: bool) -> None:
        if replace:
            self.body.clear()
            self.rows.clear()
        with self.body:
            for user in listing.users:
                self.rows[user.id] = UserRow(self, user)
            if not self.rows:
                with (
                    hook(ui.element("tr"), "users-empty"),
                    ui.element("td").props(f"colspan={len(COLUMNS)}"),
                ):
                    ui.label("No users match these filters.").classes(
                        "text-grey-7 py-6 text-center"
                    )
        self.next_cursor = listing.next_cursor
        self._update_summary()

    def _update_summary(self) -> None:
        count = len(self.rows)
        more = " — more below" if self.next_cursor else ""
        self.summary.set_text(f"{count} user{'s' if count != 1 else ''} shown{more}")
        self.more.visible = self.next_cursor is not None

    # -- loading --------------------------------------------------------------------------
    async def refilter(self, **change: str) -> None:
        self.filters = replace(self.filters, **change)
        await self.reload()

    async def reload(self) -> None:
        self.generation += 1
        generation = self.generation
        try:
            listing = await self.signin.call(self.listing(cursor=None))
        except AppError as failure:
            report(failure)
            return
        if generation == self.generation:
            self._show(listing, replace=True)

    async def load_more(self) -> None:
        generation = self.generation
        self.more.props("loading")
        try:
            listing = await self.signin.call(self.listing(cursor=self.next_cursor))
        except AppError as failure:
            report(failure)
            return
        finally:
            self.more.props(remove="loading")
        if generation == self.generation:
            self._show(listing, replace=False)

    async def create(self) -> None:
        if await create_user_dialog(self.signin):
            await self.reload()

    # -- changes --------------------------------------------------------------------------
    async def update(
        self, user_id: int, *, role: Role | None = None, status: UserStatus | None = None
    ) -> UserSummary:
        def apply(session: Session, principal: Principal) -> UserSummary:
            user = UserService(self.ctx, session).update_user(
                principal.user, user_id, role=role, status=status
            )
            return UserSummary.of(user)

        return await self.signin.call(apply, write=True)

    async def reset_totp(self, user_id: int) -> UserSummary:
        def apply(session: Session, principal: Principal) -> UserSummary:
            return UserSummary.of(
                UserService(self.ctx, session).reset_totp(principal.user, user_id)
            )

        return await self.signin.call(apply, write=True)

    async def delete(self, user_id: int) -> None:
        def apply(session: Session, principal: Principal) -> None:
            UserService(self.ctx, session).delete_user(principal.user, user_id)

        await self.signin.call(apply, write=True)
        self.rows.pop(user_id).tr.delete()
        self._update_summary()


class UserRow:
    def __init__(self, page: UsersPage, user: UserSummary) -> None:
        self.page = page
        self.user = user
        self.tr = hook(ui.element("tr"), "user-row")
        self.tr.props["data-email"] = user.email
        with self.tr:
            with ui.element("td"), ui.column().classes("gap-0"):
                ui.label(user.display_name).classes("text-weight-medium")
                hook(ui.label(user.email), "user-email").classes("text-caption text-grey-7")
            with ui.element("td"):
                self.role = hook(
                    ui.select(ROLE_LABELS, value=user.role.value, on_change=self.change_role)
                    .props("dense borderless options-dense")
                    .classes("w-32"),
                    "user-role",
                )
            with ui.element("td"):
                self.status = hook(
                    ui.select(STATUS_LABELS, value=user.status.value, on_change=self.change_status)
                    .props("dense borderless options-dense")
                    .classes("w-28"),
                    "user-status",
                )
            self.totp_cell = ui.element("td")
            with hook(ui.element("td"), "user-created").classes("text-grey-8"):
                ui.label(when(user.created_at))
            with ui.element("td").classes("text-grey-8"):
                ui.label(when(user.last_login_at))
            with ui.element("td").classes("text-right whitespace-nowrap"):
                self.reset_button = hook(
                    ui.button(icon="phonelink_erase", on_click=self.reset_totp).props(
                        "flat round dense color=grey-8 aria-label='Reset two-factor sign-in'"
                    ),
                    "user-reset-totp",
                ).tooltip("Reset two-factor sign-in")
                hook(
                    ui.button(icon="delete_outline", on_click=self.delete).props(
                        "flat round dense color=negative aria-label='Delete user'"
                    ),
                    "user-delete",
                ).tooltip("Delete user")
        self._show_totp()

    def _show_totp(self) -> None:
        self.totp_cell.clear()
        with self.totp_cell:
            on = self.user.totp_enabled
            chip = ui.badge("On" if on else "Off", color="positive" if on else "grey-5")
            hook(chip, "user-totp")
        self.reset_button.set_enabled(self.user.totp_enabled)

    async def change_role(self, event: ValueChangeEventArguments[Any]) -> None:
        if event.value == self.user.role.value:
            return  # our own revert below, or no change
        new_role = Role(event.value)
        try:
            self.user = await self.page.update(self.user.id, role=new_role)
        except AppError as failure:
            self.role.set_value(self.user.role.value)
            report(failure)
            return
        done(f"{self.user.email} is now {ROLE_LABELS[new_role.value].lower()}.")
        if self.user.id == self.page.viewer.id and new_role != Role.admin:
            ui.navigate.reload()  # you just gave up this page

    async def change_status(self, event: ValueChangeEventArguments[Any]) -> None:
        if event.value == self.user.status.value:
            return
        new_status = UserStatus(event.value)
        if new_status != UserStatus.active and not await confirm(
            f"Make {self.user.email} {new_status.value}?",
            "They are signed out everywhere and cannot sign in until the account is active again.",
            action=f"Make {new_status.value}",
        ):
            self.status.set_value(self.user.status.value)
            return
        try:
            self.user = await self.page.update(self.user.id, status=new_status)
        except AppError as failure:
            self.status.set_value(self.user.status.value)
            report(failure)
            return
        done(f"{self.user.email} is now {new_status.value}.")

    async def reset_totp(self) -> None:
        if not await confirm(
            f"Reset two-factor sign-in for {self.user.email}?",
            "They sign in with their password alone until they set up an authenticator again.",
            action="Reset",
        ):
            return
        try:
            self.user = await self.page.reset_totp(self.user.id)
        except AppError as failure:
            report(failure)
            return
        self._show_totp()
        done(f"Two-factor sign-in is off for {self.user.email}.")

    async def delete(self) -> None:
        if not await confirm(
            f"Delete {self.user.email}?",
            "The account and its sessions are removed for good. Disabling keeps them instead.",
            action="Delete",
        ):
            return
        email = self.user.email
        try:
            await self.page.delete(self.user.id)
        except AppError as failure:
            report(failure)
            return
        done(f"{email} was deleted.")
