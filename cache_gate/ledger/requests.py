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

Most of a transcript's request lines repeat an open request. `take_transcript` reads
a chunk of a transcript line by line and drops such a repeat before a Record is made
of it: only the key and the tokens of a line are looked at, first, and a line that
opens a request or reports more tokens than the one held is held unmade (`Unmade`)
until its request closes. It is the plain reader's `read_line` then `keep`, line by
line, and held to it on hostile transcripts (tests/ledger/test_requests_transcript.py).

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
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Protocol

import msgspec

from cache_gate.ledger.formats import claude_code, normalise, read_line
from cache_gate.ledger.formats.claude_code import (
    SYNTHETIC_MODEL,
    reported_tokens,
    request_key,
    transcript_record,
)
from cache_gate.ledger.formats.fields import epoch
from cache_gate.ledger.line_errors import LineError, describe
from cache_gate.ledger.lines import Decoders, Line, Message, TranscriptLine, Usage
from cache_gate.ledger.record import Record
from cache_gate.ledger.window import LeftOut, Window, selected

# Records a request stays open for after its first line (see the module docstring).
WINDOW = 4096
# Closed keys are spread over 2**BUCKET_BITS sorted arrays by their hash's top bits:
# an insertion moves one small array's tail, not a million-entry one.
BUCKET_BITS = 12
# A closed request already counted as understated is not counted again.
_COUNTED = (1 << 63) - 1


# What makes a line bad, and what a blank line may hold: as `reading` has them.
LINE_ERRORS = (msgspec.DecodeError, UnicodeDecodeError, LineError, RecursionError)
JSON_BLANK = b" \t\r"


class DuplicateCounts(Protocol):
    duplicates: int
    late_winners: int


class LineCounts(DuplicateCounts, LeftOut, Protocol):
    """What `Requests.take_transcript` counts of the lines it reads (`LedgerStats`)."""

    not_requests: int

    def add_bad(self, offset: int, error: str) -> None: ...


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


class Unmade(msgspec.Struct, gc=False):
    """A Claude Code line held open before it is made into a Record (most are dropped
    for a later line of their request that reports more tokens): what
    `claude_code.transcript_record` makes it from, and the tokens it reports."""

    token_total: int
    timestamp: datetime | None
    session: str | None
    message: Message
    key: str

    def made(self) -> Record:
        return transcript_record(epoch(self.timestamp), self.session, self.message, self.key)


