"""The PostgreSQL session a ledger is read in: connected once, read-only, bounded.

One REPEATABLE READ READ ONLY transaction per run (every query sees the same
snapshot), a statement timeout, UTC. Every way a database can be unusable
(unreachable, refused credentials, no such database, table or column, a URL
libpq rejects, a query past the timeout) becomes one InputError line, exit 2,
with the password scrubbed from it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from cache_gate.errors import InputError
from cache_gate.ledger.postgres import rows as pg_rows
from cache_gate.ledger.postgres.url import SpendLogsSource, scrub
from cache_gate.ledger.reading import BadLine

CONNECT_TIMEOUT_S = 10
# What the json columns may be: LiteLLM's jsonb, or JSON in json or text.
JSON_TYPES = ("jsonb", "json", "text")


class BadRow(BadLine):
    """A bad row, named by its request_id (a table has no line numbers)."""

    request_id: str | None = None
    # startTime in epoch seconds (None when NULL): bad rows are listed in time order.
    moment: float | None = None

    def to_json(self) -> dict[str, object]:
        return {"request_id": self.request_id, "error": self.error}


@dataclass
class Reading:
    """One run's conversation with the server, for the JSON report's `source`."""

    source: SpendLogsSource
    queries: int = 0
    rows_fetched: int = 0
    # Rows read one by one from a server-side cursor (the miss causes' pass).
    rows_streamed: int = 0
    server_version: str = ""
    samples: list[BadRow] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {"kind": "postgresql", "table": self.source.table_display,
                "server_version": self.server_version, "queries": self.queries,
                "rows_fetched": self.rows_fetched, "rows_streamed": self.rows_streamed}


def _fail(reading: Reading, what: str, exc: BaseException) -> InputError:
    detail = scrub(str(exc) or type(exc).__name__, reading.source,
                   (os.environ.get("PGPASSWORD", ""),))
    return InputError(f"ledger {reading.source.display}: {what}: {detail}")


def _connect_error(reading: Reading, exc: BaseException) -> InputError:
    text = str(exc).lower()
    if "authentication failed" in text or "no password supplied" in text:
        return _fail(reading, "PostgreSQL refused the credentials (check the user, and the "
                     "password in the URL, PGPASSWORD or ~/.pgpass)", exc)
    if "database" in text and "does not exist" in text:
        return _fail(reading, "no such database", exc)
    if "invalid" in text and ("value" in text or "option" in text or "uri" in text):
        return _fail(reading, "the URL holds an invalid connection parameter", exc)
    return _fail(reading, "cannot connect to PostgreSQL", exc)


@contextmanager
def session(reading: Reading) -> Iterator[psycopg.Connection[Any]]:
    """A read-only, repeatable-read transaction with a statement timeout, in UTC."""
    source = reading.source
    try:
        given = conninfo_to_dict(source.conninfo)
    except psycopg.ProgrammingError as exc:
        raise _fail(reading, "not a valid PostgreSQL URL", exc) from None
    options: dict[str, Any] = {"autocommit": False}
    if "connect_timeout" not in given and "PGCONNECT_TIMEOUT" not in os.environ:
        options["connect_timeout"] = CONNECT_TIMEOUT_S
    if "application_name" not in given and "PGAPPNAME" not in os.environ:
        options["application_name"] = "cache-gate"
    try:
        conn = psycopg.connect(source.conninfo, **options)
    except psycopg.Error as exc:
        raise _connect_error(reading, exc) from None
    with conn:
        conn.read_only = True
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        try:
            # UTC: startTime holds UTC, and a timestamptz column must read the same.
            # work_mem: the aggregates' few groups hash in memory instead of sorting
            # every row to disk. jit: compiling these long expressions costs seconds
            # on a large table and wins them back no faster (bench/postgres.py).
            conn.execute("SELECT set_config('statement_timeout', %s, true), "
                         "set_config('TimeZone', 'UTC', true), "
                         "set_config('work_mem', '64MB', true), "
                         "set_config('jit', 'off', true)", (source.statement_timeout,))
        except psycopg.errors.InvalidParameterValue as exc:
            raise _fail(reading, "statement_timeout= is not a PostgreSQL duration "
                        "(e.g. 30s, 5min)", exc) from None
        except psycopg.Error as exc:
            raise _fail(reading, "cannot start a read-only session", exc) from None
        reading.server_version = str(conn.info.parameter_status("server_version") or "")
        try:
            yield conn
        except psycopg.errors.QueryCanceled as exc:
            raise _fail(reading, f"a query ran past statement_timeout "
                        f"({source.statement_timeout}); narrow the window (--days) or "
                        "raise it (?statement_timeout=15min)", exc) from None
        except psycopg.errors.InsufficientPrivilege as exc:
            raise _fail(reading, f"no permission to read {source.table_display} "
                        "(GRANT SELECT on it to this user)", exc) from None
        except psycopg.Error as exc:
            raise _fail(reading, f"reading {source.table_display} failed", exc) from None
        finally:
            if not conn.closed:
                conn.rollback()


def stream(conn: psycopg.Connection[Any], reading: Reading, query: sql.SQL | sql.Composed,
           params: dict[str, object], batch: int = 2000) -> Iterator[tuple[Any, ...]]:
    """The rows of a query as the server sends them (libpq's chunked mode, or
    row by row before libpq 17): memory stays bounded whatever the number of rows.
    Not a server-side cursor (DECLARE): a query run through one never runs in
    parallel workers, and these read every row of the window."""
    reading.queries += 1
    capabilities = getattr(psycopg, "capabilities", None)  # psycopg 3.2+
    chunked = capabilities is not None and capabilities.has_stream_chunked()
    rows = (conn.cursor().stream(query, params, size=batch) if chunked
            else conn.cursor().stream(query, params))
    for row in rows:
        reading.rows_streamed += 1
        yield row


def check_table(conn: psycopg.Connection[Any], reading: Reading) -> tuple[bool, tuple[str, ...]]:
    """Check the columns the queries read, before they read them. Whether startTime
    may be NULL (LiteLLM's schema says NOT NULL: then no undated rows to look for), and
    which of the optional columns the table has."""
    source = reading.source
    # A table that does not exist is no error here: it has no columns.
    rows = fetch(conn, reading, sql.SQL(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull "
        "FROM pg_attribute AS a WHERE a.attrelid = to_regclass(%(table)s) "
        "AND a.attname = ANY(%(columns)s) AND NOT a.attisdropped"),
        {"table": table_identifier(source).as_string(conn),
         "columns": [*pg_rows.READ_COLUMNS, *pg_rows.OPTIONAL_COLUMNS]})
    if not rows and not fetch(conn, reading, sql.SQL(
            "SELECT 1 WHERE to_regclass(%(table)s) IS NOT NULL"),
            {"table": table_identifier(source).as_string(conn)}):
        raise InputError(f"ledger {source.display}: no table {source.table_display} in this "
                         "database (is this LiteLLM's database? name another table with "
                         "?table=NAME, its schema with ?schema=NAME)")
    columns = {column: (kind, not_null) for column, kind, not_null in rows}
    missing = [column for column in pg_rows.READ_COLUMNS if column not in columns]
    if missing:
        raise InputError(f"ledger {source.display}: table {source.table_display} has no "
                         f"column {', '.join(missing)}: not a LiteLLM SpendLogs table?")
    for column in ("metadata", "request_tags"):
        kind = columns[column][0]
        if kind not in JSON_TYPES:
            raise InputError(f"ledger {source.display}: column {column} of "
                             f"{source.table_display} is {kind}, not jsonb")
    optional = tuple(column for column in pg_rows.OPTIONAL_COLUMNS if column in columns)
    return not columns["startTime"][1], optional


def table_identifier(source: SpendLogsSource) -> sql.Identifier:
    if source.schema:
        return sql.Identifier(source.schema, source.table)
    return sql.Identifier(source.table)


def fetch(conn: psycopg.Connection[Any], reading: Reading, query: sql.SQL | sql.Composed,
           params: dict[str, object]) -> list[tuple[Any, ...]]:
    reading.queries += 1
    rows: list[tuple[Any, ...]] = conn.execute(query, params).fetchall()
    reading.rows_fetched += len(rows)
    return rows
