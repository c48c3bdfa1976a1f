"""Every reporter on one fixed Result: golden output, and each format checked by its
real consumer's rules (JUnit XML, GitLab's keys; SARIF in test_sarif.py, the GitHub
format, with the Actions runner as its consumer, in test_github.py).

Regenerate the golden files after an intended change with
    CACHE_GATE_UPDATE_GOLDEN=1 python -m pytest tests/reporters
"""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from cache_gate import __version__, reporters
from cache_gate.findings import Finding, Result, Severity
from cache_gate.reporters import RenderContext

GOLDEN = Path(__file__).parent / "golden"
FORMATS = ("text", "json", "gitlab", "sarif", "junit", "markdown")


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


def test_junit_parses_with_one_case_per_kpi_and_per_rule() -> None:
    suites = ET.fromstring(render("junit"))
    suite = suites.find("testsuite")
    assert suite is not None
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    assert list(cases) == ["prompt_cache_hit_rate", "cached_token_ratio",
                           "response_cache_useful_hit_rate", "semantic_cache_useful_hit_rate",
                           "CG101 timestamp-literal", "CG206 ledger-bad-lines",
                           "CG404 low-repetition-workload"]
    failure = cases["prompt_cache_hit_rate"].find("failure")
    assert failure is not None and "42.0% is below the 60% target" in failure.get("message", "")
    assert cases["response_cache_useful_hit_rate"].find("skipped") is not None
    assert cases["CG206 ledger-bad-lines"].find("failure") is None  # a warning passes
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("7", "2", "2")


def test_gitlab_code_quality_issues() -> None:
    issues = json.loads(render("gitlab"))
    assert not render("gitlab").startswith("\ufeff")
    for issue in issues:
        assert {"description", "check_name", "fingerprint", "severity", "location"} <= set(issue)
        assert issue["severity"] in {"info", "minor", "major", "critical", "blocker"}
        assert isinstance(issue["location"]["lines"]["begin"], int)
    fingerprints = [issue["fingerprint"] for issue in issues]
    assert len(set(fingerprints)) == len(fingerprints)  # unique, even for a repeated finding
    assert fingerprints == [i["fingerprint"] for i in json.loads(render("gitlab"))]  # stable


def test_markdown_puts_the_verdict_first_and_charts_the_trend() -> None:
    text = render("markdown")
    assert text.splitlines()[0] == "### cache-gate kpi: ❌ failed"
    assert 'x-axis ["11-20", "11-21"]' in text and "line [50.0, 34.0]" in text
