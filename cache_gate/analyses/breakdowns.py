"""The report's sink: every breakdown of the ledger in one pass, what they add up to,
and CG205 runtime-prefix-drift (one prompt_id sent with several prefix hashes).

By workflow and prompt (the KPI tally), phase, model and day; the cache tokens read and
written per model and the money they saved; duplicate spend (a request repeated within
the response-cache TTL that missed every cache: `duplicate_spend`); runtime prefix drift
(CG205).

Stretches of a ledger read apart merge in ledger order into exactly what one pass gives
(`Analytics.merge`; the property tests hold every part to it), or raise
`merging.InexactMerge` where they cannot (the response cache curve, or a ledger far out
of time order: see `merging`), and the caller reads the ledger in one process.

Memory is bounded whatever the number of workflows, prompts, sessions or models: past
SPILL_AFTER entries, what the sink read goes to disk (`report_spill`), by the same
merges, and its answers (`breakdown`, `days`, `tokens_by_model`, `drift`, the tally,
causes and TTL advice once `finish`ed) are the store's.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from operator import attrgetter
from typing import TYPE_CHECKING, TypeVar

from cache_gate import rules
from cache_gate.analyses import kpis
from cache_gate.analyses.duplicate_spend import DuplicateSpend
from cache_gate.analyses.kpis import SLOTS, Tally, add_sums, count
from cache_gate.analyses.lineage import UtcDates, latest_days
from cache_gate.analyses.merging import PICO, picodollars
from cache_gate.analyses.miss_causes import MissCauses
from cache_gate.analyses.tuning import Tuning
from cache_gate.analyses.tuning_ttl import TtlAdvice
from cache_gate.findings import Finding
from cache_gate.ledger.reading import SinkFull
from cache_gate.ledger.record import Record
from cache_gate.prices import PriceTable

if TYPE_CHECKING:
    from cache_gate.analyses.report_spill import ReportStore

# Distinct prefix hashes kept per prompt: enough to show drift, bounded in memory. The
# smallest hashes are kept (a sample of the prompt's hashes, by value), not the first to
# come: the smallest of a ledger are the smallest of each stretch they are in, so
# stretches read apart merge into exactly the hashes and counts of one pass.
PREFIXES_KEPT = 20
# Rows of each breakdown in the report (the groups with the most requests); the JSON
# says how many were left out (`breakdown_left_out`).
BREAKDOWN_SHOWN = 100
# CG205 findings listed one by one (the prompts that drift most); the rest in one more.
DRIFT_SHOWN = 20
# Cells, groups, prefix hashes, lineages and cause cells the sink holds before what it
# read goes to disk (`report_spill`).
SPILL_AFTER = 20_000
K = TypeVar("K")
_prompt_and_prefix = attrgetter("prompt_id", "prefix_sha256")
Ranked = TypeVar("Ranked", bound=tuple[object, ...])


@dataclass
class CacheTokens:
    """Per model: what was read from and written to the prompt cache."""

    read: int = 0
    write_5m: int = 0
    write_1h: int = 0
    # Requests whose format does not report cache writes apart (OpenAI, plain backlog).
    writes_unreported: int = 0

    def merge(self, other: CacheTokens) -> None:
        self.read += other.read
        self.write_5m += other.write_5m
        self.write_1h += other.write_1h
        self.writes_unreported += other.writes_unreported


def _add_into(table: dict[K, list[int]], key: K, sums: list[int]) -> None:
    into = table.get(key)
    if into is None:
        table[key] = list(sums)
    else:
        add_sums(into, sums)


def _take_prefixes(prefixes: dict[str, Counter[str]], prompt: str,
                   hashes: Counter[str]) -> int:
    """A prompt's prefix hashes, and their requests, from a later stretch or batch added
    to those kept for it, keeping the PREFIXES_KEPT smallest; how many more are kept.
    The same as one by one: a hash among the smallest is kept from its first request
    on (fewer smaller ones could push it out), and hashes keep their first one's order."""
    seen = prefixes.get(prompt)
    if seen is None:
        seen = prefixes[prompt] = Counter()
    before = len(seen)
    seen.update(hashes)
    if len(seen) > PREFIXES_KEPT:
        kept = set(sorted(seen)[:PREFIXES_KEPT])
        for prefix in [prefix for prefix in seen if prefix not in kept]:
            del seen[prefix]
    return len(seen) - before


def _add_table(into: dict[K, list[int]], table: dict[K, list[int]]) -> None:
    """Sum `table` into `into`; its groups new to `into` come after, in their order."""
    for key, sums in table.items():
        _add_into(into, key, sums)


