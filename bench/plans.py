"""Query plans of the statements Vesalius really sends.

``capture_statements`` records the SQL and driver parameters that reach the database while
some code runs (a service call, say); ``explain`` runs EXPLAIN QUERY PLAN (SQLite) or
EXPLAIN ANALYZE (PostgreSQL) on exactly that statement.
"""

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, event


@dataclass(frozen=True)
class Statement:
    sql: str
    parameters: Any


@contextlib.contextmanager
def capture_statements(engine: Engine) -> Iterator[list[Statement]]:
    seen: list[Statement] = []

    def record(
        _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool
    ) -> None:
        seen.append(Statement(statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def only_select(statements: list[Statement], table: str) -> Statement:
    """The one SELECT … FROM ``table`` … ORDER BY among the captured statements."""
    found = [
        s
        for s in statements
        if s.sql.lstrip().upper().startswith("SELECT")
        and f"FROM {table}" in s.sql
        and "ORDER BY" in s.sql
    ]
    if len(found) != 1:
        raise RuntimeError(f"expected one list query on {table}, captured {len(found)}")
    return found[0]


def explain(engine: Engine, statement: Statement) -> str:
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            rows = conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN " + statement.sql, statement.parameters
            ).all()
            return _sqlite_tree([(int(r[0]), int(r[1]), str(r[3])) for r in rows])
        rows = conn.exec_driver_sql(
            "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + statement.sql, statement.parameters
        ).all()
        return "\n".join(str(r[0]) for r in rows)


def _sqlite_tree(rows: list[tuple[int, int, str]]) -> str:
    """EXPLAIN QUERY PLAN rows (id, parent, detail) indented the way the sqlite3 shell does."""
    depth: dict[int, int] = {0: -1}
    lines = ["QUERY PLAN"]
    for node, parent, detail in rows:
        depth[node] = depth.get(parent, -1) + 1
        lines.append("  " * depth[node] + "`--" + detail)
    return "\n".join(lines)
