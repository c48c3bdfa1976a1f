"""Validate a manifest against the JSON Schema shipped in `cache_gate/schemas/`.

Each violation becomes a message at a JSON path. Where the schema carries an
`x-message`, that wording replaces jsonschema's (which, for `oneOf`/`anyOf`, would
only say "is not valid under any of the given schemas").
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from cache_gate.manifest.positions import JsonPath

SCHEMA_FILE = "prompt-manifest.schema.json"

_TYPE_NAMES = {"string": "a string", "array": "a list", "object": "an object",
               "integer": "a whole number", "number": "a number", "boolean": "true or false"}


@dataclass(frozen=True)
class SchemaViolation:
    path: JsonPath
    message: str


def manifest_schema() -> dict[str, Any]:
    text = resources.files("cache_gate").joinpath("schemas", SCHEMA_FILE).read_text(
        encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def _validator() -> Any:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(manifest_schema())


def _describe(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:37] + "..."


def _message(error: Any) -> tuple[JsonPath, str]:
    path: JsonPath = tuple(error.absolute_path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    validator, expected = error.validator, error.validator_value
    if validator == "additionalProperties":
        allowed = sorted(schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed))
        extra = [key for key in extra if not key.startswith("x-")]
        key = extra[0] if extra else "?"
        close = difflib.get_close_matches(key, allowed, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return (*path, key), (f"unknown key {key!r}{hint}; allowed: {', '.join(allowed)} "
                              "and x-* extensions")
    if "x-message" in schema:
        return path, str(schema["x-message"])
    if validator == "type":
        wanted = expected if isinstance(expected, str) else expected[0]
        return path, f"must be {_TYPE_NAMES.get(wanted, wanted)}, got {_describe(error.instance)}"
    if validator == "required":
        missing = [key for key in expected if key not in error.instance]
        return path, f"missing required key {missing[0]!r}" if missing else error.message
    if validator == "enum":
        return path, (f"must be one of {', '.join(json.dumps(v) for v in expected)}, "
                      f"got {_describe(error.instance)}")
    if validator == "minItems":
        return path, "must not be empty"
    if validator == "minLength":
        return path, "must not be an empty string"
    return path, str(error.message)


def _flatten(errors: Any) -> Iterator[Any]:
    """The most specific errors: inside anyOf/oneOf, those that point deeper."""
    for error in errors:
        if error.validator in ("anyOf", "oneOf") and error.context:
            deeper = [sub for sub in error.context if sub.relative_path]
            if deeper:
                yield from _flatten(deeper)
                continue
        yield error


def validate_manifest(document: Any) -> list[SchemaViolation]:
    """Every schema violation, in document order; an empty list when valid."""
    errors = _validator().iter_errors(document)
    seen: set[tuple[JsonPath, str]] = set()
    violations = []
    validators = []
    for error in _flatten(errors):
        path, message = _message(error)
        if (path, message) not in seen:
            seen.add((path, message))
            violations.append(SchemaViolation(path, message))
            validators.append(error.validator)
    # A value of the wrong type fails every other check too: say only the type.
    mistyped = {v.path for v, e in zip(violations, validators, strict=True) if e == "type"}
    violations = [v for v, e in zip(violations, validators, strict=True)
                  if e == "type" or v.path not in mistyped]
    violations.sort(key=lambda v: [str(part).zfill(8) if isinstance(part, int) else part
                                   for part in v.path])
    return violations
