"""Every policy and doctor rule is documented once: the module that checks it names it
in its docstring's first paragraph, with an example and a fix; the reference's rule
pages are generated from that (tests/test_docs.py)."""

from __future__ import annotations

import re

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

MODULES = {
    "CG301": policy_schema, "CG302": semantic_threshold, "CG303": semantic_threshold,
    "CG304": response_ttl, "CG305": disabled_layers, "CG306": prefix_minimum,
    "CG401": redis_backend, "CG402": redis_backend, "CG403": coverage, "CG404": workload,
}


@pytest.mark.parametrize("rule_id", sorted(MODULES))
def test_the_checking_module_documents_the_rule(rule_id: str) -> None:
    doc = MODULES[rule_id].__doc__ or ""
    lead = " ".join(doc.split("\n\n", 1)[0].split())
    assert f"{rule_id} {rules.get(rule_id).name}" in lead
    assert re.search(r"(?m)^Example:", doc) and re.search(r"(?m)^Fix: ", doc)


def test_cg401_through_the_proxy_is_documented_there() -> None:
    assert "CG401 cache-backend-unreachable" in (proxy.__doc__ or "")
