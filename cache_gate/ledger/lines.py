"""The typed shape of one ledger line, as every supported format may spell it.

One struct holds the union of the top-level fields the formats use, so a line is
decoded once, in C, by msgspec, and fields that no format uses are skipped without
being built. A container whose key other formats use for other things (`input`,
`output`, `results`) is kept raw and decoded only once the line is known to be of
the format that defines it (see `formats.fields.decode_field`).

Which fields make a line bad is the same for `kpi` and `report` (forward
compatibility): a field that decides a KPI (tokens, cache flags, workflow,
prompt_id, the format's own keys) of the wrong type (a string where tokens belong, a
negative count) makes the line bad, reported with its line number; a field no
format uses never does, whatever its type. The LENIENT fields are those `kpi` does
not always read: times (a wrong one makes the record undated), the descriptive
fields only `report` shows (a wrong one is unknown) and the keys that only tell one
format from another (`created_at` is a number in OpenAI's Responses, a date string
in a LiteLLM export); and what only the miss causes read (a session id, a cause of a
miss): a wrong one is unknown. They stay typed, so the common line decodes once, in
C; a line whose only errors are in lenient fields is decoded again without them. The
providers' diagnoses and a semantic score sit inside containers, where that cannot
reach: they are kept raw and read leniently by the format that defines them.
"""

from __future__ import annotations

import functools
import types
import typing
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar, cast

import msgspec

from cache_gate.ledger.record import Epoch

# At most 15 digits: no request has a quadrillion tokens, and a 400-digit count would
# overflow every float it meets (prices, savings).
MAX_TOKENS = 10**15 - 1
Tokens = Annotated[int, msgspec.Meta(ge=0, le=MAX_TOKENS)]

# A raw field's value when its key is absent (a present one holds at least `null`).
ABSENT = msgspec.Raw()

# A provider's name for why the prompt cache missed (Anthropic's
# `cache_miss_reason.type`, OpenAI's `prompt_cache_diagnostics.reason`, a backlog
# `cache_miss_reason`). The causes keep it by name and print it, so only a short
# identifier is one: any other value (an escape sequence, 10 KB of text, capitals)
# fails this type, and where the causes read it that makes it unknown, never bad.
CauseName = Annotated[str, msgspec.Meta(pattern=r"\A[a-z][a-z0-9_]{0,63}\Z")]


class CacheLayer(msgspec.Struct, gc=False):
    """A backlog record's `response_cache` / `semantic_cache` object."""

    status: Literal["hit", "miss", "bypass"] | None = None
    useful: bool | None = None


class SemanticCacheLayer(CacheLayer, gc=False):
    """A backlog record's `semantic_cache`, with the score of the match. The KPIs'
    hot path reads it as a plain CacheLayer: it never looks at the score."""

    # Kept raw and read leniently (`backlog.similarity`): a score that is no number
    # is unknown, and no line is bad for it.
    similarity: msgspec.Raw = ABSENT


class CacheCreation(msgspec.Struct, gc=False):
    """Anthropic `usage.cache_creation`: cache writes split by TTL."""

    ephemeral_5m_input_tokens: Tokens | None = None
    ephemeral_1h_input_tokens: Tokens | None = None


class CacheDetail(msgspec.Struct, gc=False):
    """Bedrock `usage.cacheDetails[]`: the cache writes of one TTL ("5m" or "1h")."""

    ttl: str | None = None
    inputTokens: Tokens | None = None


class TokenDetails(msgspec.Struct, gc=False):
    """OpenAI `prompt_tokens_details` / `input_tokens_details` (LiteLLM adds the rest)."""

    cached_tokens: Tokens | None = None
    # OpenAI's newer models: tokens written to the cache, inside the prompt tokens.
    cache_write_tokens: Tokens | None = None
    cache_creation_tokens: Tokens | None = None
    # LiteLLM: Anthropic's TTL split of the writes (1-hour writes cost 2x, not 1.25x).
    cache_creation_token_details: CacheCreation | None = None
    # LiteLLM: the provider's own uncached input count, where it reports one.
    text_tokens: Tokens | None = None


