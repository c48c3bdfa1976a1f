"""One spill of a table kept per request hash (`hash_spill`): its entries written once,
to a file of their own, in the order of their keys' digests.

On disk, in columns: the keys (UTF-8) and their lengths, the entries' times, the
entries that are not their own time (msgpack) and their lengths (0: the time is the
entry), and the digests. In memory: whether each entry is still there (a bit), where
every BLOCK-th key and entry starts, every BLOCK-th digest, and, until `cool`, every
digest (8 bytes an entry): a key is found by bisecting them, or, once cool, the
blocks of digests on disk that may hold it. A file is written once and
never changed: an entry fetched back or dropped is marked gone in memory; the file
goes when its last entry does.

Two keys may share a digest: a key is its entry's only once compared in full.
"""

from __future__ import annotations

import contextlib
import os
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import accumulate, compress
from pathlib import Path

# Entries whose lengths (or digests) are read together to find one of them.
BLOCK = 64
_LENGTH = array("I").itemsize
_TIME = array("d").itemsize
_DIGEST = array("q").itemsize

# An entry as a segment is written from, and read back whole (`rows`): its key's
# digest, its key, its time, and the entry where it is not its own time (else b"").
Row = tuple[int, bytes, float, bytes]


class _Column:
    """Values of varying length on disk, one after another, and their lengths."""

    def __init__(self, at: int, values: Sequence[bytes]) -> None:
        lengths = array("I", map(len, values))
        data = b"".join(values)
        self.at, self.lengths_at = at, at + len(data)
        # Where every BLOCK-th value starts.
        self.starts = array("Q", accumulate(lengths, initial=at))[::BLOCK]
        # What to write, until it is.
        self._data = data + lengths.tobytes()
        self.end = at + len(self._data)

    def take_data(self) -> bytes:
        """What to write (once): the values, then their lengths."""
        data, self._data = self._data, b""
        return data

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
        self.digests: array[int] | None = array("q", digests)
        self._fences = self.digests[::BLOCK]
        self._keys = _Column(0, keys)
        self._times_at = self._keys.end
        times_data = array("d", times).tobytes()
        self._entries = (None if entries is None
                         else _Column(self._times_at + len(times_data), entries))
        self._digests_at = (self._times_at + len(times_data) if self._entries is None
                            else self._entries.end)
        with path.open("xb") as out:
            out.write(self._keys.take_data())
            out.write(times_data)
            if self._entries is not None:
                out.write(self._entries.take_data())
            out.write(self.digests.tobytes())
        self.count = len(self.digests)
        # A bit an entry, set once it is gone.
        self._gone = bytearray((self.count + 7) // 8)
        self.live = self.count
        self.oldest = min(times, default=0.0)
        self.newest = max(times, default=0.0)
        self._path = path

    def close(self) -> None:
        """Its file removed (its last entry gone, or merged)."""
        self._path.unlink(missing_ok=True)

    def cool(self) -> None:
        """Its digests left on disk: a key costs a read to look for."""
        self.digests = None

    def take(self, digest: int, key: bytes) -> tuple[float, bytes] | None:
        """The time and entry of `key` (b"": the time is the entry), marked gone; None
        where it holds no such key."""
        first, digests = self._candidates(digest)
        index = bisect_left(digests, digest)
        while index < len(digests) and digests[index] == digest:
            at = first + index
            if not self._is_gone(at):
                with _opened(self._path) as fd:
                    if self._keys.value(fd, at) == key:
                        self._mark_gone(at)
                        self.live -= 1
                        time = array("d")
                        time.frombytes(os.pread(fd, _TIME, self._times_at + _TIME * at))
                        entries = self._entries
                        return time[0], b"" if entries is None else entries.value(fd, at)
            index += 1
        return None

    def _candidates(self, digest: int) -> tuple[int, array[int]]:
        """Where the digests that may equal `digest` start, and they (every digest, while
        they are in memory)."""
        if self.digests is not None:
            return 0, self.digests
        # The blocks from the one before the first fence not below the digest to that
        # of the last fence not above it hold every entry of it.
        low = max(bisect_left(self._fences, digest) - 1, 0)
        high = bisect_right(self._fences, digest)
        with _opened(self._path) as fd:
            return low * BLOCK, self._digests_read(fd, low * BLOCK,
                                                   min(high * BLOCK, self.count))

    def _digests_read(self, fd: int, first: int, end: int) -> array[int]:
        digests = array("q")
        if end > first:
            digests.frombytes(os.pread(fd, _DIGEST * (end - first),
                                       self._digests_at + _DIGEST * first))
        return digests

    def _is_gone(self, index: int) -> bool:
        return bool(self._gone[index >> 3] >> (index & 7) & 1)

    def _mark_gone(self, index: int) -> None:
        self._gone[index >> 3] |= 1 << (index & 7)

    def there(self) -> Iterable[int]:
        """The digests of the entries still there."""
        digests = self.digests
        if digests is None:
            with _opened(self._path) as fd:
                digests = self._digests_read(fd, 0, self.count)
        return compress(digests, self._present())

    def _present(self) -> Iterator[bool]:
        """Whether each entry is still there."""
        return (not self._is_gone(index) for index in range(self.count))

    def _times(self, fd: int) -> array[float]:
        times = array("d")
        times.frombytes(os.pread(fd, _TIME * self.count, self._times_at))
        return times

    def drop(self, kept: Callable[[float], bool]) -> int:
        """Mark gone the entries whose time is not `kept`; how many were there."""
        dropped = 0
        with _opened(self._path) as fd:
            times = self._times(fd)
        for index, time in enumerate(times):
            if not kept(time) and not self._is_gone(index):
                self._mark_gone(index)
                dropped += 1
        self.live -= dropped
        return dropped

    def drop_all(self) -> int:
        dropped, self.live = self.live, 0
        self._gone = bytearray(b"\xff") * len(self._gone)
        return dropped

    def rows(self) -> list[Row]:
        """The entries still there, in digest order."""
        count = self.count
        with _opened(self._path) as fd:
            keys = self._keys.values(fd, count)
            entries = (self._entries.values(fd, count) if self._entries is not None
                       else [b""] * count)
            times = self._times(fd)
            digests = self._digests_read(fd, 0, count)
        return list(compress(zip(digests, keys, times, entries, strict=True),
                             self._present()))


@contextlib.contextmanager
def _opened(path: Path) -> Iterator[int]:
    fd = os.open(path, os.O_RDONLY)
    try:
        yield fd
    finally:
        os.close(fd)
