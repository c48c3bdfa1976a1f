"""The report's sink: every breakdown of the ledger in one pass, what they add up to,
and CG205 runtime-prefix-drift (one prompt_id sent with several prefix hashes).

By workflow and prompt (the KPI tally), phase, model and day; the cache tokens read and
written per model and the money they saved; duplicate spend (a request repeated within
the response-cache TTL that missed every cache); runtime prefix drift (CG205).
"""

from __future__ import annotations

import heapq
from collections import Counter
from dataclasses import dataclass, field
from typing import TypeVar

from cache_gate import rules
from cache_gate.analyses import kpis
from cache_gate.analyses.kpis import SLOTS, Tally, add_sums, count
from cache_gate.analyses.lineage import UtcDates
from cache_gate.analyses.miss_causes import MissCauses
from cache_gate.analyses.tuning import Tuning
from cache_gate.findings import Finding
from cache_gate.ledger.record import Record
from cache_gate.prices import PriceTable

# Distinct prefix hashes kept per prompt: enough to show drift, bounded in memory.
PREFIXES_KEPT = 20
# Requests remembered for duplicate detection before old ones are dropped.
DUPLICATE_MEMORY = 200_000
# Rows of each breakdown in the report (the groups with the most requests); the JSON
# says how many were left out (`breakdown_left_out`).
BREAKDOWN_SHOWN = 100
# CG205 findings listed one by one (the prompts that drift most); the rest in one more.
DRIFT_SHOWN = 20
K = TypeVar("K")

@dataclass
class Spend:
    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    unpriced: int = 0  # duplicates whose cost the ledger does not report


@dataclass
class CacheTokens:
    """Per model: what was read from and written to the prompt cache."""

    read: int = 0
    write_5m: int = 0
    write_1h: int = 0
    # Requests whose format does not report cache writes apart (OpenAI, plain backlog).
    writes_unreported: int = 0


def _add_into(table: dict[K, list[int]], key: K, sums: list[int]) -> None:
    into = table.get(key)
    if into is None:
        table[key] = list(sums)
    else:
        add_sums(into, sums)


# A record's place in every breakdown at once: (workflow, prompt_id, phase, model, UTC
# date or None).
Cell = tuple[str | None, str | None, str | None, str | None, str | None]


@dataclass
class Analytics:
    """The report's sink: every breakdown, in one pass over the ledger, in file order
    (duplicate spend needs it: it has no `merge`, so the reader uses one process).

    Each record is counted once, into the cell of its workflow, prompt, phase, model
    and day; the breakdowns (the KPI tally by workflow and prompt, by phase, by model,
    by day) are those cells summed, when they are read. A group's first cell comes
    with its first record, so every breakdown keeps the order its groups came in."""

    ttl: float = 3600.0
    _tally: Tally = field(default_factory=Tally)
    _by_phase: dict[str | None, list[int]] = field(default_factory=dict)
    _by_model: dict[str | None, list[int]] = field(default_factory=dict)
    _by_day: dict[str, list[int]] = field(default_factory=dict)
    cells: dict[Cell, list[int]] = field(default_factory=dict)
    cache_tokens: dict[str | None, CacheTokens] = field(default_factory=dict)
    prefixes: dict[str, Counter[str]] = field(default_factory=dict)
    duplicates: Spend = field(default_factory=Spend)
    last_seen: dict[str, float] = field(default_factory=dict)
    # Whether the ledger can show duplicates and drift at all: LiteLLM's SpendLogs
    # table records no request or prefix hashes (a zero there would be no measurement).
    hashes_recorded: bool = True
    # Why the cache missed, and the TTLs and threshold the evidence recommends: both
    # need the requests one by one, in ledger order.
    causes: MissCauses | None = None
    tuning: Tuning | None = None
    dates: UtcDates = field(default_factory=UtcDates)

    @property
    def tally(self) -> Tally:
        self._roll_up()
        return self._tally

    @property
    def by_phase(self) -> dict[str | None, list[int]]:
        self._roll_up()
        return self._by_phase

    @property
    def by_model(self) -> dict[str | None, list[int]]:
        self._roll_up()
        return self._by_model

    @property
    def by_day(self) -> dict[str, list[int]]:
        self._roll_up()
        return self._by_day

    def _roll_up(self) -> None:
        """The cells counted so far, summed into each breakdown (and then emptied)."""
        if not self.cells:
            return
        groups = self._tally.groups
        for (workflow, prompt, phase, model, day), sums in self.cells.items():
            _add_into(groups, (workflow, prompt), sums)
            _add_into(self._by_phase, phase, sums)
            _add_into(self._by_model, model, sums)
            if day is not None:
                _add_into(self._by_day, day, sums)
        self.cells = {}

    def add(self, records: list[Record]) -> None:
        if self.causes is not None:
            self.causes.add(records)
        if self.tuning is not None:
            self.tuning.add(records)
        cells, dates, prefixes = self.cells, self.dates, self.prefixes
        count_cache_tokens, check_duplicate = self._count_cache_tokens, self._check_duplicate
        for record in records:
            moment = record.time
            cell = (record.workflow, record.prompt_id, record.phase, record.model,
                    None if moment is None
                    else dates.day if dates.low < moment < dates.high else dates(moment))
            sums = cells.get(cell)
            if sums is None:
                sums = cells[cell] = [0] * SLOTS
            count(sums, record)
            if record.cache_read is not None and (record.aggregate or record.eligible):
                count_cache_tokens(record)
            if record.prompt_id is not None and record.prefix_sha256 is not None:
                seen = prefixes.get(record.prompt_id)
                if seen is None:
                    seen = prefixes[record.prompt_id] = Counter()
                if record.prefix_sha256 in seen or len(seen) < PREFIXES_KEPT:
                    seen[record.prefix_sha256] += 1
            if record.request_sha256 is not None and moment is not None:
                check_duplicate(record, record.request_sha256, moment)

    def _count_cache_tokens(self, record: Record) -> None:
        tokens = self.cache_tokens.get(record.model)
        if tokens is None:
            tokens = self.cache_tokens[record.model] = CacheTokens()
        tokens.read += record.cache_read or 0
        if record.cache_write is None:
            tokens.writes_unreported += 1
            return
        one_hour = record.cache_write_1h or 0
        tokens.write_1h += one_hour
        tokens.write_5m += record.cache_write - one_hour

    def _check_duplicate(self, record: Record, request: str, moment: float) -> None:
        """A repeat within the TTL that no cache served is money spent twice."""
        previous = self.last_seen.get(request)
        self.last_seen[request] = moment
        if previous is None or abs(moment - previous) > self.ttl:
            return
        if (record.response_cache == "hit" or record.semantic_cache == "hit"
                or record.prompt_cache_hit):
            return
        spend = self.duplicates
        spend.requests += 1
        spend.input_tokens += record.input_total or record.uncached_input or 0
        spend.output_tokens += record.output_tokens or 0
        if record.cost is None:
            spend.unpriced += 1
        else:
            spend.cost_usd += record.cost
        if len(self.last_seen) > DUPLICATE_MEMORY:
            horizon = moment - self.ttl
            self.last_seen = {key: t for key, t in self.last_seen.items() if t >= horizon}