class Usage(msgspec.Struct, gc=False):
    """A usage object, Anthropic or OpenAI (chat completions or Responses API); also
    what LiteLLM's SpendLogs copy of one holds (`ledger.pg_rows` checks a table's rows
    against this struct's fields: ints and structs only)."""

    input_tokens: Tokens | None = None
    output_tokens: Tokens | None = None
    cache_read_input_tokens: Tokens | None = None
    cache_creation_input_tokens: Tokens | None = None
    cache_creation: CacheCreation | None = None
    prompt_tokens: Tokens | None = None
    completion_tokens: Tokens | None = None
    prompt_tokens_details: TokenDetails | None = None
    input_tokens_details: TokenDetails | None = None


class ResponseUsage(Usage, gc=False):
    """A line's top-level `usage`: Anthropic's and OpenAI's, DeepSeek's or Bedrock
    Converse's (camelCase)."""

    # DeepSeek: the parts of `prompt_tokens` that hit and missed the context cache.
    prompt_cache_hit_tokens: Tokens | None = None
    prompt_cache_miss_tokens: Tokens | None = None
    # Bedrock Converse / ConverseStream: `inputTokens` EXCLUDES cache reads and writes.
    inputTokens: Tokens | None = None
    outputTokens: Tokens | None = None
    cacheReadInputTokens: Tokens | None = None
    cacheWriteInputTokens: Tokens | None = None
    cacheDetails: list[CacheDetail] | None = None


class GeminiUsage(msgspec.Struct, gc=False):
    """Gemini's `usageMetadata` as the REST API spells it (camelCase), or as the
    google-genai SDK's `model_dump_json()` does (`usage_metadata`, snake_case)."""

    promptTokenCount: Tokens | None = None
    cachedContentTokenCount: Tokens | None = None
    candidatesTokenCount: Tokens | None = None
    thoughtsTokenCount: Tokens | None = None
    prompt_token_count: Tokens | None = None
    cached_content_token_count: Tokens | None = None
    candidates_token_count: Tokens | None = None
    thoughts_token_count: Tokens | None = None


class InvocationInput(msgspec.Struct, gc=False):
    """A Bedrock model-invocation log record's `input` (its request body skipped)."""

    inputTokenCount: Tokens | None = None
    cacheReadInputTokenCount: Tokens | None = None
    cacheWriteInputTokenCount: Tokens | None = None


class InvocationOutput(msgspec.Struct, gc=False):
    """A Bedrock model-invocation log record's `output`: its count, and the response
    body (kept raw: only its usage's TTL split is read, leniently)."""

    outputTokenCount: Tokens | None = None
    outputBodyJson: msgspec.Raw = ABSENT


class UsageResult(msgspec.Struct, gc=False):
    """One row of a usage-report bucket's `results`: many requests' tokens."""

    uncached_input_tokens: Tokens | None = None
    cache_read_input_tokens: Tokens | None = None
    cache_creation: CacheCreation | None = None
    output_tokens: Tokens | None = None
    # Shown only by `report`: a value that is not a string is unknown, not an error.
    model: Any = None


class CacheMissReason(msgspec.Struct, gc=False):
    """Anthropic's `diagnostics.cache_miss_reason`: the cause is its `type`
    (`cache_missed_input_tokens` beside it is not read)."""

    type: CauseName | None = None


class Diagnostics(msgspec.Struct, gc=False):
    """Anthropic's `diagnostics` on a Messages response (or Claude Code's copy of one)."""

    cache_miss_reason: CacheMissReason | None = None


class PromptCacheDiagnostics(msgspec.Struct, gc=False):
    """OpenAI's `prompt_cache_diagnostics` on a Responses API response: `type` says
    what the comparison found ("cache_miss", "cache_hit",
    "comparison_response_not_found", "unavailable"); `reason` names the cause of a
    "cache_miss"."""

    type: str | None = None
    reason: CauseName | None = None


class Message(msgspec.Struct, gc=False):
    """A Claude Code transcript line's `message`."""

    id: str | None = None
    model: str | None = None
    usage: Usage | None = None
    # The response's `diagnostics`, kept raw: read leniently, by the format only.
    diagnostics: msgspec.Raw = ABSENT


