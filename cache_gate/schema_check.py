"""Whether a document is valid against a shipped schema, without importing jsonschema.

Importing jsonschema (with referencing, attrs, rpds) costs more than all of a hook's
own start-up, and nearly every document a hook reads is valid. So `compile_schema`
turns a schema of `cache_gate/schemas/` into a plain function that answers the one
question, and `schema_errors` asks jsonschema only to explain a document that is not
valid. The answer must be jsonschema's (Draft 2020-12): each keyword below does what
jsonschema's does (`jsonschema/_keywords.py`, its type checker, `_utils.equal`), and
where an answer could differ the function raises `Undecided` and jsonschema decides:

- a keyword not implemented here (a schema using one is never compiled);
- a value that is none of JSON's types (dict, list, str, int, float, bool, None)
  where a keyword has to look at it: a YAML date checked for `number`, a YAML
  integer key where a key is matched against a pattern.

The property tests hold the two to the same answer on valid and invalid documents.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Check = Callable[[Any], bool]

# Keywords that never make a document invalid.
_ANNOTATIONS = frozenset({"$schema", "$id", "$comment", "$defs", "title", "description",
                          "default", "examples", "deprecated", "readOnly", "writeOnly"})
_JSON_TYPES = (dict, list, str, int, float, bool, type(None))
_TYPE_NAMES = frozenset({"object", "array", "string", "integer", "number", "boolean", "null"})
# Every keyword that can make a document invalid, and the method of _Compiler for it.
_KEYWORDS = {
    "$ref": "ref", "allOf": "all_of", "anyOf": "any_of", "oneOf": "one_of", "not": "not",
    "if": "if", "type": "type", "enum": "enum", "const": "const", "minimum": "minimum",
    "maximum": "maximum", "exclusiveMinimum": "exclusive_minimum",
    "exclusiveMaximum": "exclusive_maximum", "minLength": "min_length", "pattern": "pattern",
    "minItems": "min_items", "items": "items", "required": "required",
    "properties": "properties", "patternProperties": "pattern_properties",
    "additionalProperties": "additional_properties", "dependentSchemas": "dependent_schemas",
}


class Undecided(Exception):
    """The answer might not be jsonschema's: ask jsonschema."""


def compile_schema(schema: Any) -> Check:
    """The validity check of `schema`; Undecided when it uses a keyword not known here."""
    return _Compiler(schema).compile(schema)


def is_type(instance: Any, name: str) -> bool:
    """jsonschema's Draft 2020-12 type checker (an integral float is an integer)."""
    if name == "object":
        return isinstance(instance, dict)
    if name == "array":
        return isinstance(instance, list)
    if name == "string":
        return isinstance(instance, str)
    if name == "boolean":
        return isinstance(instance, bool)
    if name == "null":
        return instance is None
    if isinstance(instance, bool):
        return False
    if name == "integer":
        return isinstance(instance, int) or (isinstance(instance, float)
                                             and instance.is_integer())
    if isinstance(instance, int | float):  # name == "number"
        return True
    if isinstance(instance, _JSON_TYPES):
        return False
    raise Undecided(f"is {type(instance).__name__} a number?")  # numbers.Number decides


def equal(one: Any, two: Any) -> bool:
    """jsonschema's `equal`: as `==`, but a bool equals only a bool."""
    if not isinstance(one, _JSON_TYPES) or not isinstance(two, _JSON_TYPES):
        raise Undecided(f"{type(one).__name__} == {type(two).__name__}?")
    if one is two:
        return True
    if isinstance(one, str) or isinstance(two, str):
        return bool(one == two)
    if isinstance(one, list) and isinstance(two, list):
        return len(one) == len(two) and all(equal(a, b) for a, b in zip(one, two, strict=True))
    if isinstance(one, dict) and isinstance(two, dict):
        return len(one) == len(two) and all(key in two and equal(value, two[key])
                                            for key, value in one.items())
    if isinstance(one, bool) or isinstance(two, bool):
        return isinstance(one, bool) and isinstance(two, bool) and one == two
    return bool(one == two)


def _key(key: Any) -> str:
    """A key to match a pattern against (jsonschema's re.search fails on any other)."""
    if not isinstance(key, str):
        raise Undecided(f"a {type(key).__name__} key")
    return key


