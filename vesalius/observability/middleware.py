"""Request ids, the access log and request metrics, in one pass over each request."""

import json
import logging
import re
import time
import uuid

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vesalius.common.errors import error_body
from vesalius.observability.logs import request_id_var

access_log = logging.getLogger("vesalius.access")
INTERNAL_ERROR_BODY = json.dumps(
    error_body(
        "internal_error",
        "something went wrong on our side; quote the X-Request-ID header when reporting it",
    )
).encode()
REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
QUIET_PREFIXES = ("/_nicegui", "/metrics", "/health")


class HttpMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "vesalius_http_requests_total",
            "HTTP requests by method, route template and status.",
            ["method", "route", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "vesalius_http_request_duration_seconds",
            "HTTP request latency by method and route template.",
            ["method", "route"],
            registry=registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )


def _internal_error_start() -> Message:
    return {
        "type": "http.response.start",
        "status": 500,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(INTERNAL_ERROR_BODY)).encode()),
        ],
    }


def _route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, *, metrics: HttpMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if REQUEST_ID_PATTERN.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500

        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                MutableHeaders(scope=message)["X-Request-ID"] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            # The last resort: log with the request id and answer in the one error shape.
            # Nothing about the failure reaches the client beyond the id to quote.
            logging.getLogger("vesalius.errors").exception(
                "unhandled error on %s %s", scope["method"], scope["path"]
            )
            if response_started:
                raise
            await send_with_id(_internal_error_start())
            await send_with_id({"type": "http.response.body", "body": INTERNAL_ERROR_BODY})
        finally:
            elapsed = time.perf_counter() - started
            route = _route_template(scope)
            method = scope["method"]
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.latency.labels(method, route).observe(elapsed)
            path = scope["path"]
            level = logging.DEBUG if path.startswith(QUIET_PREFIXES) else logging.INFO
            client = scope.get("client")
            state = scope.get("state") or {}
            access_log.log(
                level,
                "%s %s %s",
                method,
                path,
                status,
                extra={
                    "method": method,
                    "path": path,
                    "route": route,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 2),
                    "client": client[0] if client else None,
                    "user_id": state.get("user_id"),
                },
            )
            request_id_var.reset(token)
