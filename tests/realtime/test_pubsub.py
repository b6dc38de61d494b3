"""The bus: what one process publishes, subscribers in this and other processes receive;
a slow subscriber loses its oldest messages and is told; the replay buffer bridges a gap."""

import asyncio
import subprocess
import sys
import textwrap
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis as redis_lib

from tests.conftest import make_settings
from tests.services import RedisServer
from vesalius.realtime.embedded import EmbeddedPubSub
from vesalius.realtime.pubsub import Message, MessageTooLarge, PubSub, open_pubsub
from vesalius.realtime.redis_bus import RedisPubSub

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def embedded(tmp_path: Path) -> Iterator[PubSub]:
    bus = open_pubsub(make_settings(tmp_path, "sqlite://"), None)
    assert isinstance(bus, EmbeddedPubSub)
    yield bus
    bus.close()


@pytest.fixture
def redis_buses(redis: RedisServer, tmp_path: Path) -> Iterator[tuple[PubSub, PubSub]]:
    """Two buses with their own connections: two API machines behind one Redis."""
    settings = make_settings(tmp_path, "sqlite://", redis_url=redis.url, pubsub_replay_size=5)
    clients = [redis_lib.Redis.from_url(redis.url) for _ in range(2)]
    buses = [open_pubsub(settings, client) for client in clients]
    assert all(isinstance(bus, RedisPubSub) for bus in buses)
    yield buses[0], buses[1]
    for bus, client in zip(buses, clients, strict=True):
        bus.close()
        client.close()


async def _collect(bus: PubSub, channels: list[str], count: int, publish: object) -> list[Message]:
    """Subscribe, run ``publish()`` in a thread (as a job worker would), take ``count``."""
    async with bus.subscribe(*channels) as subscription:
        thread = threading.Thread(target=publish)  # type: ignore[arg-type]
        thread.start()
        got: list[Message] = []
        while len(got) < count:
            message = await subscription.get(timeout=10)
            assert message is not None, f"only {len(got)} of {count} messages arrived"
            got.append(message)
        thread.join()
        return got


def test_subscribers_get_their_channels_only(embedded: PubSub) -> None:
    def publish() -> None:
        embedded.publish("jobs:2", {"n": 0})
        embedded.publish("jobs:1", {"n": 1})
        embedded.publish("jobs", {"n": 2})

    got = asyncio.run(_collect(embedded, ["jobs:1", "jobs"], 2, publish))
    assert [(m.channel, m.data) for m in got] == [("jobs:1", {"n": 1}), ("jobs", {"n": 2})]
    assert got[0].id != got[1].id
    assert embedded.stats.subscribers == 0  # the subscription ended with its block


def _publisher_script(data_dir: Path, channel: str, count: int) -> str:
    return textwrap.dedent(
        f"""
        from vesalius.config import Settings
        from vesalius.realtime.pubsub import open_pubsub
        bus = open_pubsub(Settings(_env_file=None, data_dir={str(data_dir)!r}), None)
        for n in range({count}):
            bus.publish({channel!r}, {{"n": n, "from": "worker"}})
        bus.close()
        """
    )


def test_messages_cross_processes_in_embedded_mode(embedded: PubSub, tmp_path: Path) -> None:
    """A worker process publishes; the web process (here: this test) receives, in order."""

    def publish() -> None:
        subprocess.run(
            [sys.executable, "-c", _publisher_script(tmp_path, "jobs:9", 50)],
            cwd=ROOT,
            check=True,
            timeout=60,
        )

    got = asyncio.run(_collect(embedded, ["jobs:9"], 50, publish))
    assert [m.data["n"] for m in got] == list(range(50))
    assert {m.data["from"] for m in got} == {"worker"}


