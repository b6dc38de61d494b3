"""The domains Vesalius is made of, and what each one contributes to a process.

Every domain has a module ``vesalius/<domain>/domain.py`` with one function,
``register(hub: DomainHub) -> None``, that declares its routers, queues, job types, periodic
duties, long-lived components, CLI commands, web pages and navigation entries. The app, the
workers and the CLI read the hub; none of them names a domain, and no domain edits another's
files. Adding a domain is one new folder and one line in ``DOMAINS``.

Things that pull heavy libraries (pixel codecs, NiceGUI, scikit-image) are given as
``"module:attribute"`` references and imported only by the process that uses them: an API
replica never imports the segmentation models, a worker never imports the web UI.
"""

import importlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    import typer
    from fastapi import APIRouter, FastAPI
    from sqlalchemy.orm import Session

    from vesalius.accounts.models import Role
    from vesalius.config import Settings
    from vesalius.context import AppContext
    from vesalius.jobs.runner import RunningJob

# Order matters only for navigation and for which routes FastAPI tries first.
DOMAINS: tuple[str, ...] = (
    "observability",
    "realtime",
    "accounts",
    "jobs",
    "uploads",
    "imaging",
    "analytics",
    "studies",
    "events",
)

T = TypeVar("T")
Handler = Callable[["AppContext", "RunningJob"], dict[str, Any] | None]
FailureHook = Callable[["AppContext", dict[str, Any], str], None]
RetryHook = Callable[["Session", dict[str, Any]], None]


class Ref(Generic[T]):
    """``"package.module:attribute"``, imported the first time it is used."""

    def __init__(self, target: "str | T") -> None:
        self._target: Any = target

    def get(self) -> T:
        if isinstance(self._target, str):
            module, _, attribute = self._target.partition(":")
            self._target = getattr(importlib.import_module(module), attribute)
        result: T = self._target
        return result


@dataclass(frozen=True)
class QueueSpec:
    name: str
    concurrency: Callable[["Settings"], int]
    description: str


@dataclass(frozen=True)
class JobType:
    name: str
    queue: str
    handler: Ref[Handler]
    on_failure: Ref[FailureHook] | None = None
    on_retry: Ref[RetryHook] | None = None


@dataclass
class Duty:
    """Periodic work of every process that runs workers; must be safe on many machines."""

    name: str
    interval_seconds: Callable[["Settings"], float]
    run: Ref[Callable[["AppContext"], object]]


@dataclass(frozen=True)
class NavEntry:
    """A place in the web UI's header. ``menu``: ``main`` (a header button), ``admin`` (the
    Admin menu), ``user`` (the user menu). ``roles`` None = every signed-in user."""

    label: str
    icon: str
    path: str
    section: str
    menu: str = "main"
    roles: "frozenset[Role] | None" = None
    hook: str | None = None
    order: int = 100


@dataclass(frozen=True)
class Component(Generic[T]):
    """A long-lived object of one domain (a recorder, a window store, a DICOM listener),
    built from the context the first time someone asks for it."""

    kind: type[T]
    build: Callable[["AppContext"], T]
    close: Callable[[T], None] | None = None


ServeHook = Callable[["AppContext"], AbstractContextManager[None]]


