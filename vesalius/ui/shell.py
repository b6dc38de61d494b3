"""Mount NiceGUI in the FastAPI app: storage, theme and every page of the web UI."""

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from nicegui import app as nicegui_app
from nicegui import ui
from nicegui.storage import Storage

from vesalius.config import Settings
from vesalius.context import AppContext
from vesalius.domains import hub
from vesalius.ui.layout import PRODUCT
from vesalius.ui.session import HOME

SESSION_COOKIE = "vesalius_ui"


def mount(app: FastAPI, ctx: AppContext) -> None:
    _configure_storage(ctx.settings)
    nicegui_app.colors(primary="#1d5b8f", secondary="#2e7d6b", accent="#7b4fa0")

    @ui.page("/")
    def index() -> RedirectResponse:
        return RedirectResponse(HOME, status_code=303)

    for register_pages in hub().pages:
        register_pages.get()(ctx)

    ui.run_with(
        app,
        title=PRODUCT,
        favicon="🩻",
        storage_secret=ctx.keys.derive("ui-storage").hex(),
        session_middleware_kwargs={
            "session_cookie": SESSION_COOKIE,
            # The cookie only names server-side storage; it need not outlive the refresh token.
            "max_age": ctx.settings.refresh_token_days * 24 * 3600,
            "same_site": "lax",
            "https_only": ctx.settings.is_production,
        },
        show_welcome_message=False,
    )


def _configure_storage(settings: Settings) -> None:
    """Keep UI sessions in the data dir, or in Redis so several API machines share them.

    NiceGUI builds its storage when imported, from the working directory; it has to be
    rebuilt once the folder and Redis URL are set.
    """
    folder = settings.resolved_data_dir / "ui"
    # User storage holds refresh tokens: readable by the service account only.
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder.chmod(0o700)
    Storage.path = folder
    Storage.redis_url = settings.redis_url
    Storage.redis_key_prefix = "vesalius:ui:"
    nicegui_app.storage = Storage()
    nicegui_app.storage.general.initialize_sync()
