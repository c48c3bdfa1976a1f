"""Every rule is documented: in the README (with an example and a fix) and in its module."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cache_gate import rules
from cache_gate.rules import lint as lint_rules

README = Path(__file__).resolve().parents[2] / "README.md"
# The ledger rules are documented by their own section (policy and doctor rules by
# tests/policy/test_documentation.py).
ALLOWED_MISSING = {rule_id for rule_id in rules.RULES if rule_id[:3] == "CG2"}
LINT_RULES = sorted(lint_rules.MODULES)


def _readme() -> str:
    return README.read_text(encoding="utf-8")


def test_lint_rules_are_cg100_to_cg113() -> None:
    expected = [f"CG1{n:02d}" for n in range(14)]
    assert expected == LINT_RULES


@pytest.mark.parametrize("rule_id", sorted(rules.RULES))
def test_every_catalogued_rule_is_in_the_readme(rule_id: str) -> None:
    if rule_id in ALLOWED_MISSING and rule_id not in _readme():
        pytest.skip(f"{rule_id}: its gate is not documented yet")
    assert rule_id in _readme()


@pytest.mark.parametrize("rule_id", LINT_RULES)
def test_readme_has_a_section_with_example_and_fix(rule_id: str) -> None:
    info = rules.get(rule_id)
    match = re.search(rf"^### {rule_id} {info.name}\n(.*?)(?=^### |^## |\Z)", _readme(),
                      re.MULTILINE | re.DOTALL)
    assert match, f"README has no '### {rule_id} {info.name}' section"
    section = match.group(1)
    assert "```" in section, f"{rule_id}: no example"
    assert "**Fix:**" in section, f"{rule_id}: no fix"
    table_row = re.search(rf"^\| {rule_id} \| {info.name} \|", _readme(), re.MULTILINE)
    assert table_row, f"{rule_id} missing from the rules table"


@pytest.mark.parametrize("rule_id", LINT_RULES)
def test_rule_module_documents_the_rule(rule_id: str) -> None:
    module = lint_rules.MODULES[rule_id]
    doc = module.__doc__ or ""
    info = rules.get(rule_id)
    assert doc.startswith(f"{rule_id} {info.name}:"), doc[:60]
    assert "Example" in doc and "Fix" in doc
    assert Path(module.__file__ or "").name.startswith(rule_id.lower() + "_")
    assert Path(module.__file__ or "").stem == f"{rule_id.lower()}_{info.name.replace('-', '_')}"
