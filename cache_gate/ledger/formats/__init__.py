"""The ledger formats: a registry of one module per format, and the detection that
picks a line's format and normalises it into a Record.

Each module's docstring is that format's documentation: how it is recognised, what
its token fields mean (which counts include which) and the provider page the
semantics come from. Formats are detected per line, so one ledger may mix them; the
order of the registry, which decides a line two formats could claim, is part of the
contract.

Adding a format: a module here with `NAME`, `claims(line)` and `read(line)` (the
fields it reads must be in `ledger.lines`' typed `Line`), and its name in `_MODULES`.
"""

from __future__ import annotations

import re
from importlib import import_module
from types import ModuleType

import msgspec

from cache_gate.ledger.formats import anthropic
from cache_gate.ledger.formats.backlog import is_backlog as _is_backlog
from cache_gate.ledger.formats.backlog import normalise as _backlog
from cache_gate.ledger.formats.fields import epoch
from cache_gate.ledger.line_errors import LineError
from cache_gate.ledger.lines import LENIENT_FIELDS, BacklogLine, Decoders, Line
from cache_gate.ledger.record import Record

# The registry: every format's module, in the order a line is offered to them. The
# first whose `claims(line)` is true reads it (`read(line)`: a Record, or None for a
# valid line that is no request).
_MODULES = (
    "claude_code",
    "litellm",
    "backlog",
    "deepseek",
    "anthropic",
    "openai",
    "gemini",
    "bedrock",
    "usage_report",
)
REGISTRY: dict[str, ModuleType] = {
    module.NAME: module for module in (import_module(f"{__name__}.{name}") for name in _MODULES)
}
FORMATS = tuple(REGISTRY)
_DETECTION = tuple(REGISTRY.values())


def get(name: str) -> ModuleType:
    """The module of the format `name`; a ValueError for a name that is none."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise ValueError(f"no ledger format {name!r}; the formats are "
                         f"{', '.join(FORMATS)}") from None


def normalise(line: Line) -> Record | None:
    """The line as a Record, read by the first format that claims it; None when no
    format does, or the line is valid but not a request (e.g. a user turn)."""
    for module in _DETECTION:
        if module.claims(line):
            record: Record | None = module.read(line)
            return record
    return None


def normalise_plain(line: BacklogLine | Line) -> Record | None:
    """A line with none of the other formats' containers: backlog, or bare Anthropic usage."""
    if _is_backlog(line):
        return _backlog(line)
    if line.cache_read_input_tokens is not None or line.cache_creation_input_tokens is not None:
        return anthropic.read_bare(line)
    return None


_LENIENT_AT = re.compile(r" - at `\$\.(\w+)`")


def _lenient_field(exc: msgspec.ValidationError, decoders: Decoders) -> str | None:
    """The top-level lenient field a type error is in, if it is one not yet left out."""
    found = _LENIENT_AT.search(str(exc))
    if found and found.group(1) in LENIENT_FIELDS and found.group(1) not in decoders.skipped:
        return found.group(1)
    return None


def read_line(raw: bytes, decoders: Decoders) -> Record | None:
    """Decode and normalise one line: a first look as a backlog line, the rest in full.

    Invalid UTF-8 anywhere makes the line bad, even in a field no format uses (msgspec
    skips such values unchecked). A line whose only type errors are in lenient fields
    is decoded again without them (see `lines`)."""
    if not raw.isascii():
        raw.decode()
    while True:
        try:
            first = decoders.backlog.decode(raw)
            if first.other_format:
                return normalise(decoders.general.decode(raw))
            return normalise_plain(first)
        except msgspec.ValidationError as exc:
            field_name = _lenient_field(exc, decoders)
            if field_name is None:
                raise
            decoders = decoders.without(field_name)


__all__ = ["FORMATS", "REGISTRY", "LineError", "epoch", "get", "normalise", "normalise_plain",
           "read_line"]
