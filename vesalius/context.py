"""The process-wide objects every request, page and task reaches through: built once from
settings, so choosing embedded or scaled mode is configuration only.

Only shared infrastructure lives here. A domain's own long-lived objects are ``components``
it declared in its ``domain.py``; ``ctx.component(Kind)`` builds one on first use.
"""

import threading
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar

import redis

from vesalius.accounts.passwords import Passwords
from vesalius.accounts.throttle import LoginThrottle
from vesalius.accounts.tokens import AccessTokens
from vesalius.accounts.totp import TotpCodec
from vesalius.analytics.recorder import ActivityRecorder
from vesalius.common.counters import CounterStore, MemoryCounterStore, RedisCounterStore
from vesalius.config import Settings
from vesalius.db import Database
from vesalius.domains import hub
from vesalius.jobs.runner import run_next
from vesalius.keys import Keys, load_keys
from vesalius.queue import Queues
from vesalius.realtime.pubsub import PubSub, open_pubsub
from vesalius.storage import BlobStore, open_blob_store

T = TypeVar("T")


@dataclass
class AppContext:
    settings: Settings
    db: Database
    keys: Keys
    counters: CounterStore
    passwords: Passwords
    access_tokens: AccessTokens
    totp: TotpCodec
    login_throttle: LoginThrottle
    blobs: BlobStore
    queues: Queues
    activity: ActivityRecorder
    pubsub: PubSub
    """Live messages between processes (``vesalius/realtime``): embedded or Redis."""
    redis: "redis.Redis | None" = None
    _components: dict[type[Any], Any] = field(default_factory=dict)
    _components_lock: threading.Lock = field(default_factory=threading.Lock)

    def component(self, kind: type[T]) -> T:
        """The one ``kind`` of this process (``DomainHub.component``), built on first use."""
        found = self._components.get(kind)
        if found is None:
            with self._components_lock:
                found = self._components.get(kind)
                if found is None:
                    found = self._components[kind] = hub().components[kind].build(self)
        result: T = found
        return result

    def close(self) -> None:
        for kind, built in reversed(list(self._components.items())):
            close = hub().components[kind].close
            if close is not None:
                close(built)
        self._components.clear()
        self.pubsub.close()
        self.activity.stop()  # write what is still buffered before the engine goes
        self.queues.close()
        self.db.dispose()
        if self.redis is not None:
            self.redis.close()


def build_context(settings: Settings) -> AppContext:
    settings.resolved_data_dir.mkdir(parents=True, exist_ok=True)
    keys = load_keys(settings)
    client = redis.Redis.from_url(settings.redis_url) if settings.redis_url else None
    counters: CounterStore = RedisCounterStore(client) if client else MemoryCounterStore()
    db = Database(settings.sqlalchemy_url)
    ctx = AppContext(
        settings=settings,
        db=db,
        keys=keys,
        counters=counters,
        passwords=Passwords(settings),
        access_tokens=AccessTokens(keys, timedelta(minutes=settings.access_token_minutes)),
        totp=TotpCodec(keys),
        login_throttle=LoginThrottle(counters, settings),
        blobs=open_blob_store(settings),
        queues=Queues(settings, hub().queues, db),
        activity=ActivityRecorder(
            db, enabled=settings.analytics_enabled, flush_seconds=settings.analytics_flush_seconds
        ),
        pubsub=open_pubsub(settings, client),
        redis=client,
    )
    ctx.queues.bind(lambda queue: run_next(ctx, queue))
    return ctx
