"""`--format sarif` as GitHub code scanning reads it, checked by its real consumers: the
OASIS SARIF 2.1.0 schema, the schema GitHub's upload (github/codeql-action) validates
against, and the Microsoft SARIF multitool's SARIF and GitHub rules (`--rule-kind
"Sarif;Gh"`), on the reporter fixture and on real `kpi`, `lint` and `doctor` runs.

What GitHub requires, from its "SARIF support for code scanning" page and from
upload-sarif's source (src/upload-lib.ts, src/fingerprints.ts):
- every result has a location, or the whole upload is rejected ("expected at least
  one location"); `physicalLocation.region.startLine` is required;
- at most 25,000 results per run, or the upload is rejected;
- a URI upload-sarif cannot `decodeURIComponent` (a bare `%`) gets no fingerprint;
- alerts are matched across runs on `partialFingerprints.primaryLocationLineHash`,
  which upload-sarif computes from the file's text at the start line when it is absent.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import socket
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import jsonschema
import pytest
from click.testing import CliRunner

from cache_gate import rules
from cache_gate.analyses.kpis import Tally
from cache_gate.cli import cli
from cache_gate.config import DEFAULT_TARGETS, load_settings
from cache_gate.findings import Finding, Result, Severity
from cache_gate.gates.kpi import LedgerOptions, kpi_result, settings_anchor
from cache_gate.ledger.jsonl.reader import scan
from cache_gate.ledger.reading import Selection
from cache_gate.reporters import RenderContext, sarif
from tests import consumers
from tests.doctor.helpers import CLEAN_ENV
from tests.lint.repo import CLEAN_PROSE, write_repo
from tests.reporters.test_reporters import sample

DEMO = Path(__file__).parents[2] / "fixtures" / "demo"
OASIS_SCHEMA = "sarif-schema-2.1.0.json"
GITHUB_SCHEMA = "github-code-scanning-sarif-schema-2.1.0.json"
# The one multitool finding cache-gate cannot fix yet: `tool.driver.informationUri`
# needs the project's home page, and pyproject.toml names none ([project.urls]).
NOT_YET = {"SARIF2005"}
# File names that are legal on disk and illegal, or something else, in a URI.
HOSTILE_NAMES = ("odd, name: v2%.md", "space name.md", "ümlaut-é.md", "a#b.md", "q?x.md",
                 "colon:first.md", "100%.md")
# What an RFC 3986 path may hold once percent-encoded: unreserved characters, `/`,
# and `%` only as the start of an escape (decodeURIComponent throws on any other).
ENCODED_PATH = re.compile(r"(?:[A-Za-z0-9._~/-]|%[0-9A-F]{2})+")


def sarif_of(result: Result) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(
        sarif.render(result, RenderContext(exit_code=1)))
    return document


def run_of(document: dict[str, Any]) -> dict[str, Any]:
    run: dict[str, Any] = document["runs"][0]
    return run


def schema_problems(name: str, document: dict[str, Any]) -> list[str]:
    """Violations of a published schema, through tests/consumers.py.

    GitHub's schema is itself invalid under the 2020-12 meta-schema it declares: its
    `region` puts an `anyOf` inside `properties`, where a schema is expected. The
    helper checks a schema before using it, so for that one known defect this
    validates the way upload-sarif does (its validator never checks the schema),
    still requiring the schema to reject `{}`."""
    try:
        return consumers.schema_errors(name, document)
    except jsonschema.SchemaError as defect:
        assert name == GITHUB_SCHEMA, defect
        assert list(defect.path) == ["definitions", "region", "properties", "anyOf"], defect
    schema = json.loads(consumers.shared_path(f"schemas/{name}").read_text())
    validator = jsonschema.validators.validator_for(schema)(schema)
    assert not validator.is_valid({}), f"{name} accepts {{}}: it would validate nothing"
    return [f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
            for error in validator.iter_errors(document)]


def multitool_problems(document: dict[str, Any], directory: Path) -> list[str]:
    """The errors and warnings `sarif-multitool validate --rule-kind "Sarif;Gh"` finds.

    Its exit code is 0 whatever it finds, so its own SARIF log is read instead. Its
    npm launcher joins the arguments into a shell command line (spawnSync with
    `shell: true`), so each one is quoted for the shell: unquoted, `Sarif;Gh` would
    end the command at the `;`."""
    tool = consumers.node_tool("sarif-multitool")
    checked, log = directory / "checked.sarif", directory / "multitool.sarif"
    checked.write_text(json.dumps(document), encoding="utf-8")
    arguments = ["validate", "--rule-kind", "Sarif;Gh", "--output", str(log), str(checked)]
    completed = subprocess.run([str(tool), *map(shlex.quote, arguments)], capture_output=True,
                               text=True, timeout=300, check=False)
    assert log.is_file(), completed.stdout + completed.stderr
    run = run_of(json.loads(log.read_text(encoding="utf-8-sig")))
    invocation = run["invocations"][0]
    assert invocation["executionSuccessful"], completed.stdout
    assert not invocation.get("toolExecutionNotifications"), completed.stdout
    assert not invocation.get("toolConfigurationNotifications"), completed.stdout
    defaults = {rule["id"]: rule.get("defaultConfiguration", {}).get("level", "warning")
                for rule in run["tool"]["driver"]["rules"]}
    problems = []
    for result in run["results"]:
        level = result.get("level", defaults[result["ruleId"]])
        if level in ("error", "warning") and result["ruleId"] not in NOT_YET:
            message = result["message"].get("text") or result["message"].get("arguments")
            problems.append(f"{level} {result['ruleId']}: {message}")
    return problems


def assert_every_consumer_accepts(document: dict[str, Any], directory: Path) -> None:
    assert schema_problems(OASIS_SCHEMA, document) == []
    assert schema_problems(GITHUB_SCHEMA, document) == []
    assert multitool_problems(document, directory) == []


def locations(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The physical location of every result (GitHub reads the first only)."""
    found = []
    for result in run_of(document)["results"]:
        assert result.get("locations"), f"{result['ruleId']} has no location"
        found.append(result["locations"][0]["physicalLocation"])
    return found


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


