"""Expiring counters for throttling, shared by every API machine in scaled mode.

Embedded mode keeps them in memory; scaled mode keeps them in Redis so a flood spread over
several machines is still counted once.
"""

import threading
import time
from typing import Protocol

import redis


class CounterStore(Protocol):
    def increment(self, key: str, window_seconds: float) -> int:
        """Add one to ``key`` and return its count; the count expires ``window_seconds``
        after the first hit of its window."""
        ...

    def reset(self, key: str) -> None: ...

    def block(self, key: str, seconds: float) -> None:
        """Mark ``key`` as blocked for ``seconds``."""
        ...

    def blocked_for(self, key: str) -> float:
        """Seconds left on a block of ``key`` (0 when not blocked)."""
        ...


class MemoryCounterStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, tuple[int, float]] = {}
        self._blocks: dict[str, float] = {}

    def increment(self, key: str, window_seconds: float) -> int:
        now = time.monotonic()
        with self._lock:
            count, expires = self._counts.get(key, (0, 0.0))
            if expires <= now:
                count, expires = 0, now + window_seconds
            count += 1
            self._counts[key] = (count, expires)
            if len(self._counts) > 100_000:  # keep memory bounded under a flood of keys
                self._counts = {k: v for k, v in self._counts.items() if v[1] > now}
            return count

    def reset(self, key: str) -> None:
        with self._lock:
            self._counts.pop(key, None)
            self._blocks.pop(key, None)

    def block(self, key: str, seconds: float) -> None:
        with self._lock:
            self._blocks[key] = time.monotonic() + seconds

    def blocked_for(self, key: str) -> float:
        with self._lock:
            until = self._blocks.get(key)
        return max(0.0, until - time.monotonic()) if until else 0.0


class RedisCounterStore:
    def __init__(self, client: "redis.Redis", prefix: str = "vesalius:counter:") -> None:
        self._redis = client
        self._prefix = prefix

    def increment(self, key: str, window_seconds: float) -> int:
        name = self._prefix + key
        pipe = self._redis.pipeline()
        pipe.incr(name)
        pipe.pexpire(name, int(window_seconds * 1000), nx=True)
        count, _ = pipe.execute()
        return int(count)

    def reset(self, key: str) -> None:
        self._redis.delete(self._prefix + key, self._prefix + "block:" + key)

    def block(self, key: str, seconds: float) -> None:
        self._redis.set(self._prefix + "block:" + key, "1", px=max(1, int(seconds * 1000)))

    def blocked_for(self, key: str) -> float:
        remaining_ms = int(self._redis.pttl(self._prefix + "block:" + key))
        return remaining_ms / 1000 if remaining_ms > 0 else 0.0
