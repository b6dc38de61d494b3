"""The push layer's bus: ``publish(channel, message)`` from any thread or process, and async
subscriptions that receive what is published, in embedded mode (Unix datagram sockets between
the processes of one machine) and in scaled mode (Redis pub/sub), chosen by settings.

Delivery is at most once, like Redis pub/sub: a subscriber that cannot keep up loses its
oldest messages (and is told, see ``Subscription.overflowed``), a publisher never waits for a
slow reader. What must not be lost belongs in a table; the short replay buffer
(``PubSub.replay``) only bridges a reconnecting client's gap.
"""

import asyncio
import contextlib
import itertools
import json
import os
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import redis

    from vesalius.config import Settings

CHANNEL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:._-/")


class MessageTooLarge(ValueError):
    """A message over ``VESALIUS_PUBSUB_MAX_MESSAGE_BYTES``: publish an id, not the data."""


@dataclass(frozen=True, slots=True)
class Message:
    channel: str
    data: Any
    """The JSON value that was published."""
    id: str
    """Unique, ordered by publication time (``event_key``); the SSE event id."""


def event_key(event_id: str) -> tuple[int, ...]:
    """Sort key of an event id (``"<ms>-<seq>"`` from Redis, ``"<ms>-<seq>-<pid>"`` embedded);
    an id that is not ours sorts before everything."""
    try:
        return tuple(int(part) for part in event_id.split("-"))
    except ValueError:
        return (-1,)


def check_channel(channel: str) -> str:
    if not channel or len(channel) > 200 or not CHANNEL_CHARS.issuperset(channel):
        raise ValueError(f"invalid channel name {channel!r} (letters, digits and :._-/)")
    return channel


def encode(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False, default=str)


@dataclass
class PubSubStats:
    """Counters for ``/metrics`` (this process)."""

    published: int = 0
    delivered: int = 0
    dropped: int = 0
    """Messages a subscriber lost because its queue was full, or a peer process did not take."""
    subscribers: int = 0


class PubSub(Protocol):
    @property
    def stats(self) -> PubSubStats: ...

    def publish(self, channel: str, data: Any) -> str:
        """Send ``data`` (JSON-serialisable) to every subscriber of ``channel``, in every
        process; returns the event id. Thread-safe, never blocks on slow subscribers. Call it
        after the transaction whose outcome it announces has committed."""
        ...

    def subscribe(self, *channels: str, max_queued: int | None = None) -> "Subscription":
        """``async with ctx.pubsub.subscribe("jobs:7") as sub: async for message in sub: …``"""
        ...

    def replay(self, channels: Sequence[str], after_id: str) -> list[Message] | None:
        """Messages of ``channels`` published after ``after_id``, oldest first; ``None`` when
        the buffer no longer reaches back that far (the client must reset)."""
        ...

    def start(self) -> None:
        """Start receiving in this process now (the web server does, so its replay buffer
        covers everything since it started), rather than at the first subscription."""
        ...

    def close(self) -> None: ...


class Subscription:
    """Messages of some channels for one consumer, queued on the event loop that entered it.

    An async context manager and an async iterator; iteration ends when the bus closes
    (server shutdown) or ``close()`` is called. The queue is bounded: when it is full the
    oldest message is dropped and ``overflowed`` reports it once.
    """

    def __init__(self, bus: "LocalFanout", channels: tuple[str, ...], max_queued: int) -> None:
        self.channels = channels
        self._bus = bus
        self._max = max_queued
        self._queue: deque[Message] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._lost = 0
        self.loop: asyncio.AbstractEventLoop | None = None
        self.closed = False

    async def __aenter__(self) -> "Subscription":
        self.loop = asyncio.get_running_loop()
        await self._bus.attach(self)
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self.close()

    def __aiter__(self) -> "Subscription":
        return self

    async def __anext__(self) -> Message:
        message = await self.get()
        if message is None:
            raise StopAsyncIteration
        return message

    async def get(self, timeout: float | None = None) -> Message | None:
        """The next message; ``None`` when closed or after ``timeout`` seconds of silence."""
        if not self._queue and not self.closed:
            assert self.loop is not None, "enter the subscription with `async with` first"
            self._waiter = self.loop.create_future()
            try:
                await asyncio.wait_for(asyncio.shield(self._waiter), timeout)
            except TimeoutError:
                return None
            finally:
                self._waiter = None
        if self._queue:
            return self._queue.popleft()
        return None

    def overflowed(self) -> int:
        """How many messages were dropped since the last call (the consumer fell behind)."""
        lost, self._lost = self._lost, 0
        return lost

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._bus.detach(self)
        self._wake()

    # -- called on self.loop by the bus ---------------------------------------------------------
    def _push(self, message: Message) -> None:
        if self.closed:
            return
        self._queue.append(message)
        if len(self._queue) > self._max:
            self._queue.popleft()
            self._lost += 1
            self._bus.stats.dropped += 1
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


