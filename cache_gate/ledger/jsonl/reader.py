"""The fast ledger reader: chunked, exact, parallel where its sink can merge.

Every line is decoded on its own (never as a JSON stream, which would let one
object span lines or two share one), a chunk at a time through `map`, in C. A
chunk with a bad line is read again line by line to locate it. The whole file is
read, whatever the window: a window never loses a record that is in it, and no
ledger is trusted to be in time order. A large file is split across processes
whose partial results merge in ledger order, for a sink with `merge` (kpi's and
report's: a merge that cannot be exact raises, and its caller reads again in one
process); a sink without one is fed by one process. Claude Code's
requests span lines anywhere in the file (a replay repeats a message far away), so
a stretch holding one is read on in the process that read the stretch before
(`_join`): exact, in bounded memory (see `requests`). Where the file opens as a
transcript, its later stretches are read apart as `survivors` instead: the records
of theirs that can change the answer, which that process takes on in order.
`reference.read_plain` is the slow, obvious reader this one must agree with on
every input. Pipes and FIFOs are read through a bounded copy (`streams`).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, NamedTuple

from cache_gate.errors import InputError
from cache_gate.inputs import note_input
from cache_gate.ledger import requests
from cache_gate.ledger.formats import read_line
from cache_gate.ledger.jsonl import survivors
from cache_gate.ledger.jsonl.processes import collect, fork
from cache_gate.ledger.jsonl.streams import copied, is_stream
from cache_gate.ledger.jsonl.survivors import Survivors
from cache_gate.ledger.lines import Decoders
from cache_gate.ledger.reading import (
    DECODE_ERRORS,
    LedgerStats,
    MergeableSink,
    PlainCounts,
    Selection,
    Sink,
    SinkFull,
    TimeSpan,
    counted,
    decoders_for,
    finish,
    is_utf8,
    keep,
    read_records,
    split_lines,
    unspilled,
)
from cache_gate.ledger.requests import Requests
from cache_gate.redaction import mask_credentials

CHUNK_BYTES = 1 << 20
# A longer line is reported as bad and skipped, not read: memory stays bounded.
MAX_LINE_BYTES = 16 << 20
OVERLONG = "line longer than 16 MiB: not read"
# Below this many bytes a second process costs more than it saves.
PARALLEL_MIN_BYTES = 48 << 20


@dataclass
class Stretch:
    """One process's share of the ledger: its records' partial result."""

    sink: Sink
    stats: LedgerStats
    # Claude Code's requests: one record each, handed on in ledger order.
    # A later stretch's reader stops at its first request (see `_join`).
    requests: Requests = field(default_factory=lambda: Requests(requests.WINDOW))


def _line_start(handle: BinaryIO, offset: int) -> int:
    """The start of the first line that starts at or after `offset`."""
    if offset == 0:
        return 0
    handle.seek(offset - 1)
    if handle.read(1) == b"\n":
        return offset
    handle.readline()
    return handle.tell()


class Chunk(NamedTuple):
    offset: int
    data: bytes
    # "lines": newline-ended lines (and a partial one that `split_lines` drops);
    # "tail": the file's last line, without a newline; "overlong": a line longer
    # than MAX_LINE_BYTES starts at `offset` (not read: it is reported and skipped).
    kind: str


def chunks(handle: BinaryIO, start: int, end: int) -> Iterator[Chunk]:
    """The lines starting in [start, end), a chunk at a time.

    A chunk's lines are those its newlines end; the partial line after the last
    one is read again with the next chunk, a seek rather than a copy. A chunk
    without a newline is a line longer than the buffer, which then grows until
    the line fits, up to MAX_LINE_BYTES.
    """
    position = _line_start(handle, start)
    size = CHUNK_BYTES
    while position < end:
        handle.seek(position)
        data = handle.read(size)
        if not data:
            return
        cut = data.rfind(b"\n") + 1
        if position + cut > end:
            # The range ends inside this chunk: stop after the line that spans `end`.
            cut = data.find(b"\n", max(end - position - 1, 0)) + 1
            yield Chunk(position, data[:cut], "lines")
            return
        if cut == 0:
            if len(data) < size:
                yield Chunk(position, data, "tail")
                return
            if size < MAX_LINE_BYTES:
                size = min(size * 2, MAX_LINE_BYTES)
                continue
            yield Chunk(position, b"", "overlong")
            next_line = _after_next_newline(handle, position + len(data))
            if next_line is None:
                return
            position, size = next_line, CHUNK_BYTES
            continue
        yield Chunk(position, data, "lines")
        position += cut
        size = CHUNK_BYTES


def _after_next_newline(handle: BinaryIO, offset: int) -> int | None:
    handle.seek(offset)
    while block := handle.read(CHUNK_BYTES):
        found = block.find(b"\n")
        if found >= 0:
            return offset + found + 1
        offset += len(block)
    return None


def read_range(path: str, start: int, end: int, selection: Selection,
                make_sink: Callable[[], Sink], descriptive: bool, *,
                into: Stretch | None = None, later: bool = False,
                apart: Survivors | None = None) -> Stretch:
    """Read [start, end) into a fresh range, or on `into`. A `later` stretch stops at
    its first request with a dedup key: the process before reads it on (`_join`).
    A stretch read `apart` hands its records to it, its sink left empty."""
    result = Stretch(make_sink(), LedgerStats(path)) if into is None else into
    reading = decoders_for(result.sink, selection, descriptive)
    plain = None if descriptive else getattr(result.sink, "add_plain_backlog", None)
    with Path(path).open("rb") as handle:
        for offset, chunk, kind in chunks(handle, start, end):
            if later and result.requests.keyed:
                break
            if kind == "overlong":
                result.stats.add_bad(offset, OVERLONG)
            elif apart is not None:
                apart.read(chunk, offset, kind, result.stats, selection, reading)
            elif kind == "tail":
                _read_tail(chunk, result, selection, reading)
            else:
                read_chunk(chunk, offset, result, selection, reading, plain)
    return result


def read_chunk(chunk: bytes, offset: int, result: Stretch, selection: Selection,
               decoders: Decoders, plain: Callable[..., PlainCounts | None] | None,
               span: TimeSpan | None = None) -> None:
    """Read a chunk's lines into the range's sink (and their times into `span`)."""
    lines = split_lines(chunk)
    # The hot path decodes plain lines skipping fields unchecked, so it takes only a
    # chunk that is valid UTF-8 (nearly always ASCII: a fast check); the lines of any
    # other chunk are read one by one, each checked (formats.read_line).
    if plain is not None and not result.requests.open and (chunk.isascii() or is_utf8(chunk)):
        try:
            firsts = list(map(decoders.plain.decode, lines))
        except DECODE_ERRORS:
            firsts = []
        counts = plain(firsts, selection.window, selection.workflows) if firsts else None
        if counts is not None:
            result.stats.add_plain(counts)
            if span is not None:
                span.see_lines(firsts)
            return
    if span is None and lines and (b'"message"' in lines[0] or b'"message"' in lines[-1]):
        # A Claude Code transcript: most of its request lines repeat an open request,
        # and are dropped before they become Records (`Requests.take_transcript`).
        result.sink.add(counted(result.requests.take_transcript(
            lines, offset, decoders, selection.window, selection.workflows, result.stats),
            result.stats))
        return
    records = read_records(lines, offset, result.stats, decoders)
    if span is not None:
        span.see_records(records)
    result.sink.add(keep(records, selection, result.stats, result.requests))


def _read_tail(tail: bytes, result: Stretch, selection: Selection, decoders: Decoders) -> None:
    """The last line has no newline: whole (count it), or a writer mid-append (note it)."""
    try:
        record = read_line(tail, decoders)
    except DECODE_ERRORS:
        result.stats.partial_tail = True
        return
    result.sink.add(keep([record], selection, result.stats, result.requests))


def open_ledger(path: str) -> int:
    """The ledger's size; a clear InputError when it cannot be read."""
    ledger = Path(path)
    # A mistyped URL (`postgresq://user:password@...`) is taken for a path: shown masked.
    shown = mask_credentials(path)
    try:
        with ledger.open("rb") as handle:
            info = os.fstat(handle.fileno())
            note_input(path, info)
            return info.st_size
    except FileNotFoundError:
        raise InputError(f"ledger {shown} not found: pass --ledger PATH, or set `ledger` "
                         "in [tool.cache-gate]") from None
    except IsADirectoryError:
        raise InputError(f"ledger {shown} is a directory, not a JSONL file") from None
    except PermissionError:
        raise InputError(f"ledger {shown} is not readable (permission denied)") from None
    except OSError as exc:
        raise InputError(f"cannot read ledger {shown}: {exc.strerror}") from None


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def cap_jobs(jobs: int | None) -> int | None:
    """`--jobs` as a run may use it: never more readers than cores (`--jobs 1000` on a
    small file once forked 999 processes)."""
    return None if jobs is None else max(1, min(jobs, cores()))


