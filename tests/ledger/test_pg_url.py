"""A PostgreSQL ledger URL: what libpq gets, what cache-gate keeps, what may be shown."""

from __future__ import annotations

import pytest

from cache_gate.errors import InputError
from cache_gate.ledger.postgres import is_postgres_url
from cache_gate.ledger.postgres.url import parse_source, redact, scrub


@pytest.mark.parametrize(("ledger", "expected"), [
    ("postgresql://host/db", True), ("postgres://u@h/db", True), ("POSTGRESQL://h", True),
    ("postgresql:///db?host=/run/postgresql", True), (".backlog-ops/usage-ledger.jsonl", False),
    ("postgresql.jsonl", False), ("mysql://h/db", False), ("C:\\ledger.jsonl", False),
])
def test_which_ledgers_are_databases(ledger: str, expected: bool) -> None:
    assert is_postgres_url(ledger) is expected


@pytest.mark.parametrize(("url", "shown"), [
    ("postgresql://gate:s3cret@db:5432/litellm", "postgresql://gate:***@db:5432/litellm"),
    ("postgresql://gate:p%40ss@db/litellm", "postgresql://gate:***@db/litellm"),
    ("postgresql://gate:a@b@db/litellm", "postgresql://gate:***@db/litellm"),
    ("postgresql://gate@db/litellm?password=s3cret&sslmode=require",
     "postgresql://gate@db/litellm?password=***&sslmode=require"),
    ("postgresql://db/litellm?sslmode=require&PASSWORD=x",
     "postgresql://db/litellm?sslmode=require&PASSWORD=***"),
    ("postgres://gate@db1:5432,db2:5432/litellm", "postgres://gate@db1:5432,db2:5432/litellm"),
])
def test_the_password_is_never_shown(url: str, shown: str) -> None:
    assert redact(url) == shown
    assert parse_source(url).display == shown


def test_cache_gates_own_parameters_are_taken_out_for_libpq() -> None:
    source = parse_source("postgresql://gate:pw@db/litellm?schema=litellm&sslmode=require"
                          "&table=Spend%20Logs&statement_timeout=30s&connection_limit=5"
                          "&pgbouncer=true&application_name=a%20b")
    assert source.conninfo == ("postgresql://gate:pw@db/litellm?sslmode=require"
                               "&application_name=a%20b")
    assert (source.schema, source.table, source.statement_timeout) == (
        "litellm", "Spend Logs", "30s")
    assert source.table_display == '"litellm"."Spend Logs"'


def test_defaults() -> None:
    source = parse_source("postgres://db/litellm")
    assert (source.conninfo, source.table, source.schema, source.statement_timeout) == (
        "postgres://db/litellm", "LiteLLM_SpendLogs", None, "5min")
    assert source.secrets == ()


def test_an_empty_table_name_is_an_input_error() -> None:
    with pytest.raises(InputError, match="`table=` is empty"):
        parse_source("postgresql://db/litellm?table=")


def test_messages_are_scrubbed_of_every_form_of_the_password() -> None:
    source = parse_source("postgresql://gate:p%40ss@db/litellm?password=other")
    message = "FATAL: user gate with p@ss (p%40ss)\nand other"
    assert scrub(message, source, ("env-secret",)) == "FATAL: user gate with *** (***) and ***"
    assert scrub("env-secret here", source, ("env-secret",)) == "*** here"
