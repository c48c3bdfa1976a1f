"""One spill of a table kept per request hash (`hash_spill`): its entries written once,
to a file of their own, in the order of their keys' digests.

Held in memory: each entry's digest (8 bytes, sorted: a key is found by bisection) and
whether it is still there (a byte). On disk, in columns: the keys (UTF-8), their
lengths, the entries' times, and the entries that are not their own time (msgpack)
with their lengths (0: the time is the entry). A key or an entry is found by reading
the lengths of its block of BLOCK. A file is written once and never changed: an entry
fetched back or dropped is marked gone in memory; the file goes when its last entry
does.

Two keys may share a digest: a key is its entry's only once compared in full.
"""

from __future__ import annotations

import os
import weakref
from array import array
from bisect import bisect_left
from collections.abc import Callable, Sequence
from itertools import accumulate
from pathlib import Path

# Entries whose lengths are read together to find one of them.
BLOCK = 16
_LENGTH = array("I").itemsize
_TIME = array("d").itemsize

# An entry as a segment is written from, and read back whole (`rows`): its key's
# digest, its key, its time, and the entry where it is not its own time (else b"").
Row = tuple[int, bytes, float, bytes]


class _Column:
    """Values of varying length on disk, one after another, and their lengths."""

    def __init__(self, at: int, values: Sequence[bytes]) -> None:
        lengths = array("I", map(len, values))
        self.data = b"".join(values)
        self.lengths = lengths.tobytes()
        self.at, self.lengths_at = at, at + len(self.data)
        # Where every BLOCK-th value starts.
        self.starts = array("Q", accumulate(lengths, initial=at))[::BLOCK]
        self.end = self.lengths_at + len(self.lengths)

    def value(self, fd: int, index: int) -> bytes:
        block, within = divmod(index, BLOCK)
        lengths = array("I")
        lengths.frombytes(os.pread(fd, _LENGTH * (within + 1),
                                   self.lengths_at + _LENGTH * block * BLOCK))
        start = self.starts[block] + sum(lengths[:within])
        return os.pread(fd, lengths[within], start)

    def values(self, fd: int, count: int) -> list[bytes]:
        lengths = array("I")
        lengths.frombytes(os.pread(fd, _LENGTH * count, self.lengths_at))
        data = os.pread(fd, self.lengths_at - self.at, self.at)
        ends = list(accumulate(lengths))
        return [data[end - length:end] for end, length in zip(ends, lengths, strict=True)]


class Segment:
    """Entries on disk, found by their digests."""

    def __init__(self, path: Path, digests: Sequence[int], keys: Sequence[bytes],
                 times: Sequence[float], entries: Sequence[bytes] | None) -> None:
        """Written from columns in digest order (`entries` None: every entry its time)."""
        self.digests = array("q", digests)
        self._keys = _Column(0, keys)
        self._times_at = self._keys.end
        times_data = array("d", times).tobytes()
        self._entries = (None if entries is None
                         else _Column(self._times_at + len(times_data), entries))
        with path.open("xb") as out:
            out.write(self._keys.data)
            out.write(self._keys.lengths)
            out.write(times_data)
            if self._entries is not None:
                out.write(self._entries.data)
                out.write(self._entries.lengths)
                self._entries.data = self._entries.lengths = b""
        self._keys.data = self._keys.lengths = b""
        self.present = bytearray(b"\x01") * len(self.digests)
        self.live = len(self.digests)
        self.oldest = min(times, default=0.0)
        self.newest = max(times, default=0.0)
        self._path = path
        self._fd = os.open(path, os.O_RDONLY)
        self._closer = weakref.finalize(self, os.close, self._fd)

    def close(self) -> None:
        """Its file removed (its last entry gone, or merged)."""
        self._closer()
        self._path.unlink(missing_ok=True)

    def take(self, digest: int, key: bytes) -> tuple[float, bytes] | None:
        """The time and entry of `key` (b"": the time is the entry), marked gone; None
        where it holds no such key."""
        digests, present = self.digests, self.present
        index = bisect_left(digests, digest)
        while index < len(digests) and digests[index] == digest:
            if present[index] and self._keys.value(self._fd, index) == key:
                present[index] = 0
                self.live -= 1
                time = array("d")
                time.frombytes(os.pread(self._fd, _TIME, self._times_at + _TIME * index))
                entries = self._entries
                return time[0], b"" if entries is None else entries.value(self._fd, index)
            index += 1
        return None

    def _times(self) -> array[float]:
        times = array("d")
        times.frombytes(os.pread(self._fd, _TIME * len(self.digests), self._times_at))
        return times

    def drop(self, kept: Callable[[float], bool]) -> int:
        """Mark gone the entries whose time is not `kept`; how many were there."""
        present = self.present
        dropped = 0
        for index, time in enumerate(self._times()):
            if present[index] and not kept(time):
                present[index] = 0
                dropped += 1
        self.live -= dropped
        return dropped

    def drop_all(self) -> int:
        dropped, self.live = self.live, 0
        self.present = bytearray(len(self.digests))
        return dropped

    def rows(self) -> list[Row]:
        """The entries still there, in digest order."""
        count = len(self.digests)
        keys = self._keys.values(self._fd, count)
        entries = (self._entries.values(self._fd, count) if self._entries is not None
                   else [b""] * count)
        return [row for row, present in zip(
            zip(self.digests, keys, self._times(), entries, strict=True),
            self.present, strict=True) if present]