# The harness itself.

def test_the_multitool_harness_sees_what_github_rejects(tmp_path: Path) -> None:
    """A result without a location, as cache-gate wrote one before: the multitool
    must say so, or a clean verdict below would mean nothing."""
    document = sarif_of(sample())
    run_of(document)["results"][0].pop("locations", None)
    assert any(problem.startswith("error GH1015") for problem in
               multitool_problems(document, tmp_path))


# The reporter fixture and hostile paths.

def test_the_reporter_fixture_passes_every_consumer(tmp_path: Path) -> None:
    assert_every_consumer_accepts(sarif_of(sample()), tmp_path)


def test_a_finding_with_no_file_is_at_the_repository_level_placeholder() -> None:
    """The last resort: the gates place their findings at repository files, and one
    that still has none is placed where OSSF Scorecard places repository-level alerts."""
    unplaced = [location for location in locations(sarif_of(sample()))
                if unquote(location["artifactLocation"]["uri"]) == sarif.NO_FILE]
    assert unplaced == [{"artifactLocation": {"uri": "no%20file%20associated%20with%20this"
                                                     "%20alert", "uriBaseId": "%SRCROOT%"},
                         "region": {"startLine": 1}}]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_a_hostile_file_name_is_a_percent_encoded_uri(name: str) -> None:
    finding = Finding(f"prompts/{name}", 3, "CG103", "dynamic-placeholder", Severity.ERROR,
                      "a placeholder")
    uri = sarif.artifact_location(finding.path)["uri"]
    assert uri.startswith("prompts/")  # `/` still separates the segments
    assert ENCODED_PATH.fullmatch(uri), uri
    assert unquote(uri, errors="strict") == f"prompts/{name}"  # as upload-sarif decodes it


def test_hostile_file_names_pass_every_consumer(tmp_path: Path) -> None:
    findings = [Finding(f"prompts/{name}", 1, "CG103", "dynamic-placeholder",
                        Severity.ERROR, "a placeholder") for name in HOSTILE_NAMES]
    assert_every_consumer_accepts(sarif_of(Result("lint", findings)), tmp_path)


def test_a_file_outside_the_repository_is_an_absolute_file_uri() -> None:
    # A relative reference under %SRCROOT% must not start with `/` (SARIF1004).
    assert sarif.artifact_location("/var/log/usage ledger.jsonl") == {
        "uri": "file:///var/log/usage%20ledger.jsonl"}


def test_the_source_root_is_defined_without_printing_where_the_checkout_is() -> None:
    run = run_of(sarif_of(sample()))
    bases = {location["artifactLocation"]["uriBaseId"] for location in locations(
        {"runs": [run]})}
    assert bases == {"%SRCROOT%"}
    assert set(run["originalUriBaseIds"]) == bases
    # An absolute `uri` would print the runner's directory; GitHub maps relative
    # URIs onto the checkout without it.
    assert "uri" not in run["originalUriBaseIds"]["%SRCROOT%"]


# Real runs.