def rate(sums: list[int], name: str) -> float | None:
    numerator, denominator, _ = kpis.KPI_SLOTS[name]
    return sums[numerator] / sums[denominator] if sums[denominator] else None


def breakdown_rows(groups: dict[str | None, list[int]], shown: int = BREAKDOWN_SHOWN,
                   ) -> dict[str, dict[str, object]]:
    """The `shown` groups with the most requests (in the order they came, on a tie),
    each with its exact figures."""
    rows: dict[str, dict[str, object]] = {}
    for key, sums in heapq.nlargest(shown, groups.items(),
                                    key=lambda item: item[1][kpis.REQUESTS]):
        rows[key if key is not None else "(none)"] = {
            "requests": sums[kpis.REQUESTS],
            "eligible": sums[kpis.ELIGIBLE],
            **{name: rounded(rate(sums, name)) for name in kpis.RECORD_KPIS},
        }
    return rows


def rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def savings(analytics: Analytics, prices: PriceTable) -> dict[str, object]:
    by_model: dict[str, object] = {}
    total = 0.0
    unpriced: list[str] = []
    for model, tokens in sorted(analytics.cache_tokens.items(), key=lambda i: -i[1].read):
        name = model or "(none)"
        price = prices.price(model)
        row: dict[str, object] = {
            "cache_read_tokens": tokens.read,
            "cache_write_5m_tokens": tokens.write_5m,
            "cache_write_1h_tokens": tokens.write_1h,
            "requests_without_write_counts": tokens.writes_unreported,
            "base_input_usd_per_mtok": price,
            "saved_usd": None,
        }
        if price is None:
            unpriced.append(name)
        else:
            saved = prices.saved_usd(price, tokens.read, tokens.write_5m, tokens.write_1h)
            row["saved_usd"] = round(saved, 4)
            total += saved
        by_model[name] = row
    return {"total_saved_usd": round(total, 4), "by_model": by_model,
            "unpriced_models": unpriced}


def drifting(analytics: Analytics) -> list[tuple[str, Counter[str]]]:
    """The prompts sent with several prefix hashes, the most drift first: the most
    requests with another hash than their commonest one (then by name)."""
    found = [(prompt, hashes) for prompt, hashes in analytics.prefixes.items()
             if len(hashes) > 1]
    found.sort(key=lambda item: (-(item[1].total() - item[1].most_common(1)[0][1]), item[0]))
    return found


def drift_findings(analytics: Analytics, path: str) -> list[Finding]:
    """CG205 for the DRIFT_SHOWN prompts that drift most; one more finding counts the
    rest (the report stays readable, and bounded, whatever the ledger)."""
    rule = rules.get("CG205")
    findings = []
    found = drifting(analytics)
    for prompt, hashes in found[:DRIFT_SHOWN]:
        listed = ", ".join(f"{digest[:12]} ×{n:,}" for digest, n in hashes.most_common(5))
        many = f"at least {PREFIXES_KEPT}" if len(hashes) >= PREFIXES_KEPT else len(hashes)
        findings.append(Finding(
            path, None, rule.id, rule.name, rule.severity,
            f"prompt {prompt} was sent with {many} different prefix hashes in the "
            f"window ({listed}): every change writes the cache again",
            prompt_id=prompt, hint=rule.fix, key=prompt))
    if len(found) > DRIFT_SHOWN:
        findings.append(Finding(
            path, None, rule.id, rule.name, rule.severity,
            f"{len(found) - DRIFT_SHOWN:,} more prompts were sent with several prefix "
            f"hashes (the {DRIFT_SHOWN} that drift most listed)", hint=rule.fix, key="more"))
    return findings
