"""Prompt cache TTL advice (`ttl_advice`) and CG208 ttl-mismatch: what each lineage's
requests would cost under 5-minute and under 1-hour cache entries, and whether the
TTL it uses is the dearer one.

Anthropic keeps a prompt-cache entry 5 minutes (a write costs 1.25x the base input
price) or 1 hour (2x); a read costs 0.1x and refreshes the entry. Which is cheaper
depends on how far apart a lineage's requests come: the ledger holds the answer.

**What is simulated.** Per lineage (`analyses.lineage`: `prompt:ID`,
`session:ID/WORKFLOW`, `model:M/WORKFLOW`), its requests in ledger order that are
`eligible` (reached the provider, report prompt caching), carry a time, and report
both cache read and cache write tokens, of which there are some (read + write > 0:
the request's cacheable tokens). Under each TTL, a request within the TTL of the
lineage's last activity (its previous simulated request: whether that one read or
wrote, the entry lives on from then) reads its cacheable tokens at 0.1x; any other
request writes them, at 1.25x (5 minutes) or 2x (1 hour). Times out of ledger order
are compared by their distance. Each request is priced with its model's base input
price (`prices.PriceTable`, multipliers from the same table).

**What is reported**, one row per lineage (JSON keys are contract):

- `requests`: the simulated requests.
- `cost_5m_usd`, `cost_1h_usd`: the two simulated costs. `null` when any request of
  the lineage has a model with no known price (`unpriced_requests` says how many):
  unknown is never 0.
- `best`: the cheaper TTL (`"5m"` on a tie). Decided in USD where the lineage is
  priced; otherwise in base-input-token equivalents, the tokens times their
  multipliers (as if every request of the lineage cost the same per token).
- `saving_usd_per_day`: what the cheaper TTL saves over the other, per day of ledger:
  (dearer cost - cheaper cost) / the ledger's days, where the ledger's days are the
  span from the first to the last dated record the analysis saw (every record, not
  just the lineage's), and at least one (a ledger shorter than a day is not
  extrapolated). `null` when the lineage is not priced.
- `unpaid_1h_writes`: actual 1-hour writes (`cache_write_1h > 0`) that never paid
  back. A 1-hour write pays back when, before the lineage's next write (a request
  with cache write tokens), a request of the lineage reads from the cache more than 5
  minutes and at most 1 hour after the lineage's previous activity: a read that a
  5-minute entry would have lost. (A request that both reads and writes has its read
  counted first: it can pay back the write before it.) A 1-hour write still alive at
  the end of the ledger (the newest record the analysis saw is within an hour of the
  lineage's last activity) is not counted: it may yet pay back.
- `gaps` (beside the contract keys): how far apart the lineage's simulated requests
  came, a count per bin of `ttl_gap_bins_s` (each bin is up to and including its
  upper bound, in seconds; the last bin is everything longer): the 5-minute and 1-hour
  lines fall on bin edges, so the bins left of a line are the gaps that entry spans.
- `configured` (beside the contract keys): the TTL the lineage uses, `"1h"` when more
  than half of its writes wrote 1-hour entries, else `"5m"`; `unpriced_requests`.

The list is ordered by `saving_usd_per_day`, biggest first (unpriced lineages last, by
their difference in token equivalents), and cut at 20 rows; `ttl_advice_left_out`
says how many lineages were left out.

Read in stretches (the parallel reader), each lineage's first request in a stretch waits
for the stretch before (its gap, so its cost, and whether it pays back or leaves unpaid
a 1-hour write the lineage had open): `TtlAdvice.merge` decides it, exactly as one pass
would. Tokens and picodollars are summed as integers and priced at the end, so that
the figures are the same in any grouping.

**CG208 ttl-mismatch** (warning): a lineage whose configured TTL costs over 10% more
than the other on its own request times. The configured TTL is what the manifest
declares for the lineage's prompt where the caller passes it (`declared`, prompt id →
`"5m"`/`"1h"`), else what the ledger's writes show (above).

Example: a prompt whose requests come every 20-40 minutes, written with 5-minute
entries, writes on every request (1.25x) where 1-hour entries would write once (2x)
and read after (0.1x):

    lineage prompt:reviewer writes 5-minute cache entries (48 of 48 writes), but on
    its 48 requests' own times 1-hour entries would cost $0.19 instead of $1.80
    (89% less; $0.81 a day of ledger): set its cache_control to "1h"      <- CG208

Fix: set the lineage's `cache_control` TTL to the one the message names (`"1h"`
where requests come back after more than 5 minutes and within the hour, `"5m"` where
they come back within 5 minutes or not at all).
"""

