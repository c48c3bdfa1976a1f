"""The SpendLogs rows LiteLLM itself wrote (fixtures/real, made with its own
`get_logging_payload`), loaded into a real PostgreSQL table: `kpi` and `report` on the
table give the same hand-calculated KPIs as on the JSONL export."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner
from psycopg import sql

from cache_gate.cli import cli
from tests.ledger.test_real_fixtures import EXPECTED, REAL, expected_kpis, printed_kpis
from tests.postgres.conftest import SpendLogs
from tests.postgres.spendlogs import insert_rows

SPENDLOGS_FIXTURES = ["litellm_spend_logs.jsonl",
                      "litellm_spend_logs_provider_sent_no_cache_fields.jsonl"]


def table_columns(spendlogs: SpendLogs) -> set[str]:
    schema, table = spendlogs.schema, spendlogs.table
    rows = spendlogs.conn.execute(sql.SQL(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = %s AND table_name = %s"), (schema, table)).fetchall()
    return {row[0] for row in rows}


@pytest.mark.parametrize("name", SPENDLOGS_FIXTURES)
@pytest.mark.parametrize("command", ["kpi", "report"])
def test_real_litellm_rows_from_the_table(spendlogs: SpendLogs, name: str,
                                          command: str) -> None:
    columns = table_columns(spendlogs)
    rows: list[dict[str, Any]] = []
    for line in (REAL / name).read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        # Our test table has the columns cache-gate reads and most others; LiteLLM's
        # newest (billing_agent_id, ...) are left out, as an older table would.
        rows.append({key: value for key, value in row.items() if key in columns})
    insert_rows(spendlogs.conn, spendlogs.qualified, rows)
    result = CliRunner().invoke(cli, [command, "--ledger", spendlogs.url(), "--format", "json",
                                      "--min-requests", "0"])
    report = json.loads(result.stdout)
    assert printed_kpis(report) == expected_kpis(EXPECTED[name])
    assert report["ledger"]["records"] == EXPECTED[name].requests
    assert report["ledger"]["bad_lines"] == 0
