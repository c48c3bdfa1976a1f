"""Every reporter on one fixed Result: golden output here, and each format checked by
its real consumer in a file of its own (test_sarif.py, test_github.py, test_junit.py,
test_gitlab.py, test_markdown.py, where the golden tests of the last four are too).

Regenerate the golden files after an intended change with
    CACHE_GATE_UPDATE_GOLDEN=1 python -m pytest tests/reporters
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cache_gate import __version__, reporters
from cache_gate.findings import Finding, Result, Severity
from cache_gate.reporters import RenderContext

GOLDEN = Path(__file__).parent / "golden"
FORMATS = ("text", "json", "sarif")


def sample() -> Result:
    kpis = {
        "prompt_cache_hit_rate": {"value": 0.42, "target": 0.6, "status": "fail",
                                  "numerator": 42, "denominator": 100, "requests": 100},
        "cached_token_ratio": {"value": 0.55, "target": 0.4, "status": "pass",
                               "numerator": 5500, "denominator": 10000, "requests": 90},
        "response_cache_useful_hit_rate": {"value": None, "target": 0.2, "status": "n/a",
                                           "numerator": 0, "denominator": 0, "requests": 0},
        "semantic_cache_useful_hit_rate": {"value": 0.5, "target": 0.1,
                                           "status": "insufficient", "numerator": 5,
                                           "denominator": 10, "requests": 10},
    }
    findings = [
        Finding(".backlog-ops/usage-ledger.jsonl", None, "CG201", "prompt-cache-hit-rate",
                Severity.ERROR, "prompt cache hit rate 42.0% is below the 60% target "
                "(42 / 100 requests)", hint="Fix prefix consistency (runbook step 2).",
                key="prompt_cache_hit_rate"),
        Finding(".backlog-ops/usage-ledger.jsonl", 7, "CG206", "ledger-bad-lines",
                Severity.WARNING, "malformed ledger line: input_tokens: expected int, got str",
                key="line 7"),
        Finding("prompts/system, v2.md", 3, "CG101", "timestamp-literal", Severity.ERROR,
                "a date in the stable prefix: 100% sure it's 2026-11-26",
                prompt_id="implementer", hint="Move it after the cache breakpoint."),
        Finding("prompts/system, v2.md", 3, "CG101", "timestamp-literal", Severity.ERROR,
                "a date in the stable prefix: 100% sure it's 2026-11-26",
                prompt_id="implementer", hint="Move it after the cache breakpoint."),
        Finding(None, None, "CG404", "low-repetition-workload", Severity.INFO,
                "workflow implementer repeats few prefixes"),
    ]
    sections = {
        "kpis": kpis, "cache_hit_rate_pct": 42.0,
        "ledger": {"path": ".backlog-ops/usage-ledger.jsonl", "records": 100, "bad_lines": 1,
                   "formats": {"backlog": 100},
                   "window": {"since": None, "until": None, "undated_excluded": 0}},
        "trend": [{"date": "2026-11-20", "requests": 50, "prompt_cache_hit_rate": 0.5},
                  {"date": "2026-11-21", "requests": 50, "prompt_cache_hit_rate": 0.34}],
    }
    return Result("kpi", findings, sections, ["An action line."])


def render(name: str) -> str:
    return reporters.get(name)(sample(), RenderContext(exit_code=1))


@pytest.mark.parametrize("name", FORMATS)
def test_golden_output(name: str) -> None:
    golden = GOLDEN / f"kpi.{name}"
    output = render(name).replace(__version__, "<version>")
    if os.environ.get("CACHE_GATE_UPDATE_GOLDEN"):
        golden.write_text(output, encoding="utf-8")
    assert output == golden.read_text(encoding="utf-8")
