"""Embedded mode's bus: the processes of one machine (the web server and its worker
processes) exchange messages over Unix datagram sockets in one folder.

Each process that subscribes binds one socket there and a thread reads it; a publisher sends
each message to every socket in the folder (and hands it to its own subscribers directly).
A socket whose process died refuses the datagram and is removed. Datagrams keep message
boundaries, need no connection and no broker: nothing to install or start.
"""

import contextlib
import errno
import hashlib
import json
import logging
import os
import secrets
import socket
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

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
    now_key,
)

log = logging.getLogger(__name__)
SOCKET_BUFFER = 4 * 1024 * 1024
# A peer whose queue is full gets this long to drain it before the datagram is dropped: long
# enough for a busy process's reader thread to get the GIL, short enough not to stall a job.
SEND_TIMEOUT = 0.2
LISTING_TRUST_SECONDS = 1.0
MAX_UNIX_PATH = 100  # sun_path holds 108 bytes; leave room for the socket's own name


def socket_dir(settings: Settings) -> Path:
    """``<data dir>/pubsub``, or a short folder named after it when that path is too long for
    a Unix socket address."""
    preferred = settings.resolved_data_dir / "pubsub"
    if len(str(preferred)) + 24 <= MAX_UNIX_PATH:
        return preferred
    digest = hashlib.sha256(str(settings.resolved_data_dir).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"vesalius-{os.getuid()}" / digest


class EmbeddedPubSub:
    def __init__(self, settings: Settings) -> None:
        self.dir = socket_dir(settings)
        self.max_bytes = settings.pubsub_max_message_bytes
        self.fanout = LocalFanout(settings.pubsub_replay_size, settings.pubsub_subscriber_queue)
        self._ids = EventIds()
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._sender: socket.socket | None = None
        self._receiver: socket.socket | None = None
        self._own: str | None = None
        self._thread: threading.Thread | None = None
        self._peers: list[str] = []
        self._listing_mtime = -1
        self._closing = False

    @property
    def stats(self) -> PubSubStats:
        return self.fanout.stats

    # -- publishing -------------------------------------------------------------------------
    def publish(self, channel: str, data: Any) -> str:
        check_channel(channel)
        self._after_fork()
        event_id = self._ids.next()
        payload = f"{channel}\n{event_id}\n{encode(data)}".encode()
        if len(payload) > self.max_bytes:
            raise MessageTooLarge(
                f"a {len(payload)}-byte message on {channel!r} is over the "
                f"{self.max_bytes}-byte limit; publish an id and let clients fetch the data"
            )
        self.fanout.stats.published += 1
        if self._thread is not None:
            self.fanout.deliver([Message(channel, data, event_id)])
        for peer in self._live_peers():
            self._send(peer, payload)
        return event_id

    def _send(self, peer: str, payload: bytes) -> None:
        sender = self._sender
        if sender is None:
            with self._lock:
                if self._sender is None:
                    self._sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                    self._sender.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SOCKET_BUFFER)
                    self._sender.settimeout(SEND_TIMEOUT)
                sender = self._sender
        try:
            sender.sendto(payload, peer)
        except (ConnectionRefusedError, FileNotFoundError):
            # Its process is gone (or going): forget the socket so nobody sends there again.
            with contextlib.suppress(OSError):
                Path(peer).unlink()
            self._listing_mtime = -1
        except (TimeoutError, BlockingIOError):
            self.fanout.stats.dropped += 1
            log.warning("pub/sub peer %s did not take a message in time; dropped", peer)
        except OSError as error:
            self.fanout.stats.dropped += 1
            if error.errno != errno.EMSGSIZE:
                raise
            log.warning("pub/sub message too large for %s; dropped", peer)

    def _live_peers(self) -> list[str]:
        """Sockets of the other subscribing processes; the folder is listed again only when it
        changed (its mtime) or when the last listing is too recent to trust (an mtime has
        coarse granularity, so two binds in one tick look like one)."""
        try:
            stat = self.dir.stat()
        except FileNotFoundError:
            return []
        mtime = stat.st_mtime_ns
        recent = (now_key()[0] * 1_000_000 - mtime) < LISTING_TRUST_SECONDS * 1e9
        if mtime != self._listing_mtime or recent:
            with os.scandir(self.dir) as entries:
                self._peers = [
                    entry.path
                    for entry in entries
                    if entry.name.endswith(".sock") and entry.path != self._own
                ]
            self._listing_mtime = mtime
        return self._peers

    # -- subscribing ------------------------------------------------------------------------
    def subscribe(self, *channels: str, max_queued: int | None = None) -> Subscription:
        for channel in channels:
            check_channel(channel)
        self.start()
        return Subscription(self.fanout, channels, max_queued or self.fanout.default_max_queued)

    def replay(self, channels: Sequence[str], after_id: str) -> list[Message] | None:
        self.start()
        return self.fanout.replay(channels, after_id)

    def start(self) -> None:
        self._after_fork()
        if self._thread is not None:
            return
        with self._lock:
            if self._thread is not None or self._closing:
                return
            self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            path = str(self.dir / f"{os.getpid()}-{secrets.token_hex(4)}.sock")
            receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            receiver.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SOCKET_BUFFER)
            receiver.bind(path)
            self._receiver, self._own = receiver, path
            self.fanout.started_key = now_key()
            self._listing_mtime = -1
            self._thread = threading.Thread(
                target=self._receive, args=(receiver,), name="pubsub-receiver", daemon=True
            )
            self._thread.start()

    def _receive(self, receiver: socket.socket) -> None:
        while True:
            try:
                first = receiver.recv(65536 * 4)
            except OSError:
                return  # closed
            if not first:
                if self._closing:
                    return
                continue
            batch = [first]
            # Take whatever else is already waiting, so a burst costs one wake-up per loop.
            while len(batch) < 256:
                try:
                    batch.append(receiver.recv(65536 * 4, socket.MSG_DONTWAIT))
                except (BlockingIOError, OSError):
                    break
            messages = [m for m in map(_decode, batch) if m is not None]
            if messages:
                self.fanout.deliver(messages)

    def _after_fork(self) -> None:
        """A forked worker inherits the parent's socket and subscribers: none are its own."""
        if self._pid == os.getpid():
            return
        self._pid = os.getpid()
        self._ids = EventIds()
        self._lock = threading.Lock()
        if self._receiver is not None:
            with contextlib.suppress(OSError):
                self._receiver.close()  # close our copy; the file stays the parent's
        if self._sender is not None:
            with contextlib.suppress(OSError):
                self._sender.close()
        self._receiver = self._sender = self._own = self._thread = None
        self._listing_mtime = -1
        self.fanout.reset()

    def close(self) -> None:
        self._closing = True
        self.fanout.close_all()
        if self._own is not None and self._pid == os.getpid():
            with contextlib.suppress(OSError):
                Path(self._own).unlink()
        for sock in (self._receiver, self._sender):
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                with contextlib.suppress(OSError):
                    sock.close()
        if self._thread is not None:
            self._thread.join(timeout=2)
        self._receiver = self._sender = self._own = self._thread = None


def _decode(payload: bytes) -> Message | None:
    try:
        channel, event_id, body = payload.decode().split("\n", 2)
        return Message(channel, json.loads(body), event_id)
    except (ValueError, UnicodeDecodeError):
        log.warning("ignored a malformed pub/sub datagram (%d bytes)", len(payload))
        return None
