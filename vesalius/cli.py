"""The ``vesalius`` command."""

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from vesalius import __version__
from vesalius.accounts.models import Role, UserStatus
from vesalius.common.errors import AppError
from vesalius.config import Settings, load_settings
from vesalius.keys import ConfigurationError

if TYPE_CHECKING:
    from vesalius.context import AppContext

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Vesalius imaging hub.")
db_app = typer.Typer(no_args_is_help=True, help="Database migrations.")
users_app = typer.Typer(no_args_is_help=True, help="Manage user accounts.")
secrets_app = typer.Typer(no_args_is_help=True, help="Signing keys and secrets.")
analytics_app = typer.Typer(no_args_is_help=True, help="Daily statistics.")
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(secrets_app, name="secrets")
app.add_typer(analytics_app, name="analytics")

out = Console()
err = Console(stderr=True)


def fail(message: str, code: int = 1) -> None:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def _version(value: bool) -> None:
    if value:
        out.print(f"vesalius {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    pass


def _settings() -> Settings:
    try:
        return load_settings()
    except Exception as exc:  # pydantic ValidationError names the variable and the problem
        fail(f"invalid configuration: {exc}")
        raise  # unreachable


@contextmanager
def _context() -> Iterator["AppContext"]:
    from vesalius.context import build_context

    try:
        ctx = build_context(_settings())
    except ConfigurationError as exc:
        fail(str(exc))
        raise  # unreachable
    try:
        yield ctx
    finally:
        ctx.close()


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(min=1, max=65535, help="Port to listen on.")] = None,
    workers: Annotated[
        bool,
        typer.Option(
            "--workers/--no-workers",
            help="Run the queue workers in this process (API-only replicas: --no-workers).",
        ),
    ] = True,
) -> None:
    """Serve the web UI and the API (and, by default, the background workers)."""
    import uvicorn

    from vesalius.app import create_app
    from vesalius.migrations import pending_migrations
    from vesalius.observability.logs import configure_logging

    settings = _settings()
    configure_logging(settings.log_level, settings.log_format)
    with _context() as ctx:
        if pending_migrations(ctx.db.engine):
            err.print("[yellow]warning:[/] migrations are pending; run `vesalius db upgrade`")
        application = create_app(
            settings, ctx=ctx, run_workers=workers and settings.embedded_workers
        )
        bind_host, bind_port = host or settings.host, port or settings.port
        out.print(f"Vesalius {__version__} on http://{bind_host}:{bind_port}  (Ctrl+C to stop)")
        uvicorn.run(
            application,
            host=bind_host,
            port=bind_port,
            log_config=None,
            access_log=False,
            # Client addresses (throttling, logs) come from X-Forwarded-For only when the
            # request arrives from one of these proxies.
            proxy_headers=True,
            forwarded_allow_ips=settings.forwarded_allow_ips,
        )


@app.command()
def worker(
    queue: Annotated[
        str, typer.Option(help="Queue to work on: dicom, thumbnails or all.", case_sensitive=False)
    ] = "all",
    concurrency: Annotated[
        int | None,
        typer.Option(min=1, max=64, help="Workers per queue (default: 3 dicom, 5 thumbnails)."),
    ] = None,
    share: Annotated[int, typer.Option(min=1, hidden=True)] = 1,
    parent: Annotated[int | None, typer.Option(hidden=True)] = None,
) -> None:
    """Run background workers (scaled mode: on any number of machines, against Redis)."""
    import signal
    import threading

    if parent is not None:
        # A child of `vesalius serve` (``--share``: one of that many): Ctrl+C reaches the
        # whole process group, and the parent stops its children itself; a parent killed
        # outright takes its children with it.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        _die_with_parent(parent)

    from vesalius.domains import hub
    from vesalius.jobs.workers import Workers
    from vesalius.observability.logs import configure_logging

    known = hub().queue_names()
    queues = known if queue.lower() == "all" else (queue.lower(),)
    if not set(queues) <= set(known):
        fail(f"unknown queue {queue!r}; choose one of: {', '.join(known)}, all", code=2)
    settings = _settings()
    configure_logging(settings.log_level, settings.log_format)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    with _context() as ctx:
        pool = Workers(ctx, queues, concurrency, share=share)
        pool.start()
        out.print(
            f"Worker on {', '.join(queues)} ({settings.queue_backend} queue); "
            "Ctrl+C stops it gracefully."
        )
        stop.wait()
        out.print("Stopping: letting running jobs finish…")
        pool.stop()


def _die_with_parent(parent: int) -> None:
    import ctypes
    import os
    import signal
    import sys
    import threading
    import time

    if sys.platform == "linux":
        pr_set_pdeathsig = 1
        ctypes.CDLL(None).prctl(pr_set_pdeathsig, signal.SIGTERM)

    def watch() -> None:  # elsewhere, and for a parent that died before prctl took effect
        while os.getppid() == parent:
            time.sleep(1.0)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


@app.command()
def init() -> None:
    """Apply migrations and create the first administrator if there is none."""
    from vesalius.accounts.service import first_admin_needed
    from vesalius.migrations import upgrade

    with _context() as ctx:
        upgrade(ctx.settings.sqlalchemy_url)
        with ctx.db.session() as session:
            created = first_admin_needed(ctx, session)
    if created is not None:
        email, password = created
        out.print("[bold green]First administrator created[/] (the password is shown only once):")
        out.print(f"  email:    {email}\n  password: {password}", highlight=False)
    else:
        out.print("Database is up to date; an administrator exists.")


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    from vesalius.migrations import upgrade

    settings = _settings()
    settings.resolved_data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.sqlalchemy_url, revision)
    out.print(f"Database upgraded to {revision}.")


