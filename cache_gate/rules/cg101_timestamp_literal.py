"""CG101 timestamp-literal: a concrete date or time in a stable prefix.

The provider caches the exact bytes of the stable prefix. A date in it is harmless
while it never changes (an example in the instructions), and fatal when something
writes it: a generator that stamps "Generated on 2025-11-26" changes the prefix
every day, and every cached copy with it.

What it finds: ISO-8601 dates and date-times (`2025-11-26`, `2025-11-26T09:30:00Z`,
`20251126T093000Z`), RFC 2822 (`Wed, 26 Nov 2025 09:30:00 +0000`), written dates
(`November 26, 2025`, `26 Nov 2025`, `Wednesday, 26th of November 2025`), numeric
dates (`11/26/2025`, `26.11.2025`, `2025/11/26`) and clock times with seconds or a
zone (`09:30:00`, `9:30 pm`, `09:30 UTC`).

Severity: **error** when the date is today's (local or UTC: something wrote it
today) or when it appears in a render command's output (CG112's run prints what the
application sends); **warning** for any other date (a fixed example).

Not reported: version numbers (`v10.0`, `2025.11.26` CalVer), dates inside names
(`gpt-4o-2024-08-06`, `logs/2025-11-26.log`), ranges such as `70-89` or `1-2`, a
month and year without a day (`January 2025`), and dates in dynamic blocks.

Example:

    # Reviewer
    Generated on 2025-11-26 by the prompt builder.   <- CG101 (error on that day)

Fix: move the date after the last cache breakpoint (into a dynamic block), or drop
it. For a fixed example date that must stay, add `cache-gate: ignore[CG101]` on its
line.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

from cache_gate.findings import Problem, Severity
from cache_gate.manifest.assemble import Part
from cache_gate.rules.context import LintContext, TextScope
from cache_gate.rules.scanning import windowed_matches

RULE = "CG101"

_MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
    "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}
_MONTH = (r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|"
          r"Aug(?:ust)?|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)")
_WEEKDAY = (r"(?:Mon(?:day)?|Tue(?:s(?:day)?)?|Wed(?:nesday)?|Thu(?:rs(?:day)?)?|"
            r"Fri(?:day)?|Sat(?:urday)?|Sun(?:day)?)")
_YEAR = r"(?:19|20|21)\d\d"
_ZONE = r"(?:\s?(?:[+-][01]\d:?[0-5]\d|Z\b|UTC\b|GMT\b|UT\b|[ECMP][SD]T\b))"
_CLOCK = r"(?:[01]?\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:[.,]\d+)?)?(?:\s?[AaPp]\.?[Mm]\.?)?"

_DATE = re.compile(
    # ISO-8601 extended, with an optional time.
    r"(?<![\w.:/-])(?P<iso>(?P<iy>" + _YEAR + r")-(?P<im>0[1-9]|1[0-2])-"
    r"(?P<id>0[1-9]|[12]\d|3[01])(?:[T ](?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:[.,]\d+)?)?"
    r"(?:Z|[+-][01]\d:?[0-5]\d)?)?)(?![\w-]|\.\w)"
    # ISO-8601 basic date-time.
    r"|(?<![\w.:/-])(?P<basic>(?P<by>" + _YEAR + r")(?P<bm>0[1-9]|1[0-2])"
    r"(?P<bd>0[1-9]|[12]\d|3[01])T[0-2]\d[0-5]\d(?:[0-5]\d)?Z?)(?![\w-])"
    # Written, month first: "November 26, 2025", "Wed, Nov 26 2025 09:30 UTC".
    r"|(?P<mdy>(?:" + _WEEKDAY + r",?\s+)?\b(?P<mm>" + _MONTH + r")\.?\s+"
    r"(?P<md>[0-3]?\d)(?:st|nd|rd|th)?,?\s+(?P<my>" + _YEAR + r")\b"
    r"(?:,?\s+(?:at\s+)?" + _CLOCK + _ZONE + r"?)?)"
    # Written, day first: "26 Nov 2025", "Wed, 26 Nov 2025 09:30:00 +0000" (RFC 2822).
    r"|(?P<dmy>(?:\b" + _WEEKDAY + r",?\s+)?(?<![\w.:/-])(?P<dd>[0-3]?\d)(?:st|nd|rd|th)?"
    r"\s+(?:of\s+)?"
    r"(?P<dm>" + _MONTH + r")\.?,?\s+(?P<dy>" + _YEAR + r")\b"
    r"(?:,?\s+(?:at\s+)?" + _CLOCK + _ZONE + r"?)?)"
    # Numeric: 11/26/2025, 26/11/2025, 26.11.2025 (two-digit day and month when
    # dotted, so that version numbers such as 1.2.2024 stay out), 2025/11/26.
    r"|(?<![\w./-])(?P<num>(?P<n1>[0-3]?\d)/(?P<n2>[0-3]?\d)/(?P<ny>" + _YEAR + r"))"
    r"(?![\w/]|\.\d)"
    r"|(?<![\w./-])(?P<dot>(?P<e1>[0-3]\d)\.(?P<e2>[01]\d)\.(?P<ey>" + _YEAR + r"))"
    r"(?![\w/]|\.\d)"
    r"|(?<![\w./-])(?P<ymd>(?P<sy>" + _YEAR + r")/(?P<sm>[01]?\d)/(?P<sd>[0-3]?\d))(?![\w/])"
    # A clock time with seconds, a meridiem or a zone.
    r"|(?<![\w:.])(?P<time>(?:[01]?\d|2[0-3]):[0-5]\d:[0-5]\d(?:[.,]\d+)?"
    + _ZONE + r"?|(?:0?\d|1[0-2]):[0-5]\d\s?[AaPp]\.?[Mm]\.?(?!\w)"
    r"|(?:[01]?\d|2[0-3]):[0-5]\d\s?(?:UTC|GMT|Z)\b)(?![\w:])"
)


# Every date has a year, every time has digits around a colon (two patterns: each
# starts with something rare, which the regex engine finds fast).
_ANCHORS = [re.compile(r"(?:19|20|21)\d\d"), re.compile(r":(?<=\d:)[0-5]\d")]


def _date(year: str, month: str | int, day: str) -> dt.date | None:
    try:
        number = month if isinstance(month, int) else int(month)
        return dt.date(int(year), number, int(day))
    except ValueError:
        return None


def _dates(match: re.Match[str]) -> list[dt.date] | None:
    """The calendar dates a match can mean (numeric dates are ambiguous); None: a time."""
    group = match.lastgroup
    if group == "iso":
        return [d for d in [_date(match["iy"], match["im"], match["id"])] if d]
    if group == "basic":
        return [d for d in [_date(match["by"], match["bm"], match["bd"])] if d]
    if group == "mdy":
        return [d for d in [_date(match["my"], _MONTHS[match["mm"][:3].lower()],
                                  match["md"])] if d]
    if group == "dmy":
        return [d for d in [_date(match["dy"], _MONTHS[match["dm"][:3].lower()],
                                  match["dd"])] if d]
    if group == "num":
        readings = [_date(match["ny"], match["n1"], match["n2"]),
                    _date(match["ny"], match["n2"], match["n1"])]
        return [d for d in readings if d]
    if group == "dot":
        return [d for d in [_date(match["ey"], match["e2"], match["e1"])] if d]
    if group == "ymd":
        return [d for d in [_date(match["sy"], match["sm"], match["sd"])] if d]
    return None


def check_text(part: Part, scope: TextScope, context: LintContext) -> Iterator[Problem]:
    text = part.text
    for match in windowed_matches(_DATE, _ANCHORS, text, before=60, after=60):
        literal = match.group().strip()
        dates = _dates(match)
        if dates is not None and not dates:
            continue  # 2025-02-30: digits that look like a date but are none
        line = part.line_at(match.start())
        kind = "time" if dates is None else "date"
        if scope.rendered:
            yield Problem(f"{kind} '{literal}' in the render output: the rendered prefix "
                          f"changes whenever the {kind} does", line=line,
                          severity=Severity.ERROR, key=literal)
        elif dates and context.today.intersection(dates):
            yield Problem(f"today's date '{literal}' in the stable prefix: something wrote "
                          "it today, and the prefix (with every cached copy) changes "
                          "tomorrow", line=line, severity=Severity.ERROR, key=literal)
        else:
            yield Problem(f"{kind} '{literal}' in the stable prefix: harmless while it is "
                          "a fixed example, a cache miss every time it changes",
                          line=line, severity=Severity.WARNING, key=literal,
                          hint="If it is generated, move it after the last cache "
                               "breakpoint; if it is a fixed example, keep it and add "
                               "`cache-gate: ignore[CG101]` on its line.")
