"""CG105 unordered-include: a glob include without a declared, deterministic order.

A glob such as `docs/rules/*.md` is expanded by the code that builds the prompt,
and directory listings come back in filesystem order: different on another
machine, another filesystem, or after a file is rewritten. The same files in
another order are another prefix, and the cache misses.

What it finds: a block in the stable prefix with `"glob"` and no `"order"`.
cache-gate itself always reads glob matches in lexical order (by path, compared by
code point) for the lock; declaring the order is a promise that the application
does the same.

Not reported: globs in dynamic blocks (after the last breakpoint), blocks with
`"order": "lexical"`.

Example:

    {"role": "system", "glob": "docs/rules/*.md", "cache_control": "1h"}   <- CG105

Fix: declare `"order": "lexical"` on the block, and sort the matches the same way
where the prompt is built (`sorted(glob.glob(...))`, `fs.readdirSync(...).sort()`).
"""

from __future__ import annotations

from collections.abc import Iterator

from cache_gate.findings import Problem
from cache_gate.manifest.assemble import AssembledPrompt
from cache_gate.rules.context import LintContext

RULE = "CG105"


def check_prompt(prompt: AssembledPrompt, context: LintContext) -> Iterator[Problem]:
    for block in prompt.stable_blocks:
        spec = block.spec
        if spec.glob is not None and spec.order is None:
            files = len(block.parts)
            yield context.manifest.problem(
                (*spec.path, "glob"),
                f"glob {spec.glob!r} ({files} file{'s' * (files != 1)}) has no declared "
                "order: the application may join the matches in filesystem order, which "
                "differs between machines")
