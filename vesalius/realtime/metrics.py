"""The bus's counters on ``/metrics`` (read when scraped; nothing to update on the hot path)."""

from collections.abc import Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from vesalius.realtime.pubsub import PubSub
from vesalius.realtime.websocket import STATS as SOCKETS


class PubSubCollector(Collector):
    def __init__(self, pubsub: PubSub) -> None:
        self.pubsub = pubsub

    def collect(self) -> Iterator[Metric]:
        stats = self.pubsub.stats
        yield GaugeMetricFamily(
            "vesalius_pubsub_subscribers",
            "Live subscriptions (SSE streams, sockets, pages) in this process",
            value=stats.subscribers,
        )
        yield CounterMetricFamily(
            "vesalius_pubsub_published",
            "Messages published by this process",
            value=stats.published,
        )
        yield CounterMetricFamily(
            "vesalius_pubsub_delivered",
            "Messages handed to subscribers in this process",
            value=stats.delivered,
        )
        yield CounterMetricFamily(
            "vesalius_pubsub_dropped",
            "Messages lost: a subscriber fell behind, or a peer process did not take them",
            value=stats.dropped,
        )
        yield GaugeMetricFamily(
            "vesalius_websockets_open", "Open WebSockets in this process", value=SOCKETS.open
        )
        yield CounterMetricFamily(
            "vesalius_websockets_slow_closed",
            "WebSockets closed because the client did not read what it was sent",
            value=SOCKETS.slow_closed,
        )
        yield CounterMetricFamily(
            "vesalius_websockets_rate_limited",
            "WebSocket messages refused by a socket's token bucket",
            value=SOCKETS.rate_limited,
        )


def register_metrics(registry: CollectorRegistry, pubsub: PubSub) -> None:
    registry.register(PubSubCollector(pubsub))
