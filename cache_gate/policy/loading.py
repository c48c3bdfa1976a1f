"""Read a config file safely: bounded in bytes, in nesting, and in what YAML aliases expand to.

A config that cannot be read at all (missing, unreadable, too large, not JSON or
YAML, an alias bomb) is an InputError: the gate cannot decide. What is read
keeps the line of every key, so findings point at the line to edit.

Why YAML needs bounds beyond the file size: `yaml.safe_load` builds an alias
once and shares it, so a kilobyte "billion laughs" document loads quickly, but
everything that walks the result (the schema, the checks, `<<` merge keys, which
copy) then does exponential work. So the document is first parsed as events
(nesting depth and event count capped, with an early stop, since deep flow
nesting is quadratic in libyaml), then composed into nodes whose size *after*
expanding every alias and merge is counted in linear time before anything is
built from them.
"""

from __future__ import annotations

import json
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import yaml

from cache_gate.errors import InputError
from cache_gate.inputs import note_input
from cache_gate.manifest.positions import JsonPath, JsonPositions

MAX_CONFIG_BYTES = 1 << 20
MAX_DEPTH = 64
MAX_EVENTS = 100_000
# Nodes the document may hold once every alias and merge key is expanded.
MAX_EXPANDED_NODES = 200_000

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_OPENERS = (yaml.SequenceStartEvent, yaml.MappingStartEvent)
_CLOSERS = (yaml.SequenceEndEvent, yaml.MappingEndEvent)


class DuplicateKey(msgspec.Struct, frozen=True):
    path: JsonPath
    line: int
    first_line: int


class ConfigDocument(msgspec.Struct):
    """A parsed config file and where each of its values is."""

    path: Path
    display: str  # the path as reports show it
    data: Any
    line_of: Callable[[JsonPath], int | None]
    duplicates: list[DuplicateKey] = msgspec.field(default_factory=list)


def read_config_text(path: Path, display: str, what: str) -> str:
    """The file's text; InputError when it is missing, not a file, too large or not UTF-8."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise InputError(f"{what} {display} does not exist") from None
    except OSError as exc:
        raise InputError(f"cannot read {what} {display}: {exc.strerror}") from None
    if stat.S_ISDIR(info.st_mode):
        raise InputError(f"{what} {display} is a directory, not a file")
    if not stat.S_ISREG(info.st_mode):
        raise InputError(f"{what} {display} is not a regular file")
    try:
        with path.open("rb") as handle:
            note_input(path, info)
            data = handle.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise InputError(f"cannot read {what} {display}: {exc.strerror}") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise InputError(f"{what} {display} is over {MAX_CONFIG_BYTES:,} bytes: "
                         "not a config file cache-gate will read")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{what} {display} is not UTF-8 (byte {exc.start}); "
                         "save it as UTF-8") from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def load_json(path: Path, display: str, what: str) -> ConfigDocument:
    text = read_config_text(path, display, what)
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise InputError(f"{display}:{exc.lineno}:{exc.colno}: {what} is not valid JSON: "
                         f"{exc.msg}") from None
    except ValueError as exc:
        raise InputError(f"{display}: {what} is not valid JSON: {exc}") from None
    except RecursionError:
        raise InputError(f"{display}: {what} is nested too deeply to read") from None
    positions = JsonPositions(text)
    return ConfigDocument(path, display, data, positions.line_of)


def _yaml_error(display: str, what: str, exc: yaml.YAMLError) -> InputError:
    mark = getattr(exc, "problem_mark", None)
    place = f"{display}:{mark.line + 1}:{mark.column + 1}" if mark is not None else display
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context = getattr(exc, "context", None)
    if context and context.startswith("expected"):
        problem = f"{context}, {problem}"
    return InputError(f"{place}: {what} is not valid YAML: {problem}")


def _check_events(text: str, display: str, what: str) -> None:
    """Depth and size of the event stream, stopping at the first excess."""
    depth = 0
    for events, event in enumerate(yaml.parse(text, Loader=_Loader), start=1):
        if isinstance(event, _OPENERS):
            depth += 1
            if depth > MAX_DEPTH:
                mark = event.start_mark
                line = f":{mark.line + 1}" if mark is not None else ""
                raise InputError(f"{display}{line}: {what} nests deeper than {MAX_DEPTH} "
                                 "levels: not a config file cache-gate will read")
        elif isinstance(event, _CLOSERS):
            depth -= 1
        if events > MAX_EVENTS:
            raise InputError(f"{display}: {what} has over {MAX_EVENTS:,} YAML values: "
                             "not a config file cache-gate will read")


def _expanded_size(root: yaml.Node, display: str, what: str) -> int:
    """Nodes after expanding every alias and merge key: linear time, memoised per node."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()

    def size(node: yaml.Node, depth: int) -> int:
        key = id(node)
        known = sizes.get(key)
        if known is not None:
            return known
        if key in open_nodes:
            line = node.start_mark.line + 1
            raise InputError(f"{display}:{line}: {what} has a recursive YAML alias "
                             "(a value that contains itself)")
        if depth > MAX_DEPTH * 4:
            raise InputError(f"{display}: {what} nests too deeply through YAML aliases")
        open_nodes.add(key)
        total = 1
        if isinstance(node, yaml.SequenceNode):
            total += sum(size(item, depth + 1) for item in node.value)
        elif isinstance(node, yaml.MappingNode):
            total += sum(size(k, depth + 1) + size(v, depth + 1) for k, v in node.value)
        open_nodes.discard(key)
        if total > MAX_EXPANDED_NODES:
            raise InputError(f"{display}: {what} expands to over {MAX_EXPANDED_NODES:,} values "
                             "through YAML aliases (an alias bomb?): not read")
        sizes[key] = total
        return total

    return size(root, 0)