@dataclass
class _Ring:
    messages: deque[Message]
    since: tuple[int, ...]
    """Key of the moment this process started keeping the channel: older ids are unknown."""


@dataclass
class LocalFanout:
    """This process's subscribers and replay buffer; transports feed it from any thread."""

    replay_size: int
    default_max_queued: int
    max_channels: int = 5000
    stats: PubSubStats = field(default_factory=PubSubStats)
    _subs: dict[str, set[Subscription]] = field(default_factory=dict)
    _rings: "OrderedDict[str, _Ring]" = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    started_key: tuple[int, ...] = (0,)

    # Transports override these to follow the set of channels anyone listens to.
    async def attach(self, sub: Subscription) -> None:
        self.add(sub)

    def add(self, sub: Subscription) -> list[str]:
        """Register ``sub``; returns the channels that had no subscriber before."""
        new: list[str] = []
        with self._lock:
            for channel in sub.channels:
                subs = self._subs.setdefault(channel, set())
                if not subs:
                    new.append(channel)
                subs.add(sub)
            self.stats.subscribers += 1
        return new

    def detach(self, sub: Subscription) -> list[str]:
        gone: list[str] = []
        with self._lock:
            for channel in sub.channels:
                subs = self._subs.get(channel)
                if subs is not None and sub in subs:
                    subs.discard(sub)
                    if not subs:
                        del self._subs[channel]
                        gone.append(channel)
            self.stats.subscribers -= 1
        return gone

    def deliver(self, messages: Iterable[Message], *, record: bool = True) -> None:
        """Hand ``messages`` to their subscribers (one wake-up per event loop, not per
        subscriber: a thousand SSE clients on one loop cost one cross-thread call)."""
        per_loop: dict[asyncio.AbstractEventLoop, list[tuple[Message, list[Subscription]]]] = {}
        with self._lock:
            for message in messages:
                if record:
                    self._record(message)
                subs = self._subs.get(message.channel)
                if not subs:
                    continue
                by_loop: dict[asyncio.AbstractEventLoop, list[Subscription]] = {}
                for sub in subs:
                    if sub.loop is not None:
                        by_loop.setdefault(sub.loop, []).append(sub)
                for loop, targets in by_loop.items():
                    per_loop.setdefault(loop, []).append((message, targets))
                self.stats.delivered += len(subs)
        for loop, batch in per_loop.items():
            # A closed loop's subscriptions went with it.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_push_batch, batch)

    def _record(self, message: Message) -> None:
        if self.replay_size <= 0:
            return
        ring = self._rings.get(message.channel)
        if ring is None:
            ring = self._rings[message.channel] = _Ring(
                deque(maxlen=self.replay_size), self.started_key
            )
            while len(self._rings) > self.max_channels:
                self._rings.popitem(last=False)
        else:
            self._rings.move_to_end(message.channel)
        ring.messages.append(message)

    def replay(self, channels: Sequence[str], after_id: str) -> list[Message] | None:
        after = event_key(after_id)
        found: list[Message] = []
        with self._lock:
            for channel in channels:
                ring = self._rings.get(channel)
                if ring is None:
                    if after < self.started_key:
                        return None
                    continue
                messages = list(ring.messages)
                full = len(messages) == ring.messages.maxlen
                oldest = event_key(messages[0].id) if messages else ring.since
                if (full and oldest > after) or after < ring.since:
                    return None
                found.extend(m for m in messages if event_key(m.id) > after)
        found.sort(key=lambda m: event_key(m.id))
        return found

    def close_all(self) -> None:
        with self._lock:
            subs = {sub for group in self._subs.values() for sub in group}
        for sub in subs:
            if sub.loop is not None:
                try:
                    sub.loop.call_soon_threadsafe(sub.close)
                except RuntimeError:
                    sub.close()

    def reset(self) -> None:
        """After a fork: the parent's subscribers and buffer are not this process's."""
        self._subs = {}
        self._rings = OrderedDict()
        self._lock = threading.Lock()
        self.stats = PubSubStats()


def _push_batch(batch: list[tuple[Message, list[Subscription]]]) -> None:
    for message, targets in batch:
        for sub in targets:
            sub._push(message)


class EventIds:
    """Ordered unique ids for embedded mode: milliseconds, a counter, the process id."""

    def __init__(self) -> None:
        self._counter = itertools.count()
        self._pid = os.getpid()

    def next(self) -> str:
        return f"{time.time_ns() // 1_000_000}-{next(self._counter)}-{self._pid}"


def now_key() -> tuple[int, ...]:
    return (time.time_ns() // 1_000_000,)


def open_pubsub(settings: "Settings", client: "redis.Redis | None") -> PubSub:
    """Redis pub/sub when Redis is configured (scaled mode), else the machine-local bus."""
    if client is not None:
        from vesalius.realtime.redis_bus import RedisPubSub

        return RedisPubSub(client, settings)
    from vesalius.realtime.embedded import EmbeddedPubSub

    return EmbeddedPubSub(settings)
