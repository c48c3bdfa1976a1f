"""The typed shape of one ledger line, as every supported format may spell it.

One struct holds the union of the top-level fields the five formats use, so a
line is decoded once, in C, by msgspec, and fields that no format uses are skipped
without being built. A field of the wrong type (a string where tokens belong,
a negative count) makes the line bad, reported with its line number.
"""

from __future__ import annotations

import functools
import types
import typing
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar, cast

import msgspec

Tokens = Annotated[int, msgspec.Meta(ge=0)]


class CacheLayer(msgspec.Struct, gc=False):
    """A backlog record's `response_cache` / `semantic_cache` object."""

    status: Literal["hit", "miss", "bypass"] | None = None
    useful: bool | None = None


class CacheCreation(msgspec.Struct, gc=False):
    """Anthropic `usage.cache_creation`: cache writes split by TTL."""

    ephemeral_5m_input_tokens: Tokens | None = None
    ephemeral_1h_input_tokens: Tokens | None = None


class TokenDetails(msgspec.Struct, gc=False):
    """OpenAI `prompt_tokens_details` / `input_tokens_details` (LiteLLM adds the rest)."""

    cached_tokens: Tokens | None = None
    cache_creation_tokens: Tokens | None = None
    # LiteLLM: the provider's own uncached input count, where it reports one.
    text_tokens: Tokens | None = None


class Usage(msgspec.Struct, gc=False):
    """A usage object, Anthropic or OpenAI (chat completions or Responses API)."""

    input_tokens: Tokens | None = None
    output_tokens: Tokens | None = None
    cache_read_input_tokens: Tokens | None = None
    cache_creation_input_tokens: Tokens | None = None
    cache_creation: CacheCreation | None = None
    prompt_tokens: Tokens | None = None
    completion_tokens: Tokens | None = None
    prompt_tokens_details: TokenDetails | None = None
    input_tokens_details: TokenDetails | None = None


class Message(msgspec.Struct, gc=False):
    """A Claude Code transcript line's `message`."""

    id: str | None = None
    model: str | None = None
    usage: Usage | None = None


class SpendMetadata(msgspec.Struct, gc=False):
    """The parts of a LiteLLM SpendLogs `metadata` that carry prompt-cache tokens."""

    additional_usage_values: Usage | None = None


# A raw field's value when its key is absent (a present one holds at least `null`).
ABSENT = msgspec.Raw()


class BacklogKpiLine(msgspec.Struct, gc=False):
    """What the KPIs need of a line of the seed's own ledger, in its key order
    (msgspec matches keys fastest in declaration order); also the first look at a
    line of any other format.

    `usage`, `message` and `request_id` occur only in the other formats' lines: a
    line carrying one is decoded again, in full, as a `Line`. Kept raw here, they
    cost a pointer, not a parse.
    """

    timestamp: datetime | None = None
    workflow: str | None = None
    model_alias: str | None = None
    input_tokens: Tokens | None = None
    cached_input_tokens: Tokens | None = None
    # bool in backlog records; "True"/"False" (the response cache) in LiteLLM rows.
    cache_hit: bool | str | None = None
    prompt_id: str | None = None
    response_cache: CacheLayer | None = None
    semantic_cache: CacheLayer | None = None
    cache_read_input_tokens: Tokens | None = None
    cache_creation_input_tokens: Tokens | None = None
    usage: msgspec.Raw = ABSENT
    message: msgspec.Raw = ABSENT
    request_id: msgspec.Raw = ABSENT

    @property
    def other_format(self) -> bool:
        """True when the line belongs to another format and must be decoded as a Line."""
        return bool(self.usage or self.message or self.request_id)


class BacklogLine(BacklogKpiLine, gc=False):
    """A backlog line with the fields that describe a request but enter no KPI."""

    phase: str | None = None
    model: str | None = None
    output_tokens: Tokens | None = None
    cost_usd: float | None = None
    prefix_sha256: str | None = None
    request_sha256: str | None = None


