"""The push layer: ``ctx.pubsub`` is infrastructure (context.py); this domain adds what a
serving process needs around it: its metrics, and receiving from the start."""

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import FastAPI

from vesalius.context import AppContext
from vesalius.domains import DomainHub
from vesalius.realtime.metrics import register_metrics
from vesalius.realtime.sse import closing_streams


def _install(app: FastAPI, ctx: AppContext) -> None:
    register_metrics(app.state.metrics_registry, ctx.pubsub)


@contextmanager
def _serving(ctx: AppContext) -> Iterator[None]:
    # Receive from the start, so the replay buffer covers every message since the server
    # started, and end every live stream first at shutdown (uvicorn waits for open responses).
    ctx.pubsub.start()
    with closing_streams():
        yield


def register(hub: DomainHub) -> None:
    hub.routes(_install)
    hub.while_serving(_serving)
