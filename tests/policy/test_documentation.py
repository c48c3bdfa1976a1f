"""Every policy and doctor rule is documented: a README section with an example and a fix, a
row in the README's table, and the module that checks it says so in its docstring."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cache_gate import rules
from cache_gate.doctor import coverage, proxy, redis_backend, workload
from cache_gate.policy import (
    disabled_layers,
    prefix_minimum,
    response_ttl,
    semantic_threshold,
)
from cache_gate.policy import schema as policy_schema

README = Path(__file__).resolve().parents[2] / "README.md"
RULES = [f"CG30{n}" for n in range(1, 7)] + [f"CG40{n}" for n in range(1, 5)]
MODULES = {
    "CG302": semantic_threshold, "CG303": semantic_threshold, "CG304": response_ttl,
    "CG305": disabled_layers, "CG306": prefix_minimum, "CG401": redis_backend,
    "CG402": redis_backend, "CG403": coverage, "CG404": workload,
}


@pytest.mark.parametrize("rule_id", RULES)
def test_readme_has_a_section_with_example_and_fix(rule_id: str) -> None:
    readme = README.read_text(encoding="utf-8")
    info = rules.get(rule_id)
    match = re.search(rf"^### {rule_id} {info.name}\n(.*?)(?=^### |^## |\Z)", readme,
                      re.MULTILINE | re.DOTALL)
    assert match, f"README has no '### {rule_id} {info.name}' section"
    assert "```" in match.group(1), f"{rule_id}: no example"
    assert "**Fix:**" in match.group(1), f"{rule_id}: no fix"
    assert re.search(rf"^\| {rule_id} \| {info.name} \|", readme, re.MULTILINE), rule_id


@pytest.mark.parametrize("rule_id", sorted(MODULES))
def test_the_checking_module_documents_the_rule(rule_id: str) -> None:
    doc = MODULES[rule_id].__doc__ or ""
    assert f"{rule_id} {rules.get(rule_id).name}" in doc


def test_cg401_through_the_proxy_is_documented_there() -> None:
    assert "CG401" in (proxy.__doc__ or "")
    assert "CG301" in (policy_schema.__doc__ or "")
