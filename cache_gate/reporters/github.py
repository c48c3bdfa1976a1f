"""`--format github`: the text report plus workflow commands that GitHub Actions turns
into annotations on the pull request's diff, and a Markdown job summary.

Chosen automatically when GITHUB_ACTIONS=true and no --format is given.

GitHub shows at most 10 error, 10 warning and 10 notice annotations a step (and 50 a
job; actions/toolkit `docs/problem-matchers.md`, "Limitations"); the rest are
dropped silently. So annotations come errors first, then warnings, then notices, each
cut to what GitHub shows, and a last notice says how many of each were not shown (the
text report above them lists every finding).
"""

from __future__ import annotations

import os
from pathlib import Path

from cache_gate.errors import InputError
from cache_gate.findings import Cut, Finding, Result, Severity, cut
from cache_gate.inputs import input_at
from cache_gate.reporters import RenderContext, markdown, text
from cache_gate.reporters.locations import repository_path
from cache_gate.reporters.neutralise import guard_lines, own_command, terminal

_COMMANDS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}
# Annotations of each kind GitHub shows for one step.
ANNOTATIONS_PER_KIND = 10


def escape_data(value: str) -> str:
    """A workflow command's message: %, CR and LF are escaped (GitHub's toolkit rules)."""
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    """A workflow command's property value: as data, plus ':' and ','."""
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def annotation(finding: Finding) -> str:
    """The workflow command for one finding, marked as cache-gate's own (print it
    through `guard_lines`, which removes the mark)."""
    properties = []
    # The real path, escaped for the command only: GitHub must find the file.
    path = repository_path(finding.path)
    if path:
        properties.append(f"file={escape_property(path)}")
        if finding.line:
            properties.append(f"line={finding.line}")
    properties.append(f"title={escape_property(f'{finding.rule} {finding.name}')}")
    message = terminal(finding.message)
    if finding.prompt_id:
        message = f"[prompt {terminal(finding.prompt_id)}] {message}"
    if finding.hint:
        message += f"\nFix: {terminal(finding.hint)}"
    return own_command(
        f"::{_COMMANDS[finding.severity]} {','.join(properties)}::{escape_data(message)}")


def shown(findings: list[Finding]) -> tuple[list[Finding], Cut]:
    """The findings GitHub will show as annotations, errors first, and what was cut."""
    by_kind = {severity: cut([f for f in findings if f.severity is severity],
                             ANNOTATIONS_PER_KIND)
               for severity in (Severity.ERROR, Severity.WARNING, Severity.INFO)}
    if any(kind.left_out for kind in by_kind.values()):
        # The notice that says what was cut is a notice too: keep a place for it.
        by_kind[Severity.INFO] = cut([f for f in findings if f.severity is Severity.INFO],
                                     ANNOTATIONS_PER_KIND - 1)
    left_out = {severity: count for kind in by_kind.values()
                for severity, count in kind.left_out.items()}
    return [f for kind in by_kind.values() for f in kind.shown], Cut([], left_out)


def _left_out_notice(left_out: Cut) -> str:
    message = (f"{left_out.describe_left_out()} not shown as annotations: GitHub shows "
               f"{ANNOTATIONS_PER_KIND} of each kind a step, most severe first. The log "
               "above lists every finding (--format json too).")
    return own_command(f"::notice title=cache-gate::{escape_data(message)}")


def render(result: Result, context: RenderContext) -> str:
    annotated, left_out = shown(result.findings)
    commands = [annotation(finding) for finding in annotated]
    if left_out.left_out_total:
        commands.append(_left_out_notice(left_out))
    return text.render(result, context) + "".join(line + "\n" for line in commands)


def write_step_summary(result: Result, context: RenderContext) -> Path | None:
    """Append the Markdown summary to $GITHUB_STEP_SUMMARY, when the runner set it."""
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return None
    path = Path(target)
    read = input_at(path)
    if read is not None:
        raise InputError(f"refusing to append the job summary to $GITHUB_STEP_SUMMARY "
                         f"({target}): it is an input of this run ({read})")
    try:
        # backslashreplace: an undecodable file name must not stop the summary.
        with path.open("a", encoding="utf-8", errors="backslashreplace") as summary:
            summary.write(guard_lines(markdown.render(result, context), "markdown") + "\n")
    except OSError as exc:
        raise InputError(f"cannot append the job summary to $GITHUB_STEP_SUMMARY "
                         f"({target}): {exc.strerror or exc}") from None
    return path
