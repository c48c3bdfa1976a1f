"""One record per request, in bounded memory (Claude Code transcripts).

Claude Code writes one API response as several transcript lines while it streams
(usage growing), and a subagent (sidechain) replays a response under its
`message.id`: those lines are one request (`Record.dedup_key`), and the line
reporting the most tokens stands for it, else the first.

Every record reaches the sinks in the order of its request's first line in the
ledger, whatever the window, the chunking or the number of reader processes (the
miss causes read records in order). A request stays open, its best line replaceable,
until `WINDOW` more records (requests, or records of other formats) have come after
its first line; then it is closed: handed on, and remembered only by a 64-bit hash of
its key and the tokens its line reports (16 bytes a request, in sorted arrays). A
later line of a closed request is a duplicate, dropped, exactly as the unbounded
reader drops it, unless it reports more tokens than the closed line: the unbounded
reader would have kept that line instead. Such requests are counted
(`LedgerStats.late_winners`): their tokens are understated, and a report that shows
a non-zero count says its figures are approximate. Claude Code's streamed lines sit
together and a replay repeats the same usage, so a transcript as Claude Code writes it
should not hit this (bench/claude_code.py's, with 1% far replays, flags none).

The hash is Python's `hash()` of the key: SipHash, keyed at random for each run (no
hash leaves the process that made it). Two different keys collide with probability
about n²/2⁶⁵ in a run holding n closed requests (3e-8 for a million); a collision
drops a request as the duplicate of another. Memory: WINDOW open records (a few
MB) and 16 bytes a closed request (16 MB for a million requests, some 3 million
transcript lines).
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Iterable
from typing import Protocol

from cache_gate.ledger.record import Record

# Records a request stays open for after its first line (see the module docstring).
WINDOW = 4096
# Closed keys are spread over 2**BUCKET_BITS sorted arrays by their hash's top bits:
# an insertion moves one small array's tail, not a million-entry one.
BUCKET_BITS = 12
# A closed request already counted as understated is not counted again.
_COUNTED = (1 << 63) - 1


class DuplicateCounts(Protocol):
    duplicates: int
    late_winners: int


class ClosedKeys:
    """The closed requests: their keys' hashes, and the tokens their kept line reports."""

    __slots__ = ("hashes", "size", "tokens")

    def __init__(self) -> None:
        # Made at the first key: a reader that meets no request pickles no buckets.
        self.hashes: list[array[int]] = []
        self.tokens: list[array[int]] = []
        self.size = 0

    def add(self, key: str, tokens: int) -> None:
        if not self.hashes:
            self.hashes = [array("q") for _ in range(1 << BUCKET_BITS)]
            self.tokens = [array("q") for _ in range(1 << BUCKET_BITS)]
        digest = hash(key)
        bucket = (digest >> (64 - BUCKET_BITS)) & ((1 << BUCKET_BITS) - 1)
        hashes = self.hashes[bucket]
        at = bisect_left(hashes, digest)
        if at < len(hashes) and hashes[at] == digest:
            return  # a collision: the key reads as closed already
        hashes.insert(at, digest)
        self.tokens[bucket].insert(at, tokens)
        self.size += 1

    def find(self, key: str) -> tuple[array[int], int] | None:
        """Where a closed key's tokens are held (its bucket's array, the index), or None."""
        if not self.hashes:
            return None
        digest = hash(key)
        bucket = (digest >> (64 - BUCKET_BITS)) & ((1 << BUCKET_BITS) - 1)
        hashes = self.hashes[bucket]
        at = bisect_left(hashes, digest)
        if at < len(hashes) and hashes[at] == digest:
            return self.tokens[bucket], at
        return None


class Requests:
    """The open requests, in the order of their first line, and the closed ones' keys.

    `window`: WINDOW (fewer in tests); None holds every request open to the end: the
    unbounded reference (`reference.read_plain`), exact by construction.
    """

    def __init__(self, window: int | None) -> None:
        self.window = window if window is None else max(1, window)
        # Open records in ledger order: a request under its key, a record of no
        # request (another format's, after an open request) under a number.
        self.open: OrderedDict[str | int, Record] = OrderedDict()
        self.closed = ClosedKeys()
        self._numbered = 0
        # True once a record with a dedup key was taken (see `reader._read_range`).
        self.keyed = False

    def take(self, records: Iterable[Record], counts: DuplicateCounts) -> list[Record]:
        """The records to hand on now, in ledger order; the others wait or are dropped."""
        ready: list[Record] = []
        open_ = self.open
        window = self.window
        for record in records:
            key = record.dedup_key
            if key is None:
                if not open_:
                    ready.append(record)
                    continue
                self._numbered += 1
                open_[self._numbered] = record
            else:
                self.keyed = True
                earlier = open_.get(key)
                if earlier is not None:
                    counts.duplicates += 1
                    if record.token_total > earlier.token_total:
                        open_[key] = record  # keeps its place: its first line's
                    continue
                if self.closed.size:
                    found = self.closed.find(key)
                    if found is not None:
                        counts.duplicates += 1
                        tokens, at = found
                        if record.token_total > tokens[at]:
                            counts.late_winners += 1
                            tokens[at] = _COUNTED
                        continue
                open_[key] = record
            if window is not None and len(open_) > window:
                self._close_first(ready)
        return ready

    def _close_first(self, ready: list[Record]) -> None:
        """Close the oldest open request, and hand on the records that waited on it."""
        open_ = self.open
        key, record = open_.popitem(last=False)
        ready.append(record)
        if isinstance(key, str):
            self.closed.add(key, record.token_total)
        while open_ and not isinstance(next(iter(open_)), str):
            ready.append(open_.popitem(last=False)[1])

    def close_all(self) -> list[Record]:
        """Close every open request (the end of the ledger): the records still held."""
        ready: list[Record] = []
        while self.open:
            self._close_first(ready)
        return ready