def readers(size: int, jobs: int | None) -> int:
    """Readers for a ledger of `size` bytes: `jobs` if given, else one per core (at
    most 8), and one for a small file."""
    if jobs is not None:
        return max(1, jobs)
    if size < PARALLEL_MIN_BYTES:
        return 1
    return max(1, min(cores(), 8))


def scan(path: str, selection: Selection, make_sink: Callable[[], Sink], *,
         descriptive: bool = False, jobs: int | None = None) -> tuple[Sink, LedgerStats]:
    """Read the ledger at `path` into a fresh sink; never writes to the ledger.

    `descriptive` decodes every field (phase, model, cost, hashes); without it only
    what the KPIs need. `-`, a pipe or another stream is first copied to a
    temporary file, since the reader seeks.
    """
    with seekable(path) as local:
        sink, stats = _scan_file(local, selection, make_sink, descriptive, jobs)
    stats.path = path
    return sink, stats


@contextlib.contextmanager
def seekable(path: str) -> Iterator[str]:
    if path != "-" and not is_stream(path):
        open_ledger(path)  # a file, or the clear error for what is there instead
        yield path
        return
    with copied(path, "standard input" if path == "-" else mask_credentials(path)) as copy:
        yield copy


def _scan_file(path: str, selection: Selection, make_sink: Callable[[], Sink],
               descriptive: bool, jobs: int | None) -> tuple[Sink, LedgerStats]:
    size = open_ledger(path)
    # The whole ledger, always: a window filters records, it never skips bytes (see
    # window.py for why).
    workers = readers(size, jobs)
    try:
        if workers > 1 and isinstance(make_sink(), MergeableSink):
            result = _read_parallel(path, 0, size, selection, make_sink, workers,
                                    descriptive)
        else:
            result = read_range(path, 0, size, selection, make_sink, descriptive)
        result.sink.add(finish(result.requests, result.stats))
        number_bad_lines(path, result.stats)
        return result.sink, result.stats
    except OSError as exc:
        raise InputError(f"ledger {path} could not be read to the end ({exc.strerror}): "
                         "was it rotated or removed while cache-gate read it? Run again"
                         ) from None


