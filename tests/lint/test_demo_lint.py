"""The bundled example repository lints cleanly, except one deliberate warning."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.lint.repo import lint, lint_json

DEMO = Path(__file__).resolve().parents[2] / "fixtures" / "demo"


def test_demo_passes_with_its_one_deliberate_warning() -> None:
    code, report = lint_json(DEMO)
    assert code == 0
    [warning] = report["findings"]
    assert (warning["rule"], warning["path"], warning["severity"]) == (
        "CG101", "prompts/reviewer-system.md", "warning")
    assert report["lock"]["status"] == "matched"  # the committed lock is current
    assert [p["render"]["identical"] for p in report["prompts"] if p["render"]] == [True]


def test_demo_drift_is_caught(tmp_path: Path) -> None:
    copy = tmp_path / "demo"
    shutil.copytree(DEMO, copy, ignore=shutil.ignore_patterns("usage-ledger.jsonl"))
    system = copy / "prompts" / "triage-system.md"
    system.write_text(system.read_text().replace("small product team", "product team"))
    code, out, _ = lint(copy, "--no-render")
    assert code == 1
    assert "prompts/triage-system.md:3: CG111 prefix-drift error [prompt triage]" in out
