"""`cache-gate policy` on the command line: exit codes, the JSON contract, user errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.policy.helpers import backlog_config, litellm_config, policy, write_configs

CONTRACT_FINDING_KEYS = {"rule", "name", "severity", "message", "path", "line", "prompt_id",
                         "fingerprint"}


def test_nothing_to_check_is_exit_2_with_one_line(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = policy()
    assert code == 2 and out == ""
    assert err == ("cache-gate: error: backlog config backlog.config.json does not exist: pass "
                   "--config PATH (backlog.config.json) and/or --litellm-config PATH\n")


def test_a_named_config_that_is_missing_is_exit_2(tmp_path: Path) -> None:
    args = write_configs(tmp_path, litellm=litellm_config())
    code, _, err = policy(*args, "--config", str(tmp_path / "nope.json"))
    assert code == 2 and "nope.json does not exist" in err


def test_the_default_config_is_found_in_the_working_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_configs(tmp_path, backlog_config(2048), litellm_config())
    monkeypatch.chdir(tmp_path)
    code, out, _ = policy("--litellm-config", "litellm.yaml")
    assert code == 1
    assert out.startswith("backlog.config.json:")


def test_json_contract(tmp_path: Path) -> None:
    code, out, _ = policy(*write_configs(tmp_path, backlog_config(2048), litellm_config()),
                          "--format", "json")
    document = json.loads(out)
    assert code == 1 and document["exit_code"] == 1 and document["passed"] is False
    assert document["command"] == "policy" and document["tool"] == "cache-gate"
    for finding in document["findings"]:
        assert set(finding) >= CONTRACT_FINDING_KEYS
    assert document["policy"]["stable_prefix_min_tokens"] == 2048


def test_exit_zero_and_output_file(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    args = write_configs(tmp_path, backlog_config(2048), litellm_config())
    code, out, _ = policy(*args, "--exit-zero", "--format", "json", "--output", str(report))
    assert code == 0
    assert out.startswith("cache-gate policy: FAILED (1 error, 0 warnings) - report written to")
    assert json.loads(report.read_text())["findings"][0]["rule"] == "CG306"


def test_no_traceback_for_a_broken_file_in_a_real_process(tmp_path: Path) -> None:
    broken = tmp_path / "proxy.yaml"
    broken.write_text("litellm_settings:\n  cache: [true\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "cache_gate", "policy", "--config",
                           str(tmp_path / "none.json"), "--litellm-config", str(broken)],
                          capture_output=True, text=True, check=False, cwd=tmp_path)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1


def test_a_broken_yaml_names_line_and_column(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("proxy.yaml").write_text("litellm_settings:\n  cache: [true\n", encoding="utf-8")
    code, _, err = policy("--litellm-config", "proxy.yaml")
    assert code == 2
    assert err.startswith("cache-gate: error: proxy.yaml:3:1: LiteLLM config is not valid YAML")


def test_help_lists_the_rules() -> None:
    code, out, _ = policy("--help")
    assert code == 0
    for rule in ("CG301", "CG302", "CG303", "CG304", "CG305", "CG306"):
        assert rule in out
