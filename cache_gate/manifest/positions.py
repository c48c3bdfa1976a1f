"""Where a value sits in a JSON file: JSON path -> 1-based line, for findings in the manifest.

`json.loads` forgets positions, so a second, lazy pass over the (already valid) text
records the line of every value. It runs only when a finding points into the manifest.
"""

from __future__ import annotations

import bisect
import contextlib
import json.decoder
import re
from typing import Any

JsonPath = tuple[str | int, ...]

# The standard library's JSON string scanner (public, but not in the type stubs).
_scanstring: Any = json.decoder.scanstring  # type: ignore[attr-defined]

_IDENTIFIER = re.compile(r"[A-Za-z_$][\w$-]*")
_WHITESPACE = re.compile(r"[ \t\r\n]*")
_SCALAR = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|true|false|null")


def format_path(path: JsonPath) -> str:
    """`prompts[0].blocks[1].file`; the top level is `(top level)`."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _IDENTIFIER.fullmatch(part):
            text += f".{part}" if text else part
        else:
            text += f"[{part!r}]"
    return text or "(top level)"


class JsonPositions:
    """Lines of the values of one JSON document, by JSON path."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._newlines = [m.start() for m in re.finditer("\n", text)]
        self._lines: dict[JsonPath, int] | None = None

    def _line_at(self, offset: int) -> int:
        return bisect.bisect_left(self._newlines, offset) + 1

    def line_of(self, path: JsonPath) -> int | None:
        """The line of the value at `path`, or of its nearest ancestor that exists."""
        if self._lines is None:
            self._lines = {}
            # Not valid JSON after all, or nested too deeply: keep what was found.
            with contextlib.suppress(ValueError, IndexError, RecursionError):
                self._scan_value(self._skip(0), ())
        for end in range(len(path), -1, -1):
            line = self._lines.get(tuple(path[:end]))
            if line is not None:
                return line
        return None

    def _skip(self, offset: int) -> int:
        match = _WHITESPACE.match(self._text, offset)
        return match.end() if match else offset

    def _scan_value(self, offset: int, path: JsonPath) -> int:
        assert self._lines is not None
        self._lines[path] = self._line_at(offset)
        char = self._text[offset]
        if char == "{":
            return self._scan_object(offset + 1, path)
        if char == "[":
            return self._scan_array(offset + 1, path)
        if char == '"':
            end: int = _scanstring(self._text, offset + 1)[1]
            return end
        match = _SCALAR.match(self._text, offset)
        if not match:
            raise ValueError(f"unexpected {char!r} at offset {offset}")
        return match.end()

    def _scan_object(self, offset: int, path: JsonPath) -> int:
        offset = self._skip(offset)
        if self._text[offset] == "}":
            return offset + 1
        while True:
            key, offset = _scanstring(self._text, self._skip(offset) + 1)
            offset = self._skip(offset)  # at ':'
            offset = self._scan_value(self._skip(offset + 1), (*path, key))
            offset = self._skip(offset)
            if self._text[offset] == "}":
                return offset + 1
            offset += 1  # ','

    def _scan_array(self, offset: int, path: JsonPath) -> int:
        offset = self._skip(offset)
        if self._text[offset] == "]":
            return offset + 1
        index = 0
        while True:
            offset = self._skip(self._scan_value(self._skip(offset), (*path, index)))
            if self._text[offset] == "]":
                return offset + 1
            offset += 1
            index += 1
