"""The ASGI application: one FastAPI app with the REST API, health, metrics and the web UI."""

import logging
from collections.abc import AsyncIterator
from contextlib import ExitStack, asynccontextmanager

import anyio
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from prometheus_client import CollectorRegistry, ProcessCollector

from vesalius import __version__
from vesalius.common.error_handlers import install_error_handlers
from vesalius.common.middleware import BodySizeLimitMiddleware, SecurityHeadersMiddleware
from vesalius.config import Settings, load_settings
from vesalius.context import AppContext, build_context
from vesalius.domains import hub
from vesalius.jobs.processes import WorkerProcesses
from vesalius.jobs.workers import Workers
from vesalius.observability.middleware import HttpMetrics, RequestContextMiddleware

log = logging.getLogger(__name__)


def create_app(
    settings: Settings | None = None,
    *,
    with_ui: bool = True,
    ctx: AppContext | None = None,
    run_workers: bool | None = None,
) -> FastAPI:
    """Build the app. Tests pass ``with_ui=False``: NiceGUI can be mounted once per process.

    ``run_workers`` (default: ``VESALIUS_EMBEDDED_WORKERS``) runs the queue workers with the
    server, as embedded mode does (in ``VESALIUS_WORKER_PROCESSES`` child processes, which
    read the same environment; 0: threads in this process); API-only replicas turn it off.
    """
    settings = settings or load_settings()
    context = ctx or build_context(settings)
    workers: Workers | WorkerProcesses | None = None
    if settings.embedded_workers if run_workers is None else run_workers:
        workers = WorkerProcesses(settings) if settings.worker_processes > 0 else Workers(context)

    domains = hub()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        context.activity.start()
        with ExitStack() as serving:
            for hook in domains.serving:
                serving.enter_context(hook(context))
            if workers is not None:
                workers.start()
            yield
            if workers is not None:
                await anyio.to_thread.run_sync(workers.stop)
        await anyio.to_thread.run_sync(context.activity.stop)
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
    for install in domains.routers:
        install(app, context)

    # add_middleware wraps: the last added runs first on the way in.
    limits = [(prefix, limit(settings)) for prefix, limit in domains.body_limits]

    def body_limit(path: str) -> int:
        for prefix, limit in limits:
            if path == prefix or path.startswith(prefix.rstrip("/") + "/"):
                return limit
        return settings.max_body_bytes

    for middleware, options in domains.middlewares:
        app.add_middleware(middleware, **options)
    app.add_middleware(BodySizeLimitMiddleware, limit_for=body_limit)
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
