"""Build small prompt repositories in temporary directories, and lint them for real."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from cache_gate.cli import cli

MANIFEST = ".backlog-ops/prompt-manifest.json"
LOCK = ".backlog-ops/prompt-manifest.lock.json"
# One line of clean English, about 27 estimated tokens; 60 of them (about 1,600
# tokens) are over every Sonnet minimum (1,024 tokens).
CLEAN_LINE = ("You review code changes for correctness, tests and readability. "
              "Report every finding with the file, the line and a fix.\n")
CLEAN_PROSE = CLEAN_LINE * 60


def write_repo(root: Path, files: dict[str, str | bytes], prompts: list[dict[str, Any]],
               **manifest: Any) -> Path:
    """Files (text is written as UTF-8 bytes, unchanged) and a manifest; returns root."""
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    document = {"version": 1, "defaults": {"model": "claude-sonnet-4-5"}, **manifest,
                "prompts": prompts}
    (root / ".backlog-ops").mkdir(exist_ok=True)
    (root / MANIFEST).write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return root


def one_file_prompt(name: str = "prompts/system.md", **block: Any) -> dict[str, Any]:
    """A prompt whose stable prefix is one file."""
    return {"id": "main", "blocks": [{"role": "system", "file": name, "cache_control": "5m",
                                      **block}]}


# The working directory changed for a block, and restored after it.
cwd = contextlib.chdir


def lint(root: Path, *args: str) -> tuple[int, str, str]:
    """`cache-gate lint ARGS` run in `root`: (exit code, stdout, stderr)."""
    with cwd(root):
        result = CliRunner().invoke(cli, ["lint", "--no-color", *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def lint_json(root: Path, *args: str) -> tuple[int, dict[str, Any]]:
    code, out, err = lint(root, "--format", "json", *args)
    assert err == "", err
    return code, json.loads(out)


def findings(root: Path, *args: str, rule: str | None = None) -> list[dict[str, Any]]:
    _, report = lint_json(root, *args)
    found: list[dict[str, Any]] = report["findings"]
    return [f for f in found if rule is None or f["rule"] == rule]


def text_problems(check: Any, text: str | bytes, *, verbatim: bool = False,
                  rendered: bool = False, today: str = "2026-11-26") -> list[Any]:
    """Run one text rule's check on `text` as a stable-prefix file."""
    import datetime as dt

    from cache_gate.manifest.assemble import Part
    from cache_gate.rules.context import LintContext, TextScope

    data = text if isinstance(text, bytes) else text.encode("utf-8")
    context = LintContext(manifest=None,  # type: ignore[arg-type]
                          minimums=None,  # type: ignore[arg-type]
                          today=frozenset({dt.date.fromisoformat(today)}))
    part = Part("file", "prompt.md", data)
    return list(check(part, TextScope(verbatim=verbatim, rendered=rendered), context))