class Requests:
    """The open requests, in the order of their first line, and the closed ones' keys.

    `window`: WINDOW (fewer in tests); None holds every request open to the end: the
    unbounded reference (`reference.read_plain`), exact by construction.
    """

    def __init__(self, window: int | None) -> None:
        self.window = window if window is None else max(1, window)
        # Open records in ledger order: a request under its key, a record of no
        # request (another format's, after an open request) under a number. A Claude
        # Code line is held unmade until its request closes.
        self.open: OrderedDict[str | int, Record | Unmade] = OrderedDict()
        self.closed = ClosedKeys()
        self._numbered = 0
        # True once a record with a dedup key was taken (see `reader._read_range`).
        self.keyed = False
        # False once most lines of a chunk were no TranscriptLine (`take_transcript`).
        self.narrow = True

    def take(self, records: Iterable[Record], counts: DuplicateCounts) -> list[Record]:
        """The records to hand on now, in ledger order; the others wait or are dropped."""
        ready: list[Record] = []
        for record in records:
            self._offer(record, ready, counts)
        return ready

    def _offer(self, record: Record, ready: list[Record], counts: DuplicateCounts) -> None:
        """Take one record: hand it on (to `ready`), hold it open, or drop it."""
        open_ = self.open
        key = record.dedup_key
        if key is None:
            if not open_:
                ready.append(record)
                return
            self._numbered += 1
            open_[self._numbered] = record
        else:
            self.keyed = True
            earlier = open_.get(key)
            if earlier is not None:
                counts.duplicates += 1
                if record.token_total > earlier.token_total:
                    open_[key] = record  # keeps its place: its first line's
                return
            if self._closed_repeat(key, record.token_total, counts):
                return
            open_[key] = record
        if self.window is not None and len(open_) > self.window:
            self._close_first(ready)

    def _closed_repeat(self, key: str, tokens: int, counts: DuplicateCounts) -> bool:
        """Whether `key` is a closed request's: a duplicate, counted (and flagged once
        when its line reports more tokens than the line kept)."""
        found = self.closed.find(key) if self.closed.size else None
        if found is None:
            return False
        counts.duplicates += 1
        kept, at = found
        if tokens > kept[at]:
            counts.late_winners += 1
            kept[at] = _COUNTED
        return True

    def take_transcript(self, lines: list[bytes], offset: int, decoders: Decoders,
                        window: Window, workflows: frozenset[str] | None,
                        counts: LineCounts) -> list[Record]:
        """The lines of a chunk (the first at byte `offset`) read and taken as the
        plain reader reads and takes them one by one (`formats.read_line`, then
        `reading.keep`), the records to hand on now returned. A Claude Code line is
        decoded as a TranscriptLine (as a `Line`, once most of a chunk's lines were
        not one), and a repeat of an open or closed request is dropped before a
        Record is made of it (most of a transcript's request lines are): only a line
        that opens a request or reports more tokens than the one held is kept, and a
        TranscriptLine is made into a Record only once its request closes. Any other
        line is read in full."""
        ready: list[Record] = []
        open_ = self.open
        limit = self.window
        narrow = self.narrow
        decode: Callable[[bytes], TranscriptLine | Line] = (
            decoders.transcript.decode if narrow else decoders.general.decode)
        misses = 0
        bounded = window.bounded
        for raw in lines:
            at = offset
            offset += len(raw) + 1
            try:
                if not raw.isascii():
                    raw.decode()  # invalid UTF-8, even where msgspec skips, is bad
                line: TranscriptLine | Line | None = decode(raw)
            except LINE_ERRORS:
                line = None
                misses += 1
            message = None if line is None else line.message
            # claude_code.claims and claude_code.read.
            if (line is None or not isinstance(message, Message)
                    or (line.requestId is None and line.sessionId is None)):
                self._take_read(raw, at, decoders, window, workflows, ready, counts)
                continue
            usage = message.usage
            if usage is None or message.model == SYNTHETIC_MODEL:
                counts.not_requests += 1  # a user turn, an API error
                continue
            # A TranscriptLine names no workflow.
            if (bounded or workflows is not None) and not selected(
                    epoch(line.timestamp) if bounded else None,
                    line.workflow if isinstance(line, Line) else None,
                    window, workflows, counts):
                continue
            key = request_key(message, line.requestId)
            if key is None:
                self._offer(_made(line, message, usage, key), ready, counts)
                continue
            self.keyed = True
            tokens = reported_tokens(usage)
            earlier = open_.get(key)
            if earlier is not None:
                counts.duplicates += 1
                if tokens > earlier.token_total:
                    open_[key] = _held(line, message, usage, key, tokens)
                continue
            if self.closed.size and self._closed_repeat(key, tokens, counts):
                continue
            open_[key] = _held(line, message, usage, key, tokens)
            if limit is not None and len(open_) > limit:
                self._close_first(ready)
        if narrow and misses * 2 > len(lines):
            # Lines of keys TranscriptLine does not name (a newer Claude Code's): no
            # more first tries that fail, for the rest of the ledger.
            self.narrow = False
        return ready

    def _take_read(self, raw: bytes, offset: int, decoders: Decoders, window: Window,
                   workflows: frozenset[str] | None, ready: list[Record],
                   counts: LineCounts) -> None:
        """A line read in full (`_read_in_full`), as the plain reader reads it, and
        taken as `reading.keep` takes it."""
        try:
            record = _read_in_full(raw, decoders)
        except LINE_ERRORS as exc:
            if raw.strip(JSON_BLANK):
                counts.add_bad(offset, describe(exc))
            return
        if record is None:
            counts.not_requests += 1
            return
        if selected(record.time, record.workflow, window, workflows, counts):
            self._offer(record, ready, counts)

    def _close_first(self, ready: list[Record]) -> None:
        """Close the oldest open request, and hand on the records that waited on it."""
        open_ = self.open
        key, held = open_.popitem(last=False)
        ready.append(held.made() if isinstance(held, Unmade) else held)
        if isinstance(key, str):
            self.closed.add(key, held.token_total)
        while open_ and not isinstance(next(iter(open_)), str):
            number_held = open_.popitem(last=False)[1]
            assert isinstance(number_held, Record)
            ready.append(number_held)

    def close_all(self) -> list[Record]:
        """Close every open request (the end of the ledger): the records still held."""
        ready: list[Record] = []
        while self.open:
            self._close_first(ready)
        return ready


def _read_in_full(raw: bytes, decoders: Decoders) -> Record | None:
    """`read_line(raw)`, without its first look as a backlog line where the line has a
    `message`: such a line decodes as a `Line` wherever it decodes as a BacklogLine,
    and the look hands it on (`BacklogLine.other_format`)."""
    try:
        if not raw.isascii():
            raw.decode()
        line = decoders.general.decode(raw)
        if line.message is not None:
            return normalise(line)
    except LINE_ERRORS:
        pass
    return read_line(raw, decoders)


def _held(line: TranscriptLine | Line, message: Message, usage: Usage, key: str,
          tokens: int) -> Record | Unmade:
    """A request's line as it is held open: a TranscriptLine unmade, a `Line` (one
    that may carry any field) made into its Record, as `read_line` makes it."""
    if isinstance(line, Line):
        return claude_code.normalise(line, usage, message)
    return Unmade(tokens, line.timestamp, line.sessionId, message, key)


def _made(line: TranscriptLine | Line, message: Message, usage: Usage,
          key: str | None) -> Record:
    if isinstance(line, Line):
        return claude_code.normalise(line, usage, message)
    return transcript_record(epoch(line.timestamp), line.sessionId, message, key)