def test_a_failing_kpi_run_on_the_demo_is_located_at_the_ledger(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A KPI is a measurement of the ledger: it is placed at the ledger file, as a
    finding about the whole file (line 1), like the ledger's bad lines (their own
    lines). The settings file would point at the target, inviting the wrong fix."""
    monkeypatch.chdir(DEMO)
    run = CliRunner().invoke(cli, ["kpi", "--format", "sarif",
                                   "--target", "prompt_cache_hit_rate=0.95"])
    assert run.exit_code == 1, run.stderr
    document = json.loads(run.stdout)
    assert {location["artifactLocation"]["uri"] for location in locations(document)} == {
        ".backlog-ops/usage-ledger.jsonl"}
    kpi = next(r for r in run_of(document)["results"] if r["ruleId"] == "CG201")
    assert kpi["locations"][0]["physicalLocation"]["region"] == {"startLine": 1}
    assert_every_consumer_accepts(document, tmp_path)


def test_a_failing_lint_run_with_hostile_file_names(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Every URI decodes, as upload-sarif decodes it before fingerprinting, to the
    file that has the problem."""
    root = tmp_path / "repo"
    files: dict[str, str | bytes] = {f"prompts/{name}": "Hello {user_name}.\n" + CLEAN_PROSE
                                     for name in HOSTILE_NAMES}
    write_repo(root, files, [{"id": "main", "blocks": [
        {"role": "system", "glob": "prompts/*.md", "order": "lexical", "cache_control": "5m"}]}])
    monkeypatch.chdir(root)
    run = CliRunner().invoke(cli, ["lint", "--no-render", "--format", "sarif"])
    assert run.exit_code == 1, run.stderr
    document = json.loads(run.stdout)
    decoded = {unquote(location["artifactLocation"]["uri"], errors="strict")
               for location in locations(document)}
    assert decoded == set(files)
    assert all((root / path).is_file() for path in decoded)
    assert_every_consumer_accepts(document, tmp_path)


def _doctor(directory: Path, *args: str) -> dict[str, Any]:
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(directory)
        run = CliRunner().invoke(cli, ["doctor", "--format", "sarif", "--redis-url",
                                       f"redis://127.0.0.1:{closed_port()}/0", *args],
                                 env=CLEAN_ENV)
    assert run.exit_code == 1, run.stderr
    document: dict[str, Any] = json.loads(run.stdout)
    return document


@pytest.mark.parametrize(("files", "args", "place", "why"), [
    ({"config/litellm.yaml": DEMO / "config" / "litellm.yaml"},
     ("--litellm-config", "config/litellm.yaml"), "config/litellm.yaml", "the LiteLLM config"),
    ({".cache-gate.toml": "min-requests = 30\n"}, (), ".cache-gate.toml", "the settings file"),
    ({".backlog-ops/prompt-manifest.json": DEMO / ".backlog-ops" / "prompt-manifest.json"},
     (), ".backlog-ops/prompt-manifest.json", "the prompt manifest"),
], ids=["litellm-config", "settings", "manifest"])
def test_a_backend_named_on_the_command_line_is_shown_at_a_repository_file(
        tmp_path: Path, files: dict[str, Path | str], args: tuple[str, ...], place: str,
        why: str) -> None:
    """--redis-url is no file: the finding goes to the LiteLLM config of the proxy the
    cache serves, else the settings file, else the prompt manifest, and says so."""
    repo = tmp_path / "repo"
    for name, content in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Path):
            shutil.copyfile(content, repo / name)
        else:
            (repo / name).write_text(content)
    document = _doctor(repo, *args)
    [result] = run_of(document)["results"]
    assert result["ruleId"] == "CG401"
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == place
    assert f"(named outside the repository; shown at {place}, {why})" in (
        result["message"]["text"])
    assert_every_consumer_accepts(document, tmp_path)


def test_a_backend_with_nothing_in_the_repository_is_at_the_placeholder(
        tmp_path: Path) -> None:
    document = _doctor(tmp_path)
    [location] = locations(document)
    assert unquote(location["artifactLocation"]["uri"]) == sarif.NO_FILE
    assert_every_consumer_accepts(document, tmp_path)