class SpendMetadata(msgspec.Struct, gc=False):
    """The parts of a LiteLLM SpendLogs `metadata` that carry prompt-cache tokens."""

    additional_usage_values: Usage | None = None


class BacklogKpiLine(msgspec.Struct, gc=False):
    """What the KPIs need of a line of the seed's own ledger, in its key order
    (msgspec matches keys fastest in declaration order); also the first look at a
    line of any other format.

    `usage`, `message` and `request_id` occur only in the other formats' lines: a
    line carrying one is decoded again, in full, as a `Line`. Kept raw here, they
    cost a pointer, not a parse. A line with no backlog field and no bare usage
    field at all is decoded again in full too: the formats whose containers this
    struct does not name (Gemini, Bedrock invocation logs, usage-report buckets) are
    such lines, and naming their keys here would slow every backlog line down.
    """

    timestamp: datetime | None = None
    workflow: str | None = None
    # Only its presence tells a backlog line: any JSON value will do.
    model_alias: Any = None
    input_tokens: Tokens | None = None
    cached_input_tokens: Tokens | None = None
    # bool in backlog records; "True"/"False" (the response cache) in LiteLLM rows.
    cache_hit: bool | str | None = None
    prompt_id: str | None = None
    response_cache: CacheLayer | None = None
    semantic_cache: CacheLayer | None = None
    cache_read_input_tokens: Tokens | None = None
    cache_creation_input_tokens: Tokens | None = None
    # A bare Anthropic usage object's TTL split of its writes.
    cache_creation: CacheCreation | None = None
    usage: msgspec.Raw = ABSENT
    message: msgspec.Raw = ABSENT
    request_id: msgspec.Raw = ABSENT
    # What the miss causes read of a plain line (decoded only for them: see
    # `decoders(lineage=True)`); a session or a cause sends the line to the general
    # path, which reads them leniently.
    model: str | None = None
    prefix_sha256: str | None = None
    session_id: Any = None
    cache_miss_reason: Any = None

    @property
    def other_format(self) -> bool:
        """True when the line belongs to another format and must be decoded as a Line."""
        return bool(self.usage or self.message or self.request_id) or not (
            # What `formats.normalise_plain` reads: a backlog line or a bare usage.
            self.cache_hit is not None or self.cached_input_tokens is not None
            or self.model_alias is not None or self.workflow is not None
            or self.cache_read_input_tokens is not None
            or self.cache_creation_input_tokens is not None
        )


class BacklogLine(BacklogKpiLine, gc=False):
    """A backlog line with the fields that describe a request but enter no KPI, and
    those the miss causes read (the KPIs' hot path reads neither)."""

    semantic_cache: SemanticCacheLayer | None = None
    session_id: str | None = None
    cache_miss_reason: CauseName | None = None
    phase: str | None = None
    model: str | None = None
    output_tokens: Tokens | None = None
    cost_usd: float | None = None
    prefix_sha256: str | None = None
    request_sha256: str | None = None


class Line(msgspec.Struct, gc=False):
    """A line of any format: the union of the fields all the formats use."""

    # The backlog fields, typed exactly as in BacklogLine.
    timestamp: datetime | None = None
    workflow: str | None = None
    phase: str | None = None
    model_alias: Any = None
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
    semantic_cache: SemanticCacheLayer | None = None
    cache_read_input_tokens: Tokens | None = None
    cache_creation_input_tokens: Tokens | None = None
    cache_creation: CacheCreation | None = None
    # backlog records, and a LiteLLM SpendLogs row's `session_id` column
    session_id: str | None = None
    cache_miss_reason: CauseName | None = None
    usage: ResponseUsage | None = None
    # anthropic / openai responses
    type: str | None = None
    object: str | None = None
    created: Epoch | None = None
    created_at: Epoch | None = None
    # The providers' own diagnosis of a cache miss, kept raw: read leniently, and only
    # by the format that defines it (Anthropic's `diagnostics`, OpenAI Responses'
    # `prompt_cache_diagnostics`).
    diagnostics: msgspec.Raw = ABSENT
    prompt_cache_diagnostics: msgspec.Raw = ABSENT
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
    # gemini responses (REST, and the Python SDK's dump)
    usageMetadata: GeminiUsage | None = None
    usage_metadata: GeminiUsage | None = None
    modelVersion: str | None = None
    model_version: str | None = None
    # bedrock model-invocation logs: `input` and `output` are raw (OpenAI's Responses
    # `output` is a list, a Bedrock Converse response's an object)
    schemaType: str | None = None
    modelId: str | None = None
    input: msgspec.Raw = ABSENT
    output: msgspec.Raw = ABSENT
    # anthropic-usage-report buckets (`starting_at` read leniently, as a time)
    starting_at: msgspec.Raw = ABSENT
    results: msgspec.Raw = ABSENT


