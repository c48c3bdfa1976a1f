"""`--format github` and every report printed inside GitHub Actions, read by their real
consumer: the Actions runner, whose rules `tests/github_runner.py` restates. What the
runner executes is what counts: our annotations, errors first and cut to what GitHub
shows, at paths GitHub resolves; and not one command that came from input data.

Regenerate the golden file after an intended change with
    CACHE_GATE_UPDATE_GOLDEN=1 python -m pytest tests/reporters -k github
"""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from cache_gate import __version__, reporters
from cache_gate.cli import cli
from cache_gate.findings import Finding, Result, Severity, errors_first
from cache_gate.reporters import RenderContext
from cache_gate.reporters.github import annotation, escape_property, write_step_summary
from cache_gate.reporters.locations import repository_path
from cache_gate.reporters.neutralise import guard_lines, own_command, terminal
from tests.github_runner import Command, commands
from tests.ledgers import backlog, write_ledger
from tests.lint.repo import CLEAN_PROSE, cwd, write_repo
from tests.reporters.test_reporters import sample

GOLDEN = Path(__file__).parent / "golden"
FORMATS = ("text", "json", "github", "gitlab", "sarif", "junit", "markdown")
KINDS = {"error": "error", "warning": "warning", "info": "notice"}


def printed(result: Result, report_format: str = "github") -> str:
    """What `_emit` prints: the report through the line guard."""
    return guard_lines(reporters.get(report_format)(result, RenderContext(exit_code=1)),
                       report_format)


def executed(output: str) -> list[tuple[str, str | None, str | None]]:
    """(command, title, file) of each command the runner executes on `output`."""
    return [(c.name, c.properties.get("title"), c.properties.get("file"))
            for c in commands(output)]


def expected(findings: list[dict[str, Any]]) -> list[tuple[str, str | None, str | None]]:
    """The annotations a report of these JSON findings means (ten or fewer of a kind)."""
    ordered = errors_first(Finding(f["path"], f["line"], f["rule"], f["name"],
                                   Severity(f["severity"]), f["message"]) for f in findings)
    return [(KINDS[f.severity.value], f"{f.rule} {f.name}", repository_path(f.path))
            for f in ordered]


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), env={"GITHUB_STEP_SUMMARY": "", **(env or {})})
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        result.exception)
    return result.exit_code, result.stdout, result.stderr


# --- The annotations -----------------------------------------------------------------


def test_golden_output() -> None:
    golden = GOLDEN / "kpi.github"
    output = printed(sample()).replace(__version__, "<version>")
    if os.environ.get("CACHE_GATE_UPDATE_GOLDEN"):
        golden.write_text(output, encoding="utf-8")
    assert output == golden.read_text(encoding="utf-8")


def test_annotations_are_escaped() -> None:
    finding = sample().findings[2]
    assert guard_lines(annotation(finding)) == (
        "::error file=prompts/system%2C v2.md,line=3,title=CG101 timestamp-literal::"
        "[prompt implementer] a date in the stable prefix: 100%25 sure it's 2026-11-26"
        "%0AFix: Move it after the cache breakpoint.")
    assert escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"


def test_the_runner_reads_each_annotation_back_as_it_was_meant() -> None:
    command = next(c for c in commands(printed(sample()))
                   if c.properties["title"] == "CG101 timestamp-literal")
    assert command == Command(
        "error", "[prompt implementer] a date in the stable prefix: 100% sure it's "
        "2026-11-26\nFix: Move it after the cache breakpoint.", command.line,
        {"file": "prompts/system, v2.md", "line": "3", "title": "CG101 timestamp-literal"})


def findings_of(errors: int, warnings: int, notices: int) -> list[Finding]:
    """Warnings in files that sort first, errors in files that sort last: the report
    order (by file) puts the errors behind everything else."""
    made = [Finding(f"z/e{i:02}.md", 1, "CG101", "timestamp-literal", Severity.ERROR, "e")
            for i in range(errors)]
    made += [Finding(f"a/w{i:02}.md", 1, "CG107", "whitespace-hazard", Severity.WARNING, "w")
             for i in range(warnings)]
    made += [Finding(f"m/n{i:02}.md", 1, "CG303", "semantic-threshold-conservative",
                     Severity.INFO, "n") for i in range(notices)]
    return made


