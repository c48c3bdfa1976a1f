"""Duplicate spend: a request repeated within the response cache TTL that no cache
served is money spent twice (`report`'s `duplicate_spend`).

A request with a `request_sha256` and a time is a repeat when the previous request of
the same hash, in ledger order, came at most the TTL before or after it (times out of
order are compared by their distance), and a duplicate when, besides, no cache served
it (its response or semantic cache status is `hit`, or it read the prompt cache).

Read in stretches: the first request of each hash in a stretch, when no cache served
it, waits for the stretch before (which knows the hash's previous request, if any);
`merge` decides it, and one still waiting at the end had no previous request. Once
the tables hold `memory` hashes, the hashes last seen more than the TTL (and
`merging.DROP_SLACK`) before the newest time are dropped, and so are waiting
requests more than the TTL after the stretch's oldest: exact on a ledger in time
order, or out of it by at most the slack; elsewhere `merging.Horizon` says
when a merge would not be exact (`InexactMerge`), and when one pass met a hash whose
entry it had dropped (`Horizon.uncertain`): the gates then read the ledger again with
tables that drop nothing (`keep_every_entry`, `analyses.exact_reading`).

Memory: past `hash_spill.HASHES_HELD` entries, the process that may spill moves the
hashes last seen to disk (`spill`); from then on it takes the records a batch at a time
(`settle`), their hashes' entries fetched back first. That table, and what it drops,
is the same. The waiting requests go then, and none waits after: only a merge into the
stretch before reads them (and `Horizon.cut`, what their drops assume), and a stretch
that spilled is never merged into one before it (`merge`); one still waiting at the
end counts nothing.
"""

from __future__ import annotations

from cache_gate.analyses.hash_spill import HashTable, keep_bounded
from cache_gate.analyses.merging import EVERY_ENTRY, PICO, Horizon, picodollars
from cache_gate.ledger.record import Record

# Hashes remembered before the expired ones are dropped.
DUPLICATE_MEMORY = 200_000

# A request that may be a duplicate: (time, input tokens, output tokens, its cost or
# None where unknown). The cost, not its picodollars, which may pass 64 bits: the
# tables on disk hold msgpack.
Waiting = tuple[float, int, int, float | None]


def _moment(moment: float) -> float:
    return moment


def _requested(spent: Waiting) -> float:
    return spent[0]


class DuplicateSpend:
    """A sink of records (`add`), in ledger order; stretches merge in ledger order."""

    def __init__(self, ttl: float, memory: int = DUPLICATE_MEMORY) -> None:
        self.ttl = ttl
        self.requests = 0
        self.input_tokens = 0
        self.output_tokens = 0
        self.picodollars = 0
        self.unpriced = 0  # duplicates whose cost the ledger does not report
        # Per hash, the time of its last request.
        self.last_seen: HashTable[float] = HashTable(float, _moment)
        # Per hash, its first request in this stretch, where no cache served it (until
        # `spill`: see the module docstring).
        self.waiting: HashTable[Waiting] = HashTable(Waiting, _requested)
        self._waits = True
        self.horizon = Horizon(ttl)
        self.memory = memory
        self._prune_at = memory
        # Once the tables spilled: the batch's records, until `settle` takes them in.
        self._batch: list[tuple[Record, str, float]] | None = None

    @property
    def cost_usd(self) -> float:
        return self.picodollars / PICO

    @property
    def held(self) -> int:
        """The entries in memory."""
        return len(self.last_seen.held) + len(self.waiting.held)

    def keep_every_entry(self) -> None:
        """Drop no hash (before any is added): exact on a ledger out of time order."""
        self.memory = self._prune_at = EVERY_ENTRY

    def add(self, record: Record, request: str, moment: float) -> None:
        batch = self._batch
        if batch is not None:
            batch.append((record, request, moment))
            return
        self.horizon.see(moment)
        last_seen = self.last_seen.held
        previous = last_seen.get(request)
        last_seen[request] = moment
        served = (record.response_cache == "hit" or record.semantic_cache == "hit"
                  or bool(record.prompt_cache_hit))
        if previous is None:
            # Its first request here (or one whose entry was dropped: `Horizon`).
            waiting = self.waiting.held
            if not served and self._waits and request not in waiting:
                waiting[request] = self._spent(record, moment)
            if len(self.last_seen) > self._prune_at:
                self._prune()
        elif not served and abs(moment - previous) <= self.ttl:
            self._count(self._spent(record, moment))

    @staticmethod
    def _spent(record: Record, moment: float) -> Waiting:
        return (moment, record.input_total or record.uncached_input or 0,
                record.output_tokens or 0, record.cost)

    def _count(self, spent: Waiting) -> None:
        _, input_tokens, output_tokens, cost = spent
        self.requests += 1
        self.input_tokens += input_tokens
        self.output_tokens += output_tokens
        if cost is None:
            self.unpriced += 1
        else:
            self.picodollars += picodollars(cost)

    def bound(self, may_spill: bool) -> None:
        """The batch taken in (`settle`), and the tables bounded (`keep_bounded`)."""
        self.settle()
        keep_bounded(self, may_spill)

    def spill(self) -> None:
        """Move the hashes last seen to disk, and let the waiting requests go (see the
        module docstring); the records are taken a batch at a time from now."""
        self.settle()
        self.last_seen.spill()
        self.waiting.held.clear()
        self._waits = False
        self._batch = []

    def settle(self) -> None:
        """Take in the records added since the last batch, their hashes' entries
        fetched from disk first (none wait before the tables spilled)."""
        batch = self._batch
        if not batch:
            return
        self.last_seen.fetch([request for _, request, _ in batch])
        self._batch = None
        for record, request, moment in batch:
            self.add(record, request, moment)
        self._batch = []

    def _prune(self) -> None:
        """Drop the hashes that expired (`Horizon.expiry`), and the waiting requests more
        than the TTL after the oldest (see the module docstring)."""
        horizon = self.horizon
        assert horizon.newest is not None and horizon.oldest is not None
        expiry = horizon.expiry
        if self.last_seen.keep_from(expiry):
            horizon.dropped(expiry)
        if self.waiting.keep_until(horizon.oldest + self.ttl):
            horizon.decided_early()
        self._prune_at = max(self.memory, 2 * len(self.last_seen))

    def check(self, later: DuplicateSpend) -> None:
        """Raise InexactMerge where `later` would not merge exactly (see `merge`)."""
        self.settle()
        self.horizon.check(later.horizon)

    def merge(self, later: DuplicateSpend) -> None:
        """Take in the stretch right after this one: its waiting requests are decided by
        this stretch's last request of their hash, where it has one. `later` is in
        memory: a stretch that spilled is never merged into one before it."""
        assert not later.last_seen.spilled
        self.check(later)
        self.requests += later.requests
        self.input_tokens += later.input_tokens
        self.output_tokens += later.output_tokens
        self.picodollars += later.picodollars
        self.unpriced += later.unpriced
        theirs = later.waiting.held
        self.last_seen.fetch([*theirs, *later.last_seen.held])
        last_seen, waiting = self.last_seen.held, self.waiting.held
        for request, spent in theirs.items():
            previous = last_seen.get(request)
            if previous is not None:
                if abs(spent[0] - previous) <= self.ttl:
                    self._count(spent)
            elif self._waits and request not in waiting:
                waiting[request] = spent
            # else: this stretch saw the hash and dropped it, long before (`Horizon`).
        last_seen.update(later.last_seen.held)
        self.horizon.merge(later.horizon)
        if len(self.last_seen) > self._prune_at:
            self._prune()