@dataclass
class DomainHub:
    """Everything the domains registered; built once per process by ``hub()``."""

    routers: list[Callable[["FastAPI", "AppContext"], None]] = field(default_factory=list)
    queues: dict[str, QueueSpec] = field(default_factory=dict)
    job_types: dict[str, JobType] = field(default_factory=dict)
    duties: list[Duty] = field(default_factory=list)
    components: dict[type[Any], Component[Any]] = field(default_factory=dict)
    serving: list[ServeHook] = field(default_factory=list)
    working: list[ServeHook] = field(default_factory=list)
    pages: list[Ref[Callable[["AppContext"], None]]] = field(default_factory=list)
    nav_entries: list[NavEntry] = field(default_factory=list)
    command_groups: list[tuple[str, Ref["typer.Typer"]]] = field(default_factory=list)
    commands: list[tuple[str, Ref[Callable[..., Any]]]] = field(default_factory=list)
    body_limits: list[tuple[str, Callable[["Settings"], int]]] = field(default_factory=list)
    middlewares: list[tuple[Any, dict[str, Any]]] = field(default_factory=list)
    health_sections: list[tuple[str, Callable[["AppContext"], dict[str, Any]]]] = field(
        default_factory=list
    )

    # -- HTTP ---------------------------------------------------------------------------------
    def router(self, router: "APIRouter") -> None:
        self.routers.append(lambda app, _ctx: app.include_router(router))

    def routes(self, install: Callable[["FastAPI", "AppContext"], None]) -> None:
        """For routes that need the app or context when mounted (metrics, WebSockets)."""
        self.routers.append(install)

    def body_limit(self, path_prefix: str, limit: Callable[["Settings"], int]) -> None:
        """Requests under ``path_prefix`` may carry bodies up to ``limit(settings)`` bytes
        (the default is ``VESALIUS_MAX_BODY_BYTES``); the route bounds each file itself."""
        self.body_limits.append((path_prefix, limit))

    def middleware(self, middleware: Any, **options: Any) -> None:
        """An ASGI middleware around the routes (inside the request-id, metrics and security
        layers, so it sees the request id and its errors already shaped)."""
        self.middlewares.append((middleware, options))

    def health(self, name: str, section: Callable[["AppContext"], dict[str, Any]]) -> None:
        """``GET /health`` carries ``section(ctx)`` under ``name`` (cheap figures only: it is
        polled by load balancers)."""
        self.health_sections.append((name, section))

    # -- background work ------------------------------------------------------------------------
    def queue(
        self, name: str, *, concurrency: Callable[["Settings"], int], description: str
    ) -> None:
        if name in self.queues:
            raise ValueError(f"queue {name!r} is registered twice")
        self.queues[name] = QueueSpec(name, concurrency, description)

    def job(
        self,
        name: str,
        *,
        queue: str,
        handler: "str | Handler",
        on_failure: "str | FailureHook | None" = None,
        on_retry: "str | RetryHook | None" = None,
    ) -> None:
        """A job type: ``handler(ctx, job) -> result`` runs it on ``queue``.

        Handlers must be idempotent: a job can run twice when its first worker was declared
        dead. ``on_failure(ctx, input, error)`` runs once when the job has finally failed;
        ``on_retry(session, input)`` runs inside the transaction in which an administrator
        queues a failed job again (to undo what ``on_failure`` did).
        """
        if name in self.job_types:
            raise ValueError(f"job type {name!r} is registered twice")
        self.job_types[name] = JobType(
            name=name,
            queue=queue,
            handler=Ref(handler),
            on_failure=Ref(on_failure) if on_failure is not None else None,
            on_retry=Ref(on_retry) if on_retry is not None else None,
        )

    def duty(
        self,
        name: str,
        *,
        every: Callable[["Settings"], float],
        run: "str | Callable[[AppContext], object]",
    ) -> None:
        self.duties.append(Duty(name, every, Ref(run)))

    # -- process-wide objects -------------------------------------------------------------------
    def component(
        self,
        kind: type[T],
        build: Callable[["AppContext"], T],
        *,
        close: Callable[[T], None] | None = None,
    ) -> None:
        self.components[kind] = Component(kind, build, close)

    def while_serving(self, hook: ServeHook) -> None:
        """A context manager entered when the web server starts and left when it stops."""
        self.serving.append(hook)

    def while_working(self, hook: ServeHook) -> None:
        """A context manager entered by every process that runs queue workers."""
        self.working.append(hook)

    # -- user interfaces ------------------------------------------------------------------------
    def page(self, register: "str | Callable[[AppContext], None]") -> None:
        """``register(ctx)`` declares NiceGUI pages; imported only when the UI is mounted."""
        self.pages.append(Ref(register))

    def nav(self, entry: NavEntry) -> None:
        self.nav_entries.append(entry)

    def command_group(self, name: str, group: "str | typer.Typer") -> None:
        """``vesalius NAME …``: a Typer app of sub-commands."""
        self.command_groups.append((name, Ref(group)))

    def command(self, name: str, fn: "str | Callable[..., Any]") -> None:
        """``vesalius NAME``: one command (a Typer-annotated function)."""
        self.commands.append((name, Ref(fn)))

    # -- reading --------------------------------------------------------------------------------
    def job_type(self, name: str) -> JobType:
        try:
            return self.job_types[name]
        except KeyError:
            raise KeyError(f"unknown job type {name!r} (no domain registered it)") from None

    def queue_names(self) -> tuple[str, ...]:
        return tuple(self.queues)

    def navigation(self, menu: str) -> Iterator[NavEntry]:
        return iter(sorted((e for e in self.nav_entries if e.menu == menu), key=lambda e: e.order))


def domain_module(name: str) -> str:
    return f"vesalius.{name}.domain"


@cache
def hub() -> DomainHub:
    """Every domain's registrations (imports each ``domain`` module once per process)."""
    built = DomainHub()
    for name in DOMAINS:
        importlib.import_module(domain_module(name)).register(built)
    return built
