"""`lint --fix`: normalise what is safe to change mechanically in stable-prefix files.

Only CG107's mechanical part: line endings to LF, the byte order mark, trailing
whitespace, and invisible characters that are hazards (not an emoji's variation
selector or joiner). Tabs and Unicode normalisation are left to a person. Lines
with a `cache-gate: ignore[CG107]` comment are left as they are. Files are written
atomically (a temporary file in the same directory, then os.replace), keeping their
permissions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from cache_gate.atomic import replace_atomically
from cache_gate.manifest.assemble import Part
from cache_gate.rules.cg107_whitespace_hazard import FIXABLE_INVISIBLE, is_hazard

_TRAILING = re.compile(r"[ \t]+$")


@dataclass
class FixResult:
    display: str
    changes: list[str] = field(default_factory=list)
    error: str | None = None


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'s' * (count != 1)}"


def fixed_text(text: str, keep_lines: frozenset[int]) -> tuple[str, list[str]]:
    """The normalised text and a description of each kind of change made."""
    changes = []
    if text.startswith("\ufeff") and 1 not in keep_lines:
        text = text[1:]
        changes.append("removed the byte order mark")
    lines = text.split("\n")
    endings = trailing = invisible = 0
    removed: set[str] = set()
    for number, line in enumerate(lines, start=1):
        if number in keep_lines:
            continue
        if "\r" in line:
            ends_crlf = line.endswith("\r")
            line = line[:-1] if ends_crlf else line
            endings += ends_crlf + line.count("\r")
            line = line.replace("\r", "\n")
        stripped = "\n".join(_TRAILING.sub("", piece) for piece in line.split("\n"))
        trailing += stripped != line
        line = stripped
        kept = []
        for index, char in enumerate(line):
            if FIXABLE_INVISIBLE.match(char) and is_hazard(line, index):
                invisible += 1
                removed.add(f"U+{ord(char):04X}")
                continue
            kept.append(char)
        lines[number - 1] = "".join(kept) if len(kept) != len(line) else line
    if endings:
        changes.append(f"line endings to LF ({_plural(endings, 'line')})")
    if trailing:
        changes.append(f"removed trailing whitespace ({_plural(trailing, 'line')})")
    if invisible:
        changes.append(f"removed {_plural(invisible, 'invisible character')} "
                       f"({', '.join(sorted(removed))})")
    return "\n".join(lines), changes


def fix_part(part: Part, real: Path, keep_lines: frozenset[int]) -> FixResult:
    """Rewrite one prompt file in place when there is anything to normalise."""
    result = FixResult(part.display)
    if part.decode_error:
        return result
    text, result.changes = fixed_text(part.text, keep_lines)
    if not result.changes:
        return result
    try:
        replace_atomically(real, text.encode("utf-8"))
    except OSError as exc:
        result.error = f"cannot write it: {exc.strerror}"
    return result
