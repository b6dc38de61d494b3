"""Wake-ups for idle workers: whoever queues a job rings the queue's doorbell after the commit,
and every process with idle workers on that queue wakes at once, instead of polling.

A ring carries only the queue's name; the ``jobs`` table is the queue, so a lost ring costs
at most one idle interval (workers also wake when the next delayed job falls due and every
``IDLE_RECHECK_SECONDS``), never a job.

- Embedded mode (one machine): a Unix datagram socket per listening process, announced by a
  file in ``<data dir>/doorbells/``; a ring is one datagram to each. A process that died
  leaves a file nobody answers: the first ring that finds it refused removes it.
- Scaled mode: one Redis pub/sub channel every worker machine subscribes to.
"""

import contextlib
import hashlib
import logging
import os
import socket
import sys
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import redis

from vesalius.config import Settings

log = logging.getLogger(__name__)
REDIS_CHANNEL = "vesalius:doorbell"
OnRing = Callable[[str], None]


class Doorbell(Protocol):
    def ring(self, queue: str) -> None: ...

    def listen(self, on_ring: OnRing) -> None:
        """Call ``on_ring(queue)`` (from a background thread) for every ring from now on."""
        ...

    def close(self) -> None: ...


class SocketDoorbell:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self._sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sender.setblocking(False)
        self._sender_lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._announced: Path | None = None
        self._thread: threading.Thread | None = None

    @staticmethod
    def _address(directory: Path, name: str) -> str:
        # Linux's abstract namespace has no path-length limit (a test's temporary data dir
        # easily exceeds the 108 bytes of a socket path); elsewhere the file is the socket.
        if sys.platform == "linux":
            digest = hashlib.sha1(str(directory.resolve()).encode()).hexdigest()[:16]  # noqa: S324
            return f"\0vesalius-{digest}-{name}"
        return str(directory / name)

    def ring(self, queue: str) -> None:
        message = queue.encode()
        try:
            peers = list(self.directory.iterdir())
        except FileNotFoundError:
            return
        for peer in peers:
            if peer.suffix != ".bell":
                continue
            try:
                with self._sender_lock:
                    self._sender.sendto(message, self._address(self.directory, peer.name))
            except (ConnectionRefusedError, FileNotFoundError):
                with contextlib.suppress(FileNotFoundError):
                    peer.unlink()  # its process is gone
            except (BlockingIOError, OSError):
                pass  # its buffer is full of rings already: it is awake

    def listen(self, on_ring: OnRing) -> None:
        name = f"{os.getpid()}-{uuid.uuid4().hex[:8]}.bell"
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        listener.bind(self._address(self.directory, name))
        announced = self.directory / name
        if sys.platform == "linux":
            announced.touch()
        self._listener, self._announced = listener, announced
        self._thread = threading.Thread(
            target=self._loop, args=(listener, on_ring), name="vesalius-doorbell", daemon=True
        )
        self._thread.start()

    @staticmethod
    def _loop(listener: socket.socket, on_ring: OnRing) -> None:
        while True:
            try:
                data = listener.recv(256)
            except OSError:
                return  # closed
            if not data:
                return
            on_ring(data.decode(errors="replace"))

    def close(self) -> None:
        if self._announced is not None:
            with contextlib.suppress(FileNotFoundError):
                self._announced.unlink()
        if self._listener is not None:
            # shutdown() wakes the thread blocked in recv(); close() alone may not.
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None
        self._sender.close()


class RedisDoorbell:
    def __init__(self, url: str) -> None:
        self._client = redis.Redis.from_url(url)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def ring(self, queue: str) -> None:
        try:
            self._client.publish(REDIS_CHANNEL, queue)
        except redis.RedisError:
            log.warning("doorbell for %s not rung (Redis unreachable)", queue, exc_info=True)

    def listen(self, on_ring: OnRing) -> None:
        self._thread = threading.Thread(
            target=self._loop, args=(on_ring,), name="vesalius-doorbell", daemon=True
        )
        self._thread.start()

    def _loop(self, on_ring: OnRing) -> None:
        while not self._stop.is_set():
            try:
                pubsub = self._client.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
                pubsub.subscribe(REDIS_CHANNEL)
                on_ring("*")  # (re)subscribed: anything rung meanwhile is in the table
                while not self._stop.is_set():
                    message = pubsub.get_message(timeout=1.0)
                    if message is not None:
                        data = message["data"]
                        on_ring(data.decode() if isinstance(data, bytes) else str(data))
                pubsub.close()
            except redis.RedisError:
                log.warning("doorbell subscription lost; reconnecting", exc_info=True)
                self._stop.wait(1.0)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=3)
        self._client.close()


def open_doorbell(settings: Settings) -> Doorbell:
    if settings.redis_url:
        return RedisDoorbell(settings.redis_url)
    return SocketDoorbell(settings.resolved_data_dir / "doorbells")
