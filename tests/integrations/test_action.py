"""The GitHub Action's run step, run for real: extracted from action.yml and executed by
bash as the runner executes it (`bash --noprofile --norc -e -o pipefail FILE`, in
`working-directory` joined to the workspace, inputs in the environment; actions/runner
`src/Runner.Worker/Handlers/ScriptHandlerHelpers.cs` and `ScriptHandler.cs`).

A fake `cache-gate` first on PATH prints its arguments as JSON lines and writes the
SARIF report it is asked for, so the tests see exactly what the real one would get.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).parents[2]
FAKE_CACHE_GATE = f"""#!{sys.executable}
import json, os, sys
from pathlib import Path
arguments = sys.argv[1:]
for argument in arguments:
    print(json.dumps(argument))
for option, value in zip(arguments, arguments[1:]):
    if option == "--report":
        target = Path(value.split("=", 1)[1])
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("{{}}")
sys.exit(int(os.environ.get("FAKE_EXIT", "0")))
"""


def action() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((ROOT / "action.yml").read_text())
    return document


def run_step(ident: str = "gate") -> dict[str, Any]:
    [step] = [step for step in action()["runs"]["steps"] if step.get("id") == ident]
    found: dict[str, Any] = step
    return found


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    (tmp_path / "workspace" / "pkg").mkdir(parents=True)
    # What an unquoted CG10* would glob to, in the directory the step runs in.
    (tmp_path / "workspace" / "pkg" / "CG10-notes.txt").write_text("")
    (tmp_path / "workspace" / "CG10-notes.txt").write_text("")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "cache-gate"
    fake.write_text(FAKE_CACHE_GATE)
    fake.chmod(0o755)
    return tmp_path / "workspace"


def run_action(workspace: Path, *, args: str = "", sarif: str = "", html: str = "",
               comment: str = "", working_directory: str = "pkg", fake_exit: int = 0
               ) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    """Run the step as the runner would with these inputs: (the process, its outputs)."""
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("bash is not installed")
    step = run_step()
    script = workspace.parent / "step.sh"
    script.write_text(step["run"])
    outputs = workspace.parent / "github_output"
    outputs.write_text("")
    inputs = {"command": "check", "args": args, "sarif": sarif, "html": html,
              "comment": comment, "working-directory": working_directory}
    env = {"PATH": f"{workspace.parent / 'bin'}:/usr/bin:/bin", "GITHUB_OUTPUT": str(outputs),
           "GITHUB_WORKSPACE": str(workspace), "FAKE_EXIT": str(fake_exit)}
    for name, expression in step["env"].items():
        # `${{ inputs.NAME }}`: the runner puts the input's text there, unchanged.
        input_name = expression.removeprefix("${{ inputs.").removesuffix(" }}")
        env[name] = inputs[input_name]
    assert step["working-directory"] == "${{ inputs.working-directory }}"
    process = subprocess.run(
        [bash, "--noprofile", "--norc", "-e", "-o", "pipefail", str(script)],
        cwd=workspace / working_directory, env=env, capture_output=True, text=True,
        timeout=60)
    written = dict(line.split("=", 1) for line in outputs.read_text().splitlines())
    return process, written


def arguments(process: subprocess.CompletedProcess[str]) -> list[str]:
    assert process.returncode == 0, process.stderr
    return [json.loads(line) for line in process.stdout.splitlines()]


def test_args_are_one_a_line_never_split_or_globbed(workspace: Path) -> None:
    process, _ = run_action(workspace, args="--select\nCG10*\n\n--workflow\nmy flow\n")
    assert arguments(process) == ["check", "--format", "github", "--select", "CG10*",
                                  "--workflow", "my flow"]


@pytest.mark.parametrize(("args", "passed"), [
    ("", []),
    ("--days\r\n7\r\n", ["--days", "7"]),                    # a workflow file with CRLF
    ("  \n\t\n--strict\n   \n", ["--strict"]),              # blank lines are skipped
    ("$(touch pwned)\n`id`\n${HOME}\n*\n", ["$(touch pwned)", "`id`", "${HOME}", "*"]),
    ("--target\nprompt_cache_hit_rate=0.7", ["--target", "prompt_cache_hit_rate=0.7"]),
])
def test_args_reach_cache_gate_as_written(workspace: Path, args: str,
                                          passed: list[str]) -> None:
    process, _ = run_action(workspace, args=args)
    assert arguments(process)[3:] == passed
    assert not (workspace / "pkg" / "pwned").exists()


def test_the_sarif_output_is_where_upload_sarif_finds_the_report(workspace: Path) -> None:
    """upload-sarif, a JavaScript action, resolves `sarif_file` from the workspace; the
    step wrote the report inside working-directory."""
    process, outputs = run_action(workspace, sarif="reports/cache-gate.sarif")
    assert arguments(process)[3:5] == ["--report", "sarif=reports/cache-gate.sarif"]
    assert outputs == {"sarif": "pkg/reports/cache-gate.sarif"}
    assert (workspace / outputs["sarif"]).is_file()


@pytest.mark.parametrize(("working_directory", "sarif", "output"), [
    (".", "cache-gate.sarif", "cache-gate.sarif"),
    ("pkg/", "out.sarif", "pkg/out.sarif"),
    ("pkg", "/tmp/abs.sarif", "/tmp/abs.sarif"),
])
def test_the_sarif_output_joins_paths_as_the_runner_does(workspace: Path,
                                                         working_directory: str, sarif: str,
                                                         output: str) -> None:
    _, outputs = run_action(workspace, sarif=sarif, working_directory=working_directory)
    assert outputs == {"sarif": output}


def test_a_failing_gate_fails_the_step_and_still_names_the_report(workspace: Path) -> None:
    process, outputs = run_action(workspace, sarif="cg.sarif", fake_exit=1)
    assert process.returncode == 1
    assert outputs == {"sarif": "pkg/cg.sarif"}  # for `if: always()` upload steps


def test_the_composite_output_reads_the_run_step() -> None:
    assert action()["outputs"]["sarif"]["value"] == "${{ steps.gate.outputs.sarif }}"


def test_setup_python_runs_on_node24() -> None:
    """Node 20 leaves GitHub's runners in 2026; actions/setup-python runs on node24
    from v6 (its v6.0.0 release notes; v7's action.yml says `using: node24`)."""
    [setup] = [step["uses"] for step in action()["runs"]["steps"]
               if step.get("uses", "").startswith("actions/setup-python@")]
    assert int(setup.removeprefix("actions/setup-python@v")) >= 6


# --- the HTML report: written, uploaded, linked ----------------------------------------


def test_by_default_the_html_report_is_written_beside_the_step() -> None:
    assert action()["inputs"]["html"]["default"] == "cache-gate-report.html"
    assert action()["inputs"]["comment"]["default"] == ""


def test_the_html_report_and_the_comment_are_asked_for_and_named(workspace: Path) -> None:
    process, outputs = run_action(workspace, html="out/report.html", comment="comment.md",
                                  sarif="cg.sarif")
    assert arguments(process)[:9] == [
        "check", "--format", "github", "--report", "sarif=cg.sarif",
        "--report", "html=out/report.html", "--report", "markdown=comment.md"]
    assert outputs == {"sarif": "pkg/cg.sarif", "html": "pkg/out/report.html",
                       "comment": "pkg/comment.md"}


def test_the_upload_takes_the_file_itself_even_when_the_gate_failed() -> None:
    upload = run_step("upload")
    assert upload["uses"] == "actions/upload-artifact@v7"  # v7: node24 and `archive`
    assert upload["with"]["path"] == "${{ steps.gate.outputs.html }}"
    assert upload["with"]["archive"] is False  # the page opens in the browser
    assert upload["if"] == "${{ !cancelled() && steps.gate.outputs.html != '' }}"
    assert action()["outputs"]["html-url"]["value"] == "${{ steps.upload.outputs.artifact-url }}"


def test_the_summary_and_the_comment_link_to_the_uploaded_report(tmp_path: Path) -> None:
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("bash is not installed")
    step = run_step("link")
    assert step["if"] == "${{ !cancelled() && steps.upload.outputs.artifact-url != '' }}"
    assert step["working-directory"] == "${{ github.workspace }}"
    script = tmp_path / "link.sh"
    script.write_text(step["run"])
    (tmp_path / "pkg").mkdir()
    comment = tmp_path / "pkg" / "comment.md"
    comment.write_text("### cache-gate check: ✅ passed\n")
    summary = tmp_path / "summary.md"
    url = "https://github.com/o/r/actions/runs/1/artifacts/2"
    env = {"PATH": "/usr/bin:/bin", "GITHUB_STEP_SUMMARY": str(summary),
           "CACHE_GATE_HTML_URL": url, "CACHE_GATE_COMMENT": "pkg/comment.md"}
    subprocess.run([bash, "--noprofile", "--norc", "-e", "-o", "pipefail", str(script)],
                   cwd=tmp_path, env=env, check=True, timeout=60)
    link = f"[HTML report: trend, miss causes, TTL and threshold curves]({url})"
    assert summary.read_text() == f"\n{link}\n"
    assert comment.read_text() == f"### cache-gate check: ✅ passed\n\n{link}\n"
