"""A real PostgreSQL server for the whole session, and a fresh schema for each test.

The server is started once (initdb in a temporary directory, a free loopback port)
and stopped at the end of the session. Without psycopg or the server binaries the
tests are skipped on a developer's machine, and fail where they are required
(CACHE_GATE_REQUIRE_POSTGRES=1, as `.ci/run` sets after installing them).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

REQUIRED = bool(os.environ.get("CACHE_GATE_REQUIRE_POSTGRES"))
if not REQUIRED:
    pytest.importorskip("psycopg")

import psycopg  # noqa: E402
from psycopg import sql  # noqa: E402

from tests.postgres.server import Server, find_bin_dir, running_server  # noqa: E402
from tests.postgres.spendlogs import TABLE, create_table  # noqa: E402


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Server]:
    bin_dir = find_bin_dir()
    if bin_dir is None:
        message = ("no PostgreSQL server binaries (initdb): install the `postgresql` "
                   "package, or set CACHE_GATE_PG_BIN")
        if REQUIRED:
            pytest.fail(message)
        pytest.skip(message)
    with running_server(bin_dir) as server:
        yield server


@dataclass
class SpendLogs:
    """A SpendLogs table of LiteLLM's shape in a schema of its own."""

    server: Server
    conn: psycopg.Connection[Any]
    schema: str
    table: str = TABLE

    def url(self, query: str = "", **kwargs: Any) -> str:
        params = f"schema={self.schema}"
        if self.table != TABLE:
            params += f"&table={self.table}"
        return self.server.url(query=params + (f"&{query}" if query else ""), **kwargs)

    @property
    def qualified(self) -> sql.Identifier:
        return sql.Identifier(self.schema, self.table)


@pytest.fixture(scope="session")
def pg_admin(pg_server: Server) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(pg_server.url(), autocommit=True) as conn:
        yield conn


def new_spendlogs(server: Server, conn: psycopg.Connection[Any], *,
                  loose: bool = False) -> SpendLogs:
    """A fresh schema holding an empty SpendLogs table. `loose` drops the NOT NULL
    constraints and the primary key of LiteLLM's DDL, for rows LiteLLM would not
    write but a hand-made table might hold."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    create_table(conn, schema=schema)
    if loose:
        conn.execute(sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
            sql.Identifier(schema, TABLE), sql.Identifier(f"{TABLE}_pkey")))
        for column in ("request_id", "call_type", "api_key", "spend", "total_tokens",
                       "prompt_tokens", "completion_tokens", "startTime", "endTime", "model"):
            conn.execute(sql.SQL("ALTER TABLE {} ALTER COLUMN {} DROP NOT NULL").format(
                sql.Identifier(schema, TABLE), sql.Identifier(column)))
    return SpendLogs(server, conn, schema)


@pytest.fixture
def spendlogs(pg_server: Server, pg_admin: psycopg.Connection[Any]) -> SpendLogs:
    return new_spendlogs(pg_server, pg_admin)
