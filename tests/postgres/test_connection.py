"""Connecting safely: exit 2 with one clear line for every way a database can be
unusable, the password never shown, a read-only session, no SQL from user input."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from click.testing import CliRunner
from psycopg import sql

from cache_gate.cli import cli
from cache_gate.errors import InputError
from cache_gate.ledger.postgres import session as pg_session
from cache_gate.ledger.postgres.url import parse_source
from tests.ledgers import litellm
from tests.postgres.conftest import SpendLogs
from tests.postgres.server import DATABASE, PASSWORD, SUPERUSER, Server, free_port
from tests.postgres.spendlogs import TABLE, insert_rows

SECRETS = (PASSWORD, quote(PASSWORD, safe=""), "wrong-secret")


def kpi(url: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["kpi", "--ledger", url, "--min-requests", "0"], env=env,
                                catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def assert_input_error(url: str, *expected: str, env: dict[str, str] | None = None) -> str:
    code, out, err = kpi(url, env)
    assert code == 2, (out, err)
    assert out == ""
    assert err.startswith("cache-gate: error: ledger postgresql://")
    assert err.count("\n") == 1, "one line"
    for secret in SECRETS:
        assert secret not in err
    for text in expected:
        assert text in err, err
    return err


def test_an_unreachable_server(pg_server: Server) -> None:
    url = pg_server.url().replace(f":{pg_server.port}/", f":{free_port()}/")
    assert_input_error(url, "cannot connect to PostgreSQL", ":***@")


def test_bad_credentials(pg_server: Server) -> None:
    assert_input_error(pg_server.url(password="wrong-secret"),
                       "PostgreSQL refused the credentials", "PGPASSWORD")
    assert_input_error(pg_server.url(user="nobody_here"), "refused the credentials")


def test_no_password_at_all(pg_server: Server) -> None:
    assert_input_error(pg_server.url(password=None), "refused the credentials",
                       env={"PGPASSWORD": "", "PGPASSFILE": "/nonexistent"})


def test_a_missing_database(pg_server: Server) -> None:
    assert_input_error(pg_server.url("no_such_db"), "no such database")


def test_a_missing_table(pg_server: Server) -> None:
    assert_input_error(pg_server.url(query="schema=nowhere"),
                       'no table "nowhere"."LiteLLM_SpendLogs"', "?table=NAME")
    assert_input_error(pg_server.url(query="table=Spend"), 'no table "Spend"')


def test_a_table_that_is_not_spendlogs(spendlogs: SpendLogs) -> None:
    spendlogs.conn.execute(sql.SQL("ALTER TABLE {} DROP COLUMN cache_key").format(
        spendlogs.qualified))
    assert_input_error(spendlogs.url(), "has no column cache_key")
    spendlogs.conn.execute(sql.SQL("ALTER TABLE {} ADD COLUMN cache_key text, "
                                   "ALTER COLUMN metadata DROP DEFAULT, "
                                   "ALTER COLUMN metadata TYPE integer USING 0").format(
        spendlogs.qualified))
    assert_input_error(spendlogs.url(), "column metadata", "is integer, not jsonb")


def test_a_table_name_is_an_identifier_not_sql(spendlogs: SpendLogs) -> None:
    insert_rows(spendlogs.conn, spendlogs.qualified, [litellm()])
    hostile = f'{TABLE}" ; DROP TABLE "{spendlogs.schema}"."{TABLE}'
    assert_input_error(spendlogs.url(query=f"table={quote(hostile)}"), "no table")
    count = spendlogs.conn.execute(sql.SQL("SELECT count(*) FROM {}").format(
        spendlogs.qualified)).fetchone()
    assert count == (1,)


def test_a_bad_statement_timeout(spendlogs: SpendLogs) -> None:
    assert_input_error(spendlogs.url(query="statement_timeout=soon"),
                       "not a PostgreSQL duration")


def test_a_query_that_runs_past_the_statement_timeout(spendlogs: SpendLogs) -> None:
    spendlogs.conn.execute(sql.SQL(
        "INSERT INTO {} (request_id, call_type, \"startTime\", \"endTime\", metadata) "
        "SELECT 'r' || i, 'acompletion', now(), now(), "
        "jsonb_build_object('additional_usage_values', "
        "jsonb_build_object('cache_read_input_tokens', i)) "
        "FROM generate_series(1, 200000) AS i").format(spendlogs.qualified))
    assert_input_error(spendlogs.url(query="statement_timeout=1ms"),
                       "ran past statement_timeout (1ms)", "--days")


def test_an_invalid_url(pg_server: Server) -> None:
    assert_input_error(f"postgresql://{SUPERUSER}:{quote(PASSWORD, safe='')}@127.0.0.1:"
                       f"{pg_server.port}/{DATABASE}?sslmode=sometimes",
                       "invalid connection parameter", "sslmode")


def test_the_password_may_come_from_pgpassword(spendlogs: SpendLogs) -> None:
    insert_rows(spendlogs.conn, spendlogs.qualified, [litellm()])
    code, out, err = kpi(spendlogs.url(password=None), env={"PGPASSWORD": PASSWORD})
    assert code in (0, 1), err
    assert "1 requests" in out or "1 request" in out


def test_the_password_may_come_from_a_pgpass_file(spendlogs: SpendLogs,
                                                   tmp_path: Path) -> None:
    insert_rows(spendlogs.conn, spendlogs.qualified, [litellm()])
    escaped = PASSWORD.replace("\\", "\\\\").replace(":", "\\:")
    pgpass = tmp_path / "pgpass"
    pgpass.write_text(f"127.0.0.1:{spendlogs.server.port}:*:{SUPERUSER}:{escaped}\n")
    pgpass.chmod(0o600)
    code, out, err = kpi(spendlogs.url(password=None),
                         env={"PGPASSFILE": str(pgpass), "PGPASSWORD": ""})
    assert code in (0, 1), err
    assert "1 requests" in out or "1 request" in out


def test_the_session_is_read_only_and_sees_one_snapshot(spendlogs: SpendLogs) -> None:
    reading = pg_session.Reading(parse_source(spendlogs.url()))
    with pg_session.session(reading) as conn:
        settings = conn.execute(
            "SELECT current_setting('transaction_read_only'), "
            "current_setting('transaction_isolation'), current_setting('statement_timeout'), "
            "current_setting('TimeZone')").fetchone()
    assert settings == ("on", "repeatable read", "5min", "UTC")
    with pytest.raises(InputError, match="read-only transaction"), \
            pg_session.session(reading) as conn:
        conn.execute(sql.SQL("DELETE FROM {}").format(spendlogs.qualified))


def test_without_psycopg_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [name for name in sys.modules if name.startswith("cache_gate.ledger.p")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "psycopg", None)
    with pytest.raises(InputError, match=r"pip install 'cache-gate\[postgres\]'"):
        import cache_gate.ledger.postgres.source  # noqa: F401


def test_libpq_environment_is_honoured(spendlogs: SpendLogs,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """PGAPPNAME and PGCONNECT_TIMEOUT win over cache-gate's own defaults."""
    monkeypatch.setenv("PGAPPNAME", "team-gate")
    reading = pg_session.Reading(parse_source(spendlogs.url()))
    with pg_session.session(reading) as conn:
        name: Any = conn.execute("SELECT current_setting('application_name')").fetchone()
    assert name == ("team-gate",)
    monkeypatch.delenv("PGAPPNAME")
    with pg_session.session(reading) as conn:
        name = conn.execute("SELECT current_setting('application_name')").fetchone()
    assert name == ("cache-gate",)
    assert os.environ.get("PGAPPNAME") is None