def _record_lines(root: yaml.Node) -> tuple[dict[JsonPath, int], list[DuplicateKey]]:
    """Line of every value by path (a mapping value: its key's line), and duplicate keys."""
    lines: dict[JsonPath, int] = {(): root.start_mark.line + 1}
    duplicates: list[DuplicateKey] = []
    stack: list[tuple[yaml.Node, JsonPath]] = [(root, ())]
    while stack:
        node, path = stack.pop()
        if isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                lines[(*path, index)] = item.start_mark.line + 1
                stack.append((item, (*path, index)))
        elif isinstance(node, yaml.MappingNode):
            seen: dict[str, int] = {}
            for key_node, value in node.value:
                if not isinstance(key_node, yaml.ScalarNode) or key_node.value == "<<":
                    continue
                key, line = key_node.value, key_node.start_mark.line + 1
                if key in seen:
                    duplicates.append(DuplicateKey((*path, key), line, seen[key]))
                seen[key] = line
                lines[(*path, key)] = line
                stack.append((value, (*path, key)))
    return lines, duplicates


def load_yaml(path: Path, display: str, what: str) -> ConfigDocument:
    text = read_config_text(path, display, what)
    try:
        _check_events(text, display, what)
        loader = _Loader(text)
        try:
            root = loader.get_single_node()
            if root is None:
                data: Any = None
                lines: dict[JsonPath, int] = {}
                duplicates: list[DuplicateKey] = []
            else:
                _expanded_size(root, display, what)
                lines, duplicates = _record_lines(root)
                data = loader.construct_document(root)
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        raise _yaml_error(display, what, exc) from None
    except RecursionError:
        raise InputError(f"{display}: {what} is nested too deeply to read") from None
    except ValueError:
        # Python refuses integers of more than 4,300 digits (int_max_str_digits).
        raise InputError(f"{display}: {what} holds a number too long to read") from None

    def line_of(where: JsonPath) -> int | None:
        for end in range(len(where), -1, -1):
            line = lines.get(tuple(where[:end]))
            if line is not None:
                return line
        return None

    return ConfigDocument(path, display, data, line_of, duplicates)


def load_config(path: Path, display: str, what: str) -> ConfigDocument:
    """JSON for `.json` files, YAML otherwise (JSON is YAML, but its errors read better)."""
    if path.suffix.lower() == ".json":
        return load_json(path, display, what)
    return load_yaml(path, display, what)