@pytest.mark.parametrize(("counts", "shown", "not_shown"), [
    ((25, 15, 12), (10, 10, 9), "15 errors, 5 warnings, 3 notes not shown"),
    ((3, 11, 10), (3, 10, 9), "1 warning, 1 note not shown"),
    ((10, 10, 10), (10, 10, 10), None),
])
def test_errors_first_each_kind_cut_to_what_github_shows(
        counts: tuple[int, int, int], shown: tuple[int, int, int], not_shown: str | None
) -> None:
    """GitHub shows 10 error, 10 warning and 10 notice annotations a step (actions/
    toolkit docs/problem-matchers.md) and drops the rest without a word."""
    run_by_runner = commands(printed(Result("lint", findings_of(*counts))))
    errors, warnings, notices = shown
    kinds = [c.name for c in run_by_runner]
    notices += not_shown is not None
    assert kinds == ["error"] * errors + ["warning"] * warnings + ["notice"] * notices
    if not_shown:
        assert run_by_runner[-1].properties == {"title": "cache-gate"}
        assert run_by_runner[-1].data.startswith(not_shown + " as annotations")
    else:
        assert all(c.properties["title"] != "cache-gate" for c in run_by_runner)


# --- No command from input data --------------------------------------------------------

HOSTILE_FILES = [
    "prompts/x\n::stop-commands::zz\n.md",      # silences every later annotation
    "::warning title=INJECTED::pwned.md",       # a line of its own that starts a command
    "prompts/##[error]INJECTED.md",             # the old syntax, anywhere in a line
    "prompts/\u202eevil\u2028::error::INJECTED.md",  # a bidi override, U+2028
    "prompts/plain.md",
]
HOSTILE_WORKFLOWS = ["evil\n::error file=x::INJECTED", "a ##[error]INJECTED",
                     "::warning::INJECTED", "\r::set-env name=X::INJECTED"]


@pytest.fixture(scope="module")
def hostile_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hostile")
    prompts = [{"id": f"p{i}", "blocks": [{"role": "system", "file": name,
                                           "cache_control": "5m"}]}
               for i, name in enumerate(HOSTILE_FILES)]
    write_repo(root, dict.fromkeys(HOSTILE_FILES, "Example: 2024-03-15\n" + CLEAN_PROSE),
               prompts)
    return root


@pytest.fixture(scope="module")
def hostile_ledger(tmp_path_factory: pytest.TempPathFactory) -> Path:
    lines = [backlog(workflow=name, prompt_id=name, cache_hit=False, cached_input_tokens=0,
                     timestamp=f"2026-11-2{day}T10:00:00Z")
             for name in HOSTILE_WORKFLOWS for day in range(10) for _ in range(2)]
    return write_ledger(tmp_path_factory.mktemp("ledger") / "ledger.jsonl", *lines)


