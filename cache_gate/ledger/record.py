"""The normalised request that every ledger format is read into."""

from __future__ import annotations

from typing import Annotated

import msgspec

# A time in seconds since the epoch that a date can be made of (years 1 to 9999): a
# line's `created` of 10**17 is no time (lenient: the record is undated), and a record
# decoded from the ledger cache with such a time is no record.
Epoch = Annotated[float, msgspec.Meta(ge=-62_135_596_800, le=253_402_300_799)]


class Record(msgspec.Struct, gc=False):
    """One request (or, `aggregate`, many), in one vocabulary whatever format it was
    logged in.

    `None` always means "not reported", never zero: a record whose prompt-cache
    fields are `None` counts in no prompt-cache denominator.
    """

    format: str
    # Seconds since the epoch, UTC; None when the line carries no time.
    time: Epoch | None = None
    workflow: str | None = None
    phase: str | None = None
    prompt_id: str | None = None
    model: str | None = None
    # Input tokens neither read from nor written to the prompt cache. Where the
    # format does not report cache writes apart (OpenAI, backlog without the
    # Anthropic fields), writes are inside this figure and `cache_write` is None.
    uncached_input: int | None = None
    cache_read: int | None = None
    cache_write: int | None = None
    # The part of `cache_write` written with the 1-hour TTL (priced at 2x, not 1.25x).
    cache_write_1h: int | None = None
    output_tokens: int | None = None
    prompt_cache_hit: bool | None = None
    # "hit" | "miss" | "bypass"; None when the layer is not in use or not reported.
    response_cache: str | None = None
    response_useful: bool | None = None
    semantic_cache: str | None = None
    semantic_useful: bool | None = None
    cost: float | None = None
    prefix_sha256: str | None = None
    request_sha256: str | None = None
    # The conversation the request belongs to, where the format says (Claude Code's
    # `sessionId`, a backlog `session_id`, LiteLLM's session or trace id).
    session: str | None = None
    # The provider's own diagnosis of a prompt-cache miss, by its name
    # (Anthropic's `diagnostics.cache_miss_reason.type`, OpenAI's
    # `prompt_cache_diagnostics.reason`, a backlog `cache_miss_reason`).
    miss_reason: str | None = None
    # The semantic cache's similarity score for the request, where logged.
    semantic_similarity: float | None = None
    # Claude Code repeats a request on one line per content block: (message.id,
    # requestId) joined, so that the reader counts the request once.
    dedup_key: str | None = None
    # Many requests' tokens in one record (a usage-report bucket): they count in the
    # token sums, never in a request count (see `kpis.count`). Such a record reports
    # no prompt-cache hit (`prompt_cache_hit` None), so it is never `eligible`.
    aggregate: bool = False
    # Reached the provider (no response/semantic cache hit) and reports prompt caching:
    # derived from the fields above when the record is made (every analysis asks, a
    # few times a record), whatever a caller passes.
    eligible: bool = False

    def __post_init__(self) -> None:
        self.eligible = (
            self.prompt_cache_hit is not None
            and self.response_cache != "hit"
            and self.semantic_cache != "hit"
        )

    @property
    def token_total(self) -> int:
        """Every token the line reports; a repeated Claude Code request keeps its largest."""
        return ((self.uncached_input or 0) + (self.cache_read or 0) + (self.cache_write or 0)
                + (self.output_tokens or 0))

    @property
    def input_total(self) -> int | None:
        """Every input token the provider saw: uncached + cache read + cache write."""
        if self.uncached_input is None or self.cache_read is None:
            return None
        return self.uncached_input + self.cache_read + (self.cache_write or 0)