def _read_parallel(path: str, start: int, end: int, selection: Selection,
                   make_sink: Callable[[], Sink], workers: int,
                   descriptive: bool) -> Stretch:
    """Split [start, end) into `workers` ranges: forked children read all but the
    first, which this process reads meanwhile; results come back pickled on pipes (a
    transcript's survivors in files). A child's sink may not spill to disk: where it
    would, the child gives up, and this process reads its range on (`_join`)."""
    step = (end - start) // workers
    bounds = [start + step * i for i in range(workers)] + [end]
    apart = survivors.transcript_ahead(path, CHUNK_BYTES)
    children: list[tuple[int, int]] = []
    with contextlib.ExitStack() as stack:
        spills = [stack.enter_context(tempfile.TemporaryFile()) if apart else None
                  for _ in bounds[2:]]
        try:
            for (low, high), spill in zip(itertools.pairwise(bounds[1:]), spills,
                                          strict=True):
                children.append(_fork_reader(path, low, high, selection, make_sink,
                                             descriptive, spill))
            first = read_range(path, bounds[0], bounds[1], selection, make_sink,
                               descriptive)
        finally:
            results = [_collect(pid, pipe) for pid, pipe in children]
        if apart:
            return _join_apart(path, first, results, spills, bounds, selection, make_sink,
                               descriptive)
        return _join(path, first, results, bounds, selection, make_sink, descriptive)


