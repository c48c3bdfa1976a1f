"""Incremental reading: a run over a ledger that only grew since the last one reads what
was appended, and the stretches its window's edges cut, and no more; exactly.

A run over a ledger file of at least `checkpoint.CACHE_MIN_BYTES` leaves a checkpoint
(`checkpoint` says where, and how the next run tells that the ledger only grew): the
ledger's stretches in order, each with its byte range, the times of its records and its
sink's state as bytes (`SnapshotSink`), read with no window, so that any window can
be answered from them. A ledger that did not only grow (rotated, truncated,
rewritten; or another cache-gate, a damaged checkpoint) is read whole and the
checkpoint replaced. An edit in place that keeps the inode, the length and both
fingerprints is not seen: `--no-cache` reads everything.

A stretch ends where its records' times cross a UTC midnight, so a ledger written in
time order has about one a day (one out of order only has more, never a wrong answer).
A window takes a stretch's state where all its records are dated and inside, counts
its records as outside where all are outside, and reads it again where the window's
edge cuts it. Stretches merge in ledger order (`MergeableSink.merge`), as the parallel
reader's do, so the answer is one pass's (the property tests hold it to the reader).

Not resumed, read as ever: a stream, a ledger of Claude Code requests (a request spans
lines; `requests`), a line over 16 MiB, a sink without a snapshot (`report`'s), a
stretch whose state outgrows memory (its sink may not spill to disk: `SinkFull`), a
checkpoint that would outgrow MAX_CHECKPOINT_BYTES (the reader gives up as soon as its
stretches do). Such a ledger leaves a checkpoint without stretches, so that the next
run reads it as ever at once, for as long as it only grows. The checkpoint is data, decoded by
type, never code: a damaged or crafted one is ignored or, at worst, misstates the
figures of the ledger it names, as editing the ledger itself would.
"""

from __future__ import annotations

import functools
import itertools
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

from cache_gate import __version__
from cache_gate.errors import InputError
from cache_gate.ledger.jsonl import reader, streams
from cache_gate.ledger.jsonl.checkpoint import (
    DAMAGED,
    FINGERPRINT_BYTES,
    LAYOUT,
    MAX_CHECKPOINT_BYTES,
    TOO_VARIED,
    Checkpoint,
    LedgerCache,
    Segment,
    Stats,
    fingerprint,
    load,
    save,
    unchanged,
)
from cache_gate.ledger.jsonl.processes import collect, fork
from cache_gate.ledger.jsonl.reader import Stretch, chunks, number_bad_lines, read_chunk
from cache_gate.ledger.reading import (
    BadLine,
    LedgerStats,
    MergeableSink,
    Selection,
    Sink,
    SinkFull,
    TimeSpan,
    decoders_for,
    finish,
    unspilled,
)
from cache_gate.ledger.window import SECONDS_A_DAY, Window


@runtime_checkable
class SnapshotSink(MergeableSink, Protocol):
    """A sink whose state can be kept between runs: `snapshot` gives it as bytes,
    `restore` makes a fresh sink the stretch those bytes are the state of (ValueError
    where they are not)."""

    def snapshot(self) -> bytes: ...

    def restore(self, data: bytes) -> None: ...


class _Damaged(Exception):
    """A stretch of the checkpoint does not restore: it is ignored, and replaced."""


class _NotResumable(Exception):
    """This ledger or sink is read as ever, in one pass, with no checkpoint."""


class _MarkedTooVaried(SinkFull):
    """The checkpoint says the ledger was too varied, and it only grew since: the mark
    stands as it is."""


@dataclass
class Use:
    """What the checkpoint saved this run (the JSON report's `ledger.incremental`)."""

    resumed: bool
    reason: str
    read_bytes: int = 0
    reused_bytes: int = 0
    saved: bool = False

    def to_json(self) -> dict[str, object]:
        return asdict(self)


