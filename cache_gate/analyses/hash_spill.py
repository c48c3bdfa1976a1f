"""The tables `report` keeps per request hash (duplicate spend, the response cache
curve), in memory up to a bound and on disk beyond it.

A `HashTable` is one dict from request hash to an entry, some of which may sit on disk
instead of in `held`: `spill` writes what is held to a file of its own (a
`hash_segments.Segment`, each entry found by its key's digest), and `fetch` brings back
the entries of the hashes about to be read or written (a batch of records, a stretch to
merge), so that the code that uses the table reads and writes `held` alone. Every entry
has a time (`time_of`), and `keep_from` and `keep_until` drop entries by it wherever
they sit: what a table holds, counts (`len`) and drops is the same whether or not it
spilled, so spilling changes no answer (the property tests hold a spilled report to
one in memory, byte for byte).

Written once, an entry costs no more on disk until it is fetched or dropped: on a
ledger in time order, a file's entries expire together, and the file goes. Most
hashes a batch names are new, on a ledger of distinct requests: `fetch` looks on disk
only for those `SpilledKeys` may hold, a filter that never says no to a hash on disk
(a yes may be wrong: it costs a look, never an answer). Memory keeps a bit of each
entry on disk, and the digests of the newest DIGESTS_HELD (older ones are looked for in
their files); past MOST_SEGMENTS files, those that hold fewest entries are merged.

An entry that is its own time (a float) is kept as that time alone, any other as
msgpack, exact. The files live in a private temporary directory, removed with the
table or at exit, as `kpi_spill`'s.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from itertools import chain
from operator import itemgetter
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

import msgspec

from cache_gate.analyses.hash_segments import Row, Segment
from cache_gate.analyses.kpi_spill import on_disk, private_directory
from cache_gate.ledger.reading import SinkFull

# Hashes a table holds in memory before it moves them to disk.
HASHES_HELD = 20_000

V = TypeVar("V")
_ENCODER = msgspec.msgpack.Encoder()
# Bits of `SpilledKeys` per key it has room for: two probes then say yes to about one
# absent key in 70 (or fewer, below its room).
BITS_PER_KEY = 16
# The fewest keys a filter has room for (512 KiB), and the most (4 MiB): past them, it
# says yes more often, never no to a key on disk.
FEWEST_KEYS, MOST_KEYS = 1 << 18, 1 << 21
# A filter made anew has room for this many times the keys on disk and coming.
GROWTH = 4
# Files a table keeps on disk before it merges some.
MOST_SEGMENTS = 64
# The most entries a merge of them reads into memory.
MERGED_AT_MOST = 40_000
# The most digests a table's segments hold in memory (8 bytes each); the oldest
# segments past them look for a key on disk.
DIGESTS_HELD = 750_000


def key_of(request: str) -> bytes:
    """A request hash as its record on disk keys it (any string: a lone surrogate from a
    JSON escape passes)."""
    return request.encode("utf-8", "surrogatepass")


def request_of(key: bytes) -> str:
    return key.decode("utf-8", "surrogatepass")


def _bits_for(keys: int) -> int:
    return 1 << (min(max(keys, FEWEST_KEYS), MOST_KEYS) * BITS_PER_KEY - 1).bit_length()


class SpilledKeys:
    """A Bloom filter of request hashes (by Python's `hash` of each, two probes): what
    it says a table's disk does not hold, it does not. A key dropped from the disk may
    stay in it: a yes too many."""

    def __init__(self, keys: int, made_from: Iterable[int] = ()) -> None:
        """Room for at least `keys` keys (FEWEST_KEYS to MOST_KEYS, in powers of two)
        before a yes grows likely; the keys of the digests `made_from` added."""
        size = _bits_for(keys)
        self.room = size // BITS_PER_KEY
        self._mask = size - 1
        self._bits = bytearray(max(size >> 3, 1))
        # Keys added, some of them perhaps twice, or since dropped from the disk.
        self.added = 0
        self.add_digests(made_from)
        self._made_with = self.added

    def full(self, coming: int) -> bool:
        """Whether to make the filter anew before `coming` more keys: they would pass its
        room, and a new one may be larger, or this one has taken in as many keys since it
        was made as it was made with (making one reads every key on disk: at most about
        a key read for each key added, whatever the disk holds)."""
        added = self.added + coming
        return added > self.room and (self.room < _bits_for(MOST_KEYS) // BITS_PER_KEY
                                      or added > 2 * self._made_with)

    def add_digests(self, digests: Iterable[int]) -> None:
        """The keys whose `hash` each of `digests` is."""
        bits, mask = self._bits, self._mask
        added = 0
        for digest in digests:
            low, high = digest & mask, digest >> 32 & mask
            bits[low >> 3] |= 1 << (low & 7)
            bits[high >> 3] |= 1 << (high & 7)
            added += 1
        self.added += added

    def among(self, requests: Iterable[str], held: Collection[str]) -> set[str]:
        """Those of `requests` not `held` that the disk may hold (none it holds is left
        out)."""
        bits, mask = self._bits, self._mask
        found = set()
        for request in requests:
            digest = hash(request)
            low = digest & mask
            if bits[low >> 3] >> (low & 7) & 1:
                high = digest >> 32 & mask
                if bits[high >> 3] >> (high & 7) & 1 and request not in held:
                    found.add(request)
        return found


class Spilling(Protocol):
    """An analysis whose tables are kept per request hash."""

    @property
    def held(self) -> int: ...

    def spill(self) -> None: ...


def keep_bounded(analysis: Spilling, may_spill: bool) -> None:
    """Past HASHES_HELD entries in memory, `analysis` moves its tables to disk; where
    it may not (`reading.SpillingSink`), SinkFull."""
    if analysis.held > HASHES_HELD:
        if not may_spill:
            raise SinkFull
        analysis.spill()


class HashTable(Generic[V]):
    """Entries per request hash: `held` in memory, `on_disk` more once spilled (never
    the same hash in both)."""

    def __init__(self, entry: Any, time_of: Callable[[V], float]) -> None:
        """`entry`: the type of an entry (as msgspec decodes it)."""
        self.held: dict[str, V] = {}
        self.on_disk = 0
        self._time_of = time_of
        self._entry = entry
        # Once spilled (a table read by a child of the parallel reader never is: it
        # goes back pickled, every entry in memory).
        self._directory: Path | None = None
        self._segments: list[Segment] = []
        self._written = 0
        self._decoder: msgspec.msgpack.Decoder[Any] | None = None
        self._spilled: SpilledKeys | None = None
        # Keys the disk was asked for (what the filter spares it).
        self.asked = 0

    def __len__(self) -> int:
        return len(self.held) + self.on_disk

    @property
    def spilled(self) -> bool:
        return self._directory is not None

    @on_disk
    def spill(self) -> None:
        """Move every entry held to disk."""
        held = self.held
        if self._spilled is None:
            self._directory = private_directory(self)
            self._decoder = msgspec.msgpack.Decoder(self._entry)
            self._spilled = SpilledKeys(GROWTH * len(held))
        elif self._spilled.full(len(held)):
            self._spilled = self._refiltered(len(held))
        if not held:
            return
        requests = list(held)
        entries = list(held.values())
        times = list(map(self._time_of, entries))
        keys = ([request.encode() for request in requests] if "".join(requests).isascii()
                else list(map(key_of, requests)))
        encode = _ENCODER.encode
        # An entry that is its own time is that time again when fetched.
        stored = [b"" if time is entry else encode(entry)
                  for time, entry in zip(times, entries, strict=True)]
        digests = list(map(hash, requests))
        # First: a key on disk the filter does not hold would be lost.
        self._spilled.add_digests(digests)
        self._write(list(zip(digests, keys, times, stored, strict=True)))
        self.on_disk += len(held)
        self.held = {}
        if len(self._segments) > MOST_SEGMENTS:
            self._merge()
        self._cool()

    def _write(self, rows: list[Row]) -> None:
        """A segment of `rows` (not empty), in the digest order it finds keys by."""
        rows.sort(key=_digest)
        digests, keys, times, stored = (list(column) for column in zip(*rows, strict=True))
        self._segments.append(Segment(self._path(), digests, keys, times,
                                      stored if any(stored) else None))

    def _cool(self) -> None:
        """Past DIGESTS_HELD digests in memory, the oldest segments leave theirs on disk."""
        hot = [segment for segment in self._segments if segment.digests is not None]
        held = sum(segment.count for segment in hot)
        for segment in hot:
            if held <= DIGESTS_HELD:
                break
            held -= segment.count
            segment.cool()

    def _path(self) -> Path:
        assert self._directory is not None
        self._written += 1
        return self._directory / f"{self._written}.entries"

    def _merge(self) -> None:
        """The segments that hold fewest entries merged into one, up to MERGED_AT_MOST
        entries in all (read into memory): a key is looked for in fewer files."""
        merging: list[Segment] = []
        entries = 0
        for segment in sorted(self._segments, key=_live):
            if entries + segment.live > MERGED_AT_MOST:
                break
            merging.append(segment)
            entries += segment.live
        if len(merging) < 2:
            return
        for segment in merging:
            self._segments.remove(segment)
        # Not empty: a segment goes with its last entry.
        self._write(list(chain.from_iterable(segment.rows() for segment in merging)))
        for segment in merging:
            segment.close()

    def _refiltered(self, coming: int) -> SpilledKeys:
        """A filter of the keys on disk, with room for GROWTH times them and `coming`
        (the keys dropped since leave it)."""
        return SpilledKeys(GROWTH * (self.on_disk + coming), chain.from_iterable(
            segment.there() for segment in self._segments))

    @on_disk
    def fetch(self, requests: Iterable[str]) -> None:
        """Bring the entries of `requests` on disk back into `held`."""
        if not self.on_disk:
            return
        held, segments = self.held, self._segments
        assert self._spilled is not None and self._decoder is not None
        decode = self._decoder.decode
        requests = list(requests)
        wanted = self._spilled.among(requests, held)
        self.asked += len(wanted)
        # In the order asked (a set's is the process's hash seed's).
        for request in filter(wanted.__contains__, requests) if wanted else ():
            wanted.discard(request)
            digest, key = hash(request), key_of(request)
            # The newest first: a repeat is likeliest there.
            for segment in reversed(segments):
                found = segment.take(digest, key)
                if found is not None:
                    time, entry = found
                    # A float entry whose time it is (msgspec typed the rest).
                    value: Any = decode(entry) if entry else time
                    held[request] = value
                    self.on_disk -= 1
                    self._forget_if_empty(segment)
                    break

    def keep_from(self, earliest: float) -> bool:
        """Drop the entries whose time is before `earliest`; whether any was."""
        return self._keep(lambda time: time >= earliest)

    def keep_until(self, latest: float) -> bool:
        """Drop the entries whose time is after `latest`; whether any was."""
        return self._keep(lambda time: time <= latest)

    @on_disk
    def _keep(self, kept: Callable[[float], bool]) -> bool:
        time_of = self._time_of
        held = {request: entry for request, entry in self.held.items() if kept(time_of(entry))}
        gone = len(self.held) - len(held)
        self.held = held
        for segment in list(self._segments):
            # `kept` holds for the times from a bound on: both bounds kept, all are.
            oldest, newest = kept(segment.oldest), kept(segment.newest)
            if oldest and newest:
                continue
            dropped = segment.drop(kept) if oldest or newest else segment.drop_all()
            self.on_disk -= dropped
            gone += dropped
            self._forget_if_empty(segment)
        return gone > 0

    def _forget_if_empty(self, segment: Segment) -> None:
        """A segment whose last entry went goes, with its file."""
        if not segment.live:
            self._segments.remove(segment)
            segment.close()


_digest = itemgetter(0)


def _live(segment: Segment) -> int:
    return segment.live
