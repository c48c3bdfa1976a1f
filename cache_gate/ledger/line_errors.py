"""Why a ledger line is bad, in cache-gate's own words.

msgspec's messages differ between its releases (0.23 words invalid UTF-8 unlike
0.18), and users script against ours, so its text is mapped here, never passed on: a
message of a shape not known here becomes the generic wording for its kind.
"""

from __future__ import annotations

import re

import msgspec


class LineError(ValueError):
    """A line that decodes but cannot be a request as its format defines one."""


def describe(exc: Exception) -> str:
    """A bad line's error: which field, and what was wrong with it."""
    if isinstance(exc, UnicodeDecodeError):
        return NOT_UTF8
    if isinstance(exc, RecursionError):
        return "JSON nested too deeply"
    if isinstance(exc, LineError):
        return str(exc)
    text = str(exc).replace("`", "")
    where = None
    located = _AT_FIELD.fullmatch(text)
    if located:
        text, where = located.groups()
    if "utf-8" in text.lower():
        return NOT_UTF8
    if isinstance(exc, msgspec.ValidationError):
        problem = _validation_problem(text)
        if where is None:
            return "not a JSON object" if problem.startswith("expected object") else problem
        return f"{where}: {problem}"
    return "not valid JSON" if where is None else f"{where}: not valid JSON"


NOT_UTF8 = "not UTF-8 text"
_AT_FIELD = re.compile(r"(.*) - at \$\.?(.+)")
_BOUND = re.compile(r"Expected \w+ [<>]=? -?\d+")
_EXPECTED = re.compile(r"Expected (.+), got (\w+)")
# msgspec's names for JSON types, in the words of the JSON specification.
_JSON_TYPES = {"str": "string", "int": "integer", "float": "number", "bool": "boolean",
               "null": "null", "array": "array", "object": "object", "number": "number",
               "string": "string", "boolean": "boolean", "integer": "integer"}


def _validation_problem(text: str) -> str:
    """A wrong value, said without msgspec's wording: the types as JSON names them."""
    expected = _EXPECTED.fullmatch(text)
    if expected:
        wanted = [_JSON_TYPES.get(name.strip()) for name in expected.group(1).split("|")]
        got = _JSON_TYPES.get(expected.group(2))
        if got and all(wanted):
            return f"expected {' or '.join(dict.fromkeys(str(w) for w in wanted))}, got {got}"
        return "a value of the wrong type"
    if "out of range" in text.lower() or _BOUND.fullmatch(text):
        return "a number out of range"
    if text.lower().startswith("invalid enum value"):
        return "a value that is not one of those allowed"
    return "an invalid value"
