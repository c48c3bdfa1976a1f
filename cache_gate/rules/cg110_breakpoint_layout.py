"""CG110 breakpoint-layout: cache breakpoints the provider will not honour as intended.

Anthropic's API accepts at most 4 `cache_control` breakpoints in one request, and
when TTLs are mixed, a breakpoint with a longer TTL (1 hour) must come before any
with a shorter one (5 minutes). A prompt without any breakpoint is never cached.

What it finds: more than 4 blocks with `"cache_control"` (reported at the fifth), a
`"1h"` breakpoint after a `"5m"` one, and a prompt with no breakpoint at all (only
possible in the `blocks` form: the short form always has one after the stable
prefix).

Example:

    {"file": "prompts/tools.json", "cache_control": "5m"},
    {"file": "prompts/system.md", "cache_control": "1h"}     <- CG110

Fix: use at most 4 breakpoints; order them 1h first, then 5m; put a breakpoint on
the last block of the stable prefix.
"""

from __future__ import annotations

from collections.abc import Iterator

from cache_gate.findings import Problem
from cache_gate.manifest.assemble import AssembledPrompt
from cache_gate.manifest.positions import format_path
from cache_gate.rules.context import LintContext

RULE = "CG110"
MAX_BREAKPOINTS = 4


def check_prompt(prompt: AssembledPrompt, context: LintContext) -> Iterator[Problem]:
    spec = prompt.spec
    manifest = context.manifest
    breakpoints = [spec.blocks[i] for i in spec.breakpoints]
    if not breakpoints:
        yield manifest.problem((*spec.path, "blocks"),
                               'no cache breakpoint ("cache_control") in this prompt: nothing '
                               "of it is cached",
                               hint='Add "cache_control": "5m" (or "1h") to the last block '
                                    "of the stable prefix.")
        return
    if len(breakpoints) > MAX_BREAKPOINTS:
        fifth = breakpoints[MAX_BREAKPOINTS]
        yield manifest.problem((*fifth.path, "cache_control"),
                               f"{len(breakpoints)} cache breakpoints; the API accepts at most "
                               f"{MAX_BREAKPOINTS} per request (this is the "
                               f"{MAX_BREAKPOINTS + 1}th)")
    first_short = next((b for b in breakpoints if b.cache_control == "5m"), None)
    if first_short is None:
        return
    for block in breakpoints[breakpoints.index(first_short) + 1:]:
        if block.cache_control == "1h":
            yield manifest.problem((*block.path, "cache_control"),
                                   "a 1h breakpoint after a 5m one (at "
                                   f"{format_path(first_short.path)}): longer TTLs must "
                                   "come first")
            return
