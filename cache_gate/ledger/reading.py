"""What every ledger source does with what it read: records that count, and the stats,
the malformed lines among them (CG206 ledger-bad-lines).

A malformed line (not JSON, invalid UTF-8, a field cache-gate reads with a wrong type)
is counted and reported with its line number, the first ten of them, and the run goes
on: a warning, an error with `--strict`. Blank lines are skipped; a partial last line
without its newline (a writer mid-append) is noted, not counted; a JSON object in no
known format is not a request and not a bad line. When there is no valid record at
all, or malformed lines outnumber valid ones, there is no evidence: exit 2.

A source (the JSONL reader, the PostgreSQL table) turns its input into Records and
hands those that count to a `Sink` (an analysis: the KPI tally, the report's
breakdowns, doctor's profile). `keep` decides which count: inside the window, of the
selected workflows, one line per repeated request (`requests`), in ledger order;
`LedgerStats` says what happened to the others, and which lines were bad and why.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Protocol, Self, runtime_checkable

import msgspec

from cache_gate.ledger.formats import normalise, normalise_plain, read_line
from cache_gate.ledger.formats.backlog import normalise as normalise_backlog
from cache_gate.ledger.formats.fields import epoch
from cache_gate.ledger.line_errors import LineError, describe
from cache_gate.ledger.lines import BacklogKpiLine, Decoders, decoders
from cache_gate.ledger.record import Record
from cache_gate.ledger.requests import Requests
from cache_gate.ledger.window import Window, selected

BAD_LINE_SAMPLES = 10
# RecursionError: msgspec's answer to JSON nested deeper than Python's stack allows.
DECODE_ERRORS = (msgspec.DecodeError, UnicodeDecodeError, LineError, RecursionError)
JSON_BLANK = b" \t\r"
_format_of = attrgetter("format")


class Sink(Protocol):
    """Where records go: an accumulator of the records that count.

    A sink whose `reads_lineage` is true (the miss causes') is given each record's
    time, model and prefix hash even when the fields are not `descriptive`."""

    def add(self, records: list[Record]) -> None: ...


def decoders_for(sink: Sink, selection: Selection, descriptive: bool) -> Decoders:
    """The decoders a source reads with for this sink and selection."""
    lineage = bool(getattr(sink, "reads_lineage", False))
    return decoders(descriptive=descriptive,
                    timed=descriptive or lineage or selection.window.bounded,
                    lineage=lineage)


@runtime_checkable
class MergeableSink(Sink, Protocol):
    """A sink that parts of a ledger read by several processes merge into, in ledger
    order: `merge(later)` takes in the stretch that comes right after the sink's own
    (the miss causes decide then what waited for the stretch before). A sink without
    `merge` is read in one process."""

    def merge(self, other: Self) -> None: ...


class SinkFull(Exception):
    """Raised by a sink that may not spill its state to disk (`SpillingSink`) when it
    outgrows memory: its reader reads again in one process, where it may."""


@runtime_checkable
class SpillingSink(Sink, Protocol):
    """A sink that keeps its state in bounded memory by spilling it to disk, where it
    `may_spill`; where it may not (a stretch read apart, to be merged or kept between
    runs), it raises SinkFull instead."""

    may_spill: bool


def unspilled(make_sink: Callable[[], Sink]) -> Callable[[], Sink]:
    """`make_sink`, its sinks told not to spill (they raise SinkFull instead)."""
    def make() -> Sink:
        sink = make_sink()
        if isinstance(sink, SpillingSink):
            sink.may_spill = False
        return sink
    return make


class PlainCounts(Protocol):
    records: int
    undated: int
    outside_window: int
    other_workflows: int


class PlainBacklogSink(Sink, Protocol):
    """A sink that can take plain backlog lines undecoded into Records (see kpis.Tally)."""

    def add_plain_backlog(self, lines: list[BacklogKpiLine], window: Window,
                          workflows: frozenset[str] | None) -> PlainCounts | None: ...


class BadLine(msgspec.Struct):
    offset: int
    error: str
    line: int = 0

    def to_json(self) -> dict[str, object]:
        return {"line": self.line, "error": self.error}


@dataclass
class LedgerStats:
    """What the reader saw, besides the records it handed on."""

    path: str
    records: int = 0
    not_requests: int = 0
    bad_count: int = 0
    bad: list[BadLine] = field(default_factory=list)
    formats: Counter[str] = field(default_factory=Counter)
    undated: int = 0
    outside_window: int = 0
    other_workflows: int = 0
    # Repeated lines of a request (Claude Code): all but the one kept.
    duplicates: int = 0
    # Requests whose kept line reports fewer tokens than a line of theirs read after
    # they were closed (`requests`: bounded memory): their tokens are understated, and
    # the figures approximate.
    late_winners: int = 0
    partial_tail: bool = False
    # Where the records came from when not a JSONL file (a PostgreSQL table): shown
    # in the JSON report. Such a source reads the window only and does not count
    # the rows outside it.
    source: dict[str, object] | None = None
    # What the ledger's checkpoint saved this run (`jsonl.resume.Use`), where one was
    # kept: shown in the JSON report.
    incremental: dict[str, object] | None = None

    def add_bad(self, offset: int, error: str) -> None:
        self.bad_count += 1
        if len(self.bad) < BAD_LINE_SAMPLES:
            self.bad.append(BadLine(offset, error))

    def add_plain(self, counts: PlainCounts) -> None:
        self.records += counts.records
        if counts.records:
            self.formats["backlog"] += counts.records
        self.undated += counts.undated
        self.outside_window += counts.outside_window
        self.other_workflows += counts.other_workflows

    def merge(self, other: LedgerStats) -> None:
        self.records += other.records
        self.not_requests += other.not_requests
        self.bad_count += other.bad_count
        self.bad = sorted(self.bad + other.bad, key=attrgetter("offset"))[:BAD_LINE_SAMPLES]
        self.formats.update(other.formats)
        self.undated += other.undated
        self.outside_window += other.outside_window
        self.other_workflows += other.other_workflows
        self.duplicates += other.duplicates
        self.late_winners += other.late_winners
        self.partial_tail = self.partial_tail or other.partial_tail


class TimeSpan(msgspec.Struct):
    """The times of a stretch's records: the earliest and latest, how many had a time
    and how many had none (what a window would make of them, without reading them
    again: see `jsonl.resume`)."""

    low: float | None = None
    high: float | None = None
    dated: int = 0
    undated: int = 0

    def see(self, moment: float | None) -> None:
        if moment is None:
            self.undated += 1
            return
        self.dated += 1
        if self.low is None or moment < self.low:
            self.low = moment
        if self.high is None or moment > self.high:
            self.high = moment

    def see_records(self, records: list[Record | None]) -> None:
        for record in records:
            if record is not None:
                self.see(record.time)

    def see_lines(self, lines: list[BacklogKpiLine]) -> None:
        for line in lines:
            self.see(epoch(line.timestamp))


class Selection(msgspec.Struct, frozen=True):
    """Which records count: a time window and, optionally, some workflows only."""

    window: Window = Window()
    workflows: frozenset[str] | None = None


def split_lines(chunk: bytes) -> list[bytes]:
    """The newline-terminated lines of a chunk, without their newlines."""
    lines = chunk.split(b"\n")
    lines.pop()
    return lines


def read_records(lines: list[bytes], offset: int, stats: LedgerStats,
                 decoders: Decoders) -> list[Record | None]:
    """Decode lines; bad ones are counted with their byte offsets and left out."""
    general = decoders.general
    # msgspec skips the values of fields no format reads unchecked: a line with invalid
    # UTF-8 in one is bad all the same, and only `read_line`, line by line, says so.
    if all(map(bytes.isascii, lines)) or is_utf8(b"\n".join(lines)):
        if lines and (b'"message"' in lines[0] or b'"message"' in lines[-1]):
            with contextlib.suppress(*DECODE_ERRORS):
                return _read_transcript(lines, decoders)
        try:
            firsts = list(map(decoders.backlog.decode, lines))
            # A backlog line without another format's container (the commonest line)
            # goes straight to `backlog.normalise`, where `normalise_plain` sends it.
            return [
                normalise_backlog(first) if (
                    first.cache_hit is not None or first.cached_input_tokens is not None
                    or first.model_alias is not None or first.workflow is not None
                ) and not (first.usage or first.message or first.request_id)
                else normalise(general.decode(raw)) if first.other_format
                else normalise_plain(first) for first, raw in zip(firsts, lines, strict=True)
            ]
        except DECODE_ERRORS:
            pass
    records: list[Record | None] = []
    for raw in lines:
        try:
            records.append(read_line(raw, decoders))
        except DECODE_ERRORS as exc:
            if raw.strip(JSON_BLANK):
                stats.add_bad(offset, describe(exc))
        offset += len(raw) + 1
    return records


def is_utf8(data: bytes) -> bool:
    try:
        data.decode()
    except UnicodeDecodeError:
        return False
    return True


def _read_transcript(lines: list[bytes], decoders: Decoders) -> list[Record | None]:
    """`read_records`' first try at lines that carry a `message` (a Claude Code
    transcript): each decoded once, in full, not first as a backlog line.

    The same records: a `Line` decodes wherever a `BacklogLine` would have (it types
    each of its fields alike, and more), and a present `message` is what makes the
    backlog look hand the line on (`other_format`); a line without one gets that
    look too. A chunk with a line that does not decode raises, and is read the usual
    way."""
    backlog, general = decoders.backlog, decoders.general
    records: list[Record | None] = []
    for raw, line in zip(lines, map(general.decode, lines), strict=True):
        if line.message is None:
            first = backlog.decode(raw)
            records.append(normalise(line) if first.other_format else normalise_plain(first))
        else:
            records.append(normalise(line))
    return records


def keep(records: list[Record | None], selection: Selection, stats: LedgerStats,
         requests: Requests | None) -> list[Record]:
    """The records that count, to hand on now in ledger order (one per request: those
    of an open request wait in `requests`); the others are tallied in `stats`.

    Without `requests` (a source of single rows, PostgreSQL's), no record waits."""
    kept = selected_records(records, selection, stats)
    if requests is not None and (requests.open or any(
            record.dedup_key is not None for record in kept)):
        kept = requests.take(kept, stats)
    return counted(kept, stats)


def selected_records(records: list[Record | None], selection: Selection,
                     stats: LedgerStats) -> list[Record]:
    """The records in the selection; the others (and lines that are no request) are
    tallied in `stats`."""
    kept = [record for record in records if record is not None]
    stats.not_requests += len(records) - len(kept)
    window, workflows = selection.window, selection.workflows
    if window.bounded or workflows is not None:
        kept = [record for record in kept
                if selected(record.time, record.workflow, window, workflows, stats)]
    return kept


def counted(records: list[Record], stats: LedgerStats) -> list[Record]:
    """Records handed on, counted in `stats`."""
    stats.formats.update(map(_format_of, records))
    stats.records += len(records)
    return records


def finish(requests: Requests, stats: LedgerStats) -> list[Record]:
    """The end of the ledger: the requests still open, closed and counted."""
    return counted(requests.close_all(), stats)
