"""A real PostgreSQL database of our own for the publish and end-to-end tests.

The server is the developer's / CI's at 127.0.0.1:5432 (trust auth, user postgres); the
tests skip with a reason when it is unreachable, and never touch other databases.
"""

from __future__ import annotations

import os

import pytest

SERVER = os.environ.get("PRIVETL_ENGINE_PG", "postgresql://postgres@127.0.0.1:5432")
DATABASE = "privetl_eng_publish"


def database_url() -> str:
    """URL of our own database, created on first use; skips the test when there is no server."""
    psycopg = pytest.importorskip("psycopg")
    try:
        with psycopg.connect(f"{SERVER}/postgres", autocommit=True, connect_timeout=3) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)
            ).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{DATABASE}"')
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL not reachable at {SERVER}: {exc}")
    return f"{SERVER}/{DATABASE}"


def reset_schema(url: str, schema: str) -> None:
    """Drop a test schema, so each test starts from nothing."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