def test_kpi_findings_on_a_database_ledger_are_shown_at_the_settings_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A PostgreSQL ledger has a URL, which GitHub rejects as a location (another
    scheme than the checkout's): its findings go to the settings file. The demo's
    ledger is read as a database's rows are: the same sums, stats carrying a source."""
    monkeypatch.chdir(DEMO)
    tally, stats = scan(".backlog-ops/usage-ledger.jsonl", Selection(), Tally)
    assert isinstance(tally, Tally)
    stats.path = "postgresql://cachegate:***@db.internal:5432/litellm"
    stats.source = {"kind": "postgresql"}
    targets = {**DEFAULT_TARGETS, "prompt_cache_hit_rate": 0.95}
    options = LedgerOptions(stats.path, targets=targets, min_requests=0,
                            anchor=settings_anchor(load_settings()))
    document = sarif_of(kpi_result("kpi", tally, stats, options, options.miss_causes()))
    assert {location["artifactLocation"]["uri"] for location in locations(document)} == {
        ".cache-gate.toml"}
    for result in run_of(document)["results"]:
        assert ("(ledger postgresql://cachegate:***@db.internal:5432/litellm, a database; "
                "shown at .cache-gate.toml, the settings file)") in result["message"]["text"]
    assert_every_consumer_accepts(document, tmp_path)


# GitHub's limits and fingerprints.

def _findings(severity: Severity, count: int) -> list[Finding]:
    return [Finding(f"prompts/p{number}.md", 1, "CG107", "whitespace-hazard", severity,
                    f"hazard {number}") for number in range(count)]


def test_a_run_holds_at_most_25000_results_the_errors_first() -> None:
    findings = (_findings(Severity.WARNING, 25_000) + _findings(Severity.INFO, 5)
                + _findings(Severity.ERROR, 10))
    run = run_of(sarif.document(Result("lint", findings)))
    assert len(run["results"]) == 25_000
    assert Counter(result["level"] for result in run["results"]) == {
        "error": 10, "warning": 24_990}
    assert run["invocations"] == [{"executionSuccessful": True, "toolExecutionNotifications": [
        {"level": "warning", "message": {"text": (
            "15 findings left out (10 warnings, 5 notes): GitHub code scanning takes at "
            "most 25,000 results per run, so the most severe are here; --format json "
            "lists them all")}}]}]


def test_a_cut_run_passes_every_consumer(tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sarif, "MAX_RESULTS", 2)
    document = sarif_of(Result("lint", _findings(Severity.WARNING, 3)))
    assert len(run_of(document)["results"]) == 2
    assert_every_consumer_accepts(document, tmp_path)


def test_a_check_that_could_not_decide_says_so(tmp_path: Path) -> None:
    result = Result("check", sample().findings, undecided=["kpi: ledger x.jsonl: no evidence"])
    document = sarif_of(result)
    assert run_of(document)["invocations"] == [{
        "executionSuccessful": False, "toolExecutionNotifications": [{
            "level": "error",
            "message": {"text": "could not decide: kpi: ledger x.jsonl: no evidence"}}]}]
    assert_every_consumer_accepts(document, tmp_path)


def test_whole_file_findings_carry_their_own_line_hash() -> None:
    """upload-sarif hashes the text at the start line; every finding about a whole
    file starts at line 1, so they would share one hash and be merged into one alert.
    A finding with a line of its own is left to GitHub's hash, which follows the line."""
    ledger = ".backlog-ops/usage-ledger.jsonl"
    findings = [
        Finding(ledger, None, "CG201", "prompt-cache-hit-rate", Severity.ERROR,
                "prompt cache hit rate 40% is below the 60% target",
                key="prompt_cache_hit_rate"),
        Finding(ledger, None, "CG201", "prompt-cache-hit-rate", Severity.ERROR,
                "prompt cache hit rate of workflow implementer 30% is below the 50% target",
                key="prompt_cache_hit_rate of workflow implementer"),
        Finding(ledger, 7, "CG206", "ledger-bad-lines", Severity.WARNING, "malformed line"),
    ]
    results = run_of(sarif_of(Result("kpi", findings)))["results"]
    whole_file = [r["partialFingerprints"] for r in results if r["ruleId"] == "CG201"]
    hashes = [fingerprints["primaryLocationLineHash"] for fingerprints in whole_file]
    assert len(set(hashes)) == 2
    assert all(re.fullmatch(r"[0-9a-f]{16}:1", value) for value in hashes)
    assert all(f["primaryLocationLineHash"].startswith(f["cacheGate/v1"][:16])
               for f in whole_file)
    lined = next(r for r in results if r["ruleId"] == "CG206")
    assert set(lined["partialFingerprints"]) == {"cacheGate/v1"}


def test_every_rule_is_described_within_githubs_limits(tmp_path: Path) -> None:
    findings = [Finding("prompts/p.md", 1, info.id, info.name, info.severity, "a finding")
                for info in rules.RULES.values()]
    document = sarif_of(Result("check", findings))
    for descriptor in run_of(document)["tool"]["driver"]["rules"]:
        assert len(descriptor["name"]) <= 255
        assert len(descriptor["shortDescription"]["text"]) <= 1024
        assert len(descriptor["fullDescription"]["text"]) <= 1024
        assert len(descriptor["properties"]["tags"]) <= 20
    assert_every_consumer_accepts(document, tmp_path)
