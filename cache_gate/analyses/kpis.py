"""The runbook's cache KPIs, each gated by its rule (CG201 prompt-cache-hit-rate,
CG202 response-cache-useful-hit-rate, CG203 semantic-cache-useful-hit-rate, CG204
cached-token-ratio; the fifth, avoidable_miss_rate, is CG207 in `miss_causes`): their
definitions, the tally they are computed from, and the pure pass/fail decision.

A KPI below its target (above it, for avoidable_miss_rate) is an error finding with
the runbook's "action if below", and the workflows and prompts that pull it down most.

Every KPI is a ratio of sums (never an average of percentages) over the records
that report the cache layer it measures; a record that does not report a layer
counts in none of its denominators.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from fractions import Fraction
from typing import Self

import msgspec

from cache_gate.config import KPI_LABELS, KPI_NAMES, LOWER_IS_BETTER
from cache_gate.ledger.formats import epoch
from cache_gate.ledger.lines import BacklogKpiLine
from cache_gate.ledger.record import Record
from cache_gate.ledger.window import Window

# Tally slots, one list of ints per group: see Tally.add for what each counts.
REQUESTS, ELIGIBLE, PROMPT_HITS, TOKEN_REQUESTS, CACHE_READ, INPUT_TOTAL = range(6)
RESPONSE_LOOKUPS, RESPONSE_USEFUL, SEMANTIC_LOOKUPS, SEMANTIC_USEFUL = range(6, 10)
# Eligible misses of an avoidable cause: order-dependent, so `count` never fills it;
# `Tally.add_avoidable` sets it from the miss-cause analysis (`analyses.miss_causes`).
AVOIDABLE_MISSES = 10
SLOTS = 11

# KPI -> (numerator slot, denominator slot, slot counting the requests that contribute).
KPI_SLOTS: dict[str, tuple[int, int, int]] = {
    "prompt_cache_hit_rate": (PROMPT_HITS, ELIGIBLE, ELIGIBLE),
    "cached_token_ratio": (CACHE_READ, INPUT_TOTAL, TOKEN_REQUESTS),
    "response_cache_useful_hit_rate": (RESPONSE_USEFUL, RESPONSE_LOOKUPS, RESPONSE_LOOKUPS),
    "semantic_cache_useful_hit_rate": (SEMANTIC_USEFUL, SEMANTIC_LOOKUPS, SEMANTIC_LOOKUPS),
    "avoidable_miss_rate": (AVOIDABLE_MISSES, ELIGIBLE, ELIGIBLE),
}
# The KPIs `count` computes from each record alone (every breakdown can show them).
RECORD_KPIS = tuple(name for name in KPI_SLOTS if name != "avoidable_miss_rate")

RULE_OF_KPI = {
    "prompt_cache_hit_rate": "CG201",
    "response_cache_useful_hit_rate": "CG202",
    "semantic_cache_useful_hit_rate": "CG203",
    "cached_token_ratio": "CG204",
    "avoidable_miss_rate": "CG207",
}

LABELS = KPI_LABELS

# The runbook's "Action if below", word for word in spirit.
ACTIONS = {
    "prompt_cache_hit_rate": "Fix prefix consistency (runbook step 2): run `cache-gate lint`.",
    "response_cache_useful_hit_rate": "Increase the response cache TTL (runbook step 3).",
    "semantic_cache_useful_hit_rate": "Lower the semantic cache threshold (runbook step 4).",
    "cached_token_ratio": "Review which workflows bypass the cache.",
    "avoidable_miss_rate": "Fix the commonest avoidable miss cause (`cache-gate report` "
                           "lists them, with an example each).",
}

ESCALATION = (
    "Prompt cache hit rate is below 40%: escalate (runbook).",
    "1. Check that the LiteLLM Redis/cache backend is healthy (`cache-gate doctor`).",
    "2. Verify that the prompt manifest covers all high-volume paths.",
    "3. Consider whether the workload is inherently low-repetition "
    "(implementation caches less than validation).",
)
ESCALATION_BELOW = Fraction(2, 5)

Group = tuple[str | None, str | None]


def count(sums: list[int], record: Record) -> None:
    """Add one record to a group's sums: the definition of every KPI's terms."""
    if record.aggregate:
        # Many requests' tokens (a usage-report bucket): in the token sums, never in a
        # request count, the token ratio's included.
        read, uncached = record.cache_read, record.uncached_input
        if read is not None and uncached is not None:
            sums[CACHE_READ] += read
            sums[INPUT_TOTAL] += uncached + read + (record.cache_write or 0)
        return
    sums[REQUESTS] += 1
    response = record.response_cache
    if response == "hit":
        sums[RESPONSE_LOOKUPS] += 1
        if record.response_useful is not False:
            sums[RESPONSE_USEFUL] += 1
    elif response == "miss":
        sums[RESPONSE_LOOKUPS] += 1
    semantic = record.semantic_cache
    if semantic == "hit":
        sums[SEMANTIC_LOOKUPS] += 1
        if record.semantic_useful is not False:
            sums[SEMANTIC_USEFUL] += 1
    elif semantic == "miss":
        sums[SEMANTIC_LOOKUPS] += 1
    if not record.eligible:
        return
    sums[ELIGIBLE] += 1
    if record.prompt_cache_hit:
        sums[PROMPT_HITS] += 1
    read, uncached = record.cache_read, record.uncached_input
    if read is not None and uncached is not None:
        sums[TOKEN_REQUESTS] += 1
        sums[CACHE_READ] += read
        sums[INPUT_TOTAL] += uncached + read + (record.cache_write or 0)


def add_sums(into: list[int], sums: list[int]) -> None:
    for slot in range(SLOTS):
        into[slot] += sums[slot]


class PlainCounts(msgspec.Struct):
    """What `Tally.add_plain_backlog` did with a chunk's lines, for the reader's stats."""

    records: int = 0
    undated: int = 0
    outside_window: int = 0
    other_workflows: int = 0


class Tally:
    """Sums per (workflow, prompt_id): everything the KPIs are ratios of."""

    def __init__(self) -> None:
        self.groups: dict[Group, list[int]] = {}

    def add(self, records: Iterable[Record]) -> None:
        groups = self.groups
        for record in records:
            key = (record.workflow, record.prompt_id)
            sums = groups.get(key)
            if sums is None:
                sums = groups[key] = [0] * SLOTS
            count(sums, record)

    def add_plain_backlog(self, lines: list[BacklogKpiLine], window: Window,
                          workflows: frozenset[str] | None,
                          eligible: list[tuple[BacklogKpiLine, bool]] | None = None,
                          ) -> PlainCounts | None:
        """Tally decoded backlog lines without building Records: the reader's hot path.

        It does for a plain backlog line exactly what `formats.normalise` followed by
        `add` do (the property tests hold the two to it), for the commonest lines
        only: the seed's fields, or its line with the Anthropic token fields (the
        richer form DESIGN.md recommends). It returns None, having changed nothing, as
        soon as a line needs the general path (another format, a bad value).
        With `eligible`, it also lists the eligible lines it tallied, each with its
        prompt-cache hit (to be read only when it does not return None).
        """
        groups: dict[Group, list[int]] = {}
        bounded = window.bounded
        counts = PlainCounts()
        for line in lines:
            if line.usage or line.message or line.request_id:
                return None
            total = line.input_tokens
            read, write = line.cache_read_input_tokens, line.cache_creation_input_tokens
            if read is not None or write is not None:
                # The Anthropic fields: input_tokens is the uncached part only.
                if (line.workflow is None and line.model_alias is None
                        and line.cache_hit is None and line.cached_input_tokens is None):
                    return None  # a bare usage object: `anthropic.read_bare`'s to read
                cached: int | None = read or 0
                given = 0 if total is None else total + (read or 0) + (write or 0)
                reports_tokens = total is not None
                hit = line.cache_hit
                if hit is None:
                    hit = bool(read)
            else:
                cached = line.cached_input_tokens
                reports_tokens = cached is not None and total is not None
                if reports_tokens and cached > total:  # type: ignore[operator]
                    return None
                given = total or 0
                hit = line.cache_hit
                if hit is None:
                    if reports_tokens:
                        hit = cached > 0  # type: ignore[operator]
                    elif cached is None and line.model_alias is None and line.workflow is None:
                        return None
            if hit is not None and hit is not True and hit is not False:
                return None
            if bounded:
                moment = epoch(line.timestamp)
                if moment is None:
                    counts.undated += 1
                    continue
                if not window.contains(moment):
                    counts.outside_window += 1
                    continue
            if workflows is not None and line.workflow not in workflows:
                counts.other_workflows += 1
                continue
            key = (line.workflow, line.prompt_id)
            sums = groups.get(key)
            if sums is None:
                sums = groups[key] = [0] * SLOTS
            sums[REQUESTS] += 1
            served = False
            layer = line.response_cache
            if layer is not None:
                status = layer.status
                if status == "hit":
                    served = True
                    sums[RESPONSE_LOOKUPS] += 1
                    if layer.useful is not False:
                        sums[RESPONSE_USEFUL] += 1
                elif status == "miss":
                    sums[RESPONSE_LOOKUPS] += 1
            layer = line.semantic_cache
            if layer is not None:
                status = layer.status
                if status == "hit":
                    served = True
                    sums[SEMANTIC_LOOKUPS] += 1
                    if layer.useful is not False:
                        sums[SEMANTIC_USEFUL] += 1
                elif status == "miss":
                    sums[SEMANTIC_LOOKUPS] += 1
            if hit is None or served:
                continue
            if eligible is not None:
                eligible.append((line, hit))
            sums[ELIGIBLE] += 1
            if hit:
                sums[PROMPT_HITS] += 1
            if reports_tokens:
                sums[TOKEN_REQUESTS] += 1
                sums[CACHE_READ] += cached  # type: ignore[operator]
                sums[INPUT_TOTAL] += given
        counts.records = sum(group[REQUESTS] for group in groups.values())
        self.merge_groups(groups)
        return counts

    def merge(self, other: Self) -> None:
        self.merge_groups(other.groups)

    def add_avoidable(self, counts: Mapping[Group, int]) -> None:
        """Set each group's avoidable misses, as the miss-cause analysis counted them."""
        for key, avoidable in counts.items():
            sums = self.groups.get(key)
            if sums is None:
                sums = self.groups[key] = [0] * SLOTS
            sums[AVOIDABLE_MISSES] = avoidable

    def merge_groups(self, groups: dict[Group, list[int]]) -> None:
        for key, theirs in groups.items():
            ours = self.groups.get(key)
            if ours is None:
                self.groups[key] = list(theirs)
            else:
                add_sums(ours, theirs)

    def total(self, excluded: frozenset[str] = frozenset()) -> list[int]:
        """Every group's sums added up, but those of the `excluded` workflows."""
        groups = (self.groups.values() if not excluded
                  else [sums for key, sums in self.groups.items() if key[0] not in excluded])
        return [sum(column) for column in zip(*groups, strict=True)] or [0] * SLOTS

    def by(self, field: int) -> dict[str | None, list[int]]:
        """Sums per workflow (field 0) or per prompt_id (field 1)."""
        result: dict[str | None, list[int]] = {}
        for key, group in self.groups.items():
            add_sums(result.setdefault(key[field], [0] * SLOTS), group)
        return result

    def workflow_sums(self, names: frozenset[str]) -> dict[str, list[int]]:
        """The sums of each of these workflows that the ledger has."""
        result: dict[str, list[int]] = {}
        for (workflow, _), group in self.groups.items():
            if workflow in names:
                add_sums(result.setdefault(workflow, [0] * SLOTS), group)
        return result

    def worst(self, field: int, name: str, limit: int) -> list[tuple[str | None, list[int]]]:
        """The `limit` workflows (field 0) or prompts (field 1) that pull KPI `name`
        down most (`shortfall`), those that do not pull it down left out; ties in the
        order they came."""
        ranked = [(shortfall(name, sums), key, sums) for key, sums in self.by(field).items()]
        ranked.sort(key=lambda item: -item[0])
        return [(key, sums) for missed, key, sums in ranked if missed > 0][:limit]


