"""``/health``, ``/health/ready`` and ``/metrics``."""

import shutil
from typing import Any

from fastapi import APIRouter, FastAPI, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from vesalius import __version__
from vesalius.deps import ContextDep
from vesalius.domains import hub
from vesalius.migrations import pending_migrations

router = APIRouter(tags=["health"])


def _storage_usage(ctx_data_dir: str) -> dict[str, Any]:
    usage = shutil.disk_usage(ctx_data_dir)
    return {
        "path": ctx_data_dir,
        "totalBytes": usage.total,
        "usedBytes": usage.used,
        "freeBytes": usage.free,
    }


@router.get("/health")
def health(ctx: ContextDep) -> JSONResponse:
    """Liveness and a summary of every dependency. 200 while the process is up."""
    database: dict[str, Any] = {"backend": ctx.settings.database_backend}
    try:
        database.update(status="ok", latencyMs=round(ctx.db.ping(), 2))
    except Exception as exc:  # reported, not raised: this endpoint must answer
        database.update(status="error", error=type(exc).__name__)
    queue: dict[str, Any] = {"backend": ctx.settings.queue_backend}
    if ctx.redis is not None:
        try:
            ctx.redis.ping()
            queue["status"] = "ok"
        except Exception as exc:
            queue.update(status="error", error=type(exc).__name__)
    else:
        queue["status"] = "ok"
    storage = {
        "url": ctx.settings.resolved_storage_url.split("?")[0],
        **_storage_usage(str(ctx.settings.resolved_data_dir)),
    }
    overall = "ok" if database["status"] == "ok" and queue["status"] == "ok" else "degraded"
    body: dict[str, Any] = {
        "status": overall,
        "version": __version__,
        "mode": "scaled" if ctx.settings.redis_url else "embedded",
        "database": database,
        "queue": queue,
        "storage": storage,
    }
    for name, section in hub().health_sections:
        try:
            body[name] = section(ctx)
        except Exception as exc:  # reported, not raised, as above
            body[name] = {"status": "error", "error": type(exc).__name__}
    return JSONResponse(body)


@router.get("/health/ready")
def ready(ctx: ContextDep) -> JSONResponse:
    """503 while the database is unreachable or migrations are pending: keep traffic away."""
    try:
        ctx.db.ping()
    except Exception as exc:
        return JSONResponse(
            {
                "status": "unavailable",
                "reason": "database_unreachable",
                "error": type(exc).__name__,
            },
            status_code=503,
        )
    pending = pending_migrations(ctx.db.engine)
    if pending:
        return JSONResponse(
            {"status": "unavailable", "reason": "migrations_pending", "pending": pending},
            status_code=503,
        )
    return JSONResponse({"status": "ready"})


def register(app: FastAPI, registry: CollectorRegistry) -> None:
    app.include_router(router)

    @app.get("/metrics", tags=["health"], include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
