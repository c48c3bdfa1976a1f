"""CG113 unstable-json: a JSON block (e.g. tool definitions) not in canonical key order.

Tool definitions and other JSON in the prefix are usually loaded and serialised
again by the code that sends them. Whether the keys come out in the file's order,
sorted, or in a hash map's order depends on the language and library (Go maps and
some JSON libraries randomise it): the same tools, another byte string, a cache
miss. Keys in canonical (sorted) order come out the same from every serialiser
that sorts, and show that the file was written by one.

What it finds, in stable blocks with `"role": "tools"` or a `.json` file: objects
whose keys are not sorted (reported once per file, at the first such object, with
the count), duplicate keys (which parsers resolve differently), and text that is
not valid JSON.

Verbatim blocks are checked too (their bytes are sent as they are, but the next
tool that loads and writes the file may not keep the order). Not reported: JSON in
dynamic blocks.

Example:

    [{"name": "read_file", "description": "...", "input_schema": {...}}]
                            ^ "description" sorts before "name"      <- CG113

    keys not in canonical (sorted) order at [0]: 'description' after 'name';
    serialisers that sort keys send other bytes

Fix: write the file with sorted keys (`json.dumps(tools, sort_keys=True, indent=2)`,
`jq -S .`) and serialise with sorted keys where the request is built.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import Any

from cache_gate.findings import Problem
from cache_gate.manifest.assemble import AssembledPrompt, Part
from cache_gate.manifest.positions import JsonPath, JsonPositions, format_path
from cache_gate.rules.context import LintContext

RULE = "CG113"


class _KeyOrder:
    """Walks a parsed document (pairs kept in order) for unsorted and duplicate keys."""

    def __init__(self) -> None:
        self.unsorted: list[tuple[JsonPath, str, str]] = []
        self.duplicates: list[tuple[JsonPath, str]] = []

    def walk(self, value: Any, path: JsonPath) -> None:
        if isinstance(value, _Pairs):
            keys = [key for key, _ in value]
            seen: set[str] = set()
            for key in keys:
                if key in seen:
                    self.duplicates.append((path, key))
                seen.add(key)
            for before, after in itertools.pairwise(keys):
                if after < before:
                    self.unsorted.append((path, before, after))
                    break
            for key, item in value:
                self.walk(item, (*path, key))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                self.walk(item, (*path, index))


class _Pairs(list[tuple[str, Any]]):
    """A JSON object with its keys in file order."""


def _check_part(part: Part) -> Iterator[Problem]:
    try:
        document = json.loads(part.text, object_pairs_hook=_Pairs)
    except json.JSONDecodeError as exc:
        yield Problem(f"not valid JSON ({exc.msg}); cannot check its key order",
                      line=exc.lineno, key="invalid JSON")
        return
    except RecursionError:
        return
    order = _KeyOrder()
    order.walk(document, ())
    positions = JsonPositions(part.text) if order.unsorted or order.duplicates else None
    for path, key in order.duplicates:
        assert positions is not None
        where = f"at {format_path(path)}" if path else "in the top-level object"
        yield Problem(f"duplicate key {key!r} {where}: parsers keep the first or the last",
                      line=positions.line_of((*path, key)),
                      key=f"duplicate {format_path(path)}.{key}")
    if order.unsorted:
        assert positions is not None
        path, before, after = order.unsorted[0]
        more = len(order.unsorted) - 1
        extra = f" (and {more} more object{'s' * (more != 1)})" if more else ""
        where = f"at {format_path(path)}" if path else "in the top-level object"
        yield Problem(f"keys not in canonical (sorted) order {where}: "
                      f"{after!r} after {before!r}{extra}; serialisers that sort keys send "
                      "other bytes", line=positions.line_of((*path, after)),
                      key="unsorted keys")


def check_prompt(prompt: AssembledPrompt, context: LintContext) -> Iterator[Problem]:
    for block in prompt.stable_blocks:
        if not block.spec.is_json:
            continue
        for part in block.parts:
            if part.decode_error:
                continue
            for problem in _check_part(part):
                if part.is_file:
                    yield Problem(problem.message, line=problem.line, path=part.display,
                                  key=problem.key)
                else:
                    yield context.manifest.problem(part.pointer, problem.message,
                                                   key=problem.key)