# A record's place in every breakdown at once: (workflow, prompt_id, phase, model, UTC
# date or None).
Cell = tuple[str | None, str | None, str | None, str | None, str | None]


@dataclass
class Analytics:
    """The report's sink: every breakdown, over the ledger in file order; stretches read
    apart merge in ledger order (`merge`).

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
    # Per prompt, its PREFIXES_KEPT smallest prefix hashes and their requests.
    prefixes: dict[str, Counter[str]] = field(default_factory=dict)
    duplicates: DuplicateSpend = field(init=False)
    # Whether the ledger can show duplicates and drift at all: LiteLLM's SpendLogs
    # table records no request or prefix hashes (a zero there would be no measurement).
    hashes_recorded: bool = True
    # Why the cache missed, and the TTLs and threshold the evidence recommends: both
    # need the requests one by one, in ledger order.
    causes: MissCauses | None = None
    tuning: Tuning | None = None
    dates: UtcDates = field(default_factory=UtcDates)
    # Where it may not spill its state to disk (`reading.SpillingSink`), it raises
    # SinkFull once it holds SPILL_AFTER entries.
    may_spill: bool = True
    # The stretches before its own, on disk, once it spilled.
    store: ReportStore | None = None
    # Prefix hashes kept, over every prompt.
    _hashes: int = 0
    _finished: bool = False
    _drift: tuple[list[tuple[str, Counter[str]]], int] | None = None

    def __post_init__(self) -> None:
        self.duplicates = DuplicateSpend(self.ttl)

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
        self._in_order(records)
        self._breakdowns(records)
        self.bound()

    def add_in_order(self, records: list[Record]) -> None:
        """The records to the parts that take them one by one, in ledger order: the
        miss causes and the tuning (PostgreSQL's reader calls it apart: its sums come
        from the server, before)."""
        self._in_order(records)
        self.bound()

    def add_breakdowns(self, records: list[Record]) -> None:
        """The records to every other part: the cells, the cache tokens, the prefixes
        and duplicate spend."""
        self._breakdowns(records)
        self.bound()

    def _in_order(self, records: list[Record]) -> None:
        if self.causes is not None:
            self.causes.add(records)
        if self.tuning is not None:
            self.tuning.add(records)

    def _breakdowns(self, records: list[Record]) -> None:
        cells, dates = self.cells, self.dates
        cache_tokens, check_duplicate = self.cache_tokens, self.duplicates.add
        for record in records:
            moment = record.time
            cell = (record.workflow, record.prompt_id, record.phase, record.model,
                    None if moment is None
                    else dates.day if dates.low < moment < dates.high else dates(moment))
            sums = cells.get(cell)
            if sums is None:
                sums = cells[cell] = [0] * SLOTS
            count(sums, record)
            read = record.cache_read
            if read is not None and (record.eligible or record.aggregate):
                # Per model: what was read from and written to the prompt cache.
                tokens = cache_tokens.get(record.model)
                if tokens is None:
                    tokens = cache_tokens[record.model] = CacheTokens()
                tokens.read += read
                write = record.cache_write
                if write is None:
                    tokens.writes_unreported += 1
                else:
                    one_hour = record.cache_write_1h or 0
                    tokens.write_1h += one_hour
                    tokens.write_5m += write - one_hour
            if record.request_sha256 is not None and moment is not None:
                check_duplicate(record, record.request_sha256, moment)
        self._count_prefixes(Counter(map(_prompt_and_prefix, records)))

    def _count_prefixes(self, pairs: Counter[tuple[str | None, str | None]]) -> None:
        """Each prompt's prefix hashes, from a batch's (prompt_id, prefix_sha256) pairs
        counted in the order they came (`_take_prefixes`: as one by one)."""
        batch: dict[str, Counter[str]] = {}
        for (prompt, prefix), requests in pairs.items():
            if prompt is not None and prefix is not None:
                batch.setdefault(prompt, Counter())[prefix] = requests
        for prompt, hashes in batch.items():
            self._hashes += _take_prefixes(self.prefixes, prompt, hashes)

    def merge(self, later: Analytics) -> None:
        """Take in the stretch of the ledger right after this one. Every part merges into
        what one pass gives: the sums add up, and a group new to this stretch comes after
        its own (as its first record did); the order-dependent parts decide what waited
        for this stretch. Raises `merging.InexactMerge`, having changed nothing, where a
        part cannot (see `merging`)."""
        self.duplicates.check(later.duplicates)
        if self.tuning is not None and later.tuning is not None:
            self.tuning.check(later.tuning)
        self._roll_up()
        later._roll_up()
        self._tally.merge(later._tally)
        _add_table(self._by_phase, later._by_phase)
        _add_table(self._by_model, later._by_model)
        _add_table(self._by_day, later._by_day)
        for model, tokens in later.cache_tokens.items():
            mine = self.cache_tokens.get(model)
            if mine is None:
                self.cache_tokens[model] = tokens
            else:
                mine.merge(tokens)
        for prompt, hashes in later.prefixes.items():
            self._hashes += _take_prefixes(self.prefixes, prompt, hashes)
        self.duplicates.merge(later.duplicates)
        self.hashes_recorded = self.hashes_recorded and later.hashes_recorded
        if self.causes is not None and later.causes is not None:
            self.causes.merge(later.causes)
        if self.tuning is not None and later.tuning is not None:
            self.tuning.merge(later.tuning)
        self.bound()

    @property
    def estimated(self) -> bool:
        """Whether its duplicate spend or response TTL curve is an estimate: a record
        came within the TTL of an entry its table had dropped (`merging.Estimating`)."""
        return self.duplicates.horizon.uncertain or (
            self.tuning is not None and self.tuning.response.horizon.uncertain)

    def keep_every_hash(self) -> None:
        """Its tables per request hash drop nothing (before it reads)."""
        self.duplicates.keep_every_entry()
        if self.tuning is not None:
            self.tuning.response.keep_every_entry()

    def bound(self) -> None:
        """Memory bounded: past SPILL_AFTER entries, the stretch read goes to disk; so
        do the tables kept per request hash, past theirs (`hash_spill`)."""
        self.duplicates.bound(self.may_spill)
        causes, tuning = self.causes, self.tuning
        if tuning is not None:
            tuning.bound(self.may_spill)
        if causes is not None:
            causes.bound_names(self.may_spill)
        if causes is None or tuning is None:
            return  # what a store needs to price the causes and the TTL simulations
        held = (len(self.cells) + len(self._tally.groups) + len(self._by_phase)
                + len(self._by_model) + len(self._by_day) + len(self.cache_tokens)
                + self._hashes + len(causes.lineages) + len(causes.cells)
                + len(tuning.advice.lineages))
        if held > SPILL_AFTER:
            if not self.may_spill:
                raise SinkFull
            self._spill()

    def _spill(self) -> None:
        from cache_gate.analyses.report_spill import ReportStore

        causes, tuning = self.causes, self.tuning
        assert causes is not None and tuning is not None
        self._roll_up()
        if self.store is None:
            self.store = ReportStore(causes, tuning.prices)
        tokens = {model: (t.read, t.write_5m, t.write_1h, t.writes_unreported)
                  for model, t in self.cache_tokens.items()}
        self.store.absorb_report(self._tally, causes,
                                 (self._by_phase, self._by_model, self._by_day), tokens,
                                 self.prefixes, tuning.advice)
        self._tally, self._by_phase, self._by_model, self._by_day = Tally(), {}, {}, {}
        self.cache_tokens, self.prefixes, self._hashes = {}, {}, 0
        self.causes = MissCauses(causes.prices, causes.minimums, names=causes.names)
        tuning.advice = TtlAdvice(tuning.prices)

    def finish(self) -> None:
        """The whole ledger read: where it spilled, its last stretch goes to the store
        too, and the tally, the causes and the TTL advice are the store's from then on."""
        store, tuning = self.store, self.tuning
        if store is None or self._finished:
            return
        from cache_gate.analyses.kpi_spill import SpilledCauses, SpilledTally
        from cache_gate.analyses.report_spill import SpilledAdvice

        assert tuning is not None
        self._spill()
        self._tally, self.causes = SpilledTally(store), SpilledCauses(store)
        tuning.advice = SpilledAdvice(store)
        self._finished = True

    # The answers, once `finish`ed.

    def breakdown(self, field: str, limit: int = BREAKDOWN_SHOWN,
                  ) -> tuple[list[tuple[str | None, list[int]]], int]:
        """The `limit` groups of `field` (workflow, prompt_id, phase, model) with the
        most requests (the first to come, on a tie), and how many groups there are."""
        if self.store is not None:
            return self.store.breakdown(field.removesuffix("_id"), limit)
        groups = (self.tally.by(0) if field == "workflow" else self.tally.by(1)
                  if field == "prompt_id" else self.by_phase if field == "phase"
                  else self.by_model)
        return (heapq.nlargest(limit, groups.items(), key=lambda item: item[1][kpis.REQUESTS]),
                len(groups))

    def days(self, limit: int) -> tuple[list[tuple[str, list[int]]], int]:
        """The `limit` latest UTC days' sums, in date order, and how many days there are."""
        if self.store is not None:
            return self.store.days(limit)
        return latest_days(self.by_day.items(), limit)

    def tokens_by_model(self) -> Iterator[tuple[int, str | None, CacheTokens]]:
        """Per model, with its place in the order they came, what was read from and
        written to the cache."""
        if self.store is not None:
            for first, model, counts in self.store.cache_tokens():
                yield first, model, CacheTokens(*counts)
            return
        for index, (model, tokens) in enumerate(self.cache_tokens.items()):
            yield index, model, tokens

    def drift(self, limit: int) -> tuple[list[tuple[str, Counter[str]]], int]:
        """The `limit` prompts that drift most (`drifting`), and how many drift."""
        if self.store is not None:
            # One query for both of the report's lists (findings, `prefix_drift`).
            assert limit <= BREAKDOWN_SHOWN
            if self._drift is None:
                self._drift = self.store.drifting(PREFIXES_KEPT, BREAKDOWN_SHOWN)
            found, count = self._drift
            return found[:limit], count
        found = drifting(self)
        return found[:limit], len(found)