class TranscriptLine(msgspec.Struct, gc=False, forbid_unknown_fields=True):
    """A Claude Code transcript line as Claude Code writes it (the hot path of
    `requests.Requests.take_transcript`): the `Line` fields a transcript carries, and
    the keys Claude Code adds beside them, which no format reads, kept raw (skipped,
    never built). Any other key fails the decode and the line is read as a `Line`.
    A line that decodes here decodes to the same values as a `Line` (the `Line`
    fields typed alike), its other fields absent. msgspec matches each key against a
    struct's fields one by one, so fewer fields, in the order Claude Code writes them,
    decode a line in about 80% of the time a `Line` takes. No name of
    TRANSCRIPT_EXTRAS may be a `Line` field."""

    parentUuid: msgspec.Raw = ABSENT
    isSidechain: msgspec.Raw = ABSENT
    userType: msgspec.Raw = ABSENT
    cwd: msgspec.Raw = ABSENT
    sessionId: str | None = None
    version: msgspec.Raw = ABSENT
    gitBranch: msgspec.Raw = ABSENT
    slug: msgspec.Raw = ABSENT
    agentId: msgspec.Raw = ABSENT
    message: Message | str | None = None
    requestId: str | None = None
    type: str | None = None
    uuid: msgspec.Raw = ABSENT
    timestamp: datetime | None = None


# The other keys Claude Code writes beside a `message` (user turns, tool results, API
# errors, compaction), which no format reads. A line without a `message` (a summary,
# a snapshot, a system line) is read as a `Line` anyway: its keys are not here, for
# every field costs each line's decode a little.
TRANSCRIPT_EXTRAS = (
    "toolUseResult", "isMeta", "isApiErrorMessage", "error", "thinkingMetadata", "todos",
    "imagePasteIds", "isCompactSummary", "isVisibleInTranscriptOnly", "logicalParentUuid",
    "permissionMode", "sourceToolUseID", "sourceToolAssistantUUID",
)


# Fields that describe a request but enter no KPI. The KPI decoders map them to a
# JSON key no ledger uses: they stay None, and their values are skipped unbuilt
# (decoding a string costs about as much as the rest of a line). A run validates
# the fields it reads: `kpi` these, `report` every field.
DESCRIPTIVE_FIELDS = (
    "phase", "model", "output_tokens", "cost_usd", "prefix_sha256", "request_sha256",
    "spend", "completion_tokens", "model_group", "modelVersion", "model_version", "modelId",
)
# Read only when a time window or a trend needs them.
TIME_FIELDS = ("timestamp", "startTime", "created", "created_at")
# Keys that only tell one format from another.
FORMAT_KEYS = ("type", "object", "schemaType")
# What the miss causes read of a line beside its tokens (its session, the provider's
# own diagnosis): read by every run, for `avoidable_miss_rate` is a KPI, but a wrong
# one is unknown. `sessionId` also tells a Claude Code line, as `requestId` does.
CAUSE_FIELDS = ("session_id", "sessionId", "cache_miss_reason")
# Fields whose wrong type does not make a line bad (see the module's docstring).
LENIENT_FIELDS = frozenset(DESCRIPTIVE_FIELDS + TIME_FIELDS + FORMAT_KEYS + CAUSE_FIELDS)

_S = TypeVar("_S", bound=msgspec.Struct)


