"""A Claude Code transcript's later stretches, read apart: what of them can change the
answer, handed to the process that reads the stretch before, in ledger order.

A request's lines may be anywhere in the ledger (`requests`): what one of its lines
does depends on what came before the stretch (the request open, closed, or new), so a
stretch's records cannot be tallied apart. But two kinds of record change nothing
that depends on it, and a process reading the stretch apart drops them, counted as
the duplicates they are:

- a line of a request reporting no more tokens than an earlier line of the same
  request in the stretch. When it comes, the request is open, its held line reporting
  at least as many (the earlier line was taken, or lost to a larger one), or closed,
  with its kept line, or an earlier late line already counted, reporting at least as
  many: it is a duplicate, and nothing else changes;
- of a run of lines of one request with no other record between them (Claude Code
  streams a response as adjacent lines, usage growing), all but the first line
  reporting the most tokens, which stands in the first line's place. No record
  comes between to close the request, so the run leaves the request as that one
  line does: opened at the first line's place, or its held line replaced, or counted
  once as a late winner where it was closed, with the same duplicates.

Lines that are no request, bad or outside the selection are counted here and change
nothing else. The records left (`Survivors`) go to a temporary file in batches, and
the reader before takes them in order (`requests.Requests.take`), as one pass takes
them: memory stays bounded, and the answer exact (the property tests hold it to the
plain reader).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

import msgspec

from cache_gate.ledger.formats import read_line
from cache_gate.ledger.lines import Decoders
from cache_gate.ledger.reading import (
    DECODE_ERRORS,
    LedgerStats,
    Selection,
    read_records,
    selected_records,
    split_lines,
)
from cache_gate.ledger.record import Record
from cache_gate.ledger.requests import DuplicateCounts

# Requests whose largest line so far a stretch remembers (forgetting drops fewer
# lines, never a wrong one): a few MB.
REMEMBERED = 16_384
_LENGTH = struct.Struct("<Q")
_ENCODER = msgspec.msgpack.Encoder()
_DECODER = msgspec.msgpack.Decoder(list[Record])


class Survivors:
    """The records of a stretch read apart that can change the answer, in order, written
    to `spill` a batch at a time (the last record held back: a next line of its
    request may replace it)."""

    def __init__(self, spill: BinaryIO) -> None:
        self.spill = spill
        self.batch: list[Record] = []
        # Keyed requests' largest line so far in the stretch (at most REMEMBERED).
        self.largest: dict[str, int] = {}

    def read(self, chunk: bytes, offset: int, kind: str, stats: LedgerStats,
             selection: Selection, decoders: Decoders) -> None:
        """Read a chunk of the stretch (`reader.chunks`: its kind "lines" or "tail"),
        each line as `reading.read_records` and `reading.keep` read it."""
        if kind == "tail":  # as `reader` reads the ledger's last line
            try:
                records: list[Record | None] = [read_line(chunk, decoders)]
            except DECODE_ERRORS:
                stats.partial_tail = True
                return
        else:
            records = read_records(split_lines(chunk), offset, stats, decoders)
        self.take(selected_records(records, selection, stats), stats)

    def take(self, records: Iterable[Record], counts: DuplicateCounts) -> None:
        batch, largest = self.batch, self.largest
        for record in records:
            key = record.dedup_key
            if key is None:
                batch.append(record)
                continue
            tokens = record.token_total
            before = largest.get(key)
            if before is not None and tokens <= before:
                counts.duplicates += 1
                continue
            if batch and batch[-1].dedup_key == key:
                counts.duplicates += 1
                if tokens > batch[-1].token_total:
                    batch[-1] = record
            else:
                batch.append(record)
            if before is None and len(largest) >= REMEMBERED:
                largest.clear()
            largest[key] = tokens if before is None else max(before, tokens)
        if len(batch) > 1:
            self._write(batch[:-1])
            del batch[:-1]

    def close(self) -> None:
        """The end of the stretch: every record written."""
        if self.batch:
            self._write(self.batch)
            self.batch = []
        self.spill.flush()

    def _write(self, records: list[Record]) -> None:
        data = _ENCODER.encode(records)
        self.spill.write(_LENGTH.pack(len(data)))
        self.spill.write(data)


def survivors(spill: BinaryIO) -> Iterator[list[Record]]:
    """The batches `Survivors` wrote to `spill`, in order."""
    spill.seek(0)
    while header := spill.read(_LENGTH.size):
        (length,) = _LENGTH.unpack(header)
        yield _DECODER.decode(spill.read(length))


def transcript_ahead(path: str, size: int) -> bool:
    """Whether the first `size` bytes of the ledger hold a Claude Code request line:
    its later stretches are then read apart as `Survivors` (a guess: read either
    way, a ledger gives the same answer)."""
    with Path(path).open("rb") as handle:
        head = handle.read(size)
    return any(b'"message"' in line and (b'"requestId"' in line or b'"sessionId"' in line)
               for line in head.split(b"\n"))
