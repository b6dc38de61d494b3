"""Scaled mode's bus: Redis pub/sub across every API and worker machine, with a short replay
buffer per channel (a capped Redis stream) so a reconnecting SSE client can resume.

A message is appended to its stream and published in one Lua script, so the event id a
subscriber sees is always in the stream, and the two never disagree about order.
One connection per process listens, in a thread; it subscribes to a channel while at least
one local subscriber wants it.
"""

import asyncio
import contextlib
import json
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import redis

from vesalius.config import Settings
from vesalius.realtime.pubsub import (
    EventIds,
    LocalFanout,
    Message,
    MessageTooLarge,
    PubSubStats,
    Subscription,
    check_channel,
    encode,
    event_key,
)

log = logging.getLogger(__name__)
PREFIX = "vesalius:pubsub:"
STREAM_PREFIX = "vesalius:replay:"
PUBLISH = """
local id = redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[3], '*', 'd', ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('PUBLISH', ARGV[2], id .. '\\n' .. ARGV[1])
return id
"""
POLL_SECONDS = 0.05

Command = tuple[str, list[str], Callable[[], None] | None]


class _Fanout(LocalFanout):
    bus: "RedisPubSub"

    async def attach(self, sub: Subscription) -> None:
        new = self.add(sub)
        if new:
            loop = asyncio.get_running_loop()
            ready: asyncio.Future[None] = loop.create_future()

            def confirmed() -> None:
                loop.call_soon_threadsafe(_resolve, ready)

            self.bus.command("subscribe", new, confirmed)
            await ready

    def detach(self, sub: Subscription) -> list[str]:
        gone = super().detach(sub)
        if gone:
            self.bus.command("unsubscribe", gone, None)
        return gone

    def has_subscribers(self, channel: str) -> bool:
        with self._lock:
            return bool(self._subs.get(channel))


def _resolve(future: "asyncio.Future[None]") -> None:
    if not future.done():
        future.set_result(None)


