"""The seed's design, for comparison: one INSERT and one commit per event, per request.

A small FastAPI app serving ``POST /api/events`` (one event a request, as the seed's
MongoDB endpoint takes it), parsed by FastAPI, written to the same kind of database
Vesalius uses (SQLite in WAL mode with ``synchronous=NORMAL``, or PostgreSQL) with a
connection per server thread. ``bench/events.py`` runs it under uvicorn beside Vesalius.
"""

import json
import os
import sqlite3
import threading
from typing import Any

import psycopg
from fastapi import FastAPI

URL = os.environ.get("BASELINE_DATABASE", "")
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS events (event_id TEXT PRIMARY KEY, type TEXT, "
    "occurred_at TEXT, client_id TEXT, session_id TEXT, user_id TEXT, route TEXT, "
    "status_code INTEGER, duration_ms REAL, properties TEXT)"
)
INSERT = (
    "INSERT INTO events VALUES ({0}, {0}, {0}, {0}, {0}, {0}, {0}, {0}, {0}, {0}) "
    "ON CONFLICT (event_id) DO NOTHING"
)
_local = threading.local()
app = FastAPI()


def _connect() -> Any:
    if URL.startswith("postgresql"):
        return psycopg.connect(URL, autocommit=True)
    db = sqlite3.connect(URL, timeout=30, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    return db


def _connection() -> Any:
    found = getattr(_local, "db", None)
    if found is None:
        found = _local.db = _connect()
    return found


# Once, before any request (concurrent CREATE TABLE IF NOT EXISTS races on PostgreSQL).
if URL:
    _schema = _connect()
    _schema.execute(SCHEMA)
    _schema.close()


@app.post("/api/events")
def post_event(event: dict[str, Any]) -> dict[str, int]:
    db = _connection()
    marker = "%s" if URL.startswith("postgresql") else "?"
    row = (
        event.get("eventId"),
        event.get("type"),
        event.get("timestamp"),
        event.get("clientId"),
        event.get("sessionId"),
        event.get("userId"),
        event.get("route"),
        event.get("statusCode"),
        event.get("durationMs"),
        json.dumps(event.get("properties")),
    )
    inserted = db.execute(INSERT.format(marker), row).rowcount
    # SQLite in autocommit mode commits each statement; PostgreSQL autocommit likewise.
    return {"accepted": max(inserted, 0), "duplicates": 0 if inserted else 1}
