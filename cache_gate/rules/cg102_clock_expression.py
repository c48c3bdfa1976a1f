"""CG102 clock-expression: a template or code expression that renders the current time.

A stable block that a template engine or format string fills in is only stable if
nothing in it depends on the clock. `{{ now }}` renders a new prefix every second,
day or request, and nothing cached is ever read again.

What it finds, in stable blocks that are not `verbatim`:

- template tags: `{{ now }}`, `{{ today }}`, `{{ current_date }}`, `{{ 'now' | date }}`,
  `{% now "Y-m-d" %}`, `<%= Time.now %>`;
- format fields: `{date}`, `{now:%Y-%m-%d}`, `%(timestamp)s`;
- shell: `$(date)`, `` `date +%F` ``, `${EPOCHSECONDS}`, `%DATE%`;
- code: `datetime.now()`, `datetime.utcnow()`, `date.today()`, `time.time()`,
  `Date.now()`, `new Date()`, `Time.now`, `DateTime.Now`, `Instant.now()`,
  `time.Now()`, `NOW()`, `CURRENT_TIMESTAMP`;
- strftime patterns of two or more directives: `%Y-%m-%d`, `%H:%M:%S`, `%d/%m/%Y`.

A block marked `"verbatim": true` is sent byte for byte, so the same text there is a
literal (a code sample), not an expression; render output is already rendered, and
is checked for the dates it printed instead (CG101).

Example:

    You are the reviewer. Today is {{ now | date("%Y-%m-%d") }}.   <- CG102

Fix: render the clock into the dynamic suffix (after the last cache breakpoint). If
the text is a literal code sample, mark the block `"verbatim": true`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from cache_gate.findings import Problem
from cache_gate.manifest.assemble import Part
from cache_gate.rules.context import LintContext, TextScope
from cache_gate.rules.scanning import windowed_matches

RULE = "CG102"

# Placeholder names that mean the clock (CG103 leaves these to this rule).
CLOCK_NAMES = frozenset({
    "now", "today", "date", "time", "datetime", "timestamp", "utcnow", "current_date",
    "current_time", "current_datetime", "current_timestamp", "currentdate", "currenttime",
    "date_now", "time_now", "todays_date", "today_date", "epoch",
})
_NAMES = "|".join(sorted(CLOCK_NAMES, key=len, reverse=True))
_DIRECTIVE = r"%[YmdHMSIyjbBaApZzFTe]"

# Template, format-string and shell forms all start with one of a few characters,
# which keeps this pattern fast on large text (so look-behinds come after the first
# character, never before it).
_TEMPLATE = re.compile(
    r"\{\{-?\s*(?:" + _NAMES + r")\b[^{}\n]*\}\}"
    r"|\{\{[^{}\n]*?(?:\|\s*date\b|\bnow\(\)|['\"]now['\"])[^{}\n]*\}\}"
    r"|\{%-?\s*now\b[^%\n]*%\}"
    r"|<%[=-]?[^%\n]*\b(?:Time\.now|Date\.today|DateTime\.now)\b[^%\n]*%>"
    r"|\{(?<![{$\\A-Za-z0-9]\{)(?:" + _NAMES + r")(?::[^{}\n]*)?\}(?!\})"
    r"|%\((?:" + _NAMES + r")\)[sdif]"
    r"|" + _DIRECTIVE + r"(?:[-/.:, T_]{0,3}" + _DIRECTIVE + r")+"
    r"|%(?:DATE|TIME)%"
    r"|\$\(\s*date\b[^)\n]*\)|`date\s+[-+][^`\n]*`|\$\{?(?:EPOCHSECONDS|EPOCHREALTIME)\b\}?"
)
# Calls that read the clock, in the languages prompts are built with.
_CALL = re.compile(
    r"\b(?:datetime\.)?datetime\.(?:now|utcnow|today)\s*\("
    r"|\bdate\.today\s*\(|\btime\.(?:time|time_ns|localtime|gmtime|ctime)\s*\(\s*\)"
    r"|\bDate\.(?:now\s*\(|today\b)|\bnew\s+Date\s*\(\s*\)|\bTime\.now\b"
    r"|\bDateTime(?:Offset)?\.(?:Now|UtcNow|Today)\b|\b(?:Instant|LocalDate|LocalDateTime|"
    r"ZonedDateTime|OffsetDateTime)\.now\s*\(|\btime\.Now\s*\(|\bSystem\.currentTimeMillis\b"
    r"|\b(?:moment|dayjs)\s*\(\s*\)|\b(?:arrow|pendulum)\.(?:now|utcnow)\s*\("
    r"|\b(?:NOW|GETDATE|SYSDATE|CURDATE|CURTIME)\s*\(\s*\)|\bCURRENT_(?:TIMESTAMP|DATE|TIME)\b"
)
# Every call contains one of these; _CALL runs only around them.
_CALL_ANCHOR = re.compile(r"\.(?:now|utcnow|today|Now|UtcNow|Today|time|time_ns|localtime|"
                          r"gmtime|ctime|currentTimeMillis)\b|Date\s*\(|moment|dayjs|"
                          r"NOW|DATE|CURTIME|CURRENT_")


def is_clock_placeholder(name: str) -> bool:
    return name.strip().lower() in CLOCK_NAMES


def check_text(part: Part, scope: TextScope, context: LintContext) -> Iterator[Problem]:
    if scope.verbatim or scope.rendered:
        return
    text = part.text
    matches = [*_TEMPLATE.finditer(text),
               *windowed_matches(_CALL, _CALL_ANCHOR, text, before=40, after=40)]
    last_end = -1
    for match in sorted(matches, key=lambda m: m.start()):
        if match.start() < last_end:
            continue  # inside an expression already reported (<%= Time.now %>)
        last_end = match.end()
        expression = match.group()
        yield Problem(f"clock expression {expression!r} in a stable block: it renders a "
                      "different prefix as time passes, so the cache is never read",
                      line=part.line_at(match.start()), key=expression)
