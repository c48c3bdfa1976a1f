"""The bundled example repository works as the README's Quick start says."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from cache_gate.cli import cli

ROOT = Path(__file__).parent.parent
DEMO = ROOT / "fixtures" / "demo"


@pytest.fixture
def in_demo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(DEMO)


def test_demo_kpis_pass_with_the_bad_line_reported(in_demo: None) -> None:
    result = CliRunner().invoke(cli, ["kpi", "--format", "json"])
    document = json.loads(result.stdout)
    assert result.exit_code == 0
    assert document["cache_hit_rate_pct"] == 78.8
    assert document["ledger"]["formats"] == {"backlog": 364, "claude-code": 6, "litellm": 70,
                                             "openai": 1}
    assert [f["rule"] for f in document["findings"]] == ["CG206"]


def test_demo_report_shows_the_drifting_implementer_prefix(in_demo: None) -> None:
    result = CliRunner().invoke(cli, ["report", "--format", "json"])
    document = json.loads(result.stdout)
    assert result.exit_code == 0
    drift = [f for f in document["findings"] if f["rule"] == "CG205"]
    assert [f["prompt_id"] for f in drift] == ["implementer"]
    assert document["duplicate_spend"]["requests"] == 6


def test_demo_ledger_is_reproducible(tmp_path: Path) -> None:
    """The committed ledger is exactly what the seeded generator writes."""
    script = ROOT / "fixtures" / "make_demo_ledger.py"
    subprocess.run([sys.executable, str(script), str(tmp_path / "ledger.jsonl")], check=True)
    committed = DEMO / ".backlog-ops" / "usage-ledger.jsonl"
    assert (tmp_path / "ledger.jsonl").read_bytes() == committed.read_bytes()


def test_the_demo_report_explains_every_kind_of_miss(in_demo: None) -> None:
    """The demo's planning session plants one miss of each cause; the week's own
    traffic brings the commoner ones."""
    result = CliRunner().invoke(cli, ["report", "--format", "json"])
    causes = json.loads(result.stdout)["miss_causes"]["overall"]
    assert set(causes) == {"cold", "ttl_expired", "changed_within_ttl", "prefix_changed",
                           "model_changed", "not_requested", "below_minimum", "system_changed"}
    text = CliRunner().invoke(cli, ["report"]).stdout
    for cause in causes:
        assert f"\n  {cause} (" in text


def test_the_readmes_worked_example_is_what_report_prints(in_demo: None) -> None:
    """README.md, "Why the cache missed": every line of its excerpt is in the output."""
    section = (ROOT / "README.md").read_text(encoding="utf-8").split(
        "## Why the cache missed", 1)[1]
    excerpt = section.split("```text\n", 1)[1].split("```", 1)[0].splitlines()
    assert excerpt[:2] == ["$ cd fixtures/demo && cache-gate report", "…"]
    printed = CliRunner().invoke(cli, ["report"]).stdout.splitlines()
    start = printed.index(excerpt[2])
    assert [line for line in printed[start:] if line in excerpt[2:]] == excerpt[2:]


def test_a_ttl_the_manifest_declares_is_held_to_the_ledgers_evidence(tmp_path: Path) -> None:
    """The demo's planning session pays back its 1-hour entries; a manifest that
    declares 5-minute ones for that prompt gets CG208, naming the declaration."""
    repository = tmp_path / "demo"
    shutil.copytree(DEMO, repository)
    manifest_path = repository / ".backlog-ops" / "prompt-manifest.json"

    def cg208(declared: str | None) -> list[str]:
        manifest = json.loads((DEMO / ".backlog-ops" / "prompt-manifest.json").read_text())
        if declared is not None:
            manifest["prompts"].append({"id": "planner", "workflow": "planner", "blocks": [
                {"role": "system", "file": "prompts/triage-system.md",
                 "cache_control": declared},
                {"role": "user", "file": "templates/ticket.md", "dynamic": True}]})
        manifest_path.write_text(json.dumps(manifest))
        process = subprocess.run([sys.executable, "-m", "cache_gate", "report", "--format",
                                  "json"], cwd=repository, capture_output=True, text=True,
                                 check=False)
        assert process.returncode == 0, process.stderr
        return [f["message"] for f in json.loads(process.stdout)["findings"]
                if f["rule"] == "CG208"]

    [message] = cg208("5m")
    assert "prompt:planner" in message and "is declared with 5-minute entries" in message
    assert cg208("1h") == []
    assert cg208(None) == []  # undeclared: its own 1-hour writes, the cheaper choice
