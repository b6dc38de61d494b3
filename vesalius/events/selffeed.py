"""The hub feeds itself: every API request becomes an event of client ``vesalius-hub``
(route template, status, duration), so the live dashboard shows the hub with no outside
load. Sign-ins, uploads, views and downloads are requests to their routes and show under
their own types. Off with ``VESALIUS_EVENTS_SELF_FEED=false``.

Written through the same group-commit writer, without waiting for the commit: a request is
never slowed by its own event. Event ingestion itself is not fed back (it would double the
load it measures).
"""

import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vesalius.db import utcnow
from vesalius.events.ingest import EventIngest
from vesalius.events.service import HUB_CLIENT

SKIPPED = ("/api/events", "/api/live")
TYPES = {
    ("POST", "/api/auth/login"): "sign_in",
    ("POST", "/api/upload"): "upload",
    ("POST", "/api/images/upload"): "upload",
}


def event_type(method: str, route: str) -> str:
    known = TYPES.get((method, route))
    if known:
        return known
    if "/download" in route or route.endswith("/file"):
        return "download"
    if method == "GET" and route.startswith("/api/images/{"):
        return "view"
    return "api_request"


class SelfFeedMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith("/api/") or path.startswith(SKIPPED):
            await self.app(scope, receive, send)
            return
        ctx = scope["app"].state.ctx
        if not ctx.settings.events_self_feed:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            state: dict[str, Any] = scope.get("state") or {}
            user = state.get("user_id")
            client = scope.get("client")
            now = utcnow()
            row = {
                "event_id": str(uuid.uuid4()),
                "type": event_type(scope["method"], route),
                "occurred_at": now,
                "received_at": now,
                "client_id": HUB_CLIENT,
                # One "session" per address: good enough to count who is using the hub.
                "session_id": f"ip:{client[0]}" if client else "ip:unknown",
                "user_id": str(user) if user is not None else None,
                "route": route[:512],
                "status_code": status,
                "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                "properties": {"method": scope["method"]},
            }
            ctx.component(EventIngest).submit_nowait([row])
