"""Hostile inputs that once crashed cache-gate with a traceback: each is now exit 2
with one line on stderr (or a finding), and every input is left byte for byte as it
was. Run as a user would: a fresh process, `python -m cache_gate`."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

SECRET = "S3cretPass!"


def cache_gate(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cache_gate", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "NO_COLOR": "1"})


def snapshot(folder: Path) -> dict[str, str]:
    return {str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.rglob("*")) if path.is_file()}


BACKLOG = '{"workflow": "w", "input_tokens": 10, "cached_input_tokens": 0, "cache_hit": false}\n'


def deep_ledger(folder: Path) -> list[str]:
    (folder / "l.jsonl").write_text('{"a":' * 5000 + "1" + "}" * 5000 + "\n" + BACKLOG * 3)
    return ["kpi", "--ledger", "l.jsonl"]


def deep_ledger_report(folder: Path) -> list[str]:
    return ["report", *deep_ledger(folder)[1:]]


def settings_not_utf8(folder: Path) -> list[str]:
    (folder / "l.jsonl").write_text(BACKLOG)
    (folder / ".cache-gate.toml").write_bytes(b"\xff\xfe = 1\n")
    return ["kpi", "--ledger", "l.jsonl"]


def settings_nested(folder: Path) -> list[str]:
    (folder / "l.jsonl").write_text(BACKLOG)
    (folder / ".cache-gate.toml").write_text("a = " + "[" * 5000 + "]" * 5000 + "\n")
    return ["kpi", "--ledger", "l.jsonl"]


def tool_is_a_number(folder: Path) -> list[str]:
    (folder / "l.jsonl").write_text(BACKLOG)
    (folder / "pyproject.toml").write_text("[tool]\ncache-gate = 1\n")
    return ["kpi", "--ledger", "l.jsonl"]


def huge_days(folder: Path) -> list[str]:
    (folder / "l.jsonl").write_text(BACKLOG)
    return ["kpi", "--ledger", "l.jsonl", "--days", str(10**12)]


def year_one(folder: Path) -> list[str]:
    (folder / "l.jsonl").write_text(BACKLOG)
    return ["kpi", "--ledger", "l.jsonl", "--now", "0001-01-01T00:00:00Z", "--days", "1"]


def timeout_nan(folder: Path) -> list[str]:
    del folder
    return ["doctor", "--redis-url", "redis://127.0.0.1:1", "--timeout", "nan"]


def broken_postgres_url(folder: Path) -> list[str]:
    del folder
    return ["kpi", "--ledger", f"postgresql://cg:{SECRET}@[::1/litellm"]


def mistyped_scheme(folder: Path) -> list[str]:
    del folder
    return ["kpi", "--ledger", f"postgresq://cg:{SECRET}@db/litellm"]


def long_yaml_integer(folder: Path) -> list[str]:
    (folder / "backlog.config.json").write_text("{}")
    (folder / "proxy.yaml").write_text("litellm_settings:\n  cache: true\n  cache_params:\n"
                                       "    type: redis\n    ttl: " + "9" * 5000 + "\n")
    return ["policy", "--litellm-config", "proxy.yaml"]


def yaml_date_as_json(folder: Path) -> list[str]:
    (folder / "backlog.config.json").write_text("{}")
    (folder / "proxy.yaml").write_text("litellm_settings:\n  cache: true\n  cache_params:\n"
                                       "    type: redis\n    ttl: 2026-01-01\n")
    return ["policy", "--litellm-config", "proxy.yaml", "--format", "json"]


def usage_error(folder: Path) -> list[str]:
    del folder
    return ["kpi", "--no-such-option"]


CASES: list[Callable[[Path], list[str]]] = [
    deep_ledger, deep_ledger_report, settings_not_utf8, settings_nested, tool_is_a_number,
    huge_days, year_one, timeout_nan, broken_postgres_url, mistyped_scheme,
    long_yaml_integer, yaml_date_as_json, usage_error,
]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.__name__)
def test_no_traceback_and_no_input_changed(tmp_path: Path,
                                           case: Callable[[Path], list[str]]) -> None:
    arguments = case(tmp_path)
    before = snapshot(tmp_path)
    done = cache_gate(tmp_path, *arguments)
    assert done.returncode in (0, 1, 2), done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert "internal error" not in done.stderr, done.stderr
    if done.returncode == 2:
        assert done.stderr.count("\n") == 1 and done.stderr.startswith("cache-gate: error: ")
    assert SECRET not in done.stdout + done.stderr
    assert snapshot(tmp_path) == before


def test_json_output_is_strict_json(tmp_path: Path) -> None:
    import json

    (tmp_path / "backlog.config.json").write_text("{}")
    (tmp_path / "proxy.yaml").write_text("litellm_settings:\n  cache: true\n  cache_params:\n"
                                         "    type: redis\n    ttl: .nan\n")
    done = cache_gate(tmp_path, "policy", "--litellm-config", "proxy.yaml", "--format", "json")

    def reject(constant: str) -> None:
        raise ValueError(f"bare {constant} is not JSON")

    json.loads(done.stdout, parse_constant=reject)


def test_an_unexpected_failure_is_one_line_without_its_text(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """The last line of defence: whatever breaks inside, no traceback, and the
    exception's text (which may hold input data) is not shown."""
    from cache_gate import cli
    from cache_gate.gates import kpi

    def explode(*args: object) -> None:
        raise ValueError(f"something holding {SECRET}")

    monkeypatch.setattr(kpi, "run_kpi", explode)
    assert cli.main(["kpi"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("cache-gate: error: internal error (ValueError")
    assert SECRET not in err and err.count("\n") == 1


def test_stderr_carries_no_workflow_command_and_no_control_byte(tmp_path: Path) -> None:
    from tests.github_runner import commands

    done = cache_gate(tmp_path, "kpi", "--ledger", "x\n::error file=a::injected\x1b]0;t\x07")
    assert done.returncode == 2
    assert commands(done.stderr) == []
    assert "\x1b" not in done.stderr and done.stderr.count("\n") == 1


def test_a_secret_in_the_environment_is_never_printed(tmp_path: Path) -> None:
    """A credential-named variable's value is scrubbed from every output, whatever
    path it takes there (here: a ledger path that echoes it)."""
    token = "ghp_" + "x" * 20
    done = subprocess.run([sys.executable, "-m", "cache_gate", "kpi", "--ledger",
                           f"/nowhere/{token}.jsonl"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "GITHUB_TOKEN": token})
    assert done.returncode == 2 and token not in done.stdout + done.stderr
    assert "/nowhere/***.jsonl" in done.stderr


def test_an_undecodable_file_name_in_every_format(tmp_path: Path) -> None:
    """A prompt file whose name is not UTF-8 (a Latin-1 é): every format reports it,
    and the report files are written (the name as its escape, or its bytes
    percent-encoded in a SARIF URI)."""
    import json
    import os

    (tmp_path / ".backlog-ops").mkdir()
    (tmp_path / "prompts").mkdir()
    (tmp_path / ".backlog-ops" / "prompt-manifest.json").write_text(json.dumps({
        "version": 1, "defaults": {"model": "claude-sonnet-4-5"},
        "prompts": [{"id": "m", "blocks": [{"role": "system", "glob": "prompts/*.md",
                                             "order": "lexical", "cache_control": "5m"}]}]}))
    (tmp_path / "prompts" / os.fsdecode(b"latin-\xe9.md")).write_text(
        "Released 2024-03-15.\n" + "word " * 2000)
    reports = [f"--report={name}={tmp_path / ('out.' + name)}"
               for name in ("json", "sarif", "gitlab", "junit", "markdown", "text")]
    done = cache_gate(tmp_path, "lint", "--no-render", *reports)
    assert done.returncode == 0, done.stderr
    sarif = json.loads((tmp_path / "out.sarif").read_text())
    uris = {result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            for result in sarif["runs"][0]["results"]}
    assert "prompts/latin-%E9.md" in uris
    json.loads((tmp_path / "out.json").read_text())
