"""The plain reader: line by line, start to end, one process. Slow and obvious.

It defines what the fast reader (`reader.scan`) must produce, and the property
tests hold the two to it. It shares only the per-line decoding and the rules
for which records count. It holds every request open to the end (`requests_window`
None): its one line per request is exact, where the fast reader's bounded memory
closes a request after `requests.WINDOW` records and counts the rare line that
would have won later (`LedgerStats.late_winners`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from cache_gate.ledger import reading
from cache_gate.ledger.formats import read_line
from cache_gate.ledger.jsonl import reader
from cache_gate.ledger.line_errors import describe
from cache_gate.ledger.reading import LedgerStats, Selection, Sink
from cache_gate.ledger.requests import Requests


def read_plain(path: str, selection: Selection, make_sink: Callable[[], Sink], *,
               descriptive: bool = False, requests_window: int | None = None
               ) -> tuple[Sink, LedgerStats]:
    reader.open_ledger(path)
    sink = make_sink()
    stats = LedgerStats(path)
    requests = Requests(requests_window)
    decoders = reading.decoders_for(sink, selection, descriptive)
    lines = Path(path).read_bytes().split(b"\n")
    offset = 0
    for number, raw in enumerate(lines, start=1):
        is_last = number == len(lines)
        if is_last and not raw:
            break
        if len(raw) > reader.MAX_LINE_BYTES:
            stats.add_bad(offset, reader.OVERLONG)
            if stats.bad[-1].offset == offset:
                stats.bad[-1].line = number
            offset += len(raw) + 1
            continue
        try:
            record = read_line(raw, decoders)
        except reading.DECODE_ERRORS as exc:
            if is_last:
                stats.partial_tail = True
            elif raw.strip(reading.JSON_BLANK):
                stats.add_bad(offset, describe(exc))
                if stats.bad[-1].offset == offset:
                    stats.bad[-1].line = number
        else:
            sink.add(reading.keep([record], selection, stats, requests))
        offset += len(raw) + 1
    sink.add(reading.finish(requests, stats))
    return sink, stats
