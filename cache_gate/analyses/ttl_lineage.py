"""One lineage's prompt cache TTL simulation (`tuning_ttl`): its costs under both
TTLs and its 1-hour writes, as far as the stretch of the ledger read so far knows
them, and the bookkeeping of the 1-hour writes that pay back or do not.

Apart from `tuning_ttl`, so that the simulation's state and the analysis that feeds
it each stay a module one reader can hold.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cache_gate.analyses.lineage import FIVE_MINUTES, ONE_HOUR


@dataclass(slots=True)
class FirstRequest:
    """A stretch's first simulated request of a lineage: what it costs, and what it does
    to an open 1-hour write, depend on the lineage's last request before the stretch."""

    time: float
    read: int
    write: int
    price: float | None
    one_hour: bool


@dataclass(slots=True)
class LineageCost:
    """One lineage's simulated costs and its actual 1-hour writes, so far.

    It may hold any stretch of the ledger, not only one from its start (see
    `TtlAdvice.merge`): its first request waits (`first`) until the stretch before says
    how long before it the lineage's last request came, and whether a 1-hour write was
    then open; what the requests after it do to open writes is kept for both answers."""

    requests: int = 0
    # The time of the lineage's last simulated request: its last cache activity.
    last: float | None = None
    # Cacheable tokens read and written under each TTL (summed as integers, priced at
    # the end: the same sums in any grouping of the ledger's stretches).
    read_5m: int = 0
    write_5m: int = 0
    read_1h: int = 0
    write_1h: int = 0
    # What they cost, priced requests only, in picodollars.
    pico_5m: int = 0
    pico_1h: int = 0
    unpriced: int = 0
    writes: int = 0
    writes_1h: int = 0
    # Gaps between its requests, per bin of GAP_BINS_S (None until the second request).
    gaps: list[int] | None = None
    first: FirstRequest | None = None
    # The requests after `first`, for a 1-hour write closed or open after it: the
    # 1-hour writes they leave unpaid, and whether one is open after them:
    # [unpaid if closed, open if closed, unpaid if open, open if open].
    after_first: list[int] = field(default_factory=lambda: [0, 0, 0, 1])

    @property
    def configured(self) -> str:
        """The TTL the ledger's writes show: 1 hour when most of them wrote 1-hour entries."""
        return "1h" if self.writes_1h * 2 > self.writes else "5m"

    @property
    def unpaid_1h_writes(self) -> int:
        """Once settled (nothing waits): the 1-hour writes that never paid back."""
        return self.after_first[0]

    @property
    def open_1h_write(self) -> bool:
        """Once settled: the last write wrote 1-hour entries and no read paid it back yet."""
        return bool(self.after_first[1])


def writes_left(after: list[int], read: int, write: int, one_hour: bool,
                 gap: float | None) -> None:
    """One request more, after `after` (both of its answers): a read more than 5
    minutes and at most an hour after the previous request pays an open 1-hour write
    back; a write leaves an open one unpaid, and opens one if it wrote 1-hour entries."""
    payback = read > 0 and gap is not None and FIVE_MINUTES < gap <= ONE_HOUR
    for slot in (0, 2):
        is_open = after[slot + 1]
        if is_open and payback:
            is_open = 0
        if write > 0:
            after[slot] += is_open
            is_open = int(one_hour)
        after[slot + 1] = is_open


def follow(answers: list[int], after: list[int]) -> None:
    """`answers` (for each state a stretch came in with) followed by the requests of
    `after` (for each state they came in with)."""
    for slot in (0, 2):
        is_open = answers[slot + 1]
        answers[slot] += after[2 * is_open]
        answers[slot + 1] = after[2 * is_open + 1]
