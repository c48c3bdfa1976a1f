"""Acceptance: every fixture repository under fixtures/lint lints to its expected.txt.

Each line of expected.txt is `RULE path:line severity`; an empty file means clean.
The fixtures are byte-exact files (CRLF, BOM, zero-width characters) kept from git's
conversions by their .gitattributes.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.lint.repo import lint_json

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "lint"
CASES = sorted(path.name for path in FIXTURES.iterdir() if (path / "expected.txt").is_file())


@pytest.mark.parametrize("case", CASES)
def test_fixture(case: str, tmp_path: Path) -> None:
    repo = tmp_path / case
    shutil.copytree(FIXTURES / case, repo)
    expected = sorted(line.strip() for line in (repo / "expected.txt").read_text().splitlines()
                      if line.strip())
    code, report = lint_json(repo, "--no-render")
    found = sorted(f"{f['rule']} {f['path']}:{f['line']} {f['severity']}"
                   for f in report["findings"])
    assert found == expected
    assert code == (1 if any(line.endswith(" error") for line in expected) else 0)
    for finding in report["findings"]:
        assert finding["prompt_id"] and finding["hint"]


def test_fixtures_exist() -> None:
    assert {"clean", "hazards", "layout"} <= set(CASES)
