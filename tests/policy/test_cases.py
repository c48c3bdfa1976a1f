"""Acceptance: every fixture case under fixtures/policy/cases gives exactly its findings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.policy.helpers import FIXTURES, policy

CASES = sorted(path for path in (FIXTURES / "cases").iterdir() if path.is_dir())


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_case_reports_exactly_its_expected_findings(case: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(case)
    args = ["--litellm-config", "litellm.yaml"] if (case / "litellm.yaml").exists() else []
    code, out, err = policy(*args, "--format", "json")
    assert err == ""
    document = json.loads(out)
    found = sorted(f"{f['rule']} {f['severity']} {f['path']}:{f['line']}"
                   for f in document["findings"])
    expected = (case / "expected.txt").read_text(encoding="utf-8").splitlines()
    assert found == expected
    errors = any(line.split()[1] == "error" for line in expected)
    assert code == (1 if errors else 0)
    assert document["exit_code"] == code and document["passed"] is not errors


def test_every_policy_rule_has_a_case() -> None:
    reported = {line.split()[0] for case in CASES
                for line in (case / "expected.txt").read_text(encoding="utf-8").splitlines()}
    assert reported == {"CG301", "CG302", "CG303", "CG304", "CG305", "CG306"}
