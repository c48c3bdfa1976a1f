"""The tables `report` keeps per request hash (duplicate spend, the response cache
curve), in memory up to a bound and on disk beyond it.

A `HashTable` is one dict from request hash to an entry, some of which may sit in a
SQLite table instead of in `held`: `spill` moves what is held to disk, and `fetch`
brings back the entries of the hashes about to be read or written (a batch of records,
a stretch to merge), with one query per `kpi_spill.BATCH` hashes, so that the code
that uses the table reads and writes `held` alone. Every entry has a time
(`time_of`), and `keep_from` and `keep_until` drop entries by it wherever they sit:
what a table holds, counts (`len`) and drops is the same whether or not it spilled,
so spilling changes no answer (the property tests hold a spilled report to one in
memory, byte for byte).

Most hashes a batch names are new, on a ledger of distinct requests: `fetch` asks the
disk only about those `SpilledKeys` may hold, a filter that never says no to a hash
on disk (a yes may be wrong: it costs a query, never an answer).

An ASCII key is kept as its text, any other as `kpi_spill.stored` bytes (SQLite never
finds a text equal to bytes); an entry that is its own time (a float) as that time
alone, any other as msgpack, exact. The file lives in a private temporary directory,
removed with the table or at exit, as `kpi_spill`'s.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Collection, Iterable
from typing import Any, Generic, Protocol, TypeVar

import msgspec

from cache_gate.analyses.kpi_spill import chunked, on_disk, private_database, stored, text_of
from cache_gate.ledger.reading import SinkFull

# Hashes a table holds in memory before it moves them to disk.
HASHES_HELD = 20_000

V = TypeVar("V")
_ENCODER = msgspec.msgpack.Encoder()
_SCHEMA = "CREATE TABLE hashes (key BLOB PRIMARY KEY, time, entry BLOB) WITHOUT ROWID"
# Bits of `SpilledKeys` per key it has room for: two probes then say yes to about one
# absent key in 70 (or fewer, below its room).
BITS_PER_KEY = 16
# The fewest keys a filter has room for (512 KiB), and the most (4 MiB): past them, it
# says yes more often, never no to a key on disk.
FEWEST_KEYS, MOST_KEYS = 1 << 18, 1 << 21
# A filter made anew has room for this many times the keys on disk and coming.
GROWTH = 4


def key_of(request: str) -> str | bytes:
    return request if request.isascii() else stored(request)


def request_of(key: str | bytes) -> str:
    return key if isinstance(key, str) else text_of(key)


def _bits_for(keys: int) -> int:
    return 1 << (min(max(keys, FEWEST_KEYS), MOST_KEYS) * BITS_PER_KEY - 1).bit_length()


class SpilledKeys:
    """A Bloom filter of request hashes (by Python's `hash` of each, two probes): what
    it says a table's disk does not hold, it does not. A key dropped from the disk may
    stay in it: a yes too many."""

    def __init__(self, keys: int, made_from: Iterable[str] = ()) -> None:
        """Room for at least `keys` keys (FEWEST_KEYS to MOST_KEYS, in powers of two)
        before a yes grows likely; `made_from` added."""
        size = _bits_for(keys)
        self.room = size // BITS_PER_KEY
        self._mask = size - 1
        self._bits = bytearray(max(size >> 3, 1))
        # Keys added, some of them perhaps twice, or since dropped from the disk.
        self.added = 0
        self.add(made_from)
        self._made_with = self.added

    def full(self, coming: int) -> bool:
        """Whether to make the filter anew before `coming` more keys: they would pass its
        room, and a new one may be larger, or this one has taken in as many keys since it
        was made as it was made with (making one reads every key on disk: at most about
        a key read for each key added, whatever the disk holds)."""
        added = self.added + coming
        return added > self.room and (self.room < _bits_for(MOST_KEYS) // BITS_PER_KEY
                                      or added > 2 * self._made_with)

    def add(self, requests: Iterable[str]) -> None:
        bits, mask = self._bits, self._mask
        added = 0
        for digest in map(hash, requests):
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
        # goes back pickled, and neither pickles).
        self._db: sqlite3.Connection | None = None
        self._decoder: msgspec.msgpack.Decoder[Any] | None = None
        self._spilled: SpilledKeys | None = None
        # Keys the disk was asked for (what the filter spares it).
        self.asked = 0

    def __len__(self) -> int:
        return len(self.held) + self.on_disk

    @property
    def spilled(self) -> bool:
        return self._db is not None

    @on_disk
    def spill(self) -> None:
        """Move every entry held to disk."""
        held = self.held
        if self._db is None:
            self._db = private_database(self, "hashes.sqlite")
            self._db.execute(_SCHEMA)
            self._decoder = msgspec.msgpack.Decoder(self._entry)
            self._spilled = SpilledKeys(GROWTH * len(held))
        elif self._spilled is None or self._spilled.full(len(held)):
            self._spilled = self._refiltered(len(held))
        self._spilled.add(held)  # first: a key on disk it does not hold would be lost
        # In key order (texts, then bytes, as SQLite orders them: Python orders code
        # points as their UTF-8): the B-tree grows at a few places, not all over.
        texts = sorted(filter(str.isascii, held))
        others = [] if len(texts) == len(held) else sorted(
            request for request in held if not request.isascii())
        self._db.execute("BEGIN")
        for requests, keys in ((texts, texts), (others, list(map(stored, others)))):
            entries = list(map(held.__getitem__, requests))
            times = list(map(self._time_of, entries))
            # An entry that is its own time is that time again when fetched.
            self._db.executemany("INSERT INTO hashes VALUES (?, ?, ?)", zip(
                keys, times, [None if time is entry else _ENCODER.encode(entry)
                              for entry, time in zip(entries, times, strict=True)],
                strict=True))
        self._db.execute("COMMIT")
        self.on_disk += len(held)
        self.held = {}

    def _refiltered(self, coming: int) -> SpilledKeys:
        """A filter of the keys on disk, with room for GROWTH times them and `coming`
        (the keys dropped since leave it)."""
        assert self._db is not None
        return SpilledKeys(GROWTH * (self.on_disk + coming), map(request_of, (
            key for key, in self._db.execute("SELECT key FROM hashes"))))

    @on_disk
    def fetch(self, requests: Iterable[str]) -> None:
        """Bring the entries of `requests` on disk back into `held`."""
        db, decoder = self._db, self._decoder
        if db is None or decoder is None or not self.on_disk:
            return
        held, decode = self.held, decoder.decode
        assert self._spilled is not None
        wanted = [key_of(request) for request in self._spilled.among(requests, held)]
        for batch in chunked(wanted):
            self.asked += len(batch)
            marks = ", ".join("?" * len(batch))
            found = db.execute(f"SELECT key, time, entry FROM hashes WHERE key IN ({marks})",
                               batch).fetchall()
            if not found:
                continue
            keys = [key for key, _, _ in found]
            db.execute(f"DELETE FROM hashes WHERE key IN ({', '.join('?' * len(keys))})",
                       keys)
            self.on_disk -= len(found)
            for key, time, entry in found:
                held[request_of(key)] = time if entry is None else decode(entry)

    def keep_from(self, earliest: float) -> bool:
        """Drop the entries whose time is before `earliest`; whether any was."""
        return self._keep(lambda time: time >= earliest, "time < ?", earliest)

    def keep_until(self, latest: float) -> bool:
        """Drop the entries whose time is after `latest`; whether any was."""
        return self._keep(lambda time: time <= latest, "time > ?", latest)

    @on_disk
    def _keep(self, kept: Callable[[float], bool], dropped: str, moment: float) -> bool:
        # Times are finite (JSON has no NaN): the SQL and the Python say the same.
        time_of = self._time_of
        held = {request: entry for request, entry in self.held.items() if kept(time_of(entry))}
        gone = len(self.held) - len(held)
        self.held = held
        if self._db is not None and self.on_disk:
            deleted = self._db.execute(f"DELETE FROM hashes WHERE {dropped}", (moment,)).rowcount
            self.on_disk -= deleted
            gone += deleted
        return gone > 0
