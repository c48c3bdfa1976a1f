"""What the order-dependent analyses need to merge stretches of a ledger read apart
exactly, or to say that they cannot.

A sink read in stretches (the parallel reader's) merges each stretch into the one
before it, in ledger order (`ledger.reading.MergeableSink`). Sums merge in any grouping;
money is summed in whole picodollars for that reason (floats do not add up the same in
every grouping). A table kept per request hash (duplicate spend, the response cache
curve) is bounded in memory by dropping the entries that have expired; that is exact
on a ledger in time order, and `Horizon` records what each drop assumed of the times
it did not keep, so that a merge can check it and raise `InexactMerge` where it does not
hold (a ledger far out of time order, or a repeat that spans two stretches where the
answer needs the one before: the response cache curve's). The caller then reads the
ledger in one process: never an approximate merge.
"""

from __future__ import annotations

import math
import sys
from typing import Protocol, runtime_checkable

import msgspec

# Money is summed in whole picodollars (as `miss_causes` does): integers add up the same
# in any grouping.
PICO = 10**12


def picodollars(cost: float) -> int:
    return round(cost * PICO)


# A table's `memory` that never drops an entry (they go to disk past
# `hash_spill.HASHES_HELD` instead).
EVERY_ENTRY = sys.maxsize

# Seconds beyond its TTL that a table keeps an entry when it drops the expired ones: a
# record up to this much older than the newest one seen (writers that interleave,
# lines swapped by a second) still finds every entry it could repeat, and one pass
# stays exact, not an estimate read again (`Horizon`).
DROP_SLACK = 300.0


class InexactMerge(Exception):
    """Two stretches whose merge would not be what one pass gives: read in one process."""


@runtime_checkable
class Estimating(Protocol):
    """A sink whose tables per request hash drop expired entries (exact in time order):
    `estimated` once a record came within the TTL of an entry one of them had dropped
    (`Horizon.uncertain`); made before it reads, with `keep_every_hash`, it drops none
    and is exact on any ledger."""

    @property
    def estimated(self) -> bool: ...

    def keep_every_hash(self) -> None: ...


class Horizon(msgspec.Struct):
    """The times a stretch's per-hash table saw, and what dropping its expired entries
    assumed of the records it has not seen (`reach`: how far apart two records of a
    hash may be and still be compared, the TTL).

    - `floor`: an entry older than it may have been dropped, so a record after the drop
      (in this stretch or a later one) must come at least `reach` after it; one that does
      not makes the stretch `uncertain`: no merge is attempted, and one pass is an
      estimate, which `exact_reading` reads again with tables that drop nothing.
    - `cut`: first occurrences decided early, and the drops, assume that every record
      before this stretch came at or before it.
    """

    reach: float
    oldest: float | None = None
    newest: float | None = None
    floor: float | None = None
    cut: float | None = None
    uncertain: bool = False

    def see(self, moment: float) -> None:
        if self.newest is None or moment > self.newest:
            self.newest = moment
        if self.oldest is None or moment < self.oldest:
            self.oldest = moment
        if self.floor is not None and moment < self.floor + self.reach:
            self.uncertain = True

    @property
    def expiry(self) -> float:
        """The time before which an entry has expired and may be dropped now: `reach`
        and DROP_SLACK before the newest time seen."""
        assert self.newest is not None
        return self.newest - self.reach - DROP_SLACK

    def dropped(self, horizon: float) -> None:
        """Entries older than `horizon` were dropped."""
        self.floor = horizon if self.floor is None else max(self.floor, horizon)
        # A hash whose entry was dropped comes again as new: it waits for the stretch
        # before, which must then hold no record of it that is not also older.
        self._assume_before(math.nextafter(horizon, -math.inf))

    def decided_early(self) -> None:
        """First occurrences more than `reach` after the oldest time were decided as
        if nothing came before them within `reach`."""
        assert self.oldest is not None
        self._assume_before(self.oldest)

    def _assume_before(self, moment: float) -> None:
        self.cut = moment if self.cut is None else min(self.cut, moment)

    def check(self, later: Horizon) -> None:
        """Raise InexactMerge unless `later` (the stretch right after this one) merges
        into this one exactly."""
        if self.uncertain or later.uncertain:
            raise InexactMerge("a record came within the TTL of an entry dropped before it")
        newest, oldest = self.newest, later.oldest
        if newest is None or oldest is None:
            return
        if later.cut is not None and newest > later.cut:
            raise InexactMerge("a stretch decided early what the one before it changes")
        if later.floor is not None and newest >= later.floor:
            raise InexactMerge("a stretch dropped entries newer than the one before it")
        if self.floor is not None and oldest < self.floor + self.reach:
            raise InexactMerge("a stretch came within the TTL of entries dropped before it")

    def merge(self, later: Horizon) -> None:
        """Take in the stretch right after this one (once `check` passed)."""
        for name, pick in (("oldest", min), ("newest", max), ("floor", max), ("cut", min)):
            mine, theirs = getattr(self, name), getattr(later, name)
            setattr(self, name, theirs if mine is None else mine if theirs is None
                    else pick(mine, theirs))
