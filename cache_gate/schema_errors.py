"""JSON Schema violations in a user's words, for every schema shipped in
`cache_gate/schemas/` (the prompt manifest, CG100; the policy configs, CG301).

Each violation names the key (a JSON path) and says what was expected: an
`x-message` in the schema replaces jsonschema's wording where that would be vague
(`anyOf`, `oneOf`), an unknown key gets a "did you mean", and values are quoted
short. A value of the wrong type fails every other check of that key too: only
the type is reported.

jsonschema is imported only to explain: `schema_check` says whether a document is
valid, with jsonschema's answer, and a valid one (nearly every one) has no violation.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import msgspec

from cache_gate.schema_check import Check, Undecided, compile_schema

SCHEMAS = Path(__file__).with_name("schemas")

JsonPath = tuple[str | int, ...]

_TYPE_NAMES = {"string": "a string", "array": "a list", "integer": "a whole number",
               "number": "a number", "boolean": "true or false", "null": "null"}
_BOUNDS = {"minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">", "exclusiveMaximum": "<"}


class SchemaViolation(msgspec.Struct, frozen=True):
    path: JsonPath
    message: str


@cache
def load_schema(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    return schema


@cache
def _quick_check(name: str) -> Check | None:
    """The schema's validity check, or None when jsonschema must decide every time."""
    try:
        return compile_schema(load_schema(name))
    except Undecided:
        return None


def is_valid(schema_name: str, document: Any) -> bool | None:
    """Whether the document is valid (jsonschema's answer), without jsonschema; None
    when only jsonschema can tell."""
    check = _quick_check(schema_name)
    if check is None:
        return None
    try:
        return check(document)
    except Undecided:
        return None


@cache
def _validator(name: str) -> Any:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(load_schema(name))


def quote(value: Any) -> str:
    """A value as JSON, cut to 40 characters."""
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


# Keys whose values are credentials: never echoed, whatever they hold.
_CREDENTIAL_KEY = re.compile(
    r"(?i)(pass(word|wd)?|secret|token|api_?key|master_?key|auth|credentials?)$")
_KINDS = {str: "a string", list: "a list", dict: "a mapping", bool: "true or false",
          int: "a number", float: "a number", type(None): "null"}


def kind_of(value: Any) -> str:
    """A value by its type alone: `a string of 2,048 characters`, `a list`."""
    kind = _KINDS.get(type(value), f"a {type(value).__name__}")
    if isinstance(value, str):
        return f"{kind} of {len(value):,} characters"
    return kind


def shown(value: Any, path: JsonPath) -> str:
    """A config value as a message may show it: credentials by type only; the whole
    document (which may be a file that is no config at all, `/etc/passwd`) by type;
    anything else as a short excerpt."""
    if not path:
        return kind_of(value)
    if isinstance(path[-1], str) and _CREDENTIAL_KEY.search(path[-1]):
        return kind_of(value)
    return quote(value)


def _close_matches(word: str, candidates: list[str]) -> list[str]:
    import difflib  # only a document with a violation needs it

    return difflib.get_close_matches(word, candidates, n=1)


def _unknown_key(error: Any, path: JsonPath) -> tuple[JsonPath, str]:
    schema = error.schema
    allowed = sorted(schema.get("properties", {}))
    patterns = list(schema.get("patternProperties", {}))
    extra = sorted(str(key) for key in error.instance if str(key) not in allowed
                   and not any(re.search(pattern, str(key)) for pattern in patterns))
    key = extra[0] if extra else "?"
    close = _close_matches(key, allowed)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    also = f", or a key matching {' or '.join(patterns)}" if patterns else ""
    return (*path, key), f"unknown key {key!r}{hint}; expected one of: {', '.join(allowed)}{also}"


def _explain(error: Any, object_word: str) -> tuple[JsonPath, str]:
    path: JsonPath = tuple(error.absolute_path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    validator, expected = error.validator, error.validator_value
    if validator == "additionalProperties":
        return _unknown_key(error, path)
    if "x-message" in schema:
        if validator == "required":
            return path, str(schema["x-message"])
        return path, f"{schema['x-message']}, got {shown(error.instance, path)}"
    if validator == "type":
        wanted = expected if isinstance(expected, str) else expected[0]
        name = object_word if wanted == "object" else _TYPE_NAMES.get(wanted, wanted)
        return path, f"must be {name}, got {shown(error.instance, path)}"
    if validator == "required":
        missing = [key for key in expected if key not in error.instance]
        return path, f"missing required key {missing[0]!r}" if missing else error.message
    if validator == "enum":
        close = _close_matches(str(error.instance), [str(v) for v in expected])
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return path, (f"must be one of {', '.join(json.dumps(v) for v in expected)}, "
                      f"got {shown(error.instance, path)}{hint}")
    if validator in _BOUNDS:
        return path, (f"must be {_BOUNDS[validator]} {expected}, "
                      f"got {shown(error.instance, path)}")
    if validator == "minItems":
        return path, "must not be empty"
    if validator == "minLength":
        return path, "must not be an empty string"
    if validator == "pattern":
        return path, f"got {shown(error.instance, path)}, which is not of the expected form"
    return path, str(error.message)


def _flatten(errors: Any) -> Iterator[Any]:
    """The most specific errors: inside anyOf/oneOf, those that point deeper (else
    the anyOf/oneOf itself, worded by its x-message)."""
    for error in errors:
        if error.validator in ("anyOf", "oneOf") and error.context:
            deeper = [sub for sub in error.context if sub.relative_path]
            if deeper:
                yield from _flatten(deeper)
                continue
        yield error


def violations(schema_name: str, document: Any, *,
               object_word: str = "an object") -> list[SchemaViolation]:
    """Every violation of the named schema, in document order; empty when valid."""
    if is_valid(schema_name, document):
        return []
    found: dict[tuple[JsonPath, str], str] = {}
    for error in _flatten(_validator(schema_name).iter_errors(document)):
        found.setdefault(_explain(error, object_word), error.validator)
    mistyped = {path for (path, _), validator in found.items() if validator == "type"}
    kept = [SchemaViolation(path, message) for (path, message), validator in found.items()
            if validator == "type" or path not in mistyped]
    kept.sort(key=lambda v: [str(p).zfill(8) if isinstance(p, int) else p for p in v.path])
    return kept