@dataclass
class _Part:
    """A stretch being read: where it lies, its times, its partial result."""

    start: int
    stretch: Stretch
    end: int = 0
    lines: int = 0
    span: TimeSpan = field(default_factory=TimeSpan)

    def __post_init__(self) -> None:
        self.end = max(self.end, self.start)

    @property
    def crosses_midnight(self) -> bool:
        low, high = self.span.low, self.span.high
        return (low is not None and high is not None
                and low // SECONDS_A_DAY != high // SECONDS_A_DAY)


def scan(path: str, selection: Selection, make_sink: Callable[[], Sink], *,
         cache: LedgerCache | None, jobs: int | None = None,
         ) -> tuple[Sink, LedgerStats, Use | None]:
    """`reader.scan`, resumed from the ledger's checkpoint where there is one that
    fits, and leaving one for the next run (`cache` None: read as ever)."""
    use = None
    if cache is not None and path != "-" and not streams.is_stream(path):
        size = reader.open_ledger(path)
        entry = cache.entry(os.path.realpath(path)) if size >= cache.min_bytes else None
        if entry is not None and isinstance(make_sink(), SnapshotSink):
            try:
                try:
                    return _scan_resumed(path, size, selection, make_sink, cache, entry,
                                         jobs)
                except _Damaged:  # read whole, and the checkpoint replaced
                    return _scan_resumed(path, size, selection, make_sink, cache, entry,
                                         jobs, damaged=True)
            except SinkFull as full:  # read as ever; the JSON report says why
                use = Use(resumed=False, reason=TOO_VARIED, read_bytes=size)
                if not isinstance(full, _MarkedTooVaried):
                    _mark_too_varied(path, size, cache, entry)
            except (_NotResumable, _Damaged):
                pass
            except OSError as exc:
                raise InputError(f"ledger {path} could not be read to the end "
                                 f"({exc.strerror}): was it rotated or removed while "
                                 "cache-gate read it? Run again") from None
    sink, stats = reader.scan(path, selection, make_sink, jobs=jobs)
    return sink, stats, use


def _scan_resumed(path: str, size: int, selection: Selection, make_sink: Callable[[], Sink],
                  cache: LedgerCache, entry: Path, jobs: int | None, *,
                  damaged: bool = False) -> tuple[Sink, LedgerStats, Use]:
    info = Path(path).stat()
    ledger = os.path.realpath(path)
    head = fingerprint(path, 0, min(FINGERPRINT_BYTES, size))
    checkpoint, reason = (None, DAMAGED) if damaged else load(entry, ledger, cache.key, info)
    if checkpoint is not None and not checkpoint.segments:
        raise _MarkedTooVaried
    kept: list[Segment] = []
    last: Segment | None = None
    if checkpoint is not None:
        *kept, last = checkpoint.segments
    start = checkpoint.offset if checkpoint is not None else 0
    # A stretch to be kept may not spill (it raises SinkFull: the ledger is read as ever).
    kept_sink = unspilled(make_sink)
    room = MAX_CHECKPOINT_BYTES - sum(len(segment.state) for segment in kept)
    segments = kept + _read_new(path, start, size, selection.workflows, kept_sink, last, jobs,
                                room)
    offset = segments[-1].end
    first_line = 1
    for segment in segments:
        _number(path, segment, first_line)
        first_line += segment.lines
    use = Use(resumed=checkpoint is not None, reason=reason, read_bytes=size - start)
    if checkpoint is not None:
        use.read_bytes += 2 * FINGERPRINT_BYTES
    sink, stats = _answer(path, segments, selection, make_sink, use, kept_end=start)
    if offset < size:  # a last line without its newline: read each run, never kept
        tail = reader.read_range(path, offset, size, selection, kept_sink, False)
        tail.sink.add(finish(tail.requests, tail.stats))
        _merge(sink, tail.sink)
        stats.merge(tail.stats)
    small = sum(len(segment.state) for segment in segments) <= MAX_CHECKPOINT_BYTES
    if small and unchanged(path, info, head, size):  # not rewritten while this run read it
        use.saved = save(entry, Checkpoint(
            LAYOUT, __version__, ledger, cache.key, info.st_dev, info.st_ino, offset,
            fingerprint(path, 0, min(FINGERPRINT_BYTES, offset)),
            fingerprint(path, max(0, offset - FINGERPRINT_BYTES), offset), segments))
    stats.path = path
    return sink, stats, use


def _read_new(path: str, start: int, end: int, workflows: frozenset[str] | None,
              make_sink: Callable[[], Sink], last: Segment | None,
              jobs: int | None, room: int) -> list[Segment]:
    """The stretches from `start` (on from `last`, the checkpoint's last stretch) to the
    end's last complete line, read by one process, or split across several as the
    reader splits a ledger; their bad lines not numbered yet. Their snapshots take at
    most `room` bytes, shared between the processes (SinkFull: too varied)."""
    workers = reader.readers(end - start, jobs)
    room //= workers
    step = (end - start) // workers
    bounds = [start + step * index for index in range(workers)] + [end]
    children: list[tuple[int, int]] = []
    try:
        for low, high in itertools.pairwise(bounds[1:]):
            children.append(fork(functools.partial(
                _read_or_none, path, low, high, workflows, make_sink, None, room), path))
        segments = _read_segments(path, bounds[0], bounds[1], workflows, make_sink, last,
                                  room)
    finally:
        later = [collect(pid, pipe) for pid, pipe in children]
    for part in later:
        if part == TOO_VARIED:
            raise SinkFull
        if not isinstance(part, list):
            raise _NotResumable
        segments += part
    if any(a.end != b.start for a, b in itertools.pairwise(segments)):
        raise _NotResumable  # a line longer than a reader's share: read it as ever
    return segments


def _read_or_none(path: str, start: int, end: int, workflows: frozenset[str] | None,
                  make_sink: Callable[[], Sink], last: Segment | None,
                  room: int) -> list[Segment] | str | None:
    """`_read_segments` in a child process: None where the ledger is not resumable,
    TOO_VARIED where its stretches outgrow their room."""
    try:
        return _read_segments(path, start, end, workflows, make_sink, last, room)
    except _NotResumable:
        return None
    except SinkFull:
        return TOO_VARIED


def _read_segments(path: str, start: int, end: int, workflows: frozenset[str] | None,
                   make_sink: Callable[[], Sink], last: Segment | None,
                   room: int) -> list[Segment]:
    """The complete lines starting in [start, end), read into stretches cut at UTC
    midnights, on from `last` where given."""
    everything = Selection(Window(), workflows)
    current = _restored(path, last, make_sink) if last is not None else _Part(
        start, Stretch(make_sink(), LedgerStats(path)))
    fresh = last is None
    parts: list[Segment] = []
    reading = decoders_for(current.stretch.sink, everything, descriptive=False)
    with Path(path).open("rb") as handle:
        for position, chunk, kind in chunks(handle, start, end):
            if kind == "tail":
                break
            if kind == "overlong":
                raise _NotResumable
            if fresh:  # a share of the ledger starts at its first line
                current.start = current.end = position
                fresh = False
            plain = getattr(current.stretch.sink, "add_plain_backlog", None)
            read_chunk(chunk, position, current.stretch, everything, reading, plain,
                       current.span)
            if current.stretch.requests.open or current.stretch.requests.keyed:
                raise _NotResumable  # Claude Code's requests span lines
            cut = chunk.rfind(b"\n") + 1
            current.end = position + cut
            current.lines += chunk.count(b"\n", 0, cut)
            if current.crosses_midnight:
                _keep(parts, current, room)
                current = _Part(current.end, Stretch(make_sink(), LedgerStats(path)))
    if current.end > current.start or (start == 0 and not parts) or last is not None:
        _keep(parts, current, room)
    return parts


def _keep(segments: list[Segment], part: _Part, room: int) -> None:
    """Add a stretch read to those kept, as its snapshot: they stay within `room`
    bytes, else the ledger is not resumable (SinkFull, as a stretch whose state
    outgrows memory)."""
    segments.append(_stored(part))
    if sum(len(segment.state) for segment in segments) > room:
        raise SinkFull


def _mark_too_varied(path: str, size: int, cache: LedgerCache, entry: Path) -> None:
    """Leave a checkpoint without stretches: the next run over this ledger, grown or
    not, reads it as ever at once, rather than after finding again that it is too
    varied to keep one of."""
    info = Path(path).stat()
    head = fingerprint(path, 0, min(FINGERPRINT_BYTES, size))
    if unchanged(path, info, head, size):
        save(entry, Checkpoint(
            LAYOUT, __version__, os.path.realpath(path), cache.key, info.st_dev,
            info.st_ino, size, head, fingerprint(path, max(0, size - FINGERPRINT_BYTES), size),
            []))


def _restored(path: str, segment: Segment, make_sink: Callable[[], Sink]) -> _Part:
    """A kept stretch, live again, to read on."""
    return _Part(segment.start, Stretch(_sink_of(segment, make_sink), _stats_of(path, segment)),
                 segment.end, segment.lines,
                 TimeSpan(segment.low, segment.high, segment.dated, segment.undated))


def _sink_of(segment: Segment, make_sink: Callable[[], Sink]) -> SnapshotSink:
    sink = make_sink()
    assert isinstance(sink, SnapshotSink)
    try:
        sink.restore(segment.state)
    except ValueError:
        raise _Damaged from None
    return sink


def _stats_of(path: str, segment: Segment) -> LedgerStats:
    kept = segment.stats
    stats = LedgerStats(path, records=kept.records, not_requests=kept.not_requests,
                        bad_count=kept.bad_count, other_workflows=kept.other_workflows)
    stats.bad = [BadLine(offset, error, line) for offset, error, line in kept.bad]
    stats.formats.update(kept.formats)
    return stats


def _stored(part: _Part) -> Segment:
    """A stretch read this run, as the checkpoint keeps it."""
    stats, sink = part.stretch.stats, part.stretch.sink
    assert isinstance(sink, SnapshotSink)
    span = part.span
    return Segment(
        part.start, part.end, part.lines, span.low, span.high, span.dated, span.undated,
        Stats(stats.records, stats.not_requests, stats.bad_count,
               [(bad.offset, bad.error, bad.line) for bad in stats.bad],
               dict(stats.formats), stats.other_workflows),
        sink.snapshot())


def _number(path: str, segment: Segment, first_line: int) -> None:
    """Number a stretch's bad lines, its first line being `first_line`."""
    if all(line for _, _, line in segment.stats.bad):
        return
    stats = _stats_of(path, segment)
    number_bad_lines(path, stats, segment.start, first_line)
    segment.stats.bad = [(bad.offset, bad.error, bad.line) for bad in stats.bad]


def _answer(path: str, segments: list[Segment], selection: Selection,
            make_sink: Callable[[], Sink], use: Use,
            kept_end: int) -> tuple[Sink, LedgerStats]:
    """The stretches merged in ledger order, as one pass with this selection reads
    them: each taken whole, counted as outside the window, or read again (`use`
    counts the bytes read again, and those the checkpoint answered, before
    `kept_end`)."""
    window = selection.window
    sink = make_sink()  # it may spill to disk; the stretches merged into it may not
    make_part = unspilled(make_sink)
    stats = LedgerStats(path)
    first_line = 1
    for segment in segments:
        where = _placed(segment, window)
        if where != "cut":
            use.reused_bytes += max(0, min(segment.end, kept_end) - segment.start)
        if where == "outside":  # its records only counted, its bad lines kept
            outside = _stats_of(path, segment)
            outside.records, outside.other_workflows = 0, 0
            outside.formats.clear()
            outside.undated, outside.outside_window = segment.undated, segment.dated
            stats.merge(outside)
            first_line += segment.lines
            continue
        if where == "inside":
            part: Sink = _sink_of(segment, make_part)
            part_stats = _stats_of(path, segment)
        else:
            again = reader.read_range(path, segment.start, segment.end, selection,
                                      make_part, False)
            number_bad_lines(path, again.stats, segment.start, first_line)
            part, part_stats = again.sink, again.stats
            use.read_bytes += segment.end - segment.start
        first_line += segment.lines
        _merge(sink, part)
        stats.merge(part_stats)
    return sink, stats


def _placed(segment: Segment, window: Window) -> str:
    """Where a stretch lies for a window: `inside` (its state answers), `outside` (its
    records only counted), or `cut` (read again)."""
    if not window.bounded:
        return "inside"
    low, high = segment.low, segment.high
    if low is None or high is None:  # nothing dated: only undated records, or none
        return "outside"
    if window.contains(low) and window.contains(high):
        return "inside" if segment.undated == 0 else "cut"
    if ((window.since is not None and high < window.since)
            or (window.until is not None and low > window.until)):
        return "outside"
    return "cut"


def _merge(sink: Sink, later: Sink) -> None:
    assert isinstance(sink, MergeableSink) and isinstance(later, MergeableSink)
    sink.merge(later)
