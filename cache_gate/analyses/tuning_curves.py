"""The response cache TTL curve and the semantic threshold curve (runbook steps 3 and 4).

**`response_ttl_curve`.** The requests that carry a `request_sha256` and a time, in
ledger order, replayed against a response cache at each TTL of 15 min, 30 min, 1 h,
2 h, 4 h and 24 h: a request whose hash has an entry written at most the TTL before
it hits; any other misses and writes the entry anew, which then lives its TTL (hits
do not extend it). Times out of ledger order are compared by their distance.

- `hits`: the requests that would hit.
- `tokens_saved`: what a response-cache hit saves is the whole request, so its input
  (uncached, cache read and cache write tokens) and its output: every token its line
  reports.
- `cost_saved_usd`: the hits' logged `cost`. A hit whose cost is unknown counts in
  `unpriced_hits` (beside the contract keys), never as 0; so does one that a cache
  actually served (its response or semantic cache status is `hit`), whose logged
  cost is what the cache charged, not what the provider would have. `null` when
  there are hits and none is priced; with some unpriced, the sum of the priced ones.
- `recommended_ttl_s`: the shortest TTL whose hits are at least 90% of the most
  hits any TTL of the curve gets; `null` when no TTL gets a hit.

Once the table holds `memory` hashes, an entry whose every TTL's copy is older
than the longest TTL relative to the newest time seen is dropped. On a ledger in time
order that is exact (no later request can hit it, and a miss would write it anew). On a ledger out
of order, a later line with an earlier time may miss an entry that was dropped, and
write it anew: that pass is an estimate (`Horizon.uncertain`), and the gates read the
ledger again with tables that drop nothing (`keep_every_entry`, `analyses.exact_reading`).
Memory: past `hash_spill.HASHES_HELD` entries, the entries move to disk, and each batch
fetches its hashes' entries back first; what they hold and drop is the same. The first
requests go then, and none is kept after: only a merge into the stretch before reads
them (and `Horizon.cut`, what their drops assume), and a curve that spilled is never
merged into one before it.

Read in stretches (the parallel reader), a stretch's curve is exact where no hash's first
request in it comes within the longest TTL of the entry the stretch before left for it
(`ResponseTtlCurve.merge`); otherwise the merge raises `merging.InexactMerge` and the
ledger is read in one pass. Costs are summed in picodollars, the same in any grouping.

**`semantic_threshold_curve`.** The requests that carry a semantic cache similarity
score, at each threshold from 0.80 to 0.96 in steps of 0.01: `hits` the requests whose
score is at or above it, `known_useless` those of them marked not useful
(`semantic_cache.useful: false`). `recommended` is the lowest threshold with hits
whose known-useless share of them is at most 5%; `null` when no threshold qualifies
(no request scores 0.80 or more, or every threshold serves over 5% known useless).
Counts are kept per hundredth of similarity, never per request. `judged` (beside
the contract keys) counts the requests with a score whose usefulness is recorded at
all: without any, "known useless" is no evidence of usefulness.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from cache_gate.analyses.hash_spill import HashTable, keep_bounded
from cache_gate.analyses.merging import (
    EVERY_ENTRY,
    PICO,
    Horizon,
    InexactMerge,
    picodollars,
)
from cache_gate.ledger.record import Record

RESPONSE_TTLS = (900, 1800, 3600, 7200, 14400, 86400)
# The recommended TTL gets at least this share of the most hits: 9/10.
RECOMMEND_NUMERATOR, RECOMMEND_DENOMINATOR = 9, 10
# Hashes held before expired entries are dropped.
RESPONSE_MEMORY = 200_000

# Thresholds in hundredths: 0.80 to 0.96.
LOWEST, HIGHEST = 80, 96
# The recommended threshold serves at most this share of known-useless hits: 1/20 (5%).
USELESS_NUMERATOR, USELESS_DENOMINATOR = 1, 20


@dataclass(slots=True)
class ResponsePoint:
    """What a response cache of one TTL would have served."""

    ttl: float
    hits: int = 0
    tokens_saved: int = 0
    cost_saved: float = 0.0
    unpriced_hits: int = 0

    def to_json(self) -> dict[str, object]:
        priced = self.hits - self.unpriced_hits
        return {"ttl_s": _seconds(self.ttl), "hits": self.hits,
                "tokens_saved": self.tokens_saved,
                "cost_saved_usd": round(self.cost_saved, 6) if priced or not self.hits
                else None,
                "unpriced_hits": self.unpriced_hits}


def _seconds(ttl: float) -> float | int:
    return int(ttl) if ttl == int(ttl) else ttl


class ResponseTtlCurve:
    """A sink: hashed requests in ledger order, replayed at every TTL of the curve and
    at the TTLs given in `also` (a configuration's, to judge it exactly).

    Stretches of a ledger read apart merge in ledger order (`merge`) when no hash's first
    request in a stretch comes within the longest TTL of the entry the stretch before
    left for it: its replay then starts afresh, as in one pass. Otherwise what it hits
    depends on that entry all the way along the stretch (a hit does not extend an entry,
    so the phase of every later write shifts), which no bounded summary of the stretch
    holds: `merge` raises `merging.InexactMerge`, and the caller reads in one process."""

    def __init__(self, also: Iterable[float] = (), memory: int = RESPONSE_MEMORY) -> None:
        self.ttls = tuple(sorted({float(ttl) for ttl in (*RESPONSE_TTLS, *also)
                                  if ttl > 0 and math.isfinite(ttl)}))
        self.requests = 0
        # Per hash, when each TTL's entry was written (in the order of `ttls`); one
        # number when every TTL's was written at the same time.
        self.entries: HashTable[float | list[float]] = HashTable(float | list[float],
                                                                 _latest)
        # Per hash, its first request in this stretch (what `merge` checks), until the
        # entries spilled (see the module docstring).
        self.firsts: HashTable[float] = HashTable(float, _latest)
        self._firsts_kept = True
        self.horizon = Horizon(self.ttls[-1])
        self.memory = memory
        self._prune_at = memory
        # Per set of TTLs that hit (a bit per TTL): hits, tokens, priced cost in
        # picodollars, unpriced hits. Summed per TTL at the end: a request adds to one
        # row, not to six.
        self._by_pattern: dict[int, list[int]] = {}

    @property
    def newest(self) -> float | None:
        return self.horizon.newest

    @property
    def held(self) -> int:
        """The entries in memory."""
        return len(self.entries.held) + len(self.firsts.held)

    def bound(self, may_spill: bool) -> None:
        keep_bounded(self, may_spill)

    def spill(self) -> None:
        """Move the entries to disk, and let the first requests go (see the module
        docstring): each batch fetches its hashes' entries from now."""
        self.entries.spill()
        self.firsts.held.clear()
        self._firsts_kept = False

    def add(self, records: list[Record]) -> None:
        if self.entries.spilled:
            requests = [record.request_sha256 for record in records
                        if record.request_sha256 is not None and record.time is not None]
            self.entries.fetch(requests)
        entries, firsts = self.entries.held, self.firsts.held
        firsts_kept = self._firsts_kept
        ttls, patterns = self.ttls, self._by_pattern
        width, shortest, longest = len(ttls), ttls[0], ttls[-1]
        every = (1 << width) - 1
        horizon = self.horizon
        newest, oldest = horizon.newest, horizon.oldest
        # A time before this may meet an entry that was dropped (`Horizon`).
        doubtful = -math.inf if horizon.floor is None else horizon.floor + longest
        # New hashes held before the tables hold `_prune_at` (those on disk count too).
        room = self._prune_at - self.entries.on_disk
        counted = 0
        for record in records:
            request = record.request_sha256
            if request is None:
                continue
            moment = record.time
            if moment is None:
                continue
            counted += 1
            if newest is None or moment > newest:
                newest = moment
            if oldest is None or moment < oldest:
                oldest = moment
            if moment < doubtful:
                horizon.uncertain = True
            written = entries.get(request)
            if written is None:
                entries[request] = moment
                if firsts_kept and request not in firsts:
                    firsts[request] = moment
                if len(entries) > room:
                    horizon.newest, horizon.oldest = newest, oldest
                    self._prune()
                    entries, firsts = self.entries.held, self.firsts.held
                    room = self._prune_at - self.entries.on_disk
                    doubtful = -math.inf if horizon.floor is None else horizon.floor + longest
                continue
            if isinstance(written, list):
                pattern = _replay(ttls, written, moment)
                if not pattern:
                    entries[request] = moment
                    continue
            else:
                # Every TTL's copy written at one time (the common case, kept as one
                # number): at most the shortest TTL ago hits everywhere, over the
                # longest misses everywhere (written anew); else the TTLs part ways.
                gap = abs(moment - written)
                if gap > longest:
                    entries[request] = moment
                    continue
                if gap <= shortest:
                    pattern = every
                else:
                    copies = entries[request] = [written] * width
                    pattern = _replay(ttls, copies, moment)
            sums = patterns.get(pattern)
            if sums is None:
                sums = patterns[pattern] = [0, 0, 0, 0]
            sums[0] += 1
            sums[1] += record.token_total
            cost = record.cost
            # What a cache actually served logs what the cache charged, not what
            # the provider would have: unknown (see the module docstring).
            if (cost is None or record.response_cache == "hit"
                    or record.semantic_cache == "hit"):
                sums[3] += 1
            else:
                sums[2] += picodollars(cost)
        self.requests += counted
        horizon.newest, horizon.oldest = newest, oldest

    def keep_every_entry(self) -> None:
        """Drop no entry (before any is added): exact on a ledger out of time order."""
        self.memory = self._prune_at = EVERY_ENTRY

    def _prune(self) -> None:
        """Drop the entries that expired at every TTL (`Horizon.expiry`, its reach the
        longest); and the first requests more than the longest TTL after the oldest
        time seen, which no entry of a stretch before can reach in time order (see the
        module docstring, and `Horizon` for what is checked)."""
        horizon = self.horizon
        assert horizon.newest is not None and horizon.oldest is not None
        expiry = horizon.expiry
        if self.entries.keep_from(expiry):
            horizon.dropped(expiry)
        if self.firsts.keep_until(horizon.oldest + self.ttls[-1]):
            horizon.decided_early()
        # Not a full scan for every new hash when most entries are alive.
        self._prune_at = max(self.memory, 2 * len(self.entries))

    def check(self, later: ResponseTtlCurve) -> None:
        """Raise InexactMerge unless `later` (the stretch right after this one) merges
        exactly: no first request of a hash in it meets this stretch's entry for it."""
        if later.ttls != self.ttls:
            raise ValueError("curves of different TTLs do not merge")
        self.horizon.check(later.horizon)
        self.entries.fetch(later.firsts.held)
        entries, ttls = self.entries.held, self.ttls
        for request, first in later.firsts.held.items():
            written = entries.get(request)
            if written is None:
                continue
            if isinstance(written, list):
                if any(-ttl <= first - copy <= ttl
                       for ttl, copy in zip(ttls, written, strict=True)):
                    raise InexactMerge(f"a request repeats within {ttls[-1]:.0f} s across "
                                       "two stretches of the ledger")
            elif abs(first - written) <= ttls[-1]:
                raise InexactMerge(f"a request repeats within {ttls[-1]:.0f} s across two "
                                   "stretches of the ledger")

    def merge(self, later: ResponseTtlCurve) -> None:
        """Take in the stretch of the ledger right after this one (see the class), held
        in memory: a stretch that spilled is never merged into one before it."""
        assert not later.entries.spilled
        self.check(later)
        self.requests += later.requests
        for pattern, theirs in later._by_pattern.items():
            ours = self._by_pattern.get(pattern)
            if ours is None:
                self._by_pattern[pattern] = list(theirs)
            else:
                for index, value in enumerate(theirs):
                    ours[index] += value
        self.entries.fetch(later.entries.held)
        entries, firsts, firsts_kept = self.entries.held, self.firsts.held, self._firsts_kept
        for request, first in later.firsts.held.items():
            if firsts_kept and request not in entries and request not in firsts:
                firsts[request] = first
            if request not in later.entries.held:  # dropped there: expired
                entries.pop(request, None)
        entries.update(later.entries.held)
        self.horizon.merge(later.horizon)
        if len(self.entries) > self._prune_at:
            self._prune()

    def point(self, ttl: float) -> ResponsePoint:
        """The point of one simulated TTL (a curve's, or one given in `also`)."""
        bit = 1 << self.ttls.index(float(ttl))
        point = ResponsePoint(float(ttl))
        pico = 0
        for pattern, (hits, tokens, cost, unpriced) in self._by_pattern.items():
            if pattern & bit:
                point.hits += hits
                point.tokens_saved += tokens
                pico += cost
                point.unpriced_hits += unpriced
        point.cost_saved = pico / PICO
        return point

    @property
    def curve(self) -> list[ResponsePoint]:
        return [self.point(ttl) for ttl in RESPONSE_TTLS]

    @property
    def recommended(self) -> float | None:
        curve = self.curve
        most = max(point.hits for point in curve)
        if not most:
            return None
        return next(point.ttl for point in curve
                    if point.hits * RECOMMEND_DENOMINATOR >= most * RECOMMEND_NUMERATOR)

    def to_json(self) -> dict[str, object]:
        recommended = self.recommended
        return {"points": [point.to_json() for point in self.curve],
                "recommended_ttl_s": None if recommended is None else _seconds(recommended),
                "requests": self.requests}


def _latest(written: float | list[float]) -> float:
    """When an entry was last written (at any TTL)."""
    return max(written) if isinstance(written, list) else written


def _replay(ttls: tuple[float, ...], written: list[float], moment: float) -> int:
    """The TTLs (a bit each) whose copy hits at `moment`; the others are written anew."""
    pattern = 0
    bit = 1
    for index, ttl in enumerate(ttls):
        if -ttl <= moment - written[index] <= ttl:
            pattern |= bit
        else:
            written[index] = moment
        bit <<= 1
    return pattern


def bucket(similarity: float) -> int | None:
    """The hundredth k with k/100 <= similarity < (k+1)/100, as floats compare, clamped
    to HIGHEST; None below LOWEST/100. Exactly: similarity >= k/100 iff bucket >= k."""
    if not similarity >= LOWEST / 100:  # also NaN
        return None
    if similarity >= HIGHEST / 100:
        return HIGHEST
    found = math.floor(similarity * 100)
    if similarity >= (found + 1) / 100:
        found += 1
    elif similarity < found / 100:
        found -= 1
    return found


@dataclass(frozen=True)
class ThresholdPoint:
    threshold: float
    hits: int
    known_useless: int

    @property
    def acceptable(self) -> bool:
        """Hits, and at most 5% of them known useless."""
        return bool(self.hits) and (self.known_useless * USELESS_DENOMINATOR
                                    <= self.hits * USELESS_NUMERATOR)

    def to_json(self) -> dict[str, object]:
        return {"threshold": self.threshold, "hits": self.hits,
                "known_useless": self.known_useless}


class SemanticThresholdCurve:
    """A sink: the requests with a similarity score, counted per hundredth, and exactly
    at the thresholds given in `also` (a configuration's)."""

    def __init__(self, also: Iterable[float] = ()) -> None:
        size = HIGHEST - LOWEST + 1
        self.hits = [0] * size
        self.useless = [0] * size
        self.requests = 0
        self.judged = 0
        self.exact: dict[float, list[int]] = {float(t): [0, 0] for t in also}

    def add(self, records: list[Record]) -> None:
        for record in records:
            similarity = record.semantic_similarity
            if similarity is None:
                continue
            self.requests += 1
            useless = record.semantic_useful is False
            if record.semantic_useful is not None:
                self.judged += 1
            for threshold, counts in self.exact.items():
                if similarity >= threshold:
                    counts[0] += 1
                    counts[1] += useless
            found = bucket(similarity)
            if found is not None:
                self.hits[found - LOWEST] += 1
                self.useless[found - LOWEST] += useless

    def merge(self, later: SemanticThresholdCurve) -> None:
        """Take in another stretch of the ledger: counts, which add up in any order."""
        if later.exact.keys() != self.exact.keys():
            raise ValueError("curves of different thresholds do not merge")
        self.hits = [mine + theirs for mine, theirs in zip(self.hits, later.hits, strict=True)]
        self.useless = [mine + theirs
                        for mine, theirs in zip(self.useless, later.useless, strict=True)]
        self.requests += later.requests
        self.judged += later.judged
        for threshold, counts in later.exact.items():
            mine = self.exact[threshold]
            mine[0] += counts[0]
            mine[1] += counts[1]

    @property
    def points(self) -> list[ThresholdPoint]:
        points = []
        hits = useless = 0
        for index in reversed(range(len(self.hits))):
            hits += self.hits[index]
            useless += self.useless[index]
            points.append(ThresholdPoint((LOWEST + index) / 100, hits, useless))
        return points[::-1]

    def at(self, threshold: float) -> ThresholdPoint:
        """The point of a threshold given in `also`."""
        hits, useless = self.exact[float(threshold)]
        return ThresholdPoint(threshold, hits, useless)

    @property
    def recommended(self) -> ThresholdPoint | None:
        return next((point for point in self.points if point.acceptable), None)

    def to_json(self) -> dict[str, object]:
        recommended = self.recommended
        return {"points": [point.to_json() for point in self.points],
                "recommended": None if recommended is None else recommended.threshold,
                "requests": self.requests, "judged": self.judged}
