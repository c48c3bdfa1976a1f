"""`cache-gate lint` as CI runs it: exit codes, text and JSON reports, a real process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.lint.repo import CLEAN_PROSE, lint, lint_json, one_file_prompt, write_repo

CONTRACT_FINDING_KEYS = {"rule", "name", "severity", "message", "path", "line", "prompt_id",
                         "fingerprint"}


def test_clean_repository_passes(tmp_path: Path) -> None:
    write_repo(tmp_path, {"prompts/system.md": CLEAN_PROSE}, [one_file_prompt()])
    code, out, err = lint(tmp_path)
    assert (code, err) == (0, "")
    assert out.endswith("cache-gate lint: passed (0 errors, 0 warnings)\n")
    assert "manifest .backlog-ops/prompt-manifest.json: 1 prompt, stable prefixes ≈" in out


def test_text_report_shows_place_rule_prompt_and_fix(tmp_path: Path) -> None:
    write_repo(tmp_path, {"prompts/system.md": CLEAN_PROSE + "Ticket {ticket_id}\n"},
               [one_file_prompt()])
    code, out, _ = lint(tmp_path)
    assert code == 1
    assert ("prompts/system.md:61: CG103 dynamic-placeholder error [prompt main]: placeholder "
            "{ticket_id} in a stable block") in out
    assert "\n    fix: Fill it in the dynamic suffix" in out
    assert out.endswith("cache-gate lint: FAILED (1 error, 0 warnings)\n")


def test_warnings_do_not_fail_and_exit_zero_overrides_errors(tmp_path: Path) -> None:
    write_repo(tmp_path, {"prompts/system.md": CLEAN_PROSE + "Repo /home/alice/x\n"},
               [one_file_prompt()])
    assert lint(tmp_path)[0] == 0
    write_repo(tmp_path, {"prompts/system.md": CLEAN_PROSE + "{x}\n"}, [one_file_prompt()])
    assert lint(tmp_path, "--exit-zero")[0] == 0


def test_json_report_contract(tmp_path: Path) -> None:
    write_repo(tmp_path, {"prompts/system.md": CLEAN_PROSE + "Ticket {ticket_id}\n"},
               [one_file_prompt()])
    code, report = lint_json(tmp_path)
    assert code == 1
    assert (report["tool"], report["command"], report["passed"], report["exit_code"]) == (
        "cache-gate", "lint", False, 1)
    [finding] = report["findings"]
    assert set(finding) >= CONTRACT_FINDING_KEYS
    assert finding["rule"] == "CG103" and finding["name"] == "dynamic-placeholder"
    assert len(finding["fingerprint"]) == 32
    [prompt] = report["prompts"]
    assert prompt["id"] == "main" and prompt["minimum_tokens"] == 1024
    assert prompt["stable_prefix"]["bytes"] == len(CLEAN_PROSE) + len("Ticket {ticket_id}\n")
    assert report["manifest"]["prompts"] == 1
    assert report["lock"]["status"] == "missing"


def test_fingerprints_survive_moved_lines_and_changed_counts(tmp_path: Path) -> None:
    write_repo(tmp_path, {"prompts/system.md": CLEAN_PROSE + "a  \nb  \n"},
               [one_file_prompt()])
    _, before = lint_json(tmp_path)
    write_repo(tmp_path, {"prompts/system.md": "intro\n" + CLEAN_PROSE + "a  \nb  \nc  \n"},
               [one_file_prompt()])
    _, after = lint_json(tmp_path)
    assert before["findings"][0]["line"] != after["findings"][0]["line"]
    assert before["findings"][0]["fingerprint"] == after["findings"][0]["fingerprint"]


def test_output_option_writes_the_report(tmp_path: Path) -> None:
    write_repo(tmp_path, {"prompts/system.md": CLEAN_PROSE}, [one_file_prompt()])
    code, out, _ = lint(tmp_path, "--format", "json", "--output", "report.json")
    assert code == 0
    assert out.startswith("cache-gate lint: passed") and "report written to" in out
    assert json.loads((tmp_path / "report.json").read_text())["command"] == "lint"


def test_real_process_and_settings_render_timeout(tmp_path: Path) -> None:
    write_repo(tmp_path, {"prompts/system.md": CLEAN_PROSE,
                          "slow.py": "import time\ntime.sleep(30)\n"},
               [{**one_file_prompt(), "render": {"command": [sys.executable, "slow.py"]}}])
    (tmp_path / ".cache-gate.toml").write_text("render-timeout = 0.5\n")
    done = subprocess.run([sys.executable, "-m", "cache_gate", "lint", "--format", "json"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1, done.stderr
    [finding] = json.loads(done.stdout)["findings"]
    assert "timed out after 0.5 s" in finding["message"]
    (tmp_path / ".cache-gate.toml").write_text('render-timeout = "fast"\n')
    done = subprocess.run([sys.executable, "-m", "cache_gate", "lint"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert "setting 'render-timeout' must be seconds" in done.stderr
    assert "Traceback" not in done.stderr


def test_help_lists_the_lint_options() -> None:
    done = subprocess.run([sys.executable, "-m", "cache_gate", "lint", "--help"],
                          capture_output=True, text=True, check=True)
    for option in ("--manifest", "--lock", "--root", "--update-lock", "--no-render", "--fix",
                   "--select", "--ignore", "--format"):
        assert option in done.stdout