class KpiResult(msgspec.Struct, frozen=True):
    name: str
    numerator: int
    denominator: int
    requests: int
    target: float
    status: str  # pass | fail | n/a | insufficient
    required: bool = False

    @property
    def value(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None

    @property
    def failed(self) -> bool:
        return self.status == "fail"

    def to_json(self) -> dict[str, object]:
        value = self.value
        return {
            "value": None if value is None else round(value, 6),
            "target": self.target,
            "status": self.status,
            "numerator": self.numerator,
            "denominator": self.denominator,
            "requests": self.requests,
        }


def meets(numerator: int, denominator: int, target: float, *, lower: bool = False) -> bool:
    """numerator / denominator >= target (<= where lower is better), exactly: no float
    rounding at the boundary."""
    bound = Fraction(str(target)) * denominator
    return Fraction(numerator) <= bound if lower else Fraction(numerator) >= bound


def evaluate(name: str, sums: list[int], target: float, *, min_requests: int,
             required: bool = False) -> KpiResult:
    """The pure gate decision for one KPI over one tally's sums."""
    numerator_slot, denominator_slot, requests_slot = KPI_SLOTS[name]
    numerator, denominator = sums[numerator_slot], sums[denominator_slot]
    requests = sums[requests_slot]
    if denominator == 0:
        status = "fail" if required else "n/a"
    elif requests < min_requests:
        status = "insufficient"
    else:
        passed = meets(numerator, denominator, target, lower=name in LOWER_IS_BETTER)
        status = "pass" if passed else "fail"
    return KpiResult(name, numerator, denominator, requests, target, status, required)


def shortfall(name: str, sums: list[int]) -> int:
    """How much a group pulls a KPI down: its misses (requests or tokens not served),
    or, where lower is better, what the KPI counts (its avoidable misses)."""
    numerator_slot, denominator_slot, _ = KPI_SLOTS[name]
    if name in LOWER_IS_BETTER:
        return sums[numerator_slot]
    return sums[denominator_slot] - sums[numerator_slot]


__all__ = ["KPI_NAMES", "KpiResult", "Tally", "evaluate", "meets"]
