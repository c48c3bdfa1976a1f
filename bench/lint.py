"""Benchmark `cache-gate lint` on a manifest of 50 prompts of 20 KB each.

    python bench/lint.py                    # 50 prompts x 20 KB, best of 5
    python bench/lint.py --prompts 200 --kb 40 --repeat 3

Generates (seeded) a repository in a temporary directory: one Markdown prompt file
per prompt (prose, lists, code samples, tables; clean, so the run measures the
checks rather than the reporting), a shared tool-definitions JSON block, and a
committed lock. Then it times the whole command, start-up included, as a user or CI
runs it: `cache-gate lint` in a fresh process, comparing against the lock.
Target (DESIGN.md, "Performance"): 0.5 s wall.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_SECONDS = 0.5
WORDS = ("the", "reviewer", "must", "check", "each", "ticket", "against", "acceptance",
         "criteria", "and", "report", "findings", "with", "a", "confidence", "score",
         "before", "any", "commit", "is", "made", "tests", "cover", "happy", "path",
         "error", "edge", "case", "never", "skip", "hooks", "quality", "gates", "exist",
         "to", "protect", "codebase", "implementation", "follows", "conventions")


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(8, 22))]
    return " ".join(words).capitalize() + "."


def prompt_text(rng: random.Random, size: int) -> str:
    """Markdown of about `size` bytes, like a real system prompt."""
    parts: list[str] = [f"# Agent {rng.randint(1, 999)} — static prompt prefix\n"]
    while sum(len(p) for p in parts) < size:
        kind = rng.random()
        if kind < 0.5:
            parts.append(" ".join(_sentence(rng) for _ in range(rng.randint(2, 6))) + "\n")
        elif kind < 0.7:
            parts.append("".join(f"- {_sentence(rng)}\n" for _ in range(rng.randint(3, 7))))
        elif kind < 0.85:
            body = "".join(f"    result = check_{rng.choice(WORDS)}(ticket, limit=3)\n"
                           for _ in range(rng.randint(2, 6)))
            parts.append(f"```python\ndef review(ticket):\n{body}    return result\n```\n")
        else:
            parts.append("| rule | action |\n|---|---|\n" + "".join(
                f"| {rng.choice(WORDS)} | {_sentence(rng)} |\n" for _ in range(4)))
        parts.append("\n")
    return "".join(parts)[:size].rsplit("\n", 1)[0] + "\n"


def generate(root: Path, prompts: int, size: int) -> Path:
    rng = random.Random(7)
    (root / "prompts").mkdir(parents=True)
    (root / ".backlog-ops").mkdir()
    tools = [{"description": f"Tool {i}: {_sentence(rng)}",
              "input_schema": {"properties": {"path": {"type": "string"}}, "type": "object"},
              "name": f"tool_{i}"} for i in range(12)]
    (root / "prompts" / "tools.json").write_text(json.dumps(tools, indent=2, sort_keys=True)
                                                 + "\n", encoding="utf-8")
    entries = []
    for index in range(prompts):
        name = f"prompts/agent-{index:03d}.md"
        (root / name).write_text(prompt_text(rng, size), encoding="utf-8")
        entries.append({"id": f"agent-{index:03d}", "model": "claude-sonnet-4-5", "blocks": [
            {"role": "tools", "file": "prompts/tools.json"},
            {"role": "system", "file": name, "cache_control": "1h"},
            {"role": "user", "text": "(the ticket)", "dynamic": True},
        ]})
    manifest = root / ".backlog-ops" / "prompt-manifest.json"
    manifest.write_text(json.dumps({"version": 1, "prompts": entries}, indent=2) + "\n",
                        encoding="utf-8")
    return manifest


def lint(manifest: Path, *extra: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    command = [sys.executable, "-m", "cache_gate", "lint", "--manifest", str(manifest),
               "--no-color", *extra]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    return time.perf_counter() - start, done


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--prompts", type=int, default=50)
    parser.add_argument("--kb", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cache-gate-bench-") as directory:
        manifest = generate(Path(directory), args.prompts, args.kb * 1024)
        _, written = lint(manifest, "--update-lock")
        if written.returncode != 0:
            print(written.stdout, written.stderr, sep="\n")
            return 1
        timings = []
        for _ in range(args.repeat):
            seconds, done = lint(manifest)
            if done.returncode != 0:
                print(done.stdout, done.stderr, sep="\n")
                return 1
            timings.append(seconds)
        best = min(timings)
        total_kb = args.prompts * args.kb
        print(f"cache-gate lint: {args.prompts} prompts x {args.kb} KB ({total_kb:,} KB of "
              f"stable prefix, lock compared), best of {args.repeat}: {best:.3f} s wall "
              f"(start-up included; median {sorted(timings)[len(timings) // 2]:.3f} s); "
              f"target <= {TARGET_SECONDS} s: {'met' if best <= TARGET_SECONDS else 'MISSED'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