class RedisPubSub:
    def __init__(self, client: "redis.Redis", settings: Settings) -> None:
        self.client = client
        self.max_bytes = settings.pubsub_max_message_bytes
        self.replay_size = settings.pubsub_replay_size
        self.replay_ttl = settings.pubsub_replay_seconds
        self.fanout = _Fanout(0, settings.pubsub_subscriber_queue)
        self.fanout.bus = self
        self._script = client.register_script(PUBLISH)
        self._ids = EventIds()
        self._commands: queue.SimpleQueue[Command] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closing = threading.Event()

    @property
    def stats(self) -> PubSubStats:
        return self.fanout.stats

    def publish(self, channel: str, data: Any) -> str:
        check_channel(channel)
        body = encode(data)
        if len(body) + len(channel) + 40 > self.max_bytes:
            raise MessageTooLarge(
                f"a {len(body)}-byte message on {channel!r} is over the "
                f"{self.max_bytes}-byte limit; publish an id and let clients fetch the data"
            )
        self.fanout.stats.published += 1
        if self.replay_size <= 0:
            event_id = self._ids.next()
            self.client.publish(PREFIX + channel, f"{event_id}\n{body}")
            return event_id
        result = self._script(
            keys=[STREAM_PREFIX + channel],
            args=[body, PREFIX + channel, self.replay_size, max(1, int(self.replay_ttl))],
        )
        return result.decode() if isinstance(result, bytes) else str(result)

    def subscribe(self, *channels: str, max_queued: int | None = None) -> Subscription:
        for channel in channels:
            check_channel(channel)
        self.start()
        return Subscription(self.fanout, channels, max_queued or self.fanout.default_max_queued)

    def replay(self, channels: Sequence[str], after_id: str) -> list[Message] | None:
        after = event_key(after_id)
        if len(after) != 2 or self.replay_size <= 0:
            return None  # not an id of ours: the client cannot be resumed
        pipe = self.client.pipeline(transaction=False)
        for channel in channels:
            key = STREAM_PREFIX + channel
            pipe.xrange(key, min="-", max="+", count=1)
            pipe.xlen(key)
            pipe.xrange(key, min=f"({after_id}", max="+", count=self.replay_size)
        results = pipe.execute()
        found: list[Message] = []
        expired_before = (int((time.time() - self.replay_ttl) * 1000),)
        for index, channel in enumerate(channels):
            first, length, entries = results[3 * index : 3 * index + 3]
            if not first:
                if after < expired_before:
                    return None
                continue
            trimmed = length >= self.replay_size
            if trimmed and event_key(first[0][0].decode()) > after:
                return None
            for raw_id, fields in entries:
                found.append(Message(channel, json.loads(fields[b"d"]), raw_id.decode()))
        found.sort(key=lambda m: event_key(m.id))
        return found

    # -- the listening thread -------------------------------------------------------------------
    def command(self, verb: str, channels: list[str], done: Callable[[], None] | None) -> None:
        self._commands.put((verb, channels, done))

    def start(self) -> None:
        if self._thread is not None:
            return
        with self._lock:
            if self._thread is None and not self._closing.is_set():
                self._thread = threading.Thread(
                    target=self._listen, name="pubsub-redis", daemon=True
                )
                self._thread.start()

    def _listen(self) -> None:
        pubsub = self.client.pubsub()  # type: ignore[no-untyped-call]
        waiting: dict[str, list[Callable[[], None]]] = {}
        try:
            while not self._closing.is_set():
                try:
                    self._apply_commands(pubsub, waiting)
                    if not pubsub.subscribed:
                        with contextlib.suppress(queue.Empty):
                            self._commands_put_back(self._commands.get(timeout=0.5))
                        continue
                    batch: list[Message] = []
                    message = pubsub.get_message(timeout=POLL_SECONDS)
                    while message is not None and len(batch) < 256:
                        self._handle(message, batch, waiting)
                        message = pubsub.get_message(timeout=0)
                    if batch:
                        self.fanout.deliver(batch, record=False)
                except (redis.ConnectionError, redis.TimeoutError) as error:
                    # redis-py reconnects and subscribes again at the next read.
                    log.warning("pub/sub connection to Redis lost (%s); retrying", error)
                    self._closing.wait(0.5)
        finally:
            with contextlib.suppress(Exception):
                pubsub.close()

    def _commands_put_back(self, command: Command) -> None:
        # Taken while idle: run it at the top of the loop like any other.
        self._pending_front = command

    _pending_front: Command | None = None

    def _apply_commands(self, pubsub: Any, waiting: dict[str, list[Callable[[], None]]]) -> None:
        commands: list[Command] = []
        if self._pending_front is not None:
            commands.append(self._pending_front)
            self._pending_front = None
        with contextlib.suppress(queue.Empty):
            while True:
                commands.append(self._commands.get_nowait())
        for verb, channels, done in commands:
            if verb == "subscribe":
                if done is not None:
                    for channel in channels:
                        waiting.setdefault(PREFIX + channel, []).append(done)
                pubsub.subscribe(*(PREFIX + c for c in channels))
            else:
                # A subscriber may have come back since the request was made.
                idle = [c for c in channels if not self.fanout.has_subscribers(c)]
                if idle:
                    pubsub.unsubscribe(*(PREFIX + c for c in idle))

    def _handle(
        self,
        message: dict[str, Any],
        batch: list[Message],
        waiting: dict[str, list[Callable[[], None]]],
    ) -> None:
        kind = message["type"]
        channel = message["channel"]
        channel = channel.decode() if isinstance(channel, bytes) else channel
        if kind == "message":
            event_id, _, body = message["data"].decode().partition("\n")
            try:
                batch.append(Message(channel[len(PREFIX) :], json.loads(body), event_id))
            except ValueError:
                log.warning("ignored a malformed pub/sub message on %s", channel)
        elif kind == "subscribe":
            callbacks = waiting.pop(channel, [])
            for done in callbacks:
                done()

    def close(self) -> None:
        self._closing.set()
        self.fanout.close_all()
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None