@pytest.mark.parametrize("report_format", FORMATS)
def test_hostile_file_names_start_no_command(hostile_repo: Path, report_format: str,
                                             tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    with cwd(hostile_repo):
        _, report, _ = run("lint", "--no-render", "--format", "json")
        code, out, err = run("lint", "--no-render", "--format", report_format,
                             env={"GITHUB_STEP_SUMMARY": str(summary)})
        meant = expected(json.loads(report)["findings"])
    assert code == 0, err
    assert len(meant) == len(HOSTILE_FILES)  # one CG101 warning a file
    assert executed(out) == (meant if report_format == "github" else [])
    if report_format == "github":
        assert commands(summary.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize("command", ["kpi", "report", "check"])
@pytest.mark.parametrize("report_format", FORMATS)
def test_hostile_workflow_names_start_no_command(hostile_ledger: Path, command: str,
                                                 report_format: str, tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    options = ["--ledger", str(hostile_ledger), "--now", "2026-11-30", "--min-requests", "1"]
    with cwd(tmp_path):
        _, report, _ = run(command, *options, "--format", "json")
        _, out, err = run(command, *options, "--format", report_format,
                          env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert err == ""
    meant = expected(json.loads(report)["findings"])
    assert executed(out) == (meant if report_format == "github" else [])
    if report_format == "github":
        assert commands(summary.read_text(encoding="utf-8")) == []


def test_report_files_and_the_verdict_start_no_command(hostile_repo: Path,
                                                       tmp_path: Path) -> None:
    """A later step may `cat` a report file: the files are guarded as stdout is."""
    files = {name: tmp_path / f"report.{name}" for name in FORMATS}
    with cwd(hostile_repo):
        _, out, err = run("lint", "--no-render", "--output", str(tmp_path / "out.txt"),
                          *[f"--report={name}={path}" for name, path in files.items()])
    assert err == "" and commands(out) == []
    for name, path in files.items():
        assert len(commands(path.read_text(encoding="utf-8"))) == (
            len(HOSTILE_FILES) if name == "github" else 0), name


def test_a_stop_token_in_a_file_name_no_longer_silences_the_annotations(
        hostile_repo: Path) -> None:
    with cwd(hostile_repo):
        _, out, _ = run("lint", "--no-render", "--format", "github")
    assert "stop-commands" not in [c.name for c in commands(out)]
    assert "prompts/x\\n::stop-commands::zz\\n.md:1: CG101" in out  # visible, one line


# --- The guards themselves -------------------------------------------------------------


@pytest.mark.parametrize(("field", "shown"), [
    ("prompts/system, v2.md", "prompts/system, v2.md"),
    ("é 日本 ✔ → …", "é 日本 ✔ → …"),
    ("a\x1b[2Jb", "a\\x1b[2Jb"),
    ("one\ntwo\rthree\tfour", "one\\ntwo\\rthree\\tfour"),
    ("nul\x00 del\x7f csi\x9b nel\x85", "nul\\x00 del\\x7f csi\\x9b nel\\x85"),
    ("line\u2028para\u2029", "line\\u2028para\\u2029"),
    ("abc\u202edcb\u2066x\u2069", "abc\\u202edcb\\u2066x\\u2069"),
    ("zero\u200bwidth\ufeff soft\u00ad", "zero\\u200bwidth\\ufeff soft\\xad"),
    ("undecodable \udcff", "undecodable \\udcff"),
    ("tag \U000e0041", "tag \\U000e0041"),
])
def test_terminal_shows_what_would_steer_a_terminal_as_escapes(field: str,
                                                               shown: str) -> None:
    assert terminal(field) == shown


@pytest.mark.parametrize(("line", "report_format", "guarded"), [
    ("::error::x", "text", "\\x3a:error::x"),
    (" \t::warning::x", "markdown", " \t\\x3a:warning::x"),
    (":\u200b:warning::x", "text", "\\x3a\u200b:warning::x"),
    ("\u00a0\u00ad::debug::x", "text", "\u00a0\u00ad\\x3a:debug::x"),
    ("path ##[error]x", "text", "path ##\\x5berror]x"),
    ("#\u200b#[error]x", "text", "#\u200b#\\x5berror]x"),
    ("###[error]x", "text", "###\\x5berror]x"),
    ('  "path": "##[error]x",', "json", '  "path": "##\\u005berror]x",'),
    ("::error::x", "junit", "&#58;:error::x"),
])
def test_guard_breaks_every_line_the_runner_would_execute(line: str, report_format: str,
                                                          guarded: str) -> None:
    assert len(commands(line)) == 1
    assert guard_lines(line, report_format) == guarded
    assert commands(guard_lines(line, report_format)) == []


@pytest.mark.parametrize("line", ["a: b :: c", "# heading [link]", "C:\\x::y", "##"])
def test_guard_leaves_other_lines_alone(line: str) -> None:
    assert guard_lines(line, "markdown") == line


def test_guard_lets_our_own_commands_through_and_splits_lines_as_the_runner_does() -> None:
    text = "\r".join(["x", own_command("::error::ours"), "::error::theirs"]) + "\r\n"
    assert guard_lines(text) == "x\r::error::ours\r\\x3a:error::theirs\r\n"
    assert [c.data for c in commands(guard_lines(text))] == ["ours"]
    with pytest.raises(ValueError, match="one line"):
        own_command("::error::a\n::error::b")


# Pieces of commands, of line breaks and of what hides between them.
ADVERSARIAL = st.lists(st.sampled_from([
    "::", "##[", ":", "#", "[", "]", "error", "stop-commands", "warning title=a,file=b",
    "::add-mask::", " ", "\t", "\u00a0", "\n", "\r", "\r\n", "\x00", "\x85", "\u00ad",
    "\u200b", "\u2028", "\u202e", "\ufe0f", "x"]), max_size=12).map("".join)


def test_the_adversarial_texts_do_make_commands() -> None:
    assert commands("\u200b ::error::x\r##[warning title=a,file=b]x")  # as printed


@given(ADVERSARIAL)
def test_no_data_survives_the_guard_as_a_command(text: str) -> None:
    for report_format in ("text", "markdown", "junit"):
        assert commands(guard_lines(text, report_format)) == []


@given(st.lists(ADVERSARIAL, max_size=4))
def test_the_guard_leaves_json_and_xml_meaning_the_same(values: list[str]) -> None:
    document = json.dumps({"findings": values}, indent=2, ensure_ascii=False)
    assert commands(guard_lines(document, "json")) == []
    assert json.loads(guard_lines(document, "json")) == {"findings": values}
    # XML 1.0 has no NUL, and parsers read a CR as a line feed.
    printable = ["".join(c for c in value if c not in "\x00\r") for value in values]
    element = ET.Element("testsuite", name=" ".join(printable))
    for value in printable:
        ET.SubElement(element, "testcase").text = value
    xml = ET.tostring(element, encoding="unicode")
    assert commands(guard_lines(xml, "junit")) == []
    parsed = ET.fromstring(guard_lines(xml, "junit"))
    assert [case.text or "" for case in parsed] == printable


# --- Paths GitHub resolves -------------------------------------------------------------


@pytest.fixture
def monorepo(tmp_path: Path) -> Path:
    """A checkout whose prompts live in a package: the gate runs in `pkg/`."""
    write_repo(tmp_path / "pkg", {"prompts/system.md": "Example: 2024-03-15\n" + CLEAN_PROSE},
               [{"id": "p", "blocks": [{"role": "system", "file": "prompts/system.md",
                                        "cache_control": "5m"}]}])
    return tmp_path


def test_annotation_paths_are_relative_to_the_workspace(monorepo: Path) -> None:
    """The runner passes a relative `file=` on unchanged (IssueCommandExtension
    makes only paths under the workspace relative); GitHub reads it from the
    repository's root."""
    with cwd(monorepo / "pkg"):
        _, out, _ = run("lint", "--no-render", "--format", "github",
                        env={"GITHUB_WORKSPACE": str(monorepo)})
    [(_, _, file)] = executed(out)
    assert file == "pkg/prompts/system.md" and (monorepo / file).is_file()


@pytest.mark.parametrize(("report_format", "variable"), [
    ("gitlab", "CI_PROJECT_DIR"), ("sarif", "GITHUB_WORKSPACE")])
def test_gitlab_and_sarif_paths_are_relative_to_the_checkout(monorepo: Path,
                                                             report_format: str,
                                                             variable: str) -> None:
    with cwd(monorepo / "pkg"):
        _, out, _ = run("lint", "--no-render", "--format", report_format,
                        env={variable: str(monorepo)})
    document = json.loads(out)
    if report_format == "gitlab":
        paths = [issue["location"]["path"] for issue in document]
    else:
        paths = [unquote(result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"])
                 for result in document["runs"][0]["results"]]
    assert paths == ["pkg/prompts/system.md"] and (monorepo / paths[0]).is_file()


def test_paths_outside_the_checkout_stay_as_they_were(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    monkeypatch.setenv("GITHUB_WORKSPACE", str(tmp_path / "checkout"))
    assert repository_path("prompts/a.md") == "prompts/a.md"
    assert repository_path(str(tmp_path / "work" / "b.md")) == "b.md"
    assert repository_path("/elsewhere/c.md") == "/elsewhere/c.md"
    assert repository_path("../d.md") == "../d.md"


# --- The job summary -------------------------------------------------------------------


def test_step_summary_is_appended(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    write_step_summary(sample(), RenderContext(exit_code=1))
    text = summary.read_text()
    assert text.startswith("earlier step\n### cache-gate kpi: ❌ failed")
    assert "```mermaid" in text


def test_an_unwritable_step_summary_is_one_line_and_exit_2(hostile_ledger: Path,
                                                          tmp_path: Path) -> None:
    code, _, err = run("kpi", "--ledger", str(hostile_ledger), "--format", "github",
                       env={"GITHUB_STEP_SUMMARY": str(tmp_path)})
    assert code == 2
    assert err.startswith("cache-gate: error: cannot append the job summary")
    assert err.count("\n") == 1
