"""Alembic migrations, and the small API the CLI, health checks and tests use to run them."""

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

HERE = Path(__file__).parent


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(HERE))
    # "%" is interpolation syntax for ConfigParser; a password may contain one.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def head_revision() -> str | None:
    return ScriptDirectory(str(HERE)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def pending_migrations(engine: Engine) -> list[str]:
    """Revisions between the database's and head, oldest first (empty when up to date)."""
    script = ScriptDirectory(str(HERE))
    current = current_revision(engine)
    pending = []
    for rev in script.walk_revisions("base", "heads"):
        if rev.revision == current:
            break
        pending.append(rev.revision)
    return list(reversed(pending))
