"""CG108 dynamic-before-stable: a dynamic block before the last cache breakpoint.

The provider caches the prefix up to a breakpoint only if every byte before it is
the same as last time. A block marked `"dynamic": true` (per-call content: the
ticket, the diff, the user's question) placed before the last breakpoint makes
the cached prefix different on every call: everything after the last breakpoint
before that block (the whole stable prefix, if there is none) is written to the
cache on every call, and no call reads it. The message says how many tokens that
is (`the whole stable prefix, ≈1,200 tokens, is written to the cache on every call
and never read`).

What it finds: a block with `"dynamic": true` at or before the last block with
`"cache_control"` (in the short form: a dynamic block inside `stable_prefix`).

Example:

    "blocks": [
      {"role": "system", "file": "prompts/rules.md"},
      {"role": "user", "file": "templates/ticket.md", "dynamic": true},   <- CG108
      {"role": "user", "text": "Follow the rules.", "cache_control": "5m"}
    ]

Fix: move dynamic blocks after the last breakpoint, or move the breakpoint before
the first dynamic block.
"""

from __future__ import annotations

from collections.abc import Iterator

from cache_gate.findings import Problem
from cache_gate.manifest.assemble import AssembledPrompt
from cache_gate.manifest.positions import format_path
from cache_gate.manifest.tokens import approx
from cache_gate.rules.context import LintContext

RULE = "CG108"


def check_prompt(prompt: AssembledPrompt, context: LintContext) -> Iterator[Problem]:
    stable = prompt.stable_blocks
    if not stable:
        return
    last = stable[-1].spec
    for index, block in enumerate(stable):
        if not block.spec.dynamic:
            continue
        # Everything after the last breakpoint before this block is a new prefix on
        # every call: written to the cache, never read.
        earlier = [i for i in prompt.spec.breakpoints if i < index]
        start = earlier[-1] + 1 if earlier else 0
        wasted = sum(cached.tokens for cached in stable[start:])
        where = "it carries the last breakpoint" if block.spec is last else (
            f"the last breakpoint is after {format_path(last.path)}")
        span = "the whole stable prefix" if start == 0 else (
            f"from {format_path(stable[start].spec.path)} to the last breakpoint")
        yield context.manifest.problem(
            block.spec.path,
            f"dynamic block ({block.spec.label}) inside the stable prefix ({where}): "
            f"{span}, {approx(wasted)} tokens, is written to the cache on every call and "
            "never read", key="dynamic block inside the stable prefix")
        return  # the first one decides; later ones are inside the same uncached span