from __future__ import annotations

import heapq
from bisect import bisect_left
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from cache_gate import rules
from cache_gate.analyses.lineage import FIVE_MINUTES, ONE_HOUR, Span, lineage_of
from cache_gate.analyses.merging import PICO
from cache_gate.analyses.ttl_lineage import FirstRequest, LineageCost, follow, writes_left
from cache_gate.findings import Finding
from cache_gate.ledger.record import Record
from cache_gate.prices import PriceTable

# Rows of `ttl_advice` in the JSON; the rest are counted in `ttl_advice_left_out`.
ADVICE_SHOWN = 20
# CG208: the configured TTL costs more than the other by over this share.
MISMATCH = 0.10
# CG208 findings listed one by one; the rest are summed in one more.
FINDINGS_SHOWN = 20
PROMPT = "prompt:"
# Upper bounds of the gap histogram's bins, in seconds (one more bin: longer gaps).
GAP_BINS_S = (60, 300, 600, 1800, 3600, 7200, 21600, 86400)


@dataclass(frozen=True)
class Advice:
    """One lineage's row of `ttl_advice`."""

    lineage: str
    requests: int
    cost_5m_usd: float | None
    cost_1h_usd: float | None
    units_5m: float
    units_1h: float
    best: str
    saving_usd_per_day: float | None
    unpaid_1h_writes: int
    configured: str
    unpriced_requests: int
    gaps: tuple[int, ...]
    # Its actual writes, and how many of them wrote 1-hour entries (CG208 says so).
    writes: int = 0
    writes_1h: int = 0

    def cost(self, ttl: str) -> float | None:
        return self.cost_5m_usd if ttl == "5m" else self.cost_1h_usd

    def units(self, ttl: str) -> float:
        return self.units_5m if ttl == "5m" else self.units_1h

    def to_json(self) -> dict[str, object]:
        return {
            "lineage": self.lineage,
            "requests": self.requests,
            "cost_5m_usd": _usd(self.cost_5m_usd),
            "cost_1h_usd": _usd(self.cost_1h_usd),
            "best": self.best,
            "saving_usd_per_day": _usd(self.saving_usd_per_day),
            "unpaid_1h_writes": self.unpaid_1h_writes,
            "configured": self.configured,
            "unpriced_requests": self.unpriced_requests,
            "gaps": list(self.gaps),
        }


def _per_token(price: float | None) -> float | None:
    return None if price is None else price / 1e6