@db_app.command("current")
def db_current() -> None:
    """Print the database's migration revision and whether it is the newest."""
    from vesalius.db import Database
    from vesalius.migrations import current_revision, head_revision

    settings = _settings()
    database = Database(settings.sqlalchemy_url)
    current, head = current_revision(database.engine), head_revision()
    state = "up to date" if current == head else f"behind (head is {head})"
    out.print(f"{current or 'empty'} — {state}")
    database.dispose()


@users_app.command("create")
def users_create(
    email: str,
    role: Annotated[Role, typer.Option(case_sensitive=False, help="The user's role.")],
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Create a user. Without --password-stdin a password is generated and printed once."""
    from vesalius.accounts.service import UserService

    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else None
    if password_stdin and not password:
        fail("--password-stdin given but standard input was empty", code=2)
    try:
        with _context() as ctx, ctx.db.session() as session:
            user, generated = UserService(ctx, session).create_user(
                None, email=email, role=role, display_name=name, password=password
            )
    except AppError as exc:
        fail(exc.message)
    out.print(f"Created {user.email} ({user.role.value}), id {user.id}.", highlight=False)
    if generated:
        out.print(f"password: {generated}  (shown only once)", highlight=False)


@users_app.command("list")
def users_list(
    role: Annotated[Role | None, typer.Option(case_sensitive=False)] = None,
    status: Annotated[UserStatus | None, typer.Option(case_sensitive=False)] = None,
    limit: Annotated[int, typer.Option(min=1, max=100)] = 100,
) -> None:
    """List users, newest first."""
    from vesalius.accounts.service import UserService

    table = Table("id", "email", "name", "role", "status", "2FA", "created")
    with _context() as ctx, ctx.db.read_session() as session:
        page = UserService(ctx, session).list_users(None, limit=limit, role=role, status=status)
    for user in page.users:
        table.add_row(
            str(user.id),
            user.email,
            user.display_name,
            user.role.value,
            user.status.value,
            "on" if user.totp_enabled else "off",
            user.created_at.strftime("%Y-%m-%d %H:%M"),
        )
    out.print(table)
    if page.has_more:
        out.print(f"(showing the newest {limit})")


def _update_by_email(email: str, **changes: object) -> None:
    from vesalius.accounts.service import UserService

    try:
        with _context() as ctx, ctx.db.session() as session:
            service = UserService(ctx, session)
            user = service.get_by_email(email)
            if changes:
                service.update_user(None, user.id, **changes)  # type: ignore[arg-type]
            else:
                service.reset_totp(None, user.id)
    except AppError as exc:
        fail(exc.message)


@users_app.command("disable")
def users_disable(email: str) -> None:
    """Disable a user: they are signed out everywhere and cannot sign in."""
    _update_by_email(email, status=UserStatus.disabled)
    out.print(f"Disabled {email}.", highlight=False)


@users_app.command("enable")
def users_enable(email: str) -> None:
    """Re-enable a disabled user."""
    _update_by_email(email, status=UserStatus.active)
    out.print(f"Enabled {email}.", highlight=False)


@users_app.command("reset-totp")
def users_reset_totp(email: str) -> None:
    """Turn off two-factor sign-in for a user who lost their device."""
    _update_by_email(email)
    out.print(f"Two-factor sign-in is off for {email}.", highlight=False)


@secrets_app.command("generate")
def secrets_generate(
    force: Annotated[
        bool, typer.Option(help="Replace existing secrets (signs everybody out).")
    ] = False,
) -> None:
    """Create the signing key pair and master secret in the data directory (0600)."""
    from vesalius.keys import generate_keys

    written = generate_keys(_settings(), overwrite=force)
    for path in written:
        out.print(f"wrote {path}", highlight=False)
    if not written:
        out.print("All secrets exist already (use --force to replace them).")


@analytics_app.command("rebuild")
def analytics_rebuild(
    first: Annotated[str, typer.Option("--from", help="First day, YYYY-MM-DD.")],
    last: Annotated[
        str | None, typer.Option("--to", help="Last day, YYYY-MM-DD (default: today).")
    ] = None,
) -> None:
    """Compute (or recompute) the daily statistics of a range of days."""
    from datetime import date

    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    from vesalius.analytics.aggregation import rebuild
    from vesalius.analytics.days import today

    try:
        start = date.fromisoformat(first)
        end = date.fromisoformat(last) if last else None
    except ValueError:
        fail("dates must look like 2026-03-01", code=2)
        raise  # unreachable
    with _context() as ctx:
        end = end or today(ctx.settings.analytics_timezone)
        if start > end:
            fail("--from is after --to", code=2)
        total = (end - start).days + 1
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=out,
        ) as progress:
            task = progress.add_task("Computing days", total=total)
            with ctx.db.session() as session:
                rebuild(
                    session,
                    start,
                    end,
                    ctx.settings.analytics_timezone,
                    progress=lambda day: progress.update(
                        task, advance=1, description=f"Computed {day}"
                    ),
                )
    out.print(f"Statistics computed for {total} day(s), {start} to {end}.")


def _add_domain_commands() -> None:
    """Commands the domains declared in their ``domain.py`` (``DomainHub.command``)."""
    from vesalius.domains import hub

    for name, group in hub().command_groups:
        app.add_typer(group.get(), name=name)
    for name, command in hub().commands:
        app.command(name)(command.get())


_add_domain_commands()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
