"""CG112 nondeterministic-render: the render command printed different bytes on different runs.

Files in the manifest are only half the story: the application builds the prefix
in code, and code picks up the clock, the time zone, the locale, the working
directory and hash order without anyone asking. A prompt's optional `render`
(`{"command": ["python", "scripts/render_prompt.py", "reviewer"], "runs": 3}`)
names a command that prints the stable prefix as the application builds it.
cache-gate runs it `runs` times (default 3, at most 10), varying the clock (with
libfaketime, where `libfaketime.so.1` is installed; a note says when it is not),
`TZ`, `PYTHONHASHSEED`, the locale and the working directory, and compares the
outputs byte for byte. The output of the first run is then linted like
any stable prefix (dates in it are CG101 errors).

What it finds: outputs that differ, with the first differing byte offset and
output line, both versions of the text there, and the cause when one factor alone
reproduces it (one more run per factor: `it changes with clock`, `it changes with
PYTHONHASHSEED (hash order)`); a command that fails, times out
(`render.timeout`, else the `render-timeout` setting, default 10 s) or prints more
than 8 MiB. The command is an argument list run without a shell; relative
arguments naming repository files are made absolute, so it runs from any working
directory. The runs (of every prompt) are started together, at most four at a
time, so a command that writes a file must not share it with another run (write to
a temporary file, or print). `--no-render` skips all of this.

Example:

    render output differs between runs at byte 1,207 (output line 31): '…oday is
    2025-11-26…' vs '…oday is 2031-07-14…'; it changes with clock     <- CG112

Fix: remove the clock, randomness, hash order (iterate sorted, not over sets) and
environment from the rendered prefix, or move what must vary after the last cache
breakpoint.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from cache_gate.findings import Problem
from cache_gate.manifest.spec import PromptSpec
from cache_gate.rules.context import LintContext

if TYPE_CHECKING:  # the runner (subprocess, selectors, ctypes) only when there is a render
    from cache_gate.manifest.render import RenderReport

RULE = "CG112"
SNIPPET = 24


def _snippet(data: bytes, offset: int) -> str:
    start = max(0, offset - SNIPPET)
    text = data[start:offset + SNIPPET].decode("utf-8", "replace")
    lead = "…" if start else ""
    tail = "…" if offset + SNIPPET < len(data) else ""
    return repr(f"{lead}{text}{tail}")


def check_render(prompt: PromptSpec, report: RenderReport,
                 context: LintContext) -> Iterator[Problem]:
    assert prompt.render is not None
    pointer = (*prompt.render.path, "command")
    failed = report.failure
    if failed is not None:
        hint = None
        if failed.conditions.cwd != "repository" and len(report.outputs) > 1:
            hint = ("The command fails outside the repository directory: read files "
                    "relative to the script (Path(__file__).parent) or to the repository "
                    "root, so the prompt does not depend on the working directory.")
        yield context.manifest.problem(
            pointer, f"render command failed on run {len(report.outputs)} "
            f"({failed.conditions.describe()}): {failed.error}", hint=hint,
            key="render failed")
        return
    difference = report.first_difference
    if difference is None:
        return
    base, other, offset = difference
    line = base.stdout.count(b"\n", 0, offset) + 1
    if report.unstable_alone:
        cause = ("it differs even when run again under the same conditions (randomness, or "
                 "time passing)")
    elif report.causes:
        cause = f"it changes with {', '.join(report.causes)}"
    else:
        varied = ", ".join(base.conditions.differences(other.conditions))
        cause = f"it changes when {varied} change together"
    yield context.manifest.problem(
        pointer, f"render output differs between runs at byte {offset:,} (output line "
        f"{line}): {_snippet(base.stdout, offset)} vs {_snippet(other.stdout, offset)}; "
        f"{cause}", key="render differs")
