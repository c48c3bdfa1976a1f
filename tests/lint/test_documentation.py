"""Every lint rule is documented once, in its module's docstring, with an example and a
fix; the reference's rule pages are generated from it (tests/test_docs.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cache_gate import rules
from cache_gate.rules import lint as lint_rules

LINT_RULES = sorted(lint_rules.MODULES)


def test_lint_rules_are_cg100_to_cg113() -> None:
    expected = [f"CG1{n:02d}" for n in range(14)]
    assert expected == LINT_RULES


@pytest.mark.parametrize("rule_id", LINT_RULES)
def test_rule_module_documents_the_rule(rule_id: str) -> None:
    module = lint_rules.MODULES[rule_id]
    doc = module.__doc__ or ""
    info = rules.get(rule_id)
    assert doc.startswith(f"{rule_id} {info.name}:"), doc[:60]
    assert re.search(r"(?m)^Example:", doc) and re.search(r"(?m)^Fix: ", doc)
    assert Path(module.__file__ or "").name.startswith(rule_id.lower() + "_")
    assert Path(module.__file__ or "").stem == f"{rule_id.lower()}_{info.name.replace('-', '_')}"