def _join_apart(path: str, first: Stretch, later: list[Stretch | None],
                spills: Sequence[BinaryIO | None], bounds: list[int], selection: Selection,
                make_sink: Callable[[], Sink], descriptive: bool) -> Stretch:
    """A transcript's later ranges' survivors taken on in order, as one pass would."""
    for number, (part, spill) in enumerate(zip(later, spills, strict=True), start=1):
        if part is None or spill is None:  # its reader gave up: read on from there
            read_range(path, bounds[number], bounds[-1], selection, make_sink,
                       descriptive, into=first)
            break
        first.stats.merge(part.stats)
        for batch in survivors.survivors(spill):
            first.sink.add(counted(first.requests.take(batch, first.stats), first.stats))
    return first


def _join(path: str, first: Stretch, later: list[Stretch | None], bounds: list[int],
          selection: Selection, make_sink: Callable[[], Sink], descriptive: bool) -> Stretch:
    """The ranges merged in ledger order, as one pass would read them.

    A later range read apart holds no request with a dedup key (its reader stopped at
    the first): it merges, once the requests still open before it are closed, which
    one pass does too when WINDOW records come between (none of theirs can be among
    the range's records). From the first range that held one, or whose reader gave up
    (None: its sink outgrew memory), or from the second, when too few records came
    between, this process reads on to the end, its open requests and closed keys as
    one pass has them."""
    clean: list[Stretch] = []
    for part in later:
        if part is None or part.requests.keyed:
            break
        clean.append(part)
    if first.requests.open and sum(part.stats.records for part in clean) < requests.WINDOW:
        clean = []
    if clean:
        first.sink.add(counted(first.requests.close_all(), first.stats))
    sink, stats = first.sink, first.stats
    for part in clean:  # only a MergeableSink is read by several processes
        assert isinstance(sink, MergeableSink) and isinstance(part.sink, MergeableSink)
        sink.merge(part.sink)
        stats.merge(part.stats)
    resume = 1 + len(clean)
    if resume < len(bounds) - 1:
        read_range(path, bounds[resume], bounds[-1], selection, make_sink, descriptive,
                    into=first)
    return first


def _fork_reader(path: str, start: int, end: int, selection: Selection,
                 make_sink: Callable[[], Sink], descriptive: bool,
                 spill: BinaryIO | None) -> tuple[int, int]:
    def work() -> Stretch | None:
        try:
            if spill is None:
                return read_range(path, start, end, selection, unspilled(make_sink),
                                  descriptive, later=True)
            apart = Survivors(spill)
            stretch = read_range(path, start, end, selection, unspilled(make_sink),
                                 descriptive, apart=apart)
            apart.close()
            return stretch
        except SinkFull:
            return None
    return fork(work, path)


def _collect(pid: int, receive: int) -> Stretch | None:
    stretch = collect(pid, receive)
    assert stretch is None or isinstance(stretch, Stretch)
    return stretch


def number_bad_lines(path: str, stats: LedgerStats, start: int = 0, line: int = 1) -> None:
    """Turn the sampled bad lines' byte offsets into 1-based line numbers (counted from
    `start`, a line's start, which is line number `line`)."""
    if not stats.bad:
        return
    with Path(path).open("rb") as handle:
        handle.seek(start)
        position = start
        for bad in stats.bad:
            while position < bad.offset:
                block = handle.read(min(CHUNK_BYTES, bad.offset - position))
                if not block:
                    break
                line += block.count(b"\n")
                position += len(block)
            bad.line = line