class Line(msgspec.Struct, gc=False):
    """A line of any format: the union of the fields all five formats use."""

    # The backlog fields, typed exactly as in BacklogLine.
    timestamp: datetime | None = None
    workflow: str | None = None
    phase: str | None = None
    model_alias: str | None = None
    model: str | None = None
    input_tokens: Tokens | None = None
    output_tokens: Tokens | None = None
    cached_input_tokens: Tokens | None = None
    cost_usd: float | None = None
    cache_hit: bool | str | None = None
    prompt_id: str | None = None
    prefix_sha256: str | None = None
    request_sha256: str | None = None
    response_cache: CacheLayer | None = None
    semantic_cache: CacheLayer | None = None
    cache_read_input_tokens: Tokens | None = None
    cache_creation_input_tokens: Tokens | None = None
    usage: Usage | None = None
    # anthropic / openai responses
    type: str | None = None
    object: str | None = None
    created: int | float | None = None
    created_at: int | float | None = None
    # litellm SpendLogs rows
    request_id: str | None = None
    call_type: str | None = None
    spend: float | None = None
    prompt_tokens: Tokens | None = None
    completion_tokens: Tokens | None = None
    startTime: datetime | None = None
    model_group: str | None = None
    cache_key: str | None = None
    metadata: SpendMetadata | str | None = None
    request_tags: list[str] | str | None = None
    # claude-code transcripts
    message: Message | str | None = None
    requestId: str | None = None
    sessionId: str | None = None


# Fields that describe a request but enter no KPI. The KPI decoders map them to a
# JSON key no ledger uses: they stay None, and their values are skipped unbuilt
# (decoding a string costs about as much as the rest of a line). A run validates
# the fields it reads: `kpi` these, `report` every field.
DESCRIPTIVE_FIELDS = (
    "phase", "model", "output_tokens", "cost_usd", "prefix_sha256", "request_sha256",
    "spend", "completion_tokens", "model_group",
)
# Read only when a time window or a trend needs them.
TIME_FIELDS = ("timestamp", "startTime", "created", "created_at")

_S = TypeVar("_S", bound=msgspec.Struct)


def _variant(struct: type[_S], skip: tuple[str, ...], untyped: tuple[str, ...] = ()) -> type[_S]:
    """A subclass of `struct` that skips some fields and takes others untyped.

    An untyped field is only tested for presence (backlog's `model_alias`): any
    JSON value will do.
    """
    hints = typing.get_type_hints(struct)
    skipped = [name for name in skip if name in hints]
    kept_untyped = [name for name in untyped if name in hints]

    def body(namespace: dict[str, Any]) -> None:
        namespace["__module__"] = __name__
        namespace["__annotations__"] = {
            **{name: hints[name] for name in skipped},
            **dict.fromkeys(kept_untyped, Any),
        }
        for name in skipped:
            namespace[name] = msgspec.field(default=None, name=f"{name} (skipped)")
        for name in kept_untyped:
            namespace[name] = None

    return cast(type[_S], types.new_class(f"{struct.__name__}Variant", (struct,),
                                          {"gc": False}, body))


@dataclass(frozen=True)
class Decoders:
    """The decoders one run reads a ledger with."""

    # The KPIs' hot path: a plain backlog line, nothing else decoded (kpis.Tally).
    plain: msgspec.json.Decoder[BacklogKpiLine]
    # The first look at any line, as a backlog line.
    backlog: msgspec.json.Decoder[BacklogLine]
    # A line of another format, in full.
    general: msgspec.json.Decoder[Line]


@functools.cache
def decoders(*, descriptive: bool, timed: bool) -> Decoders:
    """Every field (descriptive, for `report`), or only what the KPIs need; times too
    when a window needs them."""
    if descriptive:
        return Decoders(msgspec.json.Decoder(BacklogKpiLine), msgspec.json.Decoder(BacklogLine),
                        msgspec.json.Decoder(Line))
    skip = DESCRIPTIVE_FIELDS + (() if timed else TIME_FIELDS)
    return Decoders(
        msgspec.json.Decoder(_variant(BacklogKpiLine, (*skip, "model_alias"))),
        msgspec.json.Decoder(_variant(BacklogLine, skip, untyped=("model_alias",))),
        msgspec.json.Decoder(_variant(Line, skip, untyped=("model_alias",))),
    )
