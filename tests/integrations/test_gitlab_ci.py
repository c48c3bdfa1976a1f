"""The GitLab CI template, run for real by gitlab-ci-local (the shell executor, bash as
GitLab's runner uses it) in a git repository that includes it as a user would: the
bundled demo passes; a failing gate fails the job and still exports both reports,
which their consumers accept (Jenkins' JUnit schema, GitLab's Code Quality schema);
arguments reach cache-gate one a line, unsplit and unglobbed; by default the job
installs `cache-gate==<this version>` from the package index; and set to nothing, the
package variable stops the job at once, saying what to set.

The job installs cache-gate from a wheel of this checkout, built once per session, into
a virtual environment made from `python3` on PATH, offline (its dependencies' wheels
beside it). For the default, that wheelhouse stands in for PyPI.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from cache_gate import __version__
from tests import consumers
from tests.ledgers import backlog
from tests.reporters.test_gitlab import valid_issues
from tests.reporters.test_junit import parsed

ROOT = Path(__file__).parents[2]
TEMPLATE = ROOT / "ci" / "cache-gate.gitlab-ci.yml"
DEMO = ROOT / "fixtures" / "demo"
REPORTS = ("gl-code-quality-report.json", "cache-gate-junit.xml", "cache-gate-report.html")


@dataclass(frozen=True)
class Installer:
    """What a job needs to install cache-gate offline."""

    wheel: Path
    wheelhouse: Path
    venv: Path


@pytest.fixture(scope="module")
def installer(tmp_path_factory: pytest.TempPathFactory) -> Installer:
    if shutil.which("python3") is None:
        consumers.unavailable("python3 is not on PATH")
    wheelhouse = tmp_path_factory.mktemp("wheelhouse")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", str(ROOT),
                    "--wheel-dir", str(wheelhouse)], check=True, capture_output=True)
    [wheel] = wheelhouse.glob("cache_gate-*.whl")
    return Installer(wheel, wheelhouse, tmp_path_factory.mktemp("job") / "venv")


@dataclass(frozen=True)
class Pipeline:
    passed: bool
    log: str
    artifacts: Path


def repository(root: Path, job: dict[str, Any]) -> Path:
    """A git repository holding the demo and a .gitlab-ci.yml that includes the
    template (a local include of a copy, as `project:` or `remote:` would bring it)
    and extends it as `job` says."""
    shutil.copytree(DEMO, root)
    (root / "ci").mkdir()
    shutil.copy(TEMPLATE, root / "ci" / TEMPLATE.name)
    pipeline = {"include": [{"local": f"ci/{TEMPLATE.name}"}],
                "cache-gate": {"extends": ".cache-gate", **job}}
    (root / ".gitlab-ci.yml").write_text(yaml.safe_dump(pipeline, sort_keys=False))
    for command in (["init", "-q", "-b", "main"], ["add", "-A"],
                    ["-c", "user.name=t", "-c", "user.email=t@example.com",
                     "commit", "-q", "-m", "demo"],
                    ["remote", "add", "origin", "https://gitlab.example.com/team/demo.git"]):
        subprocess.run(["git", *command], cwd=root, check=True, capture_output=True)
    return root


def from_the_index(installer: Installer, venv: Path, **variables: str) -> dict[str, Any]:
    """A job that leaves the package to the template, with the wheelhouse as its only
    package index, in the virtual environment `venv`."""
    return {
        # A shell executor has no image: python3 from PATH, in a virtual environment.
        "before_script": ['test -d "$JOB_VENV" || python3 -m venv "$JOB_VENV"',
                          '. "$JOB_VENV/bin/activate"'],
        "variables": {"JOB_VENV": str(venv), "PIP_NO_INDEX": "1",
                      "PIP_FIND_LINKS": str(installer.wheelhouse), **variables},
    }


def installing(installer: Installer, **variables: str) -> dict[str, Any]:
    """A job that installs this checkout's wheel, as a user's job names a package."""
    return from_the_index(installer, installer.venv,
                          CACHE_GATE_PACKAGE=str(installer.wheel), **variables)


def run_pipeline(root: Path) -> Pipeline:
    tool = consumers.node_tool("gitlab-ci-local")
    if shutil.which("rsync") is None:  # gitlab-ci-local copies the repository with it
        consumers.unavailable("rsync is not installed (gitlab-ci-local needs it)")
    home = root.parent / "gitlab-ci-local-home"
    home.mkdir(exist_ok=True)
    environment = {key: value for key, value in os.environ.items()
                   if not key.startswith(("CI", "GITLAB", "GITHUB"))}
    finished = subprocess.run(
        [str(tool), "--force-shell-executor", "--no-color", "--home", str(home)],
        cwd=root, capture_output=True, text=True, timeout=240,
        env={**environment, "HOME": str(home)})
    return Pipeline(finished.returncode == 0, finished.stdout + finished.stderr,
                    root / ".gitlab-ci-local" / "artifacts" / "cache-gate")


def exported(pipeline: Pipeline) -> tuple[list[dict[str, Any]], Any]:
    """The exported reports: the two GitLab reads, each checked by its consumer's
    schema, and the HTML report (tests/reporters/test_html_browser.py opens one)."""
    assert sorted(p.name for p in pipeline.artifacts.iterdir()) == sorted(REPORTS), pipeline.log
    issues = valid_issues((pipeline.artifacts / REPORTS[0]).read_text(encoding="utf-8"))
    junit = parsed((pipeline.artifacts / REPORTS[1]).read_text(encoding="utf-8"))
    page = (pipeline.artifacts / REPORTS[2]).read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "<title>cache-gate " in page
    assert "/artifacts/file/cache-gate-report.html" in pipeline.log
    return issues, junit


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return tmp_path / "repo"


def test_the_demo_passes_and_exports_both_reports(workdir: Path, installer: Installer) -> None:
    pipeline = run_pipeline(repository(workdir, installing(installer)))
    assert pipeline.passed, pipeline.log
    assert f"cache-gate, version {__version__}" in pipeline.log
    issues, junit = exported(pipeline)
    # Paths as GitLab resolves them: relative to the repository, files that exist.
    assert {issue["location"]["path"] for issue in issues} == {
        ".backlog-ops/usage-ledger.jsonl", "prompts/reviewer-system.md"}
    assert junit.find(".//failure") is None


def test_a_failing_gate_fails_the_job_and_still_exports_both_reports(
        workdir: Path, installer: Installer) -> None:
    """The failing copy: a workflow whose name a shell would split and glob, with no
    cache hit. Only an argument that reaches cache-gate whole selects it; split or
    globbed, cache-gate would stop on an unexpected argument, writing no report."""
    job = installing(installer, CACHE_GATE_COMMAND="kpi",
                     CACHE_GATE_ARGS="--workflow\n  nightly *batch\n\n--min-requests\n1\r\n")
    root = repository(workdir, job)
    with (root / ".backlog-ops" / "usage-ledger.jsonl").open("a") as ledger:
        for index in range(3):  # 10 minutes apart: misses, none of them avoidable
            ledger.write(json.dumps(backlog(workflow="  nightly *batch", cache_hit=False,
                                            cached_input_tokens=0,
                                            timestamp=f"2026-11-20T10:{index}0:00Z")) + "\n")
    (root / "  nightly xbatch").write_text("what an unquoted glob would match\n")
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "commit",
                    "-q", "-m", "failing"], cwd=root, check=True)

    pipeline = run_pipeline(root)
    assert not pipeline.passed, pipeline.log
    assert "cache-gate kpi: FAILED" in pipeline.log
    issues, junit = exported(pipeline)
    assert [issue["check_name"] for issue in issues if issue["severity"] == "major"] == [
        "CG201 prompt-cache-hit-rate", "CG204 cached-token-ratio"]
    [failure] = junit.iterfind(".//testcase[@name='prompt_cache_hit_rate']/failure")
    assert (failure.text or "").endswith(": 0 / 3")


def test_by_default_the_job_installs_this_release_from_the_package_index(
        workdir: Path, installer: Installer, tmp_path: Path) -> None:
    """No CACHE_GATE_PACKAGE: the template's default, `cache-gate==` its version, is
    resolved on the index (here the wheelhouse, standing in for PyPI) in a virtual
    environment of its own, so nothing installed before can answer for it."""
    pipeline = run_pipeline(repository(workdir, from_the_index(installer, tmp_path / "venv")))
    assert pipeline.passed, pipeline.log
    assert f"cache-gate, version {__version__}" in pipeline.log
    assert "cache-gate: warning" not in pipeline.log, pipeline.log


def test_the_default_package_is_this_release_on_pypi() -> None:
    variables = yaml.safe_load(TEMPLATE.read_text())[".cache-gate"]["variables"]
    assert variables["CACHE_GATE_VERSION"] == __version__
    assert variables["CACHE_GATE_PACKAGE"] == "cache-gate==$CACHE_GATE_VERSION"


def test_an_empty_package_stops_the_job_at_once_saying_what_to_set(workdir: Path) -> None:
    pipeline = run_pipeline(repository(workdir, {"variables": {"CACHE_GATE_PACKAGE": ""}}))
    assert not pipeline.passed
    assert (f"cache-gate: CACHE_GATE_PACKAGE is empty: leave it unset to install "
            f"cache-gate=={__version__} from PyPI, or set it to where pip installs cache-gate "
            f"from (README: GitLab CI)") in pipeline.log
    assert "python3 -m pip install" not in pipeline.log  # it stopped before installing


def test_the_template_belongs_to_this_version() -> None:
    """The template's example, and the README's, include the release they ship with;
    every release either names (source archive, requirement) is this one."""
    header = TEMPLATE.read_text().split(".cache-gate:")[0]
    readme = (ROOT / "README.md").read_text().split("### GitLab CI")[1].split("\n## ")[0]
    for text in (header, readme):
        assert f"/v{__version__}/ci/cache-gate.gitlab-ci.yml" in text
        assert set(re.findall(r"/archive/refs/tags/v([\w.+-]*\w)\.tar\.gz", text)) <= {
            __version__}
        assert set(re.findall(r"cache-gate==([\w.+-]*\w)", text)) <= {__version__}
        assert set(re.findall(r"/cache-gate/v([\w.+-]*\w)/ci/", text)) == {__version__}
