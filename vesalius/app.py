"""The ASGI application: one FastAPI app with the REST API, health, metrics and the web UI."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from prometheus_client import CollectorRegistry, ProcessCollector

from vesalius import __version__
from vesalius.accounts import api as accounts_api
from vesalius.common.error_handlers import install_error_handlers
from vesalius.common.middleware import BodySizeLimitMiddleware, SecurityHeadersMiddleware
from vesalius.config import Settings, load_settings
from vesalius.context import AppContext, build_context
from vesalius.observability import api as observability_api
from vesalius.observability.middleware import HttpMetrics, RequestContextMiddleware

log = logging.getLogger(__name__)


def create_app(
    settings: Settings | None = None, *, with_ui: bool = True, ctx: AppContext | None = None
) -> FastAPI:
    """Build the app. Tests pass ``with_ui=False``: NiceGUI can be mounted once per process."""
    settings = settings or load_settings()
    context = ctx or build_context(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        context.close()

    app = FastAPI(
        title="Vesalius",
        version=__version__,
        summary="Self-hosted medical and scientific imaging hub",
        lifespan=lifespan,
        # The Swagger/ReDoc pages load scripts from a CDN; a hospital network has none.
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.ctx = context
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    app.state.metrics_registry = registry

    install_error_handlers(app)
    accounts_api.register(app)
    observability_api.register(app, registry)

    # add_middleware wraps: the last added runs first on the way in.
    app.add_middleware(BodySizeLimitMiddleware, limit_for=lambda _path: settings.max_body_bytes)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID", "Idempotency-Key"],
            expose_headers=["X-Request-ID", "Retry-After"],
            max_age=600,
        )
    app.add_middleware(RequestContextMiddleware, metrics=HttpMetrics(registry))
    app.add_middleware(SecurityHeadersMiddleware, hsts=settings.is_production)

    if with_ui:
        from vesalius.ui import mount_ui

        mount_ui(app, context)
    return app
