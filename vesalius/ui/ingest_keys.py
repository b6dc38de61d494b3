"""Admin → Ingest keys: create a key for a source application (shown once), list, revoke.

Everything goes through ``EventService`` as the signed-in user, so the service's admin check
refuses a non-administrator exactly as ``/api/admin/ingest-keys`` does.
"""

from typing import Any

from nicegui import ui

from vesalius.common.errors import AppError, Forbidden
from vesalius.context import AppContext
from vesalius.events.models import IngestKey
from vesalius.events.senders import Senders
from vesalius.events.service import EventService, IssuedKey
from vesalius.ui.layout import signed_in_page
from vesalius.ui.session import SignIn, Viewer
from vesalius.ui.widgets import admin_refused, done, hook, report, when

COLUMNS = [
    {"name": "name", "label": "Application", "field": "name", "align": "left"},
    {"name": "prefix", "label": "Key starts", "field": "prefix", "align": "left"},
    {"name": "origins", "label": "Allowed origins", "field": "origins", "align": "left"},
    {"name": "rate", "label": "Requests / min", "field": "rate"},
    {"name": "created", "label": "Created (UTC)", "field": "created"},
    {"name": "state", "label": "State", "field": "state"},
    {"name": "actions", "label": "", "field": "id"},
]


def _row(key: IngestKey) -> dict[str, Any]:
    return {
        "id": key.id,
        "name": key.name,
        "prefix": f"{key.key_prefix}…",
        "origins": ", ".join(key.allowed_origins or []) or "any",
        "rate": key.rate_per_minute or "default",
        "created": when(key.created_at),
        "state": "revoked" if key.revoked_at else "active",
        "active": key.revoked_at is None,
    }


class KeysPage:
    def __init__(self, ctx: AppContext, signin: SignIn) -> None:
        self.ctx = ctx
        self.signin = signin

    def build(self, keys: list[IngestKey]) -> None:
        with hook(ui.column().classes("w-full gap-4"), "ingest-keys-page"):
            ui.label("Ingest keys").classes("text-h5 text-weight-medium")
            ui.label(
                "A key lets one application outside the hub send events (header X-Ingest-Key, "
                'or {"auth": {"key": …}} on the WebSocket). The key is shown once.'
            ).classes("text-body2 text-grey-7")
            with ui.card().classes("w-full").props("flat bordered"):
                with ui.row().classes("w-full items-end gap-4"):
                    self.name = hook(ui.input("Application name").classes("w-64"), "key-name")
                    self.origins = hook(
                        ui.input("Allowed origins (comma-separated, optional)").classes("w-96"),
                        "key-origins",
                    )
                    self.rate = hook(
                        ui.number("Requests / min (optional)", min=1, precision=0).classes("w-48"),
                        "key-rate",
                    )
                    hook(ui.button("Create key", icon="add", on_click=self.create), "key-create")
                self.issued = hook(ui.column().classes("w-full gap-1"), "key-issued")
            self.table = hook(
                ui.table(columns=COLUMNS, rows=[_row(k) for k in keys], row_key="id")
                .classes("w-full")
                .props("flat bordered"),
                "keys-table",
            )
            self.table.add_slot(
                "body-cell-actions",
                """<q-td :props="props">
                  <q-btn v-if="props.row.active" flat dense no-caps color="negative"
                    icon="block" label="Revoke" data-testid="key-revoke"
                    @click="$parent.$emit('revoke', props.row)" />
                </q-td>""",
            )
            self.table.on("revoke", lambda event: self.revoke(int(event.args["id"])))

    async def refresh(self) -> None:
        keys = await self.signin.call(
            lambda session, principal: EventService(session).list_keys(principal.user)
        )
        self.table.rows = [_row(k) for k in keys]
        self.table.update()

    async def create(self) -> None:
        name = (self.name.value or "").strip()
        if not name:
            ui.notify("Give the application a name.", type="warning")
            return
        origins = [o.strip() for o in (self.origins.value or "").split(",") if o.strip()]
        rate = int(self.rate.value) if self.rate.value else None
        try:
            issued: IssuedKey = await self.signin.call(
                lambda session, principal: EventService(session).create_key(
                    principal.user, name, origins or None, rate
                ),
                write=True,
            )
        except AppError as failure:
            report(failure)
            return
        self.issued.clear()
        with self.issued:
            ui.label(f"Key for {issued.key.name} — copy it now, it is not shown again:").classes(
                "text-body2"
            )
            hook(
                ui.input(value=issued.secret).props("readonly outlined dense").classes("w-full"),
                "key-secret",
            )
        self.name.value = ""
        self.origins.value = ""
        self.rate.value = None
        await self.refresh()
        done("Key created")

    async def revoke(self, key_id: int) -> None:
        try:
            await self.signin.call(
                lambda session, principal: EventService(session).revoke_key(principal.user, key_id),
                write=True,
            )
        except AppError as failure:
            report(failure)
            return
        self.ctx.component(Senders).forget_keys()
        await self.refresh()
        done("Key revoked")


def register(ctx: AppContext) -> None:
    @signed_in_page("/admin/ingest-keys", ctx, title="Ingest keys", section="admin")
    async def keys_page(signin: SignIn, viewer: Viewer) -> None:
        page = KeysPage(ctx, signin)
        try:
            keys = await signin.call(
                lambda session, principal: EventService(session).list_keys(principal.user)
            )
        except Forbidden as refusal:
            admin_refused(refusal, "Ingest keys are managed by administrators.")
            return
        except AppError as failure:
            report(failure)
            return
        page.build(keys)
