"""`--format junit` as CI test views read it: parsed by lxml (libxml2, the parser of
junitparser, of GitLab's Nokogiri and of most JUnit viewers) and valid against Jenkins'
JUnit schema (`../shared/schemas/junit-10.xsd`), whatever a file name or a ledger holds.

Regenerate the golden file after an intended change with
    CACHE_GATE_UPDATE_GOLDEN=1 python -m pytest tests/reporters -k junit
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from cache_gate import __version__, reporters
from cache_gate.findings import Finding, Result, Severity
from cache_gate.reporters import RenderContext
from tests import consumers
from tests.lint.repo import CLEAN_PROSE, lint, write_repo
from tests.reporters.test_reporters import sample

GOLDEN = Path(__file__).parent / "golden"
# Code points XML 1.0 forbids (its Char production), each with the escape shown instead.
# (Built from numbers: linters take any two lone surrogates for the same key.)
NOT_XML = {chr(code): f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
           for code in (0x00, 0x07, 0x0B, 0x1B, 0xD800, 0xDCFF, 0xFFFE, 0xFFFF)}


def render(result: Result) -> str:
    return reporters.get("junit")(result, RenderContext(exit_code=1))


def junit_schema() -> etree.XMLSchema:
    """Jenkins' JUnit schema, shown first to reject what is not a JUnit report: a
    schema that accepts anything validates nothing."""
    schema = etree.XMLSchema(etree.parse(str(consumers.shared_path("schemas/junit-10.xsd"))))
    assert not schema.validate(etree.fromstring("<testsuites><bogus/></testsuites>"))
    assert not schema.validate(etree.fromstring("<results/>"))
    assert not schema.validate(etree.fromstring("<testsuite name='no counts'/>"))
    return schema


def parsed(report: str) -> etree._Element:
    """The report as a CI reads it: UTF-8 bytes parsed by libxml2 (which raises on a
    malformed document), then checked against the schema."""
    document = etree.fromstring(report.encode("utf-8"))
    junit_schema().assertValid(document)
    return document


def hostile(text: str) -> Result:
    """`text` in every field that carries input data into the report."""
    kpis = sample().sections["kpis"]
    findings = [
        Finding(f"prompts/{text}.md", 3, "CG101", "timestamp-literal", Severity.ERROR,
                f"a date: {text}", prompt_id=text, hint=text),
        Finding(f"ledger-{text}.jsonl", 7, "CG206", "ledger-bad-lines", Severity.WARNING,
                f"malformed ledger line: {text}"),
        Finding("usage.jsonl", None, "CG201", "prompt-cache-hit-rate", Severity.ERROR,
                f"prompt cache hit rate of workflow {text} is below its target"),
    ]
    return Result("kpi", findings, {"kpis": kpis})


def test_golden_output() -> None:
    golden = GOLDEN / "kpi.junit"
    output = render(sample()).replace(__version__, "<version>")
    if os.environ.get("CACHE_GATE_UPDATE_GOLDEN"):
        golden.write_text(output, encoding="utf-8")
    assert output == golden.read_text(encoding="utf-8")


def test_one_case_per_kpi_and_per_rule() -> None:
    suite = parsed(render(sample())).find("testsuite")
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


@pytest.mark.parametrize("character", NOT_XML)
def test_a_code_point_xml_forbids_is_shown_as_a_visible_escape(character: str) -> None:
    document = parsed(render(hostile(f"a{character}b")))
    text = etree.tostring(document, encoding="unicode")
    escaped = f"a{NOT_XML[character]}b"
    assert f"prompts/{escaped}.md:3 [prompt {escaped}]: a date: {escaped}" in text
    assert f"ledger-{escaped}.jsonl:7: malformed ledger line: {escaped}" in text
    failure = document.find(".//testcase[@name='CG201 prompt-cache-hit-rate']/failure")
    assert failure is None  # a KPI's rule is its KPI's case, not a case of its own
    kpi_failure = document.find(".//testcase[@name='prompt_cache_hit_rate']/failure")
    assert kpi_failure is not None
    assert kpi_failure.get("message") == f"prompt cache hit rate of workflow {escaped} is below " \
                                         "its target"


def test_a_line_break_in_a_file_name_does_not_split_its_finding() -> None:
    details = parsed(render(hostile("a\rb\nc"))).find(
        ".//testcase[@name='CG101 timestamp-literal']/failure")
    assert details is not None and details.text is not None
    assert details.text.splitlines() == [
        "prompts/a\\rb\\nc.md:3 [prompt a\\rb\\nc]: a date: a\\rb\\nc"]


@given(st.text(st.one_of(st.characters(), st.sampled_from(sorted(NOT_XML)))))
def test_any_input_text_makes_a_valid_report(text: str) -> None:
    parsed(render(hostile(text)))


def test_a_real_lint_run_over_hostile_file_names(tmp_path: Path) -> None:
    """File names found by a glob on disk, one undecodable (a Latin-1 byte), reach the
    report as a CI reads it."""
    root = write_repo(tmp_path / "repo", {"prompts/a.md": CLEAN_PROSE}, [
        {"id": "main", "blocks": [{"role": "system", "glob": "prompts/*.md",
                                   "order": "lexical", "cache_control": "5m"}]}])
    dated = "Released 2024-03-15.\n" + CLEAN_PROSE
    (root / "prompts" / "bell\x07|cr\r.md").write_text(dated)
    (root / "prompts" / os.fsdecode(b"latin-\xe9.md")).write_text(dated)
    code, _, stderr = lint(root, "--report", f"junit={tmp_path / 'junit.xml'}")
    assert (code, stderr) == (0, "")
    document = parsed((tmp_path / "junit.xml").read_text(encoding="utf-8"))
    [details] = document.iterfind(".//testcase[@name='CG101 timestamp-literal']/system-out")
    assert [line.split(":")[0] for line in (details.text or "").splitlines()] == [
        "prompts/bell\\x07|cr\\r.md", "prompts/latin-\\udce9.md"]
