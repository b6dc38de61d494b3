"""Who may send events, and how often: signed-in users (their JWT) and ingest keys.

Keys are looked up by their SHA-256 and remembered for a few seconds, so a busy source costs
no query per request; a revoked key stops working within ``KEY_CACHE_SECONDS`` on every
machine (at once on the one that revoked it).
"""

import threading
import time
from dataclasses import dataclass

from vesalius.accounts.models import Role
from vesalius.accounts.permissions import ensure_active
from vesalius.accounts.sessions import AuthService
from vesalius.common.errors import Forbidden, TooManyRequests, Unauthorized
from vesalius.context import AppContext
from vesalius.events.service import EventService, hash_key

KEY_CACHE_SECONDS = 10.0


@dataclass(frozen=True)
class Sender:
    kind: str  # "user" or "key"
    ident: str  # user id or key id
    rate_per_minute: int | None = None
    allowed_origins: tuple[str, ...] | None = None
    is_admin: bool = False
    # When a user's access token stops being valid: a socket is closed then.
    expires_at: float | None = None


class Senders:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self._keys: dict[str, tuple[Sender | None, float]] = {}
        self._lock = threading.Lock()

    def by_token(self, token: str) -> Sender:
        with self.ctx.db.read_session() as session:
            user, _ = AuthService(self.ctx, session).authenticate(token)
            ensure_active(user)
        return Sender(
            "user",
            str(user.id),
            is_admin=user.role == Role.admin,
            expires_at=self.token_expiry(token),
        )

    def token_expiry(self, token: str) -> float:
        return self.ctx.access_tokens.decode(token).expires_at.timestamp()

    def by_key(self, secret: str, origin: str | None = None) -> Sender:
        digest = hash_key(secret)
        now = time.monotonic()
        with self._lock:
            cached = self._keys.get(digest)
        if cached is None or cached[1] < now:
            with self.ctx.db.read_session() as session:
                key = EventService(session).key_by_secret(secret)
                sender = (
                    Sender(
                        "key",
                        str(key.id),
                        rate_per_minute=key.rate_per_minute,
                        allowed_origins=tuple(key.allowed_origins) if key.allowed_origins else None,
                    )
                    if key is not None
                    else None
                )
            with self._lock:
                if len(self._keys) > 10_000:
                    self._keys.clear()
                self._keys[digest] = (sender, now + KEY_CACHE_SECONDS)
        else:
            sender = cached[0]
        if sender is None:
            raise Unauthorized("unknown or revoked ingest key", code="invalid_ingest_key")
        if origin and sender.allowed_origins and origin.rstrip("/") not in sender.allowed_origins:
            raise Forbidden(
                f"this ingest key may not be used from {origin}", code="origin_not_allowed"
            )
        return sender

    def forget_keys(self) -> None:
        with self._lock:
            self._keys.clear()

    # -- REST rate limits -----------------------------------------------------------------------
    def check_rate(self, sender: Sender, ip: str | None) -> None:
        settings = self.ctx.settings
        minute = int(time.time() // 60)
        retry = 60 - time.time() % 60
        if sender.kind == "key":
            limit = sender.rate_per_minute or settings.events_key_requests_per_minute
            self._count(f"events:key:{sender.ident}:{minute}", limit, retry, "this ingest key")
            if ip:
                self._count(
                    f"events:ip:{ip}:{minute}",
                    settings.events_ip_requests_per_minute,
                    retry,
                    "this address",
                )
        else:
            self._count(
                f"events:user:{sender.ident}:{minute}",
                settings.events_user_requests_per_minute,
                retry,
                "this user",
            )

    def _count(self, key: str, limit: int, retry: float, who: str) -> None:
        if self.ctx.counters.increment(key, 61) > limit:
            raise TooManyRequests(
                f"{who} may send at most {limit} event requests a minute",
                code="rate_limited",
                retry_after=retry,
            )
