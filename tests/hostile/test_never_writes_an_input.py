"""No report is ever written over a file the run reads: not with --output, not with
--report, not through a link. The bundled demo stands in for a user's repository."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cache_gate.cli import main
from cache_gate.inputs import note_input

DEMO = Path(__file__).parents[2] / "fixtures" / "demo"
INPUTS = {
    "the ledger": ".backlog-ops/usage-ledger.jsonl",
    "the manifest": ".backlog-ops/prompt-manifest.json",
    "the lock": ".backlog-ops/prompt-manifest.lock.json",
    "a prompt file": "prompts/reviewer-system.md",
    "the settings": ".cache-gate.toml",
}


@pytest.fixture
def repository(tmp_path: Path) -> Path:
    copy = tmp_path / "demo"
    shutil.copytree(DEMO, copy)
    (copy / ".cache-gate.toml").write_text("min-requests = 30\n")
    return copy


def digests(root: Path) -> dict[str, str]:
    return {str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(root.rglob("*")) if path.is_file() and not path.is_symlink()}


def cache_gate(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cache_gate", *args, "--no-render"]
                          if args[0] == "lint" else [sys.executable, "-m", "cache_gate", *args],
                          cwd=root, capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin"})


@pytest.mark.parametrize("what", list(INPUTS), ids=list(INPUTS))
@pytest.mark.parametrize("how", ["--output", "--report"])
def test_check_refuses_to_write_over_an_input(repository: Path, what: str, how: str) -> None:
    before = digests(repository)
    target = INPUTS[what]
    option = [how, target] if how == "--output" else [how, f"json={target}"]
    done = cache_gate(repository, "check", *option)
    assert done.returncode == 2
    assert done.stderr.startswith(f"cache-gate: error: refusing to write the report to {target}")
    assert digests(repository) == before


@pytest.mark.parametrize("command", ["kpi", "report", "lint"])
def test_a_link_to_an_input_is_that_input(repository: Path, command: str) -> None:
    target = ".backlog-ops/usage-ledger.jsonl" if command != "lint" else (
        ".backlog-ops/prompt-manifest.json")
    (repository / "symbolic.json").symlink_to(repository / target)
    os.link(repository / target, repository / "hard.json")
    before = digests(repository)
    for link in ("symbolic.json", "hard.json"):
        done = cache_gate(repository, command, "--output", link)
        assert done.returncode == 2 and "is an input of this run" in done.stderr, link
    assert digests(repository) == before


def test_a_run_in_process_forgets_what_the_run_before_read(repository: Path,
                                                          tmp_path: Path) -> None:
    """An inode an earlier run read may since have been freed and given to a new file
    (CI once saw a test's FIFO refused as "an input" of a deleted ledger)."""
    earlier = tmp_path / "earlier-ledger.jsonl"
    earlier.write_text("")
    note_input(earlier)  # stands in for the run before, whose ledger shares no inode now
    ledger = str(repository / INPUTS["the ledger"])
    assert main(["kpi", "--ledger", ledger, "--output", str(earlier)]) in (0, 1)
    assert earlier.read_text().startswith(f"ledger {ledger}: ")
    assert main(["kpi", "--ledger", ledger, "--output", ledger]) == 2


def test_a_new_file_beside_the_inputs_is_written(repository: Path) -> None:
    done = cache_gate(repository, "check", "--output", "cache-gate.txt")
    assert done.returncode == 0 and (repository / "cache-gate.txt").stat().st_size > 0
