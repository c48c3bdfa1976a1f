"""No evidence is no pass: a ledger that holds no valid request, or more malformed
lines than valid records, cannot decide a gate, whatever its KPIs would say (exit 2,
one line: how many lines were malformed, and the first error)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from cache_gate.cli import cli
from tests.ledgers import backlog, write_ledger


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("command", ["kpi", "report"])
def test_a_ledger_of_only_malformed_lines_cannot_decide(tmp_path: Path, command: str) -> None:
    ledger = write_ledger(tmp_path / "l.jsonl", "oops", '{"input_tokens": "12"}', "[]")
    code, out, err = run(command, "--ledger", str(ledger))
    assert code == 2 and out == ""
    assert err == (f"cache-gate: error: ledger {ledger}: no evidence to decide on: 3 malformed "
                   "lines against 0 valid records (line 1: not valid JSON); fix what writes "
                   "the ledger, or point --ledger at the usage ledger\n")


def test_malformed_lines_outnumbering_valid_records_cannot_decide(tmp_path: Path) -> None:
    ledger = write_ledger(tmp_path / "l.jsonl", backlog(), "oops", "oops")
    code, _, err = run("kpi", "--ledger", str(ledger))
    assert code == 2
    assert "2 malformed lines against 1 valid record (line 2: not valid JSON)" in err


def test_as_many_valid_records_as_malformed_lines_decides(tmp_path: Path) -> None:
    ledger = write_ledger(tmp_path / "l.jsonl", backlog(), "oops")
    code, _, _ = run("kpi", "--ledger", str(ledger))
    assert code == 0


def test_objects_in_no_known_format_are_no_evidence(tmp_path: Path) -> None:
    ledger = write_ledger(tmp_path / "l.jsonl", '{"type": "summary", "summary": "x"}')
    code, _, err = run("kpi", "--ledger", str(ledger), "--format", "json")
    assert code == 2
    assert "none of its 1 JSON objects is a request in a format cache-gate reads" in err


def test_an_empty_window_in_a_valid_ledger_is_not_an_error(tmp_path: Path) -> None:
    """Records exist, none in the window: the KPIs are n/a, and the run decides."""
    ledger = write_ledger(tmp_path / "l.jsonl",
                          *[backlog(timestamp="2026-01-01T00:00:00Z")] * 40)
    code, out, _ = run("kpi", "--ledger", str(ledger), "--since", "2026-06-01")
    assert code == 0
    assert "ledger" in out and "0 requests" in out


def test_the_window_does_not_hide_malformed_lines(tmp_path: Path) -> None:
    """All malformed lines count, in the window or not: the reported bug was a windowed
    `kpi --days 7` passing on zero requests when every row was malformed."""
    ledger = write_ledger(tmp_path / "l.jsonl", *[backlog(input_tokens="12")] * 5)
    code, _, err = run("kpi", "--ledger", str(ledger), "--days", "7")
    assert code == 2 and "5 malformed lines against 0 valid records" in err


def test_check_reports_the_ledger_as_undecided_and_runs_the_other_gates(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".backlog-ops").mkdir()
    write_ledger(tmp_path / ".backlog-ops" / "usage-ledger.jsonl", "oops")
    code, out, err = run("check")
    assert code == 2
    assert "no evidence to decide on" in out + err
