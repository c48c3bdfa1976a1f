"""Why the cache missed: a cause for every eligible prompt-cache miss, what it cost,
and the gate on the avoidable ones (CG207 avoidable-misses).

A miss is an eligible request that reports prompt caching and read nothing from the
cache. Its cause, first match wins (DESIGN.md, "Why the cache missed"; the names are
contract):

1. The provider's own diagnosis, where the record carries one, kept by its name
   (Anthropic's `cache_miss_reason`, OpenAI's `prompt_cache_diagnostics`, a backlog
   record's `cache_miss_reason`): the first `cause_names.REASONS_NAMED` distinct
   names, later new ones pooled (`cause_names`, `pool`).
2. `not_requested`: the request wrote nothing to the cache either, and its input is at
   or above the model's minimum cacheable length (or the model's minimum is unknown):
   nothing asked to cache it: no breakpoint, or a proxy dropped `cache_control`.
3. `below_minimum`: it wrote nothing, and its input is below the model's minimum.
4. Otherwise it wrote (or its format does not report writes apart: OpenAI's older
   models and plain backlog lines cache automatically), and the previous request of its
   lineage (`analyses.lineage`) decides: none, or no cache activity yet in the lineage,
   → `cold`; another model → `model_changed`; both carry `prefix_sha256` and they differ
   → `prefix_changed`; the time since the lineage's last cache activity (its last read
   or write) exceeds the entry's TTL → `ttl_expired`; else `changed_within_ttl`.
   The entry's TTL is 1 hour when its last write wrote 1-hour entries, else 5 minutes;
   a read refreshes the entry at its own TTL. A miss whose time, or whose lineage's last
   activity's time, is unknown is `unknown` (not avoidable: there is no evidence).

Requests are taken in ledger order; times out of order are compared by their distance.
Avoidable causes are those a change in code or configuration removes: `not_requested`,
`below_minimum`, `model_changed`, `prefix_changed`, `changed_within_ttl` and a
provider's `*_changed` reasons. `avoidable_miss_rate` is the avoidable misses over the
eligible requests (the fifth KPI, lower is better); CG207 names the lineage with the
most avoidable misses.

The cost of a miss is the input it paid for beyond a hit: its uncached tokens at the
base input price and its writes at the write price (1.25x, 1-hour writes 2x), priced
from the price table; misses of unpriced models are counted in `unpriced_requests`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import msgspec

from cache_gate.analyses.cause_names import CauseNames
from cache_gate.analyses.lineage import (
    DAYS_SHOWN,
    FIVE_MINUTES,
    ONE_HOUR,
    LineageState,
    UtcDates,
    WaitingMiss,
    latest_days,
    lineage_of,
)
from cache_gate.analyses.merging import PICO, picodollars
from cache_gate.ledger.record import Record
from cache_gate.models import ModelMinimums
from cache_gate.prices import PriceTable

AVOIDABLE = frozenset({"not_requested", "below_minimum", "model_changed", "prefix_changed",
                       "changed_within_ttl"})
# Rows kept per breakdown in the JSON (by workflow, by prompt); the rest are summed.
TOP_GROUPS = 20


def is_avoidable(cause: str) -> bool:
    return cause in AVOIDABLE or cause.endswith("_changed")



class CauseCost(msgspec.Struct):
    """What the misses of one cause paid for."""

    requests: int = 0
    input_tokens: int = 0
    picodollars: int = 0
    unpriced_requests: int = 0

    def merge(self, other: CauseCost) -> None:
        self.requests += other.requests
        self.input_tokens += other.input_tokens
        self.picodollars += other.picodollars
        self.unpriced_requests += other.unpriced_requests

    @property
    def cost_usd(self) -> float:
        return self.picodollars / PICO

    def to_json(self) -> dict[str, object]:
        shown: dict[str, object] = {"requests": self.requests,
                                    "input_tokens": self.input_tokens,
                                    "cost_usd": round(self.cost_usd, 6)}
        if self.unpriced_requests:
            shown["unpriced_requests"] = self.unpriced_requests
        return shown


def remember_silent_hit(lineage: LineageState, model: str | None, prefix: str | None,
                        moment: float | None) -> None:
    """What a hit that wrote nothing to the cache leaves of itself in its lineage (all
    that observing it does, besides counting it among the eligible requests): the
    previous request, and the last cache activity, its read."""
    lineage.seen = True
    lineage.model = model
    lineage.prefix = prefix
    lineage.active = True
    lineage.activity = moment


# A dataclass, not a struct: `kpi_spill.SpilledCauses` subclasses it with an __init__.
@dataclass
class MissCauses:
    """A sink: every eligible request, in ledger order; the misses' causes and costs.

    It may read any stretch of the ledger, not only one from its start: a miss whose
    cause depends on its lineage's last read or write before the stretch waits (one at
    most a lineage: that miss is itself a write, so the stretch knows the rest) until
    `merge` gives it the stretch before, or until the results are read, where nothing
    came before (it is then `cold`). Stretches read apart and merged in ledger order
    give exactly what one pass gives (the property tests hold them to it).
    """

    prices: PriceTable
    minimums: ModelMinimums
    eligible: int = 0
    # What the misses paid for, per (workflow, prompt_id, UTC date or None, cause): each
    # miss counted once; `overall` and the breakdowns are these cells summed.
    cells: dict[tuple[str | None, str | None, str | None, str], CauseCost] = field(
        default_factory=dict)
    dates: UtcDates = field(default_factory=UtcDates)
    # Avoidable misses per (workflow, prompt_id): the KPI's numerator, grouped as the
    # Tally groups its sums.
    _avoidable_by_group: Counter[tuple[str | None, str | None]] = field(
        default_factory=Counter)
    lineages: dict[str, LineageState] = field(default_factory=dict)
    # The first miss of each cause: (its ordinal among the eligible requests, it).
    _examples: dict[str, tuple[int, Record]] = field(default_factory=dict)
    # Lineages with a miss waiting for what came before the stretch.
    _waiting: set[str] = field(default_factory=set)
    # The provider's diagnoses met so far (bounded: `cause_names`, `pool`).
    names: CauseNames = field(default_factory=CauseNames)

    def add(self, records: list[Record]) -> None:
        """The eligible records, in ledger order, as `observe` takes them one by one; a
        hit that writes nothing to the cache (a silent hit) is observed only where no
        later one of its lineage comes before the lineage's next other request or the
        batch's end.

        Exact: a hit changes nothing but its lineage's state and the count of eligible
        requests (a later miss's ordinal), and a silent hit sets every part of that
        state it sets at all (the previous request, the last activity): the next
        silent hit of its lineage sets them all again. So a run of them, remembered as
        its last alone, leaves the state the whole run leaves. A lineage is made where
        its first request comes, as `observe` makes it (the order of `lineages` is a
        snapshot's). The property tests hold it to `observe`, byte for byte."""
        observe, remember, lineages = self.observe, self._remember, self.lineages
        held: dict[str, Record] = {}
        for record in records:
            if not record.eligible:
                continue
            key = lineage_of(record)
            if record.prompt_cache_hit and not record.cache_write:
                if key not in lineages:
                    lineages[key] = LineageState()
                held[key] = record
                self.eligible += 1
                continue
            earlier = held.pop(key, None)
            if earlier is not None:
                remember(earlier, lineages[key])
            observe(record, key)
        for key, record in held.items():
            remember(record, lineages[key])

    def observe(self, record: Record, key: str | None = None) -> None:
        """One eligible request, the next in ledger order (`key`: its lineage's, where
        the caller knows it)."""
        ordinal = self.eligible
        self.eligible += 1
        if key is None:
            key = lineage_of(record)
        lineage = self.lineages.get(key)
        if lineage is None:
            lineage = self.lineages[key] = LineageState()
        if not record.prompt_cache_hit:
            cause = self.local_cause(record)
            if cause is None and not (lineage.active and lineage.timed):
                # It depends on its lineage's last read or write before this stretch.
                lineage.pending = WaitingMiss(
                    ordinal, record, lineage.seen, lineage.model, lineage.prefix,
                    lineage.active, lineage.activity, lineage.timed, lineage.ttl)
                self._waiting.add(key)
            else:
                self._count(ordinal, record, cause or self.lineage_cause(
                    record, lineage.seen, lineage.model, lineage.prefix, lineage.activity,
                    lineage.ttl), lineage)
        self._remember(record, lineage)

    def local_cause(self, record: Record) -> str | None:
        """The cause of a miss that its own record decides (steps 1-3), else None."""
        if record.miss_reason is not None:
            return self.names.name(record.miss_reason)
        if record.cache_write == 0:
            minimum = self.minimums.minimum_for(record.model) if record.model else None
            given = record.input_total
            if minimum is not None and given is not None and given < minimum:
                return "below_minimum"
            return "not_requested"
        return None

    @staticmethod
    def lineage_cause(record: Record, seen: bool, model: str | None, prefix: str | None,
                      activity: float | None, ttl: float) -> str:
        """Step 4: the cause of a miss that wrote, given its lineage's last read or
        write (`activity`, the entry's `ttl`) and previous request (`seen`, `model`,
        `prefix`)."""
        if not seen:
            return "cold"
        if model is not None and record.model is not None and model != record.model:
            return "model_changed"
        if (prefix is not None and record.prefix_sha256 is not None
                and prefix != record.prefix_sha256):
            return "prefix_changed"
        if activity is None or record.time is None:
            return "unknown"
        if abs(record.time - activity) > ttl:
            return "ttl_expired"
        return "changed_within_ttl"

    def _remember(self, record: Record, lineage: LineageState) -> None:
        if record.prompt_cache_hit and not record.cache_write:
            remember_silent_hit(lineage, record.model, record.prefix_sha256, record.time)
            return
        lineage.seen = True
        lineage.model = record.model
        lineage.prefix = record.prefix_sha256
        wrote = record.cache_write is None or record.cache_write > 0
        if record.prompt_cache_hit or wrote:
            lineage.active = True
            lineage.activity = record.time
            if record.cache_write:
                lineage.timed = True
                lineage.ttl = ONE_HOUR if (record.cache_write_1h or 0) > 0 else FIVE_MINUTES
            elif not record.prompt_cache_hit:
                lineage.timed = True
                lineage.ttl = FIVE_MINUTES  # an automatic write, of unreported TTL

    def _count(self, ordinal: int, record: Record, cause: str, lineage: LineageState) -> None:
        moment, dates = record.time, self.dates
        cell = (record.workflow, record.prompt_id, None if moment is None
                else dates.day if dates.low < moment < dates.high else dates(moment), cause)
        entry = self.cells.get(cell)
        if entry is None:
            entry = self.cells[cell] = CauseCost()
        # What it paid for beyond a hit: its uncached input at the base price, its
        # writes at theirs.
        uncached, write = record.uncached_input or 0, record.cache_write or 0
        entry.requests += 1
        entry.input_tokens += uncached + write
        price = self.prices.price(record.model)
        if price is None:
            entry.unpriced_requests += 1
        else:
            multipliers = self.prices.multipliers
            one_hour = record.cache_write_1h or 0
            entry.picodollars += picodollars(
                price / 1e6 * (uncached + (write - one_hour) * multipliers.cache_write_5m
                               + one_hour * multipliers.cache_write_1h))
        first = self._examples.get(cause)
        if first is None or ordinal < first[0]:
            self._examples[cause] = (ordinal, record)
        if is_avoidable(cause):
            self._avoidable_by_group[record.workflow, record.prompt_id] += 1
            avoidable = lineage.avoidable
            if avoidable is None:
                avoidable = lineage.avoidable = {}
            avoidable[cause] = avoidable.get(cause, 0) + 1

    def merge(self, later: MissCauses) -> None:
        """Take in the stretch of the ledger that comes right after this one: its
        waiting misses are decided by this stretch's state where it knows it."""
        self.names.take(later.names)
        shift = self.eligible
        self.eligible += later.eligible
        for cell, cost in later.cells.items():
            entry = self.cells.get(cell)
            if entry is None:
                self.cells[cell] = entry = CauseCost()
            entry.merge(cost)
        self._avoidable_by_group.update(later._avoidable_by_group)
        for cause, (ordinal, record) in later._examples.items():
            if cause not in self._examples:
                self._examples[cause] = (ordinal + shift, record)
        for key, theirs in later.lineages.items():
            ours = self.lineages.get(key)
            waiting = theirs.pending
            if waiting is not None:
                waiting.ordinal += shift
            if ours is None:
                self.lineages[key] = theirs
                if waiting is not None:
                    self._waiting.add(key)
                continue
            if theirs.avoidable:
                if ours.avoidable is None:
                    ours.avoidable = {}
                for cause, count in theirs.avoidable.items():
                    ours.avoidable[cause] = ours.avoidable.get(cause, 0) + count
            if waiting is not None:
                waiting.fill(ours)
                if waiting.active and waiting.timed:
                    self._decide(waiting, ours)
                else:  # what it needs came before this stretch too: it waits on
                    ours.pending = waiting
                    self._waiting.add(key)
            ours.seen, ours.model, ours.prefix = True, theirs.model, theirs.prefix
            if theirs.active:
                ours.active, ours.activity = True, theirs.activity
            if theirs.timed:
                ours.timed, ours.ttl = True, theirs.ttl

    def bound_names(self, may_pool: bool) -> None:
        """Past `cause_names.REASONS_NAMED` diagnoses: pooled where the caller reads from
        the ledger's start (`may_pool`: a sink that may spill), else kept (see
        `cause_names`)."""
        if may_pool and self.names.over:
            self.pool()

    def pool(self) -> None:
        """Pool the diagnoses beyond the bound, and those to come (the caller reads from
        the ledger's start: see `cause_names`). Their misses are counted under their
        pools, as if pooled when they came: the cells add up, a pool's example is its
        first miss, the lineages' avoidable counts move with them."""
        pools = self.names.pool()
        if pools:
            self._pool(pools)

    def _pool(self, pools: dict[str, str]) -> None:
        cells: dict[tuple[str | None, str | None, str | None, str], CauseCost] = {}
        for (workflow, prompt, day, cause), cost in self.cells.items():
            cell = (workflow, prompt, day, pools.get(cause, cause))
            entry = cells.get(cell)
            if entry is None:
                cells[cell] = cost
            else:
                entry.merge(cost)
        self.cells = cells
        for cause, pool in pools.items():
            first = self._examples.pop(cause)
            if pool not in self._examples or first[0] < self._examples[pool][0]:
                self._examples[pool] = first
        for lineage in self.lineages.values():
            avoidable = lineage.avoidable
            if avoidable and not pools.keys().isdisjoint(avoidable):
                lineage.avoidable = {}
                for cause, count in avoidable.items():
                    pool = pools.get(cause, cause)
                    lineage.avoidable[pool] = lineage.avoidable.get(pool, 0) + count

    def avoidable_counts(self) -> Counter[tuple[str | None, str | None]]:
        """The avoidable misses per group decided so far, waiting ones left waiting (a
        snapshot's, which `avoidable_by_group` would settle)."""
        return self._avoidable_by_group

    def first_examples(self) -> dict[str, tuple[int, Record]]:
        """The first miss of each cause decided so far, with its ordinal."""
        return self._examples

    def load(self, *, eligible: int,
             cells: dict[tuple[str | None, str | None, str | None, str], CauseCost],
             avoidable: Counter[tuple[str | None, str | None]],
             lineages: dict[str, LineageState],
             examples: dict[str, tuple[int, Record]]) -> None:
        """Become the stretch these parts are the state of (a snapshot's, restored)."""
        self.eligible, self.cells, self._avoidable_by_group = eligible, cells, avoidable
        self.lineages, self._examples = lineages, examples
        self._waiting = {key for key, lineage in lineages.items()
                         if lineage.pending is not None}
        self.names = CauseNames(cause for cause, _ in sorted(
            examples.items(), key=lambda item: item[1][0]))

    def _decide(self, waiting: WaitingMiss, lineage: LineageState) -> None:
        self._count(waiting.ordinal, waiting.record, self.lineage_cause(
            waiting.record, waiting.seen, waiting.model, waiting.prefix, waiting.activity,
            waiting.ttl) if waiting.active else "cold", lineage)

    def _settle(self) -> None:
        """Decide the misses still waiting, where nothing came before them: no read or
        write before (`cold`), or no write, so the entry's TTL is the default."""
        for key in self._waiting:
            lineage = self.lineages[key]
            waiting = lineage.pending
            if waiting is not None:
                self._decide(waiting, lineage)
                lineage.pending = None
        self._waiting.clear()

    @property
    def avoidable_by_group(self) -> Counter[tuple[str | None, str | None]]:
        self._settle()
        return self._avoidable_by_group

    @property
    def examples(self) -> dict[str, Record]:
        """The first miss of each cause, in ledger order."""
        self._settle()
        return {cause: record for cause, (_, record) in self._examples.items()}

    @property
    def overall(self) -> dict[str, CauseCost]:
        return self._summed(lambda cell: None).get(None, {})

    @property
    def by_workflow(self) -> dict[str | None, dict[str, CauseCost]]:
        return self._summed(lambda cell: cell[0])

    @property
    def by_prompt(self) -> dict[str | None, dict[str, CauseCost]]:
        return self._summed(lambda cell: cell[1])

    def days(self, limit: int) -> tuple[list[tuple[str, dict[str, CauseCost]]], int]:
        """The `limit` latest UTC dates with misses (of those with a time), each with its
        table of causes, in date order; and how many dates there are."""
        return latest_days(((day, table) for day, table
                            in self._summed(lambda cell: cell[2]).items() if day is not None),
                           limit)

    def _summed(self, group: Callable[[tuple[str | None, str | None, str | None, str]],
                                      str | None]) -> dict[str | None, dict[str, CauseCost]]:
        """The cells summed per group and cause, groups and causes in the order they came."""
        self._settle()
        tables: dict[str | None, dict[str, CauseCost]] = {}
        for cell, cost in self.cells.items():
            table = tables.setdefault(group(cell), {})
            entry = table.get(cell[3])
            if entry is None:
                entry = table[cell[3]] = CauseCost()
            entry.merge(cost)
        return tables

    @property
    def avoidable_misses(self) -> int:
        return sum(self.avoidable_by_group.values())

    def worst_lineage(self) -> tuple[str, int, str] | None:
        """(lineage, its avoidable misses, its commonest avoidable cause), or None."""
        self._settle()
        return worst_of(self.lineages.items())

    def breakdown(self, field: int) -> dict[str, object]:
        """The TOP_GROUPS workflows (field 0) or prompts (field 1) with the most
        misses, each with its table of causes, as the JSON shows them."""
        return breakdown_of(self._summed(lambda cell: cell[field]))

    def to_json(self) -> dict[str, object]:
        """`miss_causes` as DESIGN.md lays it out (contract keys)."""
        return {
            "overall": _table(self.overall),
            "by_workflow": self.breakdown(0),
            "by_prompt": self.breakdown(1),
        } | self._days_json()

    def _days_json(self) -> dict[str, object]:
        shown, count = self.days(DAYS_SHOWN)
        return {"by_day": {day: _table(causes) for day, causes in shown},
                **({"by_day_left_out": count - len(shown)} if count > len(shown) else {})}


def worst_of(lineages: Iterable[tuple[str, LineageState]]) -> tuple[str, int, str] | None:
    """The lineage with the most avoidable misses (the first by key of those with as
    many), its count and its commonest avoidable cause (the first by name of those as
    common), or None where none has one."""
    worst: tuple[str, int, str] | None = None
    for key, lineage in lineages:
        if not lineage.avoidable:
            continue
        total = sum(lineage.avoidable.values())
        if total and (worst is None or total > worst[1]
                      or (total == worst[1] and key < worst[0])):
            cause = min(lineage.avoidable.items(), key=lambda item: (-item[1], item[0]))[0]
            worst = (key, total, cause)
    return worst


def _table(causes: dict[str, CauseCost]) -> dict[str, object]:
    ordered = sorted(causes.items(), key=lambda item: (-item[1].requests, item[0]))
    return {cause: cost.to_json() for cause, cost in ordered}


def breakdown_of(groups: dict[str | None, dict[str, CauseCost]]) -> dict[str, object]:
    ordered = sorted(groups.items(),
                     key=lambda item: (-sum(c.requests for c in item[1].values()),
                                       item[0] is None, item[0] or ""))
    return {(name if name is not None else "(none)"): _table(causes)
            for name, causes in ordered[:TOP_GROUPS]}
