"""Input data made safe for the place it is printed.

A ledger, a file name or a config is written by someone else; cache-gate prints parts
of it. Two guards, one per level:

- `terminal(field)`: one data field (a path, a prompt id, a workflow name, a message)
  printed among cache-gate's own words. Every code point that steers a terminal, ends
  a line, reorders text or hides is shown as a visible escape (`\\x1b`, `\\n`,
  `\\u202e`), so a field stays one field, on one line, looking like what it is.
- `guard_lines(text, report_format)`: a whole report, line by line as the GitHub
  Actions runner reads it (see `tests/github_runner.py` for its rules). No line the
  runner would execute as a workflow command may come from data: a line whose start,
  past white space, is `::`, and `##[` anywhere (the runner's old syntax), are broken
  with an escape that is valid where they stand. cache-gate's own commands are built
  with `own_command` and pass, unmarked.

Both run on every report: `terminal` where a reporter puts data into text, and
`guard_lines` where a report leaves the process (stdout, `--output`, `--report`, the
step summary), so a reporter that forgets a field still cannot steer the runner.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Callable

_SHORT_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# Controls (C0, DEL, C1), format characters (bidi overrides and isolates, zero-width
# characters, soft hyphen, BOM, tags), line and paragraph separators, and surrogates
# (undecodable bytes of a file name, which no terminal can print).
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})
# Code points that display as nothing although they are not format characters
# (Unicode's Default_Ignorable_Code_Point): ICU's comparison, which the runner uses,
# skips them too.
_OTHER_IGNORABLE = re.compile(
    "[\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u3164\ufe00-\ufe0f\uffa0"
    "\U000e0100-\U000e01ef]")
# The runner splits output at LF, CR and CRLF only (StreamReader.ReadLine).
_LINE = re.compile(r"([^\r\n]*)(\r\n|\r|\n|\Z)")
# What .NET's TrimStart removes (char.IsWhiteSpace), with Python's white space too.
_WHITESPACE = frozenset(
    "\t\n\v\f\r \x1c\x1d\x1e\x1f\x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000"
    + "".join(chr(code) for code in range(0x2000, 0x200B)))
_WHITESPACE_TEXT = "".join(_WHITESPACE)

# A line cache-gate itself means as a workflow command starts with this mark, which
# `guard_lines` removes. It is new in every process: no input can carry it (16 bytes of
# os.urandom, as `secrets.token_hex` takes them, without importing `secrets` and `hmac`).
_OWN = f"\x00cache-gate-command-{os.urandom(16).hex()}\x00"


def _escape(character: str) -> str:
    if character in _SHORT_ESCAPES:
        return _SHORT_ESCAPES[character]
    code = ord(character)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def _hidden(character: str) -> bool:
    return (unicodedata.category(character) in _HIDDEN_CATEGORIES
            or _OTHER_IGNORABLE.fullmatch(character) is not None)


def terminal(field: str) -> str:
    """One data field for a terminal or a CI log: every control, line or paragraph
    separator, format (bidi, zero-width) or other invisible code point as a visible
    escape. Backslashes stay as they are: the escapes are for the eye, not to decode."""
    if field.isprintable() and not _OTHER_IGNORABLE.search(field):
        return field
    return "".join(_escape(c) if _hidden(c) else c for c in field)


def own_command(line: str) -> str:
    """Mark `line` as a workflow command cache-gate itself emits (an annotation), for
    `guard_lines` to let through. `line` must hold no line break: data in it is
    escaped by the command's own rules (`%0A`) before it gets here."""
    if "\n" in line or "\r" in line:
        raise ValueError("a workflow command is one line")
    return _OWN + line


# How `:` and `[` are written where a guard must break `::` or `##[`: in JSON strings
# a `\\u` escape (the parsed value is unchanged), in XML a character reference, and in
# text (terminal, Markdown) the same visible escape as `terminal` uses.
def _json(character: str) -> str:
    return f"\\u{ord(character):04x}"


def _xml(character: str) -> str:
    return f"&#{ord(character)};"


_ESCAPES: dict[str, Callable[[str], str]] = {
    "json": _json, "sarif": _json, "gitlab": _json, "junit": _xml, "html": _xml}


def _skippable(character: str) -> bool:
    return character in _WHITESPACE or _hidden(character)


def _break_old_syntax(line: str, escape: Callable[[str], str]) -> str:
    """`##[` anywhere in the line, with invisible code points between its characters
    too (the runner compares with ICU), broken at its `[`: that cannot make a new one."""
    if "##[" not in line and line.isprintable() and not _OTHER_IGNORABLE.search(line):
        return line
    characters = list(line)
    visible = [i for i, c in enumerate(characters) if not _hidden(c)]
    for k in range(2, len(visible)):
        if (characters[visible[k]] == "[" and characters[visible[k - 1]] == "#"
                and characters[visible[k - 2]] == "#"):
            characters[visible[k]] = escape("[")
    return "".join(characters)


def _break_new_syntax(line: str, escape: Callable[[str], str]) -> str:
    """`::` at the start of the line, past white space and invisible code points,
    broken at its first `:`."""
    first = line.lstrip(_WHITESPACE_TEXT)[:1]
    if first and first != ":" and not _hidden(first):
        return line  # the common case, decided by one character
    start = next((i for i, c in enumerate(line) if not _skippable(c)), None)
    if start is None or line[start] != ":":
        return line
    following = next((c for c in line[start + 1:] if not _hidden(c)), "")
    if following != ":":
        return line
    return line[:start] + escape(":") + line[start + 1:]


def _disarm(line: str, escape: Callable[[str], str]) -> str:
    """`line` with no workflow command the runner could read in it."""
    if "#" in line and "[" in line:
        line = _break_old_syntax(line, escape)
    return _break_new_syntax(line, escape)


def guard_lines(text: str, report_format: str = "text") -> str:
    """`text` as printed: cache-gate's own commands (see `own_command`) unmarked, and
    every other line the runner would read as a workflow command broken, in the
    syntax of `report_format`."""
    escape = _ESCAPES.get(report_format, _escape)
    guarded = []
    for match in _LINE.finditer(text):
        line, end = match.groups()
        if not line and not end:
            break
        if line.startswith(_OWN):
            guarded.append(line[len(_OWN):] + end)
        else:
            guarded.append(_disarm(line, escape) + end)
    return "".join(guarded)
