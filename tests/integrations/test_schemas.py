"""The GitHub Action and the GitLab CI template are valid for their consumers, as
check-jsonschema's copies of the GitHub Actions and GitLab CI schemas say."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).parents[2]


@pytest.mark.parametrize(("schema", "path"), [
    ("vendor.github-actions", "action.yml"),
    ("vendor.gitlab-ci", "ci/cache-gate.gitlab-ci.yml"),
])
def test_valid_against_the_consumers_schema(schema: str, path: str) -> None:
    checked = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, str(ROOT / path)],
        capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_action_passes_inputs_through_the_environment_only() -> None:
    """`${{ inputs.x }}` pasted into a script is a shell injection; env vars are not."""
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    for step in action["runs"]["steps"]:
        assert "${{" not in step.get("run", ""), step.get("name")


def test_gitlab_template_uploads_reports_even_when_the_gate_fails() -> None:
    template = yaml.safe_load((ROOT / "ci" / "cache-gate.gitlab-ci.yml").read_text())
    artifacts = template[".cache-gate"]["artifacts"]
    assert artifacts["when"] == "always"
    assert artifacts["reports"] == {"codequality": "gl-code-quality-report.json",
                                    "junit": "cache-gate-junit.xml"}
    script = " ".join(template[".cache-gate"]["script"])
    for report in artifacts["reports"].values():
        assert report in script