def _variant(struct: type[_S], skip: tuple[str, ...]) -> type[_S]:
    """A subclass of `struct` that skips some fields: their JSON keys are renamed to
    keys no ledger uses, so they stay None and their values are never built."""
    hints = typing.get_type_hints(struct)
    skipped = [name for name in skip if name in hints]
    if not skipped:
        return struct

    def body(namespace: dict[str, Any]) -> None:
        namespace["__module__"] = __name__
        namespace["__annotations__"] = {name: hints[name] for name in skipped}
        for name in skipped:
            namespace[name] = msgspec.field(default=None, name=f"{name} (skipped)")

    return cast(type[_S], types.new_class(f"{struct.__name__}Variant", (struct,),
                                          {"gc": False}, body))


def _transcript_variant(skip: tuple[str, ...]) -> type[TranscriptLine]:
    """TranscriptLine with TRANSCRIPT_EXTRAS, skipping what `Line` skips: a skipped
    field stays None and its key is taken raw, whatever its value, as `Line` leaves
    it unread."""
    hints = typing.get_type_hints(TranscriptLine)
    skipped = [name for name in skip if name in hints]

    def body(namespace: dict[str, Any]) -> None:
        namespace["__module__"] = __name__
        namespace["__annotations__"] = {
            **dict.fromkeys(TRANSCRIPT_EXTRAS, msgspec.Raw),
            **{name: hints[name] for name in skipped},
            **{f"skipped_{name}": msgspec.Raw for name in skipped}}
        namespace.update(dict.fromkeys(TRANSCRIPT_EXTRAS, ABSENT))
        for name in skipped:
            namespace[name] = msgspec.field(default=None, name=f"{name} (skipped)")
            namespace[f"skipped_{name}"] = msgspec.field(default=ABSENT, name=name)

    return cast(type[TranscriptLine], types.new_class(
        "TranscriptLineVariant", (TranscriptLine,), {"gc": False}, body))


@dataclass(frozen=True)
class Decoders:
    """The decoders one run reads a ledger with."""

    # The KPIs' hot path: a plain backlog line, nothing else decoded (kpis.Tally).
    plain: msgspec.json.Decoder[BacklogKpiLine]
    # The first look at any line, as a backlog line.
    backlog: msgspec.json.Decoder[BacklogLine]
    # A line of another format, in full.
    general: msgspec.json.Decoder[Line]
    # A Claude Code transcript line as Claude Code writes it (fails on any other).
    transcript: msgspec.json.Decoder[TranscriptLine]
    descriptive: bool
    timed: bool
    # Lenient fields left out after a line had them wrong (see `without`).
    skipped: frozenset[str] = frozenset()
    lineage: bool = False

    def without(self, field_name: str) -> Decoders:
        """These decoders, leaving out one more lenient field."""
        return decoders(descriptive=self.descriptive, timed=self.timed,
                        skipped=self.skipped | {field_name}, lineage=self.lineage)


# The descriptive fields the miss causes need (a request's lineage and what changed).
LINEAGE_FIELDS = ("model", "model_group", "prefix_sha256")


@functools.cache
def decoders(*, descriptive: bool, timed: bool, skipped: frozenset[str] = frozenset(),
             lineage: bool = False) -> Decoders:
    """Every field (descriptive, for `report`), or only what the KPIs need; with
    `lineage`, also what the miss causes need (the time, the model, the prefix hash);
    times too when a window needs them; never the `skipped` ones."""
    skip = tuple(sorted(skipped))
    if not descriptive:
        skip += tuple(name for name in DESCRIPTIVE_FIELDS
                      if not (lineage and name in LINEAGE_FIELDS))
    if not (descriptive or timed or lineage):
        skip += TIME_FIELDS
    return Decoders(
        msgspec.json.Decoder(_variant(BacklogKpiLine, (*skip, "model_alias"))),
        msgspec.json.Decoder(_variant(BacklogLine, skip)),
        msgspec.json.Decoder(_variant(Line, skip)),
        msgspec.json.Decoder(_transcript_variant(skip)),
        descriptive, timed, skipped, lineage,
    )
