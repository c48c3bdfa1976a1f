"""The hooks in .pre-commit-hooks.yaml, run by the real pre-commit (`try-repo`) in a
temporary git repository: each fails on a planted cache breaker and passes on a
healthy repository."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tests.ledgers import backlog, jsonl

ROOT = Path(__file__).parents[2]
HOOKS = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid"}

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                   env={**os.environ, **GIT_ENV})


@pytest.fixture(scope="session")
def hook_repository(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This repository's working tree as one commit: a fixed rev, so pre-commit builds
    the hook environment once per session."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT,
                            check=True, capture_output=True).stdout.decode().split("\0")
    target = tmp_path_factory.mktemp("hook-repository")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    git(target, "init", "-q")
    git(target, "add", "-A")
    git(target, "commit", "-q", "-m", "hooks under test")
    return target


@pytest.fixture(scope="session")
def pre_commit_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return {**os.environ, **GIT_ENV, "PRE_COMMIT_HOME": str(tmp_path_factory.mktemp("home")),
            "NO_COLOR": "1"}


def user_repository(path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    git(path, "init", "-q")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "user's change")
    return path


def try_repo(user: Path, hook_repository: Path, hook: str,
             env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # pre-commit from the environment running the tests (the one the README installs),
    # never whatever PATH holds: an unactivated .venv/bin is not on it.
    return subprocess.run([sys.executable, "-m", "pre_commit", "try-repo", str(hook_repository),
                           hook, "--ref", "HEAD", "--all-files", "--verbose"],
                          cwd=user, env=env, capture_output=True, text=True, timeout=600)


PROMPT = "You are the implementer. Follow the rules below exactly.\n" + "".join(
    f"Rule {n}: keep the change small, test it, and explain it in the commit message.\n"
    for n in range(400))


def manifest(prompt_file: str = "prompts/system.md") -> str:
    return json.dumps({"version": 1, "prompts": [
        {"id": "implementer", "model": "claude-sonnet-4-5",
         "stable_prefix": [{"file": prompt_file}]}]})


SCENARIOS: dict[str, tuple[dict[str, str], dict[str, str], str]] = {
    # hook id: (healthy repository, broken repository, what the failure names)
    "cache-gate-kpi": (
        {".backlog-ops/usage-ledger.jsonl": jsonl(*[backlog()] * 40)},
        {".backlog-ops/usage-ledger.jsonl": jsonl(
            *[backlog(cache_hit=False, cached_input_tokens=0)] * 40)},
        "CG201",
    ),
    "cache-gate-lint": (
        {".backlog-ops/prompt-manifest.json": manifest(), "prompts/system.md": PROMPT},
        {".backlog-ops/prompt-manifest.json": manifest(),
         "prompts/system.md": "Current time: {{ now() }}\n" + PROMPT},
        "CG102",
    ),
    "cache-gate-policy": (
        {"backlog.config.json": json.dumps({"llmOps": {"cachePolicy": {
            "providerPromptCaching": True, "stablePrefixMinTokens": 4096,
            "semanticCache": {"enabled": True, "threshold": 0.88}}}})},
        {"backlog.config.json": json.dumps({"llmOps": {"cachePolicy": {
            "semanticCache": {"enabled": "yes", "threshold": 3}}}})},
        "CG301",
    ),
}


def test_every_hook_has_a_scenario() -> None:
    assert {hook["id"] for hook in HOOKS} == set(SCENARIOS)
    for hook in HOOKS:
        assert hook["pass_filenames"] is False and hook["language"] == "python"


@pytest.mark.parametrize("hook", sorted(SCENARIOS))
def test_hook_fails_on_a_cache_breaker_and_passes_on_a_healthy_repo(
        hook: str, hook_repository: Path, pre_commit_env: dict[str, str],
        tmp_path: Path) -> None:
    healthy, broken, rule = SCENARIOS[hook]
    passed = try_repo(user_repository(tmp_path / "healthy", healthy), hook_repository, hook,
                      pre_commit_env)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    failed = try_repo(user_repository(tmp_path / "broken", broken), hook_repository, hook,
                      pre_commit_env)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert rule in failed.stdout


def test_files_patterns_select_the_right_inputs() -> None:
    import re

    patterns: dict[str, Callable[[str], bool]] = {
        hook["id"]: re.compile(hook["files"]).search for hook in HOOKS}  # type: ignore[misc]
    assert patterns["cache-gate-kpi"](".backlog-ops/usage-ledger.jsonl")
    assert not patterns["cache-gate-kpi"]("src/app.py")
    assert patterns["cache-gate-lint"](".backlog-ops/prompt-manifest.lock.json")
    assert patterns["cache-gate-lint"]("skills/implementer/templates/prefix.md")
    assert not patterns["cache-gate-lint"]("src/app.py")
    assert patterns["cache-gate-policy"]("backlog.config.json")
    assert patterns["cache-gate-policy"]("config/litellm/proxy-config.docker.yaml")
    assert not patterns["cache-gate-policy"]("config/app.yaml")
