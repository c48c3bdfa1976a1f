"""`cache-gate check`: every gate whose input exists, one combined exit code."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from cache_gate.cli import cli
from tests.ledgers import backlog, write_ledger

DEMO = Path(__file__).parent.parent / "fixtures" / "demo"


def check(*args: str) -> tuple[int, dict[str, object], str]:
    result = CliRunner().invoke(cli, ["check", "--format", "json", "--no-render", *args],
                                catch_exceptions=False)
    return result.exit_code, json.loads(result.stdout), result.stderr


def test_the_demo_runs_every_gate_and_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(DEMO)
    code, document, _ = check()
    assert code == 0
    assert {name: gate["status"] for name, gate in document["gates"].items()} == {  # type: ignore[attr-defined]
        "lint": "passed", "kpi": "passed", "policy": "passed"}
    assert {f["rule"] for f in document["findings"]} == {"CG101", "CG206"}  # type: ignore[attr-defined]
    assert document["cache_hit_rate_pct"] == 78.8


def test_gates_without_input_are_skipped_and_said_so(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    write_ledger(tmp_path / "usage.jsonl", *[backlog()] * 3)
    monkeypatch.chdir(tmp_path)
    code, document, _ = check("--ledger", "usage.jsonl")
    gates = document["gates"]
    assert code == 0
    assert gates["kpi"]["status"] == "passed"  # type: ignore[index]
    assert gates["lint"] == {"status": "skipped",  # type: ignore[index]
                             "reason": "no .backlog-ops/prompt-manifest.json"}
    assert gates["policy"]["status"] == "skipped"  # type: ignore[index]


def test_one_failing_gate_fails_the_check(tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(DEMO, tmp_path / "demo")
    monkeypatch.chdir(tmp_path / "demo")
    ledger = Path(".backlog-ops/usage-ledger.jsonl")
    write_ledger(ledger, *[backlog(cache_hit=False, cached_input_tokens=0)] * 40)
    code, document, _ = check()
    assert code == 1
    assert document["gates"]["kpi"]["status"] == "failed"  # type: ignore[index]
    assert document["gates"]["lint"]["status"] == "passed"  # type: ignore[index]


def test_an_unreadable_input_is_undecided_but_the_other_gates_still_run(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(DEMO, tmp_path / "demo")
    monkeypatch.chdir(tmp_path / "demo")
    Path(".backlog-ops/prompt-manifest.json").write_text("{ not json")
    code, document, _ = check()
    assert code == 2
    assert document["gates"]["lint"]["status"] == "error"  # type: ignore[index]
    assert document["gates"]["kpi"]["status"] == "passed"  # type: ignore[index]
