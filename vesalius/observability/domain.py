"""Health, readiness and Prometheus metrics."""

from fastapi import FastAPI

from vesalius.context import AppContext
from vesalius.domains import DomainHub
from vesalius.observability import api


def _install(app: FastAPI, _ctx: AppContext) -> None:
    api.register(app, app.state.metrics_registry)


def register(hub: DomainHub) -> None:
    hub.routes(_install)
