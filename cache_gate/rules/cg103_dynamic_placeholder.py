"""CG103 dynamic-placeholder: a template placeholder in a stable block that is not verbatim.

A placeholder is filled per call: if it sits before the last cache breakpoint, the
prefix is only as stable as the value put there (a ticket id, a user name, a file
list), which usually means not at all.

What it finds: `{{x}}`, `{{ x.y | f }}`, `{% if x %}` (Jinja, Mustache, Handlebars,
Liquid), `{x}`, `{x.y}`, `{x!r}`, `{x:>10}` (Python `str.format`, f-strings, Rust,
C#), `${X}`, `${x:-default}` (shell, JavaScript template literals), `%(x)s` (Python
`%`-formatting) and `<%= x %>` (ERB, EJS). Findings on one line are reported
together.

Not reported: blocks marked `"verbatim": true` (sent byte for byte, so braces are
literal: a code sample, a JSON example, an output format to imitate), render output
(already rendered), dynamic blocks, `{}`, `{0-100}`, `{ x }` with spaces, `{a,b}`,
JSON objects, LaTeX arguments such as `\\frac{a}{b}`, and clock placeholders such as
`{date}` (CG102 reports those).

Example:

    You are implementing ticket {TICKET_ID}.   <- CG103

Fix: fill placeholders in the dynamic suffix, after the last cache breakpoint. If
the braces are literal text (for example an output format the model should copy),
mark the block `"verbatim": true`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from cache_gate.findings import Problem
from cache_gate.manifest.assemble import Part
from cache_gate.rules.cg102_clock_expression import is_clock_placeholder
from cache_gate.rules.context import LintContext, TextScope

RULE = "CG103"

# Each alternative starts with a literal character (fast on large text); the
# look-behinds that keep LaTeX and code out come after that first character.
_PLACEHOLDER = re.compile(
    r"\{\{\{?-?\s*(?P<mustache>[^{}\n]+?)\s*-?\}?\}\}"
    r"|\{%-?\s*(?P<statement>[^%\n]+?)\s*-?%\}"
    r"|\$\{(?P<shell>[A-Za-z_][\w.]*)(?:[:\-?+=!][^}\n]*)?\}"
    r"|%\((?P<percent>[A-Za-z_]\w*)\)[#0\- +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]"
    r"|<%[=-]?\s*(?P<erb>[^%\n]+?)\s*-?%>"
    r"|\{(?<![{$\\A-Za-z0-9}]\{)(?P<field>[A-Za-z_][\w.\-]*)(?:\[[^\]\n]*\])?(?:![rsa])?"
    r"(?::[^{}\n]*)?\}(?!\})"
)


def _name(match: re.Match[str]) -> str:
    return next(value for value in match.groups() if value is not None)


def check_text(part: Part, scope: TextScope, context: LintContext) -> Iterator[Problem]:
    if scope.verbatim or scope.rendered:
        return
    text = part.text
    by_line: dict[int, list[str]] = {}
    for match in _PLACEHOLDER.finditer(text):
        name = _name(match)
        if is_clock_placeholder(name.split("|")[0].split("(")[0]):
            continue  # CG102's
        placeholder = match.group()
        placeholders = by_line.setdefault(part.line_at(match.start()), [])
        if placeholder not in placeholders:
            placeholders.append(placeholder)
    for line, placeholders in by_line.items():
        listed = ", ".join(placeholders)
        noun = "placeholder" if len(placeholders) == 1 else "placeholders"
        yield Problem(f"{noun} {listed} in a stable block: the prefix changes with every "
                      "value filled in", line=line, key=listed)
