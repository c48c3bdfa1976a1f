"""CG111 prefix-drift: a stable prefix differs from the committed lock.

Any change to a stable prefix, even one byte, invalidates every cached copy of it:
once the change ships, every caller pays to write the prefix to the cache again
(1.25x the input price for a 5-minute breakpoint, 2x for a 1-hour one). The lock
(`.backlog-ops/prompt-manifest.lock.json`, written by `cache-gate lint
--update-lock`) makes that visible in review, as a dependency lock file does for
dependencies: a prompt change without a lock update fails the gate, and a lock
update shows up in the diff.

What it finds: a prompt whose stable prefix hash differs from its lock entry,
reported at the first differing file and line (located with the per-line hashes in
the lock), with the estimated cached tokens every caller will write again (from the
last breakpoint before the change to the end of the stable prefix). Also, as
warnings: prompts not in the lock yet, and lock entries whose prompt is gone. A lock
that cannot be read (for example a merge conflict) is an error.

No lock at all is not an error: the first `--update-lock` starts the workflow.

Example:

    prompts/system.md:12: CG111 prefix-drift error [prompt reviewer]: stable prefix
    differs from the lock from here on; every caller writes ≈5,200 cached tokens
    again once this ships

Fix: if the change is intended, run `cache-gate lint --update-lock` and commit the
lock with the change; otherwise revert the change.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cache_gate.findings import Problem, Severity
from cache_gate.manifest.assemble import AssembledPrompt
from cache_gate.manifest.lock import find_drift
from cache_gate.manifest.tokens import approx
from cache_gate.rules.context import LintContext

RULE = "CG111"


def check_prompt(prompt: AssembledPrompt, entry: dict[str, Any] | None,
                 context: LintContext, lock_display: str) -> Iterator[Problem]:
    """Drift of one prompt against its lock entry (None: not in the lock)."""
    manifest = context.manifest
    if entry is None:
        yield manifest.problem(
            (*prompt.spec.path, "id"), f"prompt {prompt.id!r} is not in the lock "
            f"{lock_display} yet", severity=Severity.WARNING,
            hint="Run `cache-gate lint --update-lock` and commit the lock.")
        return
    drift = find_drift(prompt, entry)
    if drift is None:
        return
    cost = (f"every caller writes {approx(drift.rewritten_tokens)} cached tokens again once "
            "this ships")
    part = drift.part
    if part is not None and drift.line is not None:
        where = "from here on" if drift.reason == "changed" else f"({drift.reason})"
        if part.is_file:
            yield Problem(f"stable prefix differs from the lock {where}; {cost}",
                          line=drift.line, path=part.display, key="drift")
            return
        yield manifest.problem(part.pointer, f"text block differs from the lock; {cost}",
                               key="drift")
        return
    block = prompt.stable_blocks[min(drift.block_index, len(prompt.stable_blocks) - 1)] \
        if prompt.stable_blocks else None
    pointer = block.spec.path if block is not None else prompt.spec.path
    yield manifest.problem(pointer, f"stable prefix differs from the lock: {drift.reason}; "
                           f"{cost}", key="drift")


def check_stale(prompt_id: str, lock_display: str) -> Problem:
    """A lock entry whose prompt is no longer in the manifest."""
    return Problem(f"the lock has prompt {prompt_id!r}, which is no longer in the manifest",
                   path=lock_display, severity=Severity.WARNING, key=f"stale {prompt_id}",
                   hint="Run `cache-gate lint --update-lock` and commit the lock.")