def _usd(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


@dataclass
class TtlAdvice:
    """A sink: every request in ledger order; each lineage's cost under both TTLs.
    Stretches of a ledger read apart merge in ledger order (`merge`) into exactly what
    one pass gives."""

    prices: PriceTable
    lineages: dict[str, LineageCost] = field(default_factory=dict)
    # The first and last record times seen (every dated record): the ledger's days.
    span: Span = field(default_factory=Span)

    def add(self, records: list[Record]) -> None:
        """The records, in ledger order: each simulated request as `observe` takes it
        (the property tests hold the two to it), a lineage's later requests inline,
        each model priced once a batch."""
        span, lineages, observe = self.span, self.lineages, self.observe
        oldest, newest = span.oldest, span.newest
        multipliers, price_of = self.prices.multipliers, self.prices.price
        reads, writes_5m, writes_1h = (multipliers.cache_read, multipliers.cache_write_5m,
                                       multipliers.cache_write_1h)
        # Per model, its price per token (`price / 1e6`, as `_simulate` computes it first).
        per_token: dict[str | None, float | None] = {}
        for record in records:
            moment = record.time
            if moment is None:
                continue
            if newest is None or moment > newest:
                newest = moment
            if oldest is None or moment < oldest:
                oldest = moment
            read, write = record.cache_read, record.cache_write
            if read is None or write is None or read + write <= 0 or not record.eligible:
                continue
            lineage = lineages.get(lineage_of(record))
            if lineage is None or lineage.last is None:
                observe(record, moment, read, write)
                continue
            model = record.model
            if model in per_token:
                price = per_token[model]
            else:
                price = per_token[model] = _per_token(price_of(model))
            # `_simulate` and `writes_left`, for a gap that is known.
            gap, cacheable = abs(moment - lineage.last), read + write
            gaps = lineage.gaps
            if gaps is None:
                gaps = lineage.gaps = [0] * (len(GAP_BINS_S) + 1)
            gaps[bisect_left(GAP_BINS_S, gap)] += 1
            if gap <= FIVE_MINUTES:
                lineage.read_5m += cacheable
                factor_5m = reads
            else:
                lineage.write_5m += cacheable
                factor_5m = writes_5m
            if gap <= ONE_HOUR:
                lineage.read_1h += cacheable
                factor_1h = reads
            else:
                lineage.write_1h += cacheable
                factor_1h = writes_1h
            lineage.requests += 1
            if price is None:
                lineage.unpriced += 1
            else:
                lineage.pico_5m += round(price * cacheable * factor_5m * PICO)
                lineage.pico_1h += round(price * cacheable * factor_1h * PICO)
            after = lineage.after_first
            if read > 0 and FIVE_MINUTES < gap <= ONE_HOUR:  # pays an open 1-hour write
                after[1] = after[3] = 0
            if write > 0:
                one_hour = 1 if (record.cache_write_1h or 0) > 0 else 0
                after[0] += after[1]
                after[2] += after[3]
                after[1] = after[3] = one_hour
                lineage.writes += 1
                lineage.writes_1h += one_hour
            lineage.last = moment
        span.oldest, span.newest = oldest, newest

    def observe(self, record: Record, moment: float, read: int, write: int) -> None:
        """One simulated request, the next of the ledger (the definition `add` keeps)."""
        key = lineage_of(record)
        lineage = self.lineages.get(key)
        price = self.prices.price(record.model)
        one_hour = (record.cache_write_1h or 0) > 0
        if lineage is None:
            lineage = self.lineages[key] = LineageCost(
                first=FirstRequest(moment, read, write, price, one_hour))
        else:
            assert lineage.last is not None
            gap = abs(moment - lineage.last)
            self._simulate(lineage, read + write, price, gap)
            writes_left(lineage.after_first, read, write, one_hour, gap)
        lineage.requests += 1
        if price is None:
            lineage.unpriced += 1
        if write > 0:
            lineage.writes += 1
            lineage.writes_1h += one_hour
        lineage.last = moment

    def _simulate(self, lineage: LineageCost, cacheable: int, price: float | None,
                  gap: float | None) -> None:
        """A request's cost under both TTLs, `gap` after the lineage's previous one."""
        multipliers = self.prices.multipliers
        if gap is not None:
            if lineage.gaps is None:
                lineage.gaps = [0] * (len(GAP_BINS_S) + 1)
            lineage.gaps[bisect_left(GAP_BINS_S, gap)] += 1
        if gap is not None and gap <= FIVE_MINUTES:
            lineage.read_5m += cacheable
            factor_5m = multipliers.cache_read
        else:
            lineage.write_5m += cacheable
            factor_5m = multipliers.cache_write_5m
        if gap is not None and gap <= ONE_HOUR:
            lineage.read_1h += cacheable
            factor_1h = multipliers.cache_read
        else:
            lineage.write_1h += cacheable
            factor_1h = multipliers.cache_write_1h
        if price is not None:
            lineage.pico_5m += round(price / 1e6 * cacheable * factor_5m * PICO)
            lineage.pico_1h += round(price / 1e6 * cacheable * factor_1h * PICO)

    def _decide(self, lineage: LineageCost, first: FirstRequest,
                before: LineageCost | None) -> None:
        """A stretch's first request of `lineage`, given the lineage's state in the
        stretch before (`before`, None where nothing came before): into `before`'s sums
        and 1-hour write answers, or `lineage`'s own."""
        into = lineage if before is None else before
        gap = None if before is None or before.last is None else abs(first.time - before.last)
        self._simulate(into, first.read + first.write, first.price, gap)
        after = lineage.after_first
        answers = into.after_first if before is not None else [0, 0, 0, 0]
        for slot in (0, 2):
            one = [0, answers[slot + 1], 0, 0]
            writes_left(one, first.read, first.write, first.one_hour, gap)
            is_open = one[1]
            answers[slot] += one[0] + after[2 * is_open]
            answers[slot + 1] = after[2 * is_open + 1]
        into.after_first = answers

    def _settle(self) -> None:
        """Decide the first requests still waiting, where nothing came before them."""
        for lineage in self.lineages.values():
            first = lineage.first
            if first is not None:
                lineage.first = None
                self._decide(lineage, first, None)

    def merge(self, later: TtlAdvice) -> None:
        """Take in the stretch of the ledger right after this one: each lineage's first
        request there is decided by this stretch's last of the lineage."""
        if later.span.newest is not None:
            self.span.see(later.span.newest)
        if later.span.oldest is not None:
            self.span.see(later.span.oldest)
        for key, theirs in later.lineages.items():
            ours = self.lineages.get(key)
            if ours is None:
                self.lineages[key] = theirs
                continue
            if theirs.first is not None:
                self._decide(theirs, theirs.first, ours)
            else:  # settled there (read as from the ledger's start): nothing waits
                follow(ours.after_first, theirs.after_first)
            ours.requests += theirs.requests
            ours.read_5m += theirs.read_5m
            ours.write_5m += theirs.write_5m
            ours.read_1h += theirs.read_1h
            ours.write_1h += theirs.write_1h
            ours.pico_5m += theirs.pico_5m
            ours.pico_1h += theirs.pico_1h
            ours.unpriced += theirs.unpriced
            ours.writes += theirs.writes
            ours.writes_1h += theirs.writes_1h
            if theirs.gaps is not None:
                if ours.gaps is None:
                    ours.gaps = [0] * (len(GAP_BINS_S) + 1)
                ours.gaps = [a + b for a, b in zip(ours.gaps, theirs.gaps, strict=True)]
            ours.last = theirs.last

    @property
    def days(self) -> float:
        """The ledger's days: its dated span, at least one."""
        return self.span.days

    def rows(self) -> Iterator[Advice]:
        """Every lineage's row, in no particular order (its first request decided)."""
        self._settle()
        return (self._row(key, lineage) for key, lineage in self.lineages.items())

    def count(self) -> int:
        """The lineages it has a row for."""
        return len(self.lineages)

    def advice(self, limit: int | None = None) -> list[Advice]:
        """Every lineage's row (the first `limit`), biggest saving first."""
        if limit is None:
            return sorted(self.rows(), key=advice_order)
        return heapq.nsmallest(limit, self.rows(), key=advice_order)

    def _row(self, key: str, lineage: LineageCost) -> Advice:
        multipliers = self.prices.multipliers
        units_5m = (lineage.read_5m * multipliers.cache_read
                    + lineage.write_5m * multipliers.cache_write_5m)
        units_1h = (lineage.read_1h * multipliers.cache_read
                    + lineage.write_1h * multipliers.cache_write_1h)
        priced = lineage.unpriced == 0
        if priced:
            best = "1h" if lineage.pico_1h < lineage.pico_5m else "5m"
            saving: float | None = abs(lineage.pico_5m - lineage.pico_1h) / PICO / self.days
        else:
            best = "1h" if units_1h < units_5m else "5m"
            saving = None
        unpaid = lineage.unpaid_1h_writes
        if (lineage.open_1h_write and lineage.last is not None and self.span.newest is not None
                and self.span.newest - lineage.last > ONE_HOUR):
            unpaid += 1
        return Advice(key, lineage.requests,
                      lineage.pico_5m / PICO if priced else None,
                      lineage.pico_1h / PICO if priced else None,
                      units_5m, units_1h, best, saving, unpaid,
                      lineage.configured, lineage.unpriced,
                      tuple(lineage.gaps or [0] * (len(GAP_BINS_S) + 1)),
                      lineage.writes, lineage.writes_1h)

    def to_json(self) -> dict[str, object]:
        """`ttl_advice` (contract keys), cut at ADVICE_SHOWN rows, and how many were cut."""
        return {"ttl_advice": [row.to_json() for row in self.advice(ADVICE_SHOWN)],
                "ttl_advice_left_out": max(0, self.count() - ADVICE_SHOWN),
                "ttl_gap_bins_s": list(GAP_BINS_S)}


def advice_order(row: Advice) -> tuple[bool, float, float, str]:
    """Biggest saving a day first, unpriced lineages last (by their difference in token
    equivalents), then by name."""
    return (row.saving_usd_per_day is None, -(row.saving_usd_per_day or 0.0),
            -abs(row.units_5m - row.units_1h), row.lineage)


# A row CG208 flags: (row, configured TTL, where that is from, _mismatch's costs).
_Flagged = tuple[Advice, str, str, tuple[float, float, bool]]


def _mismatch(row: Advice, configured: str) -> tuple[float, float, bool] | None:
    """(configured cost, other cost, in USD?) when the configured TTL costs over
    MISMATCH more than the other; else None."""
    other = "1h" if configured == "5m" else "5m"
    mine, theirs = row.cost(configured), row.cost(other)
    if mine is not None and theirs is not None:
        return (mine, theirs, True) if mine > theirs * (1 + MISMATCH) else None
    mine_units, their_units = row.units(configured), row.units(other)
    if mine_units > their_units * (1 + MISMATCH):
        return mine_units, their_units, False
    return None


def ttl_findings(advice: TtlAdvice, path: str, declared: Mapping[str, str] | None = None,
                 *, min_requests: int = 1) -> list[Finding]:
    """CG208 for every lineage of at least `min_requests` requests whose configured TTL
    costs over 10% more than the other; `declared` maps prompt ids to the TTL the
    manifest gives them ("5m" or "1h"), which wins over what the ledger's writes show."""
    rule = rules.get("CG208")
    # The flagged rows that come first in `advice_order` (at most twice FINDINGS_SHOWN
    # at any time, whatever the number of lineages), and how many were flagged.
    flagged: list[_Flagged] = []
    flagged_count = 0
    for row in advice.rows():
        if row.requests < min_requests:
            continue
        prompt = row.lineage[len(PROMPT):] if row.lineage.startswith(PROMPT) else None
        stated = declared.get(prompt) if declared is not None and prompt is not None else None
        if stated in ("5m", "1h"):
            configured, source = stated, f"is declared with {_long(stated)} entries"
        else:
            configured = row.configured
            source = (f"writes {_long(configured)} cache entries ({row.writes_1h:,} of "
                      f"{row.writes:,} writes 1-hour)")
        costs = _mismatch(row, configured)
        if costs is not None:
            flagged_count += 1
            flagged.append((row, configured, source, costs))
            if len(flagged) > 2 * FINDINGS_SHOWN:
                flagged = _first_flagged(flagged)
    findings = []
    for row, configured, source, (mine, theirs, in_usd) in _first_flagged(flagged):
        other = "1h" if configured == "5m" else "5m"
        prompt = row.lineage[len(PROMPT):] if row.lineage.startswith(PROMPT) else None
        if in_usd:
            amounts = f"${theirs:,.2f} instead of ${mine:,.2f}"
            per_day = (f"; ${row.saving_usd_per_day:,.2f} a day of ledger"
                       if row.saving_usd_per_day is not None else "")
        else:
            amounts = (f"{theirs:,.0f} instead of {mine:,.0f} base-input-token equivalents "
                       f"(its model has no price)")
            per_day = ""
        share = 1 - theirs / mine if mine else 0.0
        findings.append(Finding(
            path, None, rule.id, rule.name, rule.severity,
            f"lineage {row.lineage} {source}, but on its {row.requests:,} requests' own "
            f"times {_long(other)} entries would cost {amounts} ({share:.0%} less{per_day}): "
            f'set its cache_control to "{other}"',
            prompt_id=prompt, hint=rule.fix, key=row.lineage))
    more = flagged_count - FINDINGS_SHOWN
    if more > 0:
        findings.append(Finding(
            path, None, rule.id, rule.name, rule.severity,
            f"{more:,} more lineages use the dearer prompt-cache TTL (the first "
            f"{FINDINGS_SHOWN} listed, biggest saving first)", hint=rule.fix, key="more"))
    return findings


def _first_flagged(flagged: list[_Flagged]) -> list[_Flagged]:
    return heapq.nsmallest(FINDINGS_SHOWN, flagged, key=lambda item: advice_order(item[0]))


def _long(ttl: str) -> str:
    return "1-hour" if ttl == "1h" else "5-minute"
