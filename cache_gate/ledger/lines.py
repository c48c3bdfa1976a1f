"""The typed shape of one ledger line, as every supported format may spell it.

One struct holds the union of the top-level fields the five formats use, so a
line is decoded once, in C, by msgspec, and fields that no format uses are skipped
without being built. A field of the wrong type (a string where tokens belong,
a negative count) makes the line bad, reported with its line number.
"""

from __future__ import annotations

import types
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar, cast

import msgspec

Tokens = Annotated[int, msgspec.Meta(ge=0)]


class CacheLayer(msgspec.Struct, gc=False):
    """A backlog record's `response_cache` / `semantic_cache` object."""

    status: Literal["hit", "miss", "bypass"] | None = None
    useful: bool | None = None
    similarity: float | None = None


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
    usage: msgspec.Raw | None = None
    message: msgspec.Raw | None = None
    request_id: msgspec.Raw | None = None

    @property
    def other_format(self) -> bool:
        """True when the line belongs to another format and must be decoded as a Line."""
        return self.usage is not None or self.message is not None or self.request_id is not None


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
    startTime: datetime | None = None  # noqa: N815 - LiteLLM's column name
    model_group: str | None = None
    cache_key: str | None = None
    metadata: SpendMetadata | str | None = None
    request_tags: list[str] | str | None = None
    # claude-code transcripts
    message: Message | str | None = None
    requestId: str | None = None  # noqa: N815 - Claude Code's key
    sessionId: str | None = None  # noqa: N815 - Claude Code's key


# Fields that describe a request but enter no KPI. The KPI decoders map them to a
# JSON key no ledger uses: they stay None, and their values are skipped unbuilt.
DESCRIPTIVE_FIELDS = (
    "phase", "model", "output_tokens", "cost_usd", "prefix_sha256", "request_sha256",
    "spend", "completion_tokens", "model_group",
)

_S = TypeVar("_S", bound=msgspec.Struct)


def _skipping(struct: type[_S]) -> type[_S]:
    """A subclass of `struct` that does not decode its descriptive fields."""
    names = [name for name in DESCRIPTIVE_FIELDS if name in struct.__annotations__]

    def body(namespace: dict[str, Any]) -> None:
        namespace["__module__"] = __name__
        namespace["__annotations__"] = {name: struct.__annotations__[name] for name in names}
        for name in names:
            namespace[name] = msgspec.field(default=None, name=f"{name} (skipped)")

    return cast(type[_S], types.new_class(f"{struct.__name__}ForKpis", (struct,),
                                          {"gc": False}, body))


@dataclass(frozen=True)
class Decoders:
    """The decoders a reader needs: the first look, and the full one."""

    backlog: msgspec.json.Decoder[BacklogLine]
    general: msgspec.json.Decoder[Line]


# Every field: for `report`.
FULL = Decoders(msgspec.json.Decoder(BacklogLine), msgspec.json.Decoder(Line))
# What the KPIs need: for `kpi`.
KPI = Decoders(msgspec.json.Decoder(_skipping(BacklogLine)),
               msgspec.json.Decoder(_skipping(Line)))
# The KPIs' hot path: a backlog line with nothing else decoded (see kpis.Tally).
PLAIN_KPI: msgspec.json.Decoder[BacklogKpiLine] = msgspec.json.Decoder(BacklogKpiLine)
