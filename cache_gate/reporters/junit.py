"""`--format junit`: JUnit XML, for GitLab's unit test report and other CI test views.

One test case per KPI (failed, passed, or skipped when n/a or insufficient) and
one per rule that produced findings (failed when any of them is an error).

A file name or a ledger value may hold code points that XML 1.0 forbids outright (C0
controls but tab and line breaks, lone surrogates from undecodable bytes, U+FFFE and
U+FFFF); one of them makes the whole report malformed, and the CI's parser (libxml2
in GitLab and Jenkins alike) drops every test case with it. No escape can carry them
in XML 1.0, so each is written as a visible escape (`\\x07`, `\\udcff`) instead.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from typing import Any

from cache_gate.analyses.kpis import RULE_OF_KPI
from cache_gate.config import KPI_LABELS, target_text
from cache_gate.findings import Finding, Result, Severity, sort_findings
from cache_gate.reporters import RenderContext
from cache_gate.reporters.neutralise import terminal

# Everything outside XML 1.0's Char production: #x9 | #xA | #xD | [#x20-#xD7FF] |
# [#xE000-#xFFFD] | [#x10000-#x10FFFF].
_NOT_XML_CHAR = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _visible_escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def xml_safe(value: str) -> str:
    """`value` with every code point XML 1.0 cannot hold shown as a visible escape."""
    return _NOT_XML_CHAR.sub(_visible_escape, value)


def _make_xml_safe(root: ET.Element) -> None:
    """Every text and attribute in the tree made XML-safe: done once over the whole
    tree, so no field that carries input data can be forgotten."""
    for element in root.iter():
        if element.text is not None:
            element.text = xml_safe(element.text)
        for name, value in list(element.attrib.items()):
            element.set(name, xml_safe(value))


def _describe(finding: Finding) -> str:
    """One finding, one line: its fields escaped as in the text report, so a line break
    in a file name cannot split it."""
    place = terminal(finding.path or "")
    if finding.line:
        place += f":{finding.line}"
    prompt = f" [prompt {terminal(finding.prompt_id)}]" if finding.prompt_id else ""
    return f"{place}{prompt}: {terminal(finding.message)}"


def _kpi_cases(suite: ET.Element, result: Result) -> None:
    kpis: dict[str, dict[str, Any]] = result.sections.get("kpis", {})
    messages = {f.rule: terminal(f.message) for f in result.findings}
    for name, row in kpis.items():
        case = ET.SubElement(suite, "testcase", classname=f"cache-gate.{result.command}.kpi",
                             name=name)
        value = "n/a" if row["value"] is None else f"{row['value']:.1%}"
        summary = (f"{KPI_LABELS[name]} {value}, target {target_text(name, row['target'])}: "
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
            first = terminal(errors[0].message)
            failure = ET.SubElement(case, "failure", type=rule,
                                    message=f"{len(errors)} error(s): {first}")
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
    _make_xml_safe(suites)
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"
