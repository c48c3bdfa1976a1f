"""`--format junit`: JUnit XML, for GitLab's unit test report and other CI test views.

One test case per KPI (failed, passed, or skipped when n/a or insufficient) and
one per rule that produced findings (failed when any of them is an error).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import defaultdict
from typing import Any

from cache_gate.config import KPI_LABELS
from cache_gate.findings import Finding, Result, Severity, sort_findings
from cache_gate.kpis import RULE_OF_KPI
from cache_gate.reporters import RenderContext


def _describe(finding: Finding) -> str:
    place = finding.path or ""
    if finding.line:
        place += f":{finding.line}"
    prompt = f" [prompt {finding.prompt_id}]" if finding.prompt_id else ""
    return f"{place}{prompt}: {finding.message}"


def _kpi_cases(suite: ET.Element, result: Result) -> None:
    kpis: dict[str, dict[str, Any]] = result.sections.get("kpis", {})
    messages = {f.rule: f.message for f in result.findings}
    for name, row in kpis.items():
        case = ET.SubElement(suite, "testcase", classname=f"cache-gate.{result.command}.kpi",
                             name=name)
        value = "n/a" if row["value"] is None else f"{row['value']:.1%}"
        summary = (f"{KPI_LABELS[name]} {value}, target {row['target']:.0%}: "
                   f"{row['numerator']} / {row['denominator']}")
        if row["status"] == "fail":
            failure = ET.SubElement(case, "failure", type=RULE_OF_KPI[name],
                                    message=messages.get(RULE_OF_KPI[name], summary))
            failure.text = summary
        elif row["status"] in ("n/a", "insufficient"):
            ET.SubElement(case, "skipped", message=f"{row['status']}: {summary}")
        else:
            ET.SubElement(case, "system-out").text = summary


def _rule_cases(suite: ET.Element, result: Result) -> None:
    by_rule: dict[tuple[str, str], list[Finding]] = defaultdict(list)
    kpi_rules = set(RULE_OF_KPI.values()) if "kpis" in result.sections else set()
    for finding in sort_findings(result.findings):
        if finding.rule not in kpi_rules:
            by_rule[(finding.rule, finding.name)].append(finding)
    for (rule, name), findings in sorted(by_rule.items()):
        case = ET.SubElement(suite, "testcase", classname=f"cache-gate.{result.command}.rule",
                             name=f"{rule} {name}")
        details = "\n".join(_describe(finding) for finding in findings)
        errors = [f for f in findings if f.severity is Severity.ERROR]
        if errors:
            failure = ET.SubElement(case, "failure", type=rule,
                                    message=f"{len(errors)} error(s): {errors[0].message}")
            failure.text = details
        else:
            ET.SubElement(case, "system-out").text = details


def render(result: Result, context: RenderContext) -> str:
    del context
    suites = ET.Element("testsuites", name="cache-gate")
    suite = ET.SubElement(suites, "testsuite", name=f"cache-gate {result.command}")
    _kpi_cases(suite, result)
    _rule_cases(suite, result)
    cases = suite.findall("testcase")
    failures = sum(case.find("failure") is not None for case in cases)
    skipped = sum(case.find("skipped") is not None for case in cases)
    for element in (suite, suites):
        element.set("tests", str(len(cases)))
        element.set("failures", str(failures))
        element.set("errors", "0")
    suite.set("skipped", str(skipped))
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"