class _Compiler:
    def __init__(self, root: Any) -> None:
        self.root = root
        self.refs: dict[str, list[Check]] = {}

    def compile(self, schema: Any) -> Check:
        if schema is True:
            return lambda instance: True
        if schema is False:
            return lambda instance: False
        if not isinstance(schema, dict):
            raise Undecided(f"a schema that is a {type(schema).__name__}")
        checks: list[Check] = []
        for keyword, value in schema.items():
            if keyword in _ANNOTATIONS or keyword.startswith("x-") or keyword in ("then",
                                                                                   "else"):
                continue  # then and else go with if
            if keyword not in _KEYWORDS:
                raise Undecided(f"keyword {keyword!r}")
            make: Callable[[Any, dict[str, Any]], Check] = getattr(self,
                                                                   f"_{_KEYWORDS[keyword]}")
            checks.append(make(value, schema))
        if len(checks) == 1:
            return checks[0]
        return lambda instance: all(check(instance) for check in checks)

    # -- references and combinators ----------------------------------------------

    def _ref(self, pointer: Any, schema: dict[str, Any]) -> Check:
        name = pointer.removeprefix("#/$defs/") if isinstance(pointer, str) else ""
        definitions = self.root.get("$defs") if isinstance(self.root, dict) else None
        if (not isinstance(pointer, str) or name == pointer or not name or "/" in name
                or "~" in name or "%" in name or not isinstance(definitions, dict)
                or name not in definitions):
            raise Undecided(f"$ref {pointer!r}")
        if pointer not in self.refs:
            cell: list[Check] = []
            self.refs[pointer] = cell  # a schema that refers to itself finds the cell
            cell.append(self.compile(definitions[name]))
        cell = self.refs[pointer]
        return lambda instance: cell[0](instance)

    def _all_of(self, value: Any, schema: dict[str, Any]) -> Check:
        subs = [self.compile(sub) for sub in value]
        return lambda instance: all(sub(instance) for sub in subs)

    def _any_of(self, value: Any, schema: dict[str, Any]) -> Check:
        subs = [self.compile(sub) for sub in value]
        return lambda instance: any(sub(instance) for sub in subs)

    def _one_of(self, value: Any, schema: dict[str, Any]) -> Check:
        subs = [self.compile(sub) for sub in value]
        # jsonschema looks at every branch (more than one valid is an error too).
        return lambda instance: sum(1 for sub in subs if sub(instance)) == 1

    def _not(self, value: Any, schema: dict[str, Any]) -> Check:
        sub = self.compile(value)
        return lambda instance: not sub(instance)

    def _if(self, value: Any, schema: dict[str, Any]) -> Check:
        condition = self.compile(value)
        then = self.compile(schema.get("then", True))
        otherwise = self.compile(schema.get("else", True))
        return lambda instance: then(instance) if condition(instance) else otherwise(instance)

    # -- any instance -------------------------------------------------------------

    def _type(self, value: Any, schema: dict[str, Any]) -> Check:
        names = [value] if isinstance(value, str) else value
        if not isinstance(names, list) or not set(names) <= _TYPE_NAMES:
            raise Undecided(f"type {value!r}")
        return lambda instance: any(is_type(instance, name) for name in names)

    def _enum(self, value: Any, schema: dict[str, Any]) -> Check:
        if not isinstance(value, list):
            raise Undecided("enum that is not a list")
        return lambda instance: any(equal(each, instance) for each in value)

    def _const(self, value: Any, schema: dict[str, Any]) -> Check:
        return lambda instance: equal(instance, value)

    # -- numbers, strings, arrays -------------------------------------------------

    def _minimum(self, value: Any, schema: dict[str, Any]) -> Check:
        return lambda instance: not is_type(instance, "number") or not instance < value

    def _maximum(self, value: Any, schema: dict[str, Any]) -> Check:
        return lambda instance: not is_type(instance, "number") or not instance > value

    def _exclusive_minimum(self, value: Any, schema: dict[str, Any]) -> Check:
        return lambda instance: not is_type(instance, "number") or not instance <= value

    def _exclusive_maximum(self, value: Any, schema: dict[str, Any]) -> Check:
        return lambda instance: not is_type(instance, "number") or not instance >= value

    def _min_length(self, value: Any, schema: dict[str, Any]) -> Check:
        return lambda instance: not isinstance(instance, str) or not len(instance) < value

    def _pattern(self, value: Any, schema: dict[str, Any]) -> Check:
        search = re.compile(value).search
        return lambda instance: not isinstance(instance, str) or search(instance) is not None

    def _min_items(self, value: Any, schema: dict[str, Any]) -> Check:
        return lambda instance: not isinstance(instance, list) or not len(instance) < value

    def _items(self, value: Any, schema: dict[str, Any]) -> Check:
        if "prefixItems" in schema:
            raise Undecided("items with prefixItems")
        sub = self.compile(value)
        return lambda instance: not isinstance(instance, list) or all(map(sub, instance))

    # -- objects ------------------------------------------------------------------

    def _required(self, value: Any, schema: dict[str, Any]) -> Check:
        return lambda instance: not isinstance(instance, dict) or all(
            name in instance for name in value)

    def _properties(self, value: Any, schema: dict[str, Any]) -> Check:
        subs = [(name, self.compile(sub)) for name, sub in value.items()]
        return lambda instance: not isinstance(instance, dict) or all(
            sub(instance[name]) for name, sub in subs if name in instance)

    def _pattern_properties(self, value: Any, schema: dict[str, Any]) -> Check:
        subs = [(re.compile(pattern).search, self.compile(sub))
                for pattern, sub in value.items()]
        return lambda instance: not isinstance(instance, dict) or all(
            sub(item) for search, sub in subs for key, item in instance.items()
            if search(_key(key)))

    def _additional_properties(self, value: Any, schema: dict[str, Any]) -> Check:
        known = schema.get("properties", {})
        # As jsonschema matches them: all the patterns as one.
        patterns = "|".join(schema.get("patternProperties", {}))
        search = re.compile(patterns).search if patterns else None
        sub = self.compile(value)

        def extras(instance: dict[Any, Any]) -> list[Any]:
            return [key for key in instance if key not in known
                    and not (search is not None and search(_key(key)))]

        return lambda instance: not isinstance(instance, dict) or all(
            sub(instance[key]) for key in extras(instance))

    def _dependent_schemas(self, value: Any, schema: dict[str, Any]) -> Check:
        subs = [(name, self.compile(sub)) for name, sub in value.items()]
        return lambda instance: not isinstance(instance, dict) or all(
            sub(instance) for name, sub in subs if name in instance)