def rate(sums: list[int], name: str) -> float | None:
    numerator, denominator, _ = kpis.KPI_SLOTS[name]
    return sums[numerator] / sums[denominator] if sums[denominator] else None


def breakdown_rows(groups: list[tuple[str | None, list[int]]]) -> dict[str, dict[str, object]]:
    """Each group with its exact figures."""
    rows: dict[str, dict[str, object]] = {}
    for key, sums in groups:
        rows[key if key is not None else "(none)"] = {
            "requests": sums[kpis.REQUESTS],
            "eligible": sums[kpis.ELIGIBLE],
            **{name: rounded(rate(sums, name)) for name in kpis.RECORD_KPIS},
        }
    return rows


def rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def savings(analytics: Analytics, prices: PriceTable) -> dict[str, object]:
    """`savings`: the total over every model, in picodollars (exact, whatever the order
    the models come in); the BREAKDOWN_SHOWN models with the most cache reads, and as
    many of those without a price (the first to come, on a tie), with how many more
    there are (`by_model_left_out`, `unpriced_models_left_out`): a ledger that names a
    model a line stays bounded in memory and in the report."""
    shown: list[tuple[int, int, str, dict[str, object]]] = []
    unpriced: list[tuple[int, int, str]] = []
    models = priced = 0
    total = 0
    for index, model, tokens in analytics.tokens_by_model():
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
        models += 1
        if price is None:
            _keep_largest(unpriced, (tokens.read, -index, name))
        else:
            saved = prices.saved_usd(price, tokens.read, tokens.write_5m, tokens.write_1h)
            row["saved_usd"] = round(saved, 4)
            total += picodollars(saved)
            priced += 1
        _keep_largest(shown, (tokens.read, -index, name, row))
    money: dict[str, object] = {
        "total_saved_usd": round(total / PICO, 4),
        "by_model": {name: row for *_, name, row in sorted(shown, reverse=True)},
        "unpriced_models": [name for *_, name in sorted(unpriced, reverse=True)]}
    if models > len(shown):
        money["by_model_left_out"] = models - len(shown)
    if models - priced > len(unpriced):
        money["unpriced_models_left_out"] = models - priced - len(unpriced)
    return money


