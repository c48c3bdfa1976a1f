"""The command line as users and CI scripts drive it: exit codes, output, JSON contract."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from cache_gate import __version__
from cache_gate.cli import cli
from tests.ledgers import backlog, litellm, write_ledger

CONTRACT_FINDING_KEYS = {"rule", "name", "severity", "message", "path", "line", "prompt_id",
                         "fingerprint"}
CONTRACT_KPI_KEYS = {"value", "target", "status", "numerator", "denominator"}
KPI_NAMES = {"prompt_cache_hit_rate", "cached_token_ratio", "response_cache_useful_hit_rate",
             "semantic_cache_useful_hit_rate", "avoidable_miss_rate"}


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def healthy(tmp_path: Path) -> Path:
    return write_ledger(tmp_path / "ledger.jsonl", *[backlog()] * 40)


@pytest.fixture
def failing(tmp_path: Path) -> Path:
    return write_ledger(tmp_path / "ledger.jsonl", *spaced_misses(40))


def spaced_misses(count: int) -> list[dict[str, object]]:
    """Misses 10 minutes apart: each finds its entry expired (none is avoidable)."""
    return [backlog(cache_hit=False, cached_input_tokens=0,
                    timestamp=f"2026-11-20T{index // 6:02d}:{index % 6 * 10:02d}:00Z")
            for index in range(count)]


def test_passing_gate_exits_0(healthy: Path) -> None:
    code, out, _ = run("kpi", "--ledger", str(healthy))
    assert code == 0
    assert "✔ prompt cache hit rate" in out
    assert out.rstrip().endswith("cache-gate kpi: passed (0 errors, 0 warnings)")


def test_failing_gate_exits_1(failing: Path) -> None:
    code, out, _ = run("kpi", "--ledger", str(failing))
    assert code == 1
    assert "CG201 prompt-cache-hit-rate error" in out
    assert "FAILED" in out


def test_exit_zero_reports_but_passes(failing: Path) -> None:
    code, out, _ = run("kpi", "--ledger", str(failing), "--exit-zero")
    assert code == 0 and "CG201" in out


def test_target_override_on_the_command_line(failing: Path) -> None:
    code, _, _ = run("kpi", "--ledger", str(failing), "--target", "prompt-cache-hit-rate=0%",
                     "--target", "cached_token_ratio=0")
    assert code == 0


@pytest.mark.parametrize(("args", "message"), [
    (["--target", "hit_rate=0.5"], "unknown KPI 'hit_rate'"),
    (["--target", "prompt_cache_hit_rate"], "expected NAME=VALUE"),
    (["--target", "prompt_cache_hit_rate=2"], "a target is a fraction"),
    (["--since", "last tuesday"], "is not an ISO-8601 date"),
    (["--days", "1", "--since", "2026-01-01"], "pass one of them"),
])
def test_usage_errors_exit_2_with_one_clear_line(healthy: Path, args: list[str],
                                                 message: str) -> None:
    code, _, err = run("kpi", "--ledger", str(healthy), *args)
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_missing_ledger_exits_2(tmp_path: Path) -> None:
    code, _, err = run("kpi", "--ledger", str(tmp_path / "missing.jsonl"))
    assert code == 2
    assert err.startswith("cache-gate: error: ledger ") and "not found" in err


def test_json_report_contract(tmp_path: Path) -> None:
    ledger = write_ledger(tmp_path / "ledger.jsonl",
                          *spaced_misses(31),
                          "not json", litellm())
    code, out, _ = run("kpi", "--ledger", str(ledger), "--format", "json", "--now",
                       "2026-11-21T00:00:00Z", "--days", "7")
    document = json.loads(out)
    assert code == 1
    assert {"tool", "version", "command", "passed", "exit_code", "findings", "kpis",
            "cache_hit_rate_pct", "ledger", "miss_causes"} <= document.keys()
    assert (document["tool"], document["version"], document["command"]) == (
        "cache-gate", __version__, "kpi")
    assert document["passed"] is False and document["exit_code"] == 1
    for finding in document["findings"]:
        assert finding.keys() >= CONTRACT_FINDING_KEYS
    assert {f["rule"] for f in document["findings"]} == {"CG201", "CG204", "CG206"}
    assert document["kpis"].keys() == KPI_NAMES
    for row in document["kpis"].values():
        assert row.keys() >= CONTRACT_KPI_KEYS
    assert document["cache_hit_rate_pct"] == 3.1  # 1 of 32, in percent, one decimal
    ledger_section = document["ledger"]
    assert {"path", "records", "bad_lines", "formats", "window"} <= ledger_section.keys()
    assert ledger_section["records"] == 32
    assert ledger_section["bad_lines"] == 1
    assert ledger_section["formats"] == {"backlog": 31, "litellm": 1}
    assert ledger_section["window"]["since"] == "2026-11-14T00:00:00Z"
    assert ledger_section["window"]["until"] == "2026-11-21T00:00:00Z"


def test_output_file_gets_the_report_and_stdout_the_verdict(failing: Path,
                                                            tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    code, out, _ = run("kpi", "--ledger", str(failing), "--format", "json",
                       "--output", str(report))
    assert code == 1
    assert out.strip() == ("cache-gate kpi: FAILED (2 errors, 0 warnings) - "
                           f"report written to {report}")
    assert json.loads(report.read_text())["passed"] is False


def test_settings_from_pyproject(failing: Path, tmp_path: Path,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.cache-gate]\nledger = "ledger.jsonl"\n'
        "[tool.cache-gate.targets]\nprompt-cache-hit-rate = 0.0\ncached_token_ratio = 0.0\n")
    monkeypatch.chdir(tmp_path)
    code, out, _ = run("kpi")
    assert code == 0, out


def test_invalid_settings_name_the_key_and_the_file(healthy: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".cache-gate.toml").write_text("min-requests = 'many'\n")
    monkeypatch.chdir(tmp_path)
    code, _, err = run("kpi", "--ledger", str(healthy))
    assert code == 2
    assert ".cache-gate.toml: setting 'min-requests' must be a whole number >= 0" in err


def test_unknown_settings_key(healthy: Path, tmp_path: Path,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".cache-gate.toml").write_text("treshold = 1\n")
    monkeypatch.chdir(tmp_path)
    code, _, err = run("kpi", "--ledger", str(healthy))
    assert code == 2 and "unknown setting 'treshold'" in err


def test_no_color_when_not_a_terminal(failing: Path) -> None:
    _, out, _ = run("kpi", "--ledger", str(failing))
    assert "\x1b[" not in out


def test_help_on_every_command() -> None:
    for command in ([], ["kpi"], ["report"]):
        code, out, _ = run(*command, "--help")
        assert code == 0 and "Usage: cache-gate" in out


def test_console_script_and_module_entry_points() -> None:
    version = subprocess.run([sys.executable, "-m", "cache_gate", "--version"],
                             capture_output=True, text=True, check=True)
    assert version.stdout.strip() == f"cache-gate, version {__version__}"


def test_github_format_is_the_default_inside_github_actions(failing: Path,
                                                            tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    code, out, _ = run("kpi", "--ledger", str(failing),
                       env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)})
    assert code == 1
    assert "::error file=" in out and "title=CG201 prompt-cache-hit-rate::" in out
    assert summary.read_text().startswith("### cache-gate kpi: ❌ failed")
    _, plain_out, _ = run("kpi", "--ledger", str(failing), "--format", "text",
                          env={"GITHUB_ACTIONS": "true"})
    assert "::error" not in plain_out


def test_the_ledger_can_come_from_standard_input(healthy: Path) -> None:
    result = CliRunner().invoke(cli, ["kpi", "--ledger", "-", "--format", "json"],
                                input=healthy.read_bytes(), catch_exceptions=False)
    document = json.loads(result.stdout)
    assert result.exit_code == 0
    assert (document["ledger"]["path"], document["ledger"]["records"]) == ("-", 40)


def test_a_named_pipe_is_read_whole(healthy: Path, tmp_path: Path) -> None:
    import os
    import threading

    fifo = tmp_path / "ledger.fifo"
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_bytes(healthy.read_bytes()))
    writer.start()
    code, out, _ = run("kpi", "--ledger", str(fifo), "--format", "json")
    writer.join()
    assert code == 0 and json.loads(out)["ledger"]["records"] == 40