def test_a_subscriber_process_receives_what_this_one_publishes(
    embedded: PubSub, tmp_path: Path
) -> None:
    script = textwrap.dedent(
        f"""
        import asyncio, sys
        from vesalius.config import Settings
        from vesalius.realtime.pubsub import open_pubsub

        async def main():
            bus = open_pubsub(Settings(_env_file=None, data_dir={str(tmp_path)!r}), None)
            async with bus.subscribe("news") as sub:
                print("ready", flush=True)
                message = await sub.get(timeout=30)
                print(message.data["text"] if message else "nothing", flush=True)
            bus.close()

        asyncio.run(main())
        """
    )
    with subprocess.Popen(
        [sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, text=True
    ) as child:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        embedded.publish("news", {"text": "hello from the web process"})
        assert child.stdout.readline().strip() == "hello from the web process"
        child.wait(timeout=30)
    # The child removed its socket on close: nobody sends to it any more.
    assert not list(Path(embedded.dir).glob("*.sock")) or all(  # type: ignore[attr-defined]
        str(child.pid) not in p.name
        for p in Path(embedded.dir).glob("*.sock")  # type: ignore[attr-defined]
    )


def test_a_dead_process_socket_is_forgotten(embedded: PubSub, tmp_path: Path) -> None:
    embedded.start()
    folder = Path(embedded.dir)  # type: ignore[attr-defined]
    stale = folder / "99999999-dead.sock"
    import socket

    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(stale))  # bound, then closed: as a killed process leaves it
    embedded.publish("anything", {"ok": True})
    assert not stale.exists()


def test_a_slow_subscriber_loses_its_oldest_messages_and_is_told(embedded: PubSub) -> None:
    async def scenario() -> tuple[list[int], int]:
        async with embedded.subscribe("flood", max_queued=5) as subscription:
            for n in range(20):
                embedded.publish("flood", n)
            await asyncio.sleep(0.05)  # let the deliveries run on this loop
            got = []
            while (message := await subscription.get(timeout=0.2)) is not None:
                got.append(message.data)
            return got, subscription.overflowed()

    got, lost = asyncio.run(scenario())
    assert got == [15, 16, 17, 18, 19]
    assert lost == 15
    assert embedded.stats.dropped == 15


def test_replay_gives_what_a_client_missed(embedded: PubSub) -> None:
    embedded.start()
    ids = [embedded.publish("jobs:5", {"progress": p}) for p in (10, 20, 30)]
    missed = embedded.replay(["jobs:5"], ids[0])
    assert missed is not None
    assert [m.data["progress"] for m in missed] == [20, 30]
    assert embedded.replay(["jobs:5"], ids[-1]) == []
    # An id from before this process kept the channel: the client must reset.
    assert embedded.replay(["jobs:5"], "1-0-1") is None


def test_replay_buffer_is_bounded(tmp_path: Path) -> None:
    bus = open_pubsub(make_settings(tmp_path, "sqlite://", pubsub_replay_size=3), None)
    try:
        bus.start()
        ids = [bus.publish("c", n) for n in range(6)]
        assert bus.replay(["c"], ids[0]) is None  # trimmed away
        missed = bus.replay(["c"], ids[3])
        assert missed is not None
        assert [m.data for m in missed] == [4, 5]
    finally:
        bus.close()


def test_oversized_messages_and_bad_channels_are_refused(embedded: PubSub) -> None:
    with pytest.raises(MessageTooLarge, match="publish an id"):
        embedded.publish("big", "x" * 70_000)
    with pytest.raises(ValueError, match="invalid channel"):
        embedded.publish("no spaces", 1)


# -- scaled mode ----------------------------------------------------------------------------
def test_redis_carries_messages_between_machines(redis_buses: tuple[PubSub, PubSub]) -> None:
    one, two = redis_buses
    channel = f"jobs:{uuid.uuid4().hex[:8]}"

    def publish() -> None:
        for n in range(10):
            one.publish(channel, {"n": n})

    got = asyncio.run(_collect(two, [channel], 10, publish))
    assert [m.data["n"] for m in got] == list(range(10))


def test_redis_replay_resumes_and_detects_a_gap(redis_buses: tuple[PubSub, PubSub]) -> None:
    one, two = redis_buses
    channel = f"jobs:{uuid.uuid4().hex[:8]}"
    ids = [one.publish(channel, n) for n in range(4)]
    missed = two.replay([channel], ids[1])
    assert missed is not None
    assert [(m.data, m.id) for m in missed] == [(2, ids[2]), (3, ids[3])]
    for n in range(4, 10):  # the buffer keeps 5: ids[1] falls out of it
        one.publish(channel, n)
    assert two.replay([channel], ids[1]) is None
    assert two.replay([channel], "not-an-id") is None