def _keep_largest(heap: list[Ranked], item: Ranked) -> None:
    """`item` kept in `heap` if it is among the BREAKDOWN_SHOWN largest so far (items
    are told apart before their last part: that is never compared)."""
    if len(heap) < BREAKDOWN_SHOWN:
        heapq.heappush(heap, item)
    elif item > heap[0]:
        heapq.heapreplace(heap, item)


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
    found, count = analytics.drift(DRIFT_SHOWN)
    for prompt, hashes in found:
        listed = ", ".join(f"{digest[:12]} ×{n:,}" for digest, n in hashes.most_common(5))
        many = f"at least {PREFIXES_KEPT}" if len(hashes) >= PREFIXES_KEPT else len(hashes)
        findings.append(Finding(
            path, None, rule.id, rule.name, rule.severity,
            f"prompt {prompt} was sent with {many} different prefix hashes in the "
            f"window ({listed}): every change writes the cache again",
            prompt_id=prompt, hint=rule.fix, key=prompt))
    if count > DRIFT_SHOWN:
        findings.append(Finding(
            path, None, rule.id, rule.name, rule.severity,
            f"{count - DRIFT_SHOWN:,} more prompts were sent with several prefix "
            f"hashes (the {DRIFT_SHOWN} that drift most listed)", hint=rule.fix, key="more"))
    return findings
