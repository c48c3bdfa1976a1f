"""The quick validity check agrees with jsonschema on every shipped schema.

`schema_check` answers "is this document valid?" without importing jsonschema; the
answer must be jsonschema's, or `Undecided` (then jsonschema decides). On documents
of JSON's own types it must always decide. The documents are drawn from each schema
(mostly near-valid, with wrong types, unknown keys, out-of-range numbers, integral
floats and booleans where numbers go) and from the repository's fixtures.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from cache_gate import schema_errors
from cache_gate.schema_check import Undecided, compile_schema, equal, is_type
from cache_gate.schema_errors import load_schema, violations

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = sorted(path.name for path in (ROOT / "cache_gate" / "schemas").glob("*.json"))
FIXTURES = {
    "prompt-manifest.schema.json": sorted(ROOT.glob("fixtures/**/prompt-manifest.json")),
    "backlog-cache-policy.schema.json": sorted(ROOT.glob("fixtures/**/backlog.config.json")),
    "litellm-proxy-config.schema.json": sorted(
        path for path in ROOT.glob("fixtures/**/*.yaml") if "unreadable" not in path.parts),
}
# Keys a document might hold besides those of the schema: near misses, extensions.
ODD_KEYS = ["x-note", "X-note", "unknown", "", "entryModelPlan", "entryModelfoo", "entryModel",
            "stable_prefixes", "blocks ", "ttl"]
NUMBERS = [0, 1, -1, 2, 10, 11, 600, 601, 65535, 65536, 0.0, 0.5, 1.0, 1.5, 0.88, -0.0,
           float("inf"), float("-inf"), float("nan"), 10**20, True, False]
STRINGS = ["", " ", "x", "redis", "redsi", "lexical", "5m", "1h", "1H", "CG109", "cg1", "CG1090",
           "os.environ/REDIS_PORT", "os.environ/", "6379", "123456", " id", "id", "a b",
           "claude-sonnet-4-6", "\u00e9", "\n"]
json_values = st.recursive(
    st.none() | st.booleans() | st.sampled_from(NUMBERS) | st.integers() | st.floats()
    | st.sampled_from(STRINGS) | st.text(max_size=4),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.sampled_from(ODD_KEYS) | st.text(max_size=3), inner, max_size=3),
    max_leaves=6)
# What YAML makes besides JSON's types: dates, times, integer and null keys, bytes, sets.
yaml_values = st.dates() | st.datetimes() | st.binary(max_size=3) | st.frozensets(
    st.integers(), max_size=2).map(set)
yaml_keys = st.integers() | st.none() | st.booleans() | st.dates()


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    while isinstance(schema, dict) and "$ref" in schema:
        schema = {**root["$defs"][schema["$ref"].removeprefix("#/$defs/")],
                  **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema


def instances(schema: Any, root: dict[str, Any], odd: bool) -> st.SearchStrategy[Any]:
    """Documents for `schema`: mostly near-valid, sometimes anything (`odd`: with
    values only YAML makes)."""
    anything = json_values | yaml_values if odd else json_values
    if not isinstance(schema, dict):
        return anything
    schema = _resolve(schema, root)
    options: list[st.SearchStrategy[Any]] = []
    for keyword in ("anyOf", "oneOf", "allOf"):
        options += [instances(sub, root, odd) for sub in schema.get(keyword, [])]
    if "enum" in schema:
        options.append(st.sampled_from([*schema["enum"], *STRINGS[:6], 1, None]))
    if "const" in schema:
        options.append(st.sampled_from([schema["const"], 1.0, True, "1", 2]))
    if "properties" in schema or schema.get("type") == "object":
        properties = {name: instances(sub, root, odd)
                      for name, sub in schema.get("properties", {}).items()}
        required = [name for name in schema.get("required", []) if name in properties]
        optional = sorted(set(properties) - set(required))
        keys = st.sampled_from(ODD_KEYS) | (yaml_keys if odd else st.nothing())
        # The required keys and a few others (each key half the time would make a
        # valid manifest rare), then now and then a key the schema does not name.
        chosen = st.lists(st.sampled_from(optional), max_size=3, unique=True) if optional \
            else st.just([])
        valid_keys = chosen.flatmap(lambda names: st.fixed_dictionaries(
            {name: properties[name] for name in [*required, *names]}))
        extra = st.one_of(st.just({}), st.dictionaries(keys, anything, max_size=2))
        options.append(st.tuples(valid_keys, extra).map(lambda pair: {**pair[1], **pair[0]}))
    if "items" in schema or schema.get("type") == "array":
        options.append(st.lists(instances(schema.get("items", True), root, odd), max_size=2))
    if schema.get("type") in ("string", None) and "pattern" in schema:
        options.append(st.from_regex(schema["pattern"], fullmatch=True) | st.sampled_from(STRINGS))
    if schema.get("type") == "string":
        options.append(st.sampled_from(STRINGS) | st.text(max_size=3))
    if schema.get("type") in ("integer", "number"):
        options.append(st.sampled_from(NUMBERS) | st.integers(-3, 3))
    if schema.get("type") == "boolean":
        options.append(st.booleans())
    # Anything else now and then, at every level (more often, and a valid manifest,
    # with its four levels, would be rare).
    return st.one_of(*options * 3, anything) if options else anything


def jsonschema_says(schema: dict[str, Any], document: Any) -> bool | str:
    try:
        return bool(Draft202012Validator(schema).is_valid(document))
    except Exception as exc:  # a YAML integer key matched against a pattern: TypeError
        return type(exc).__name__


def quick_says(schema: dict[str, Any], document: Any) -> bool | None:
    try:
        return compile_schema(schema)(document)
    except Undecided:
        return None


@pytest.mark.parametrize("name", SCHEMAS)
def test_every_shipped_schema_has_a_quick_check(name: str) -> None:
    compile_schema(load_schema(name))  # raises Undecided for a keyword not known there


@pytest.mark.parametrize("name", SCHEMAS)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_the_quick_check_decides_json_documents_as_jsonschema_does(name: str,
                                                                   data: st.DataObject) -> None:
    schema = load_schema(name)
    document = data.draw(instances(schema, schema, odd=False))
    assert quick_says(schema, document) == jsonschema_says(schema, document)


@pytest.mark.parametrize("name", SCHEMAS)
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_the_quick_check_is_never_wrong_on_yaml_values(name: str, data: st.DataObject) -> None:
    schema = load_schema(name)
    document = data.draw(instances(schema, schema, odd=True))
    quick, expected = quick_says(schema, document), jsonschema_says(schema, document)
    # Undecided (None) hands the document to jsonschema, which then does what it did.
    assert quick is None or quick == expected


@pytest.mark.parametrize(("name", "path"), [(name, path) for name, paths in FIXTURES.items()
                                            for path in paths],
                         ids=lambda value: str(value).removeprefix(f"{ROOT}/"))
def test_fixtures_get_the_same_violations(name: str, path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    text = path.read_text(encoding="utf-8")
    document = yaml.safe_load(text) if path.suffix == ".yaml" else json.loads(text)
    schema = load_schema(name)
    assert quick_says(schema, document) == jsonschema_says(schema, document)
    quick = violations(name, document)
    monkeypatch.setattr(schema_errors, "is_valid", lambda *_: None)  # jsonschema alone
    assert quick == violations(name, document)


@pytest.mark.parametrize(("schema", "document", "valid"), [
    ({"type": "integer"}, 1.0, True),  # an integral float is an integer (Draft 6 on)
    ({"type": "integer"}, True, False),
    ({"type": "number"}, False, False),
    ({"const": 1}, True, False),
    ({"const": 1}, 1.0, True),
    ({"enum": [[1], {"a": False}]}, [True], False),
    ({"enum": [[1], {"a": False}]}, {"a": 0}, False),
    ({"enum": [[1], {"a": False}]}, {"a": False}, True),
    ({"minimum": 0}, float("nan"), True),  # no comparison with NaN fails
    ({"exclusiveMinimum": 0}, 0, False),
    ({"minLength": 1}, 5, True),  # a keyword of another type passes
    ({"pattern": "^[0-9]{1,5}$"}, "123456", False),
    ({"pattern": "b"}, "abc", True),  # searched for, not matched at the start
    ({"minItems": 1}, [], False),
    ({"oneOf": [{"type": "number"}, {"type": "integer"}]}, 1, False),  # both: invalid
    ({"not": {"required": ["a"]}}, {"a": 1}, False),
    ({"if": {"required": ["a"]}, "then": {"required": ["b"]}}, {"a": 1}, False),
    ({"then": {"required": ["b"]}}, {"a": 1}, True),  # then without if: nothing
    ({"dependentSchemas": {"a": {"required": ["b"]}}}, {"a": 1, "b": 2}, True),
    ({"dependentSchemas": {"a": {"required": ["b"]}}}, {"a": 1}, False),
    ({"patternProperties": {"^x-": False}}, {"x-a": 1}, False),
    ({"properties": {"a": True}, "patternProperties": {"^x-": True},
      "additionalProperties": False}, {"a": 1, "x-b": 2, "c": 3}, False),
    ({"items": {"type": "string"}}, ["a", 1], False),
    ({"$defs": {"n": {"type": "null"}}, "$ref": "#/$defs/n", "x-message": "m"}, None, True),
])
def test_keywords_as_jsonschema_reads_them(schema: dict[str, Any], document: Any,
                                           valid: bool) -> None:
    assert jsonschema_says(schema, document) is valid
    assert quick_says(schema, document) is valid


@pytest.mark.parametrize("schema", [
    {"maxLength": 3}, {"prefixItems": [True], "items": False}, {"$ref": "other.json"},
    {"type": "any"}, {"format": "date"}, {"$defs": {"a": True}, "$ref": "#/$defs/b"},
])
def test_a_keyword_not_known_leaves_the_schema_to_jsonschema(schema: dict[str, Any]) -> None:
    with pytest.raises(Undecided):
        compile_schema(schema)


@pytest.mark.parametrize(("check", "value"), [
    (lambda value: is_type(value, "number"), dt.date(2026, 1, 1)),
    (lambda value: equal("a", value), dt.date(2026, 1, 1)),
    (compile_schema({"patternProperties": {"^x-": True}}), {1: "a"}),
    (compile_schema({"properties": {}, "patternProperties": {"^x-": True},
                     "additionalProperties": True}), {None: "a"}),
])
def test_values_json_has_not_are_left_to_jsonschema(check: Any, value: Any) -> None:
    with pytest.raises(Undecided):
        check(value)
