"""A ledger file read into a sink exactly, whatever its time order: in parallel where
its stretches merge exactly (`merging.InexactMerge` otherwise), else in one pass; and,
where that pass met a request hash whose entry a table had dropped (the tables drop
expired entries, which is exact only in time order: `merging.Estimating`), read once
more with tables that drop nothing, and go to disk instead past
`hash_spill.HASHES_HELD` entries."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from cache_gate.analyses.merging import Estimating, InexactMerge
from cache_gate.ledger.jsonl.reader import scan, seekable
from cache_gate.ledger.reading import LedgerStats, Selection, Sink


def read_exactly(path: str, selection: Selection, make_sink: Callable[[], Sink],
                 jobs: int | None) -> tuple[Sink, LedgerStats]:
    """The ledger at `path` (a file, `-` or a stream: read from one copy) into a
    fresh sink, every field decoded, by `jobs` processes where they merge exactly."""
    with seekable(path) as local:
        result = None
        if jobs != 1:
            with contextlib.suppress(InexactMerge):
                result = scan(local, selection, make_sink, descriptive=True, jobs=jobs)
        if result is None:
            result = scan(local, selection, make_sink, descriptive=True, jobs=1)
        if isinstance(result[0], Estimating) and result[0].estimated:
            result = scan(local, selection, lambda: _keeping_every_hash(make_sink()),
                          descriptive=True, jobs=1)
    result[1].path = path
    return result


def _keeping_every_hash(sink: Sink) -> Sink:
    assert isinstance(sink, Estimating)
    sink.keep_every_hash()
    return sink
