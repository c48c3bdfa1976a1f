"""CG107 whitespace-hazard: bytes that editors, git and tools change without anyone seeing.

Caching needs byte-identical prefixes, and the bytes people cannot see are the ones
that drift: git's `core.autocrlf` turns LF into CRLF on one machine and not on
another, an editor adds or drops a byte order mark, strips trailing spaces, converts
tabs, or normalises Unicode; a copied zero-width space travels unseen.

**Errors** (they differ between checkouts and tools):

- CRLF line endings, mixed line endings, a lone CR;
- a UTF-8 byte order mark (BOM) at the start of a file;
- invisible characters: zero-width spaces and joiners, word joiners, soft hyphens,
  bidirectional controls, a BOM inside the text, invisible separators, Hangul fillers,
  tag characters, line/paragraph separators (U+2028/U+2029) and control characters.

**Warnings** (editors change them): trailing spaces or tabs, indentation mixing tabs
and spaces (on one line, or tab-indented lines in a space-indented file), text not in
Unicode NFC form (`e` + U+0301 instead of `é`).

Not reported: an emoji's variation selector (`⚖️`, `1️⃣`), a zero-width joiner
inside an emoji sequence (`👨‍👩‍👧`) or between letters of scripts that need it
(Persian, Indic), flag tag sequences, and anything in dynamic blocks. Repeats in one
file are reported once, at the first line, with the count and the next lines.

Example:

    system-prefix.md saved with CRLF line endings    <- CG107 error

Fix: `cache-gate lint --fix` rewrites line endings to LF, removes the BOM, trailing
whitespace and invisible characters (not tabs or NFC, which need a person to
decide); add a `.gitattributes` line such as `*.md text eol=lf` so checkouts agree.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

from cache_gate.findings import Problem, Severity
from cache_gate.manifest.assemble import Part
from cache_gate.rules.context import LintContext, TextScope

RULE = "CG107"

_INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2028\u2029\u2060-\u2064\u2066-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff9-\ufffb"
    "\U000e0000-\U000e007f\U000e0100-\U000e01ef"
    "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]"
)
_TRAILING = re.compile(r"[ \t]+(?=\r?\n|\r|\Z)")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_TAB_INDENT = re.compile(r"^\t+(?=[^\s])", re.MULTILINE)
_SPACE_INDENT = re.compile(r"^ +(?=[^\s])", re.MULTILINE)
_MIXED_INDENT = re.compile(r"^(?: +\t|\t+ )[ \t]*(?=[^\s])", re.MULTILINE)
_EMOJI_KEYCAP = "0123456789#*"

# Characters removed by --fix (the others need a person: see the module docs).
FIXABLE_INVISIBLE = re.compile(
    "[\u00ad\u034f\u115f\u1160\u180e\u200b-\u200d\u2060-\u2064\u3164\ufe00-\ufe0f\ufeff"
    "\uffa0\U000e0000-\U000e007f]"
)


def _visible_base(text: str, index: int) -> str:
    return text[index - 1] if index > 0 else ""


def is_hazard(text: str, index: int) -> bool:
    """Whether the invisible character at `index` is a hazard rather than part of a
    legitimate sequence (emoji presentation, emoji ZWJ sequence, script joiner, flag tags).
    """
    char = text[index]
    before = _visible_base(text, index)
    after = text[index + 1] if index + 1 < len(text) else ""
    if "\ufe00" <= char <= "\ufe0f" or "\U000e0100" <= char <= "\U000e01ef":
        # Variation selector: fine after a symbol or ideograph (⚖️, 葛󠄀), or a keycap base.
        if before in _EMOJI_KEYCAP:
            return after != "\u20e3"
        return not before or before.isascii() or before.isspace() or bool(
            _INVISIBLE.match(before))
    if char in "\u200c\u200d":
        # Joiners: fine between two non-ASCII visible characters (emoji, Indic, Persian).
        return not (before and after and not before.isascii() and not after.isascii()
                    and not before.isspace() and not after.isspace())
    if "\U000e0020" <= char <= "\U000e007f":
        # Tag characters: fine in a flag sequence (black flag, tags, cancel tag).
        return not re.search("\U0001f3f4[\U000e0020-\U000e007e]*$", text[max(0, index - 8):index])
    return True


def _describe(char: str) -> str:
    name = unicodedata.name(char, "")
    if not name:
        name = {"\x7f": "DELETE"}.get(char, "CONTROL CHARACTER")
    return f"U+{ord(char):04X} {name}"


def _line_endings(part: Part) -> Iterator[Problem]:
    text = part.text
    crlf = text.count("\r\n")
    lone_cr = text.count("\r") - crlf
    if not crlf and not lone_cr:
        return
    lf = text.count("\n") - crlf
    for match in re.finditer(r"\r\n?", text):
        line = part.line_at(match.start())
        if match.group() == "\r":
            yield Problem("carriage return without a line feed (old Mac line ending)",
                          line=line, group="lone-cr", key="lone CR")
        elif lf:
            yield Problem(f"mixed line endings: CRLF here, LF on {lf} other lines", line=line,
                          group="crlf", key="mixed line endings")
        else:
            yield Problem("CRLF line endings: a checkout with another core.autocrlf "
                          "setting sends other bytes", line=line, group="crlf",
                          key="CRLF line endings")


def _invisible(part: Part) -> Iterator[Problem]:
    text = part.text
    pattern = _CONTROL if text.isascii() else _INVISIBLE
    for match in pattern.finditer(text):
        index = match.start()
        if index == 0 and text[0] == "\ufeff" and part.is_file:
            yield Problem("UTF-8 byte order mark (BOM) at the start of the file: editors "
                          "and tools add or drop it", line=1, key="BOM")
            continue
        if not is_hazard(text, index):
            continue
        what = _describe(match.group())
        yield Problem(f"invisible character {what}", line=part.line_at(index),
                      group="invisible", key=f"invisible {what}")


def _has_trailing_whitespace(text: str) -> bool:
    """A cheap test first: most files have none."""
    return (text.endswith((" ", "\t")) or " \n" in text or "\t\n" in text or " \r" in text
            or "\t\r" in text)


def _non_nfc(part: Part) -> Iterator[Problem]:
    text = part.text
    if text.isascii() or unicodedata.is_normalized("NFC", text):
        return
    for number, line in enumerate(text.split("\n"), start=1):
        if not unicodedata.is_normalized("NFC", line):
            yield Problem("text not in Unicode NFC form: tools that normalise it send "
                          "other bytes", line=number, severity=Severity.WARNING,
                          group="nfc", key="not NFC")


def _warnings(part: Part) -> Iterator[Problem]:
    text = part.text
    if _has_trailing_whitespace(text):
        for match in _TRAILING.finditer(text):
            yield Problem("trailing whitespace: editors strip it",
                          line=part.line_at(match.start()), severity=Severity.WARNING,
                          group="trailing", key="trailing whitespace")
    if "\t" not in text:
        return  # no tabs, no tab/space mix
    for match in _MIXED_INDENT.finditer(text):
        yield Problem("indentation mixes tabs and spaces: editors convert one to the other",
                      line=part.line_at(match.start()), severity=Severity.WARNING,
                      group="mixed-indent", key="mixed indentation")
    tabs = _TAB_INDENT.findall(text)
    if tabs:
        spaces = _SPACE_INDENT.findall(text)
        if spaces:
            minority, other = ((_TAB_INDENT, "spaces") if len(tabs) <= len(spaces)
                               else (_SPACE_INDENT, "tabs"))
            for match in minority.finditer(text):
                yield Problem(f"indented differently from the rest of the file ({other}): "
                              "editors convert one to the other",
                              line=part.line_at(match.start()), severity=Severity.WARNING,
                              group="indent-style", key="indentation style")


def check_text(part: Part, scope: TextScope, context: LintContext) -> Iterator[Problem]:
    yield from _line_endings(part)
    yield from _invisible(part)
    yield from _warnings(part)
    yield from _non_nfc(part)
