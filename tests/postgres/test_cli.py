"""`cache-gate kpi` and `report` with `--ledger postgresql://...`, end to end."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from click.testing import CliRunner

from cache_gate.cli import cli
from tests.ledgers import litellm
from tests.postgres.conftest import SpendLogs
from tests.postgres.server import PASSWORD
from tests.postgres.spendlogs import export_jsonl, insert_rows
from tests.postgres.test_agreement import bad_rows, team_rows


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def document(*args: str) -> tuple[int, dict[str, Any]]:
    code, out, _ = run(*args, "--format", "json")
    return code, json.loads(out)


@pytest.fixture
def team(spendlogs: SpendLogs) -> SpendLogs:
    insert_rows(spendlogs.conn, spendlogs.qualified, team_rows())
    insert_rows(spendlogs.conn, spendlogs.qualified, bad_rows())
    return spendlogs


WINDOW = ("--since", "2026-11-18T12:00:00", "--until", "2026-11-20T00:00:00")


@pytest.mark.parametrize("options", [(), WINDOW, ("--workflow", "reviewer"),
                                     (*WINDOW, "--workflow", "implementer")])
def test_kpi_from_postgres_equals_kpi_from_its_export(team: SpendLogs, tmp_path: Path,
                                                      options: tuple[str, ...]) -> None:
    export = export_jsonl(team.conn, team.qualified, tmp_path / "export.jsonl")
    code, from_table = document("kpi", "--ledger", team.url(), *options)
    expected_code, from_file = document("kpi", "--ledger", str(export), *options)
    assert code == expected_code
    assert from_table["kpis"] == from_file["kpis"]
    assert from_table["cache_hit_rate_pct"] == from_file["cache_hit_rate_pct"]
    assert from_table["ledger"]["records"] == from_file["ledger"]["records"]
    assert from_table["ledger"]["formats"] == {"litellm": from_file["ledger"]["records"]}


def test_the_json_report_names_its_source_and_moves_few_rows(team: SpendLogs) -> None:
    _, report = document("kpi", "--ledger", team.url(), *WINDOW)
    ledger = report["ledger"]
    assert PASSWORD not in json.dumps(report)
    assert ledger["path"].startswith("postgresql://cachegate:***@127.0.0.1:")
    assert ledger["source"]["kind"] == "postgresql"
    assert ledger["source"]["table"].endswith('."LiteLLM_SpendLogs"')
    # Rows outside the window are not read, so not counted.
    assert ledger["window"]["outside"] is None
    # The catalog's columns only: the rows are streamed, once.
    assert ledger["source"]["rows_fetched"] < 20
    assert ledger["records"] > 80
    # One pass: each row of the window streamed once, as the few values kpi reads (the
    # sums and the miss causes alike), in one query after the catalog's.
    assert ledger["source"]["rows_streamed"] == (
        ledger["records"] + ledger["bad_lines"] + ledger["window"]["undated_excluded"])
    assert ledger["source"]["queries"] == 2


def test_bad_rows_are_warnings_named_by_request_id(team: SpendLogs) -> None:
    code, report = document("kpi", "--ledger", team.url(), "--min-requests", "0",
                            "--target", "prompt_cache_hit_rate=0", "--target",
                            "cached_token_ratio=0", "--target",
                            "response_cache_useful_hit_rate=0")
    assert code == 0
    bad = [f for f in report["findings"]
           if f["rule"] == "CG206" and "request_id" in f["message"]]
    assert report["ledger"]["bad_lines"] == len(bad_rows())
    assert len(bad) == 10  # the first ten, then "1 more"
    assert all(f["line"] is None for f in bad)
    assert "malformed ledger row: request_id bad-" in bad[0]["message"]
    assert any("cache read tokens (900) exceed prompt_tokens (100)" in f["message"]
               for f in bad)
    assert len({f["fingerprint"] for f in bad}) == len(bad)
    assert report["ledger"]["bad_line_samples"][0]["request_id"].startswith("bad-")
    strict_code, _ = document("kpi", "--ledger", team.url(), "--strict",
                              "--min-requests", "0")
    assert strict_code == 1


def test_kpi_fails_on_a_low_hit_rate(spendlogs: SpendLogs) -> None:
    insert_rows(spendlogs.conn, spendlogs.qualified, [
        litellm(request_id=f"r{index}", read=0, write=900) for index in range(40)])
    code, out, _ = run("kpi", "--ledger", spendlogs.url())
    assert code == 1
    assert "prompt cache hit rate" in out and "0.0%" in out
    assert f"ledger postgresql://cachegate:***@127.0.0.1:{spendlogs.server.port}/" in out
    assert PASSWORD not in out and quote(PASSWORD, safe="") not in out


def test_report_says_what_this_ledger_cannot_show(team: SpendLogs, tmp_path: Path) -> None:
    code, report = document("report", "--ledger", team.url())
    assert code == 0
    assert report["duplicate_spend"] == {"available": False, "reason": report[
        "duplicate_spend"]["reason"]}
    assert "no request or prefix hashes" in report["duplicate_spend"]["reason"]
    assert report["prefix_drift"]["available"] is False
    export = export_jsonl(team.conn, team.qualified, tmp_path / "export.jsonl")
    _, from_file = document("report", "--ledger", str(export))
    for section in ("breakdown", "trend", "savings", "kpis"):
        assert report[section] == from_file[section], section
    _, text, _ = run("report", "--ledger", team.url())
    assert "duplicate spend and runtime prefix drift: not available" in text
    assert "duplicate spend (same request" not in text


def test_commands_that_read_files_refuse_a_url_without_echoing_it(spendlogs: SpendLogs) -> None:
    from cache_gate.errors import InputError
    from cache_gate.ledger.jsonl.reader import open_ledger

    with pytest.raises(InputError) as caught:
        open_ledger(spendlogs.url())
    assert PASSWORD not in str(caught.value) and "***" in str(caught.value)
