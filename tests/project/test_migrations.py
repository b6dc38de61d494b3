"""Migrations create exactly the schema the models describe, on both databases."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from vesalius.db import Base, import_all_models
from vesalius.migrations import alembic_config, head_revision, pending_migrations, upgrade


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path) -> str:  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'm.db'}"
    return str(request.getfixturevalue("empty_postgres_url"))


def test_upgrade_matches_the_models_and_downgrade_round_trips(empty_url: str) -> None:
    from alembic import command

    upgrade(empty_url)
    engine = create_engine(empty_url)
    import_all_models()
    with engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata
        )
    assert diff == [], f"models and migrations disagree: {diff}"
    assert pending_migrations(engine) == []

    command.downgrade(alembic_config(empty_url), "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    assert pending_migrations(engine)[-1] == head_revision()
    upgrade(empty_url)
    assert "users" in inspect(engine).get_table_names()
    engine.dispose()


def test_seed_indexes_exist(empty_url: str) -> None:
    upgrade(empty_url)
    engine = create_engine(empty_url)
    indexes = {ix["name"]: ix["column_names"] for ix in inspect(engine).get_indexes("users")}
    engine.dispose()
    # users: status, role, email, created_at (seed 000), each ending in the sort keys.
    assert indexes["ix_users_status_created_at_id"] == ["status", "created_at", "id"]
    assert indexes["ix_users_role_created_at_id"] == ["role", "created_at", "id"]
    assert indexes["ix_users_created_at_id"] == ["created_at", "id"]
    assert indexes["ix_users_email"] == ["email"]
