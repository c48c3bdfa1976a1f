"""The ledger formats: a registry of one module per format, and the detection that
picks a line's format and normalises it into a Record.

Each module's docstring is that format's documentation: how it is recognised, what
its token fields mean (which counts include which) and the provider page the
semantics come from. Formats are detected per line, so one ledger may mix them; the
order of the checks in `normalise` is part of the contract.
"""

from __future__ import annotations

import re
from types import ModuleType

import msgspec

from cache_gate.ledger.formats import (
    anthropic,
    backlog,
    bedrock,
    claude_code,
    deepseek,
    gemini,
    litellm,
    openai,
    usage_report,
)
from cache_gate.ledger.formats.backlog import is_backlog as _is_backlog
from cache_gate.ledger.formats.backlog import normalise as _backlog
from cache_gate.ledger.formats.claude_code import SYNTHETIC_MODEL
from cache_gate.ledger.formats.fields import epoch
from cache_gate.ledger.line_errors import LineError
from cache_gate.ledger.lines import LENIENT_FIELDS, BacklogLine, Decoders, Line, Usage
from cache_gate.ledger.record import Record

# Format name -> its module, in the order the names are listed to users.
REGISTRY: dict[str, ModuleType] = {
    backlog.NAME: backlog,
    anthropic.NAME: anthropic,
    openai.NAME: openai,
    litellm.NAME: litellm,
    claude_code.NAME: claude_code,
    bedrock.NAME: bedrock,
    gemini.NAME: gemini,
    deepseek.NAME: deepseek,
    usage_report.NAME: usage_report,
}
FORMATS = tuple(REGISTRY)


def get(name: str) -> ModuleType:
    """The module of the format `name`; a ValueError for a name that is none."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise ValueError(f"no ledger format {name!r}; the formats are "
                         f"{', '.join(FORMATS)}") from None


def normalise(line: Line) -> Record | None:
    """The line as a Record; None when it is valid but not a request (e.g. a user turn)."""
    message = line.message
    if message is not None and not isinstance(message, str) and (
        line.requestId is not None or line.sessionId is not None
    ):
        if message.usage is None or message.model == SYNTHETIC_MODEL:
            return None
        return claude_code.normalise(line, message.usage, message)
    if line.request_id is not None and line.call_type is not None:
        return litellm.normalise(line)
    usage = line.usage
    # A response logged with the application's `workflow` and `timestamp` beside it is
    # still that response: only backlog's own fields make a line with a `usage` one.
    if usage is None or _backlog_tokens(line):
        record = normalise_plain(line)
        return record if record is not None else _without_usage(line)
    if deepseek.reports_usage(usage):
        return deepseek.normalise(line, usage)
    if usage.prompt_tokens is not None and usage.input_tokens is None:
        # OpenAI's chat completions, and LiteLLM's ModelResponse, which adds the
        # Anthropic names beside `prompt_tokens` but counts them inside it.
        return openai.normalise(line, usage)
    if (
        usage.cache_read_input_tokens is not None
        or usage.cache_creation_input_tokens is not None
        or line.type == "message"
    ):
        return anthropic.normalise(line, usage)
    if (
        usage.prompt_tokens_details is not None
        or usage.input_tokens_details is not None
        or line.object in ("chat.completion", "response")
    ):
        return openai.normalise(line, usage)
    if bedrock.reports_usage(usage):
        return bedrock.normalise(line, usage)
    return None


def _backlog_tokens(line: Line) -> bool:
    return (line.cache_hit is not None or line.cached_input_tokens is not None
            or line.model_alias is not None)


def _without_usage(line: Line) -> Record | None:
    """The formats whose usage is not under `usage` (none of them a backlog line)."""
    gemini_usage = line.usageMetadata if line.usageMetadata is not None else line.usage_metadata
    if gemini_usage is not None:
        return gemini.normalise(line, gemini_usage)
    if line.schemaType == bedrock.LOG_SCHEMA:
        return bedrock.normalise_log(line)
    if usage_report.is_bucket(line):
        return usage_report.normalise(line)
    return None


def normalise_plain(line: BacklogLine | Line) -> Record | None:
    """A line with none of the other formats' containers: backlog, or bare Anthropic usage."""
    if _is_backlog(line):
        return _backlog(line)
    if line.cache_read_input_tokens is not None or line.cache_creation_input_tokens is not None:
        # A bare Anthropic usage object logged on its own.
        return anthropic.normalise(line, Usage(
            input_tokens=line.input_tokens,
            output_tokens=line.output_tokens,
            cache_read_input_tokens=line.cache_read_input_tokens,
            cache_creation_input_tokens=line.cache_creation_input_tokens,
            cache_creation=line.cache_creation,
        ))
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
