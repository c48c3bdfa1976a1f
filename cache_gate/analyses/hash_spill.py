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

A hash of 64 lowercase hex digits is kept as its 32 bytes; any other key as its text
(`kpi_spill.stored`), the two never alike. Entries are msgpack, exact. The file lives
in a private temporary directory, removed with the table or at exit, as `kpi_spill`'s.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from typing import Any, Generic, Protocol, TypeVar

import msgspec

from cache_gate.analyses.kpi_spill import chunked, on_disk, private_database, stored, text_of
from cache_gate.ledger.reading import SinkFull

# Hashes a table holds in memory before it moves them to disk.
HASHES_HELD = 20_000

V = TypeVar("V")
_ENCODER = msgspec.msgpack.Encoder()
_SCHEMA = "CREATE TABLE hashes (key BLOB PRIMARY KEY, time, entry BLOB) WITHOUT ROWID"
# What starts a stored 32-byte hash (a text key starts with 1: `stored`).
_RAW = b"\x00"


def key_of(request: str) -> bytes:
    if len(request) == 64:
        try:
            raw = bytes.fromhex(request)
        except ValueError:
            raw = b""
        if raw.hex() == request:  # not upper case, nor with spaces fromhex skips
            return _RAW + raw
    return stored(request)


def request_of(key: bytes) -> str:
    return key[1:].hex() if key[:1] == _RAW else text_of(key)


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

    def __len__(self) -> int:
        return len(self.held) + self.on_disk

    @property
    def spilled(self) -> bool:
        return self._db is not None

    @on_disk
    def spill(self) -> None:
        """Move every entry held to disk (in key order: the B-tree grows at a few places,
        not all over)."""
        if self._db is None:
            self._db = private_database(self, "hashes.sqlite")
            self._db.execute(_SCHEMA)
            self._decoder = msgspec.msgpack.Decoder(self._entry)
        time_of, encode = self._time_of, _ENCODER.encode
        rows = sorted((key_of(request), time_of(entry), encode(entry))
                      for request, entry in self.held.items())
        self._db.execute("BEGIN")
        self._db.executemany("INSERT INTO hashes VALUES (?, ?, ?)", rows)
        self._db.execute("COMMIT")
        self.on_disk += len(rows)
        self.held = {}

    @on_disk
    def fetch(self, requests: Iterable[str]) -> None:
        """Bring the entries of `requests` on disk back into `held`."""
        db, decoder = self._db, self._decoder
        if db is None or decoder is None or not self.on_disk:
            return
        held, decode = self.held, decoder.decode
        wanted = sorted({key_of(request) for request in requests if request not in held})
        for batch in chunked(wanted):
            marks = ", ".join("?" * len(batch))
            found = db.execute(f"SELECT key, entry FROM hashes WHERE key IN ({marks})",
                               batch).fetchall()
            if not found:
                continue
            keys = [key for key, _ in found]
            db.execute(f"DELETE FROM hashes WHERE key IN ({', '.join('?' * len(keys))})",
                       keys)
            self.on_disk -= len(found)
            for key, entry in found:
                held[request_of(key)] = decode(entry)

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
