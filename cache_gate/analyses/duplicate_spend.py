"""Duplicate spend: a request repeated within the response cache TTL that no cache
served is money spent twice (`report`'s `duplicate_spend`).

A request with a `request_sha256` and a time is a repeat when the previous request of
the same hash, in ledger order, came at most the TTL before or after it (times out of
order are compared by their distance), and a duplicate when, besides, no cache served
it (its response or semantic cache status is `hit`, or it read the prompt cache).

Read in stretches: the first request of each hash in a stretch, when no cache served
it, waits for the stretch before (which knows the hash's previous request, if any);
`merge` decides it, and one still waiting at the end had no previous request. Memory:
once the table holds `memory` hashes, the hashes last seen more than the TTL before
the newest time are dropped, and so are waiting requests more than the TTL after the
stretch's oldest: exact on a ledger in time order; elsewhere `merging.Horizon` says
when a merge would not be exact (`InexactMerge`).
"""

from __future__ import annotations

from cache_gate.analyses.merging import PICO, Horizon, picodollars
from cache_gate.ledger.record import Record

# Hashes remembered before the expired ones are dropped.
DUPLICATE_MEMORY = 200_000

# A request that may be a duplicate: (time, input tokens, output tokens, picodollars or
# None where its cost is unknown).
Waiting = tuple[float, int, int, int | None]


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
        self.last_seen: dict[str, float] = {}
        # Per hash, its first request in this stretch, where no cache served it.
        self.waiting: dict[str, Waiting] = {}
        self.horizon = Horizon(ttl)
        self.memory = memory
        self._prune_at = memory

    @property
    def cost_usd(self) -> float:
        return self.picodollars / PICO

    def add(self, record: Record, request: str, moment: float) -> None:
        self.horizon.see(moment)
        previous = self.last_seen.get(request)
        self.last_seen[request] = moment
        served = (record.response_cache == "hit" or record.semantic_cache == "hit"
                  or bool(record.prompt_cache_hit))
        if previous is None:
            # Its first request here (or one whose entry was dropped: `Horizon`).
            if not served and request not in self.waiting:
                self.waiting[request] = self._spent(record, moment)
            if len(self.last_seen) > self._prune_at:
                self._prune()
        elif not served and abs(moment - previous) <= self.ttl:
            self._count(self._spent(record, moment))

    @staticmethod
    def _spent(record: Record, moment: float) -> Waiting:
        return (moment, record.input_total or record.uncached_input or 0,
                record.output_tokens or 0,
                None if record.cost is None else picodollars(record.cost))

    def _count(self, spent: Waiting) -> None:
        _, input_tokens, output_tokens, cost = spent
        self.requests += 1
        self.input_tokens += input_tokens
        self.output_tokens += output_tokens
        if cost is None:
            self.unpriced += 1
        else:
            self.picodollars += cost

    def _prune(self) -> None:
        """Drop the hashes last seen more than the TTL before the newest time, and the
        waiting requests more than the TTL after the oldest (see the module docstring)."""
        horizon = self.horizon
        assert horizon.newest is not None and horizon.oldest is not None
        expiry = horizon.newest - self.ttl
        kept = {request: t for request, t in self.last_seen.items() if t >= expiry}
        if len(kept) < len(self.last_seen):
            horizon.dropped(expiry)
            self.last_seen = kept
        late = horizon.oldest + self.ttl
        waiting = {request: spent for request, spent in self.waiting.items()
                   if spent[0] <= late}
        if len(waiting) < len(self.waiting):
            horizon.decided_early()
            self.waiting = waiting
        self._prune_at = max(self.memory, 2 * len(self.last_seen))

    def check(self, later: DuplicateSpend) -> None:
        """Raise InexactMerge where `later` would not merge exactly (see `merge`)."""
        self.horizon.check(later.horizon)

    def merge(self, later: DuplicateSpend) -> None:
        """Take in the stretch right after this one: its waiting requests are decided by
        this stretch's last request of their hash, where it has one."""
        self.check(later)
        self.requests += later.requests
        self.input_tokens += later.input_tokens
        self.output_tokens += later.output_tokens
        self.picodollars += later.picodollars
        self.unpriced += later.unpriced
        last_seen, waiting = self.last_seen, self.waiting
        for request, spent in later.waiting.items():
            previous = last_seen.get(request)
            if previous is not None:
                if abs(spent[0] - previous) <= self.ttl:
                    self._count(spent)
            elif request not in waiting:
                waiting[request] = spent
            # else: this stretch saw the hash and dropped it, long before (`Horizon`).
        last_seen.update(later.last_seen)
        self.horizon.merge(later.horizon)
        if len(last_seen) > self._prune_at:
            self._prune()
