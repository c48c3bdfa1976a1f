"""Validate a config against a JSON Schema shipped in `cache_gate/schemas/` (CG301).

Each violation names the key and says what was expected: `x-message` in the schema
replaces jsonschema's wording where that would be vague (`anyOf`), an unknown key
gets a "did you mean", and a value is quoted short.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from cache_gate.manifest.positions import JsonPath

BACKLOG_SCHEMA = "backlog-cache-policy.schema.json"
LITELLM_SCHEMA = "litellm-proxy-config.schema.json"

_TYPE_NAMES = {"string": "a string", "array": "a list", "object": "a mapping",
               "integer": "a whole number", "number": "a number", "boolean": "true or false",
               "null": "null"}
_BOUNDS = {"minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">", "exclusiveMaximum": "<"}


@dataclass(frozen=True)
class SchemaViolation:
    path: JsonPath
    message: str


@cache
def load_schema(name: str) -> dict[str, Any]:
    text = resources.files("cache_gate").joinpath("schemas", name).read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def _validator(name: str) -> Any:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(load_schema(name))


def _quote(value: Any) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _unknown_key(error: Any, path: JsonPath) -> tuple[JsonPath, str]:
    schema = error.schema
    allowed = sorted(schema.get("properties", {}))
    patterns = list(schema.get("patternProperties", {}))
    extra = sorted(str(key) for key in error.instance if str(key) not in allowed)
    key = extra[0] if extra else "?"
    close = difflib.get_close_matches(key, allowed, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    also = f", or a key matching {' or '.join(patterns)}" if patterns else ""
    return (*path, key), f"unknown key {key!r}{hint}; expected one of: {', '.join(allowed)}{also}"


def _message(error: Any) -> tuple[JsonPath, str]:
    path: JsonPath = tuple(error.absolute_path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    validator, expected = error.validator, error.validator_value
    if validator == "additionalProperties":
        return _unknown_key(error, path)
    if "x-message" in schema:
        if validator == "required":
            return path, str(schema["x-message"])
        return path, f"{schema['x-message']}, got {_quote(error.instance)}"
    if validator == "type":
        wanted = expected if isinstance(expected, str) else expected[0]
        return path, f"must be {_TYPE_NAMES.get(wanted, wanted)}, got {_quote(error.instance)}"
    if validator == "required":
        missing = [key for key in expected if key not in error.instance]
        return path, f"missing required key {missing[0]!r}" if missing else error.message
    if validator == "enum":
        close = difflib.get_close_matches(str(error.instance), [str(v) for v in expected], n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return path, (f"must be one of {', '.join(json.dumps(v) for v in expected)}, "
                      f"got {_quote(error.instance)}{hint}")
    if validator in _BOUNDS:
        return path, f"must be {_BOUNDS[validator]} {expected}, got {_quote(error.instance)}"
    if validator == "minLength":
        return path, "must not be an empty string"
    if validator == "pattern":
        return path, f"got {_quote(error.instance)}, which is not of the expected form"
    return path, str(error.message)


def _flatten(errors: Any) -> Any:
    """The most specific errors: inside anyOf/oneOf without a message of their own,
    those that point deeper."""
    for error in errors:
        schema = error.schema if isinstance(error.schema, dict) else {}
        if (error.validator in ("anyOf", "oneOf") and error.context
                and "x-message" not in schema):
            deeper = [sub for sub in error.context if sub.relative_path]
            if deeper:
                yield from _flatten(deeper)
                continue
        yield error


def validate(document: Any, schema_name: str) -> list[SchemaViolation]:
    """Every violation in document order; an empty list when the document is valid."""
    seen: set[tuple[JsonPath, str]] = set()
    violations = []
    for error in _flatten(_validator(schema_name).iter_errors(document)):
        path, message = _message(error)
        if (path, message) not in seen:
            seen.add((path, message))
            violations.append(SchemaViolation(path, message))
    violations.sort(key=lambda v: [str(p).zfill(8) if isinstance(p, int) else p
                                   for p in v.path])
    return violations
