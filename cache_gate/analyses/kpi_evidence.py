"""`kpi`'s sink: the KPI tally and the miss causes, read in ledger order, and its state
as bytes (`snapshot`, `restore`), which the ledger cache keeps between runs.

Stretches of the ledger read apart merge in ledger order (`MissCauses.merge`), whether
they were read by several processes at once or by runs days apart: a stretch's
snapshot holds everything its merge needs (the tally's sums, the misses' cells, every
lineage's state with its waiting miss, the first example of each cause), and nothing
of the settings (prices, minimums), which the cache keys on instead.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, ClassVar

import msgspec

from cache_gate.analyses.kpis import SLOTS, PlainCounts, Tally
from cache_gate.analyses.lineage import LineageState
from cache_gate.analyses.miss_causes import CauseCost, MissCauses
from cache_gate.ledger.formats.fields import epoch
from cache_gate.ledger.lines import BacklogKpiLine
from cache_gate.ledger.reading import SinkFull
from cache_gate.ledger.record import Record
from cache_gate.ledger.window import Window

if TYPE_CHECKING:
    from cache_gate.analyses.kpi_spill import KpiStore

# Tallies, cells and lineage states a sink holds before what it read goes to disk
# (`kpi_spill`). bench/shapes.py's ledger of a million distinct keys then peaks at
# 55 MB, summed over kpi's processes (65 MB at 30,000: over the 64 MB target).
SPILL_AFTER = 20_000

Sums = Annotated[list[Annotated[int, msgspec.Meta(ge=0)]],
                 msgspec.Meta(min_length=SLOTS, max_length=SLOTS)]
Count = Annotated[int, msgspec.Meta(ge=0)]


@dataclass
class KpiEvidence:
    """`kpi`'s sink: the KPI tally and the miss causes, in ledger order; stretches of
    the ledger read apart merge in ledger order (`MissCauses.merge`)."""

    tally: Tally
    causes: MissCauses
    # Where it may not spill its state to disk (`reading.SpillingSink`), it raises
    # SinkFull once it holds SPILL_AFTER entries.
    may_spill: bool = True
    # The stretches before its own, on disk, once it spilled.
    store: KpiStore | None = None
    # The reader decodes each line's time, model and prefix hash for it.
    reads_lineage: ClassVar[bool] = True

    def add(self, records: list[Record]) -> None:
        self.tally.add(records)
        self.causes.add(records)
        self.bound()

    def answers(self) -> tuple[Tally, MissCauses]:
        """The tally and the miss causes of the whole ledger read, every miss decided:
        the store's, where it spilled."""
        if self.store is None:
            return self.tally, self.causes
        from cache_gate.analyses.kpi_spill import SpilledCauses, SpilledTally

        self._spill()
        self.store.settle()
        return SpilledTally(self.store), SpilledCauses(self.store)

    def bound(self) -> None:
        """Memory bounded: past SPILL_AFTER entries, the stretch read goes to disk (a
        reader that adds to the tally and the causes itself calls it now and then,
        and takes them again: they may be fresh ones)."""
        causes = self.causes
        if len(self.tally.groups) + len(causes.lineages) + len(causes.cells) > SPILL_AFTER:
            if not self.may_spill:
                raise SinkFull
            self._spill()

    def _spill(self) -> None:
        from cache_gate.analyses.kpi_spill import KpiStore

        if self.store is None:
            self.store = KpiStore(self.causes)
        self.store.absorb(self.tally, self.causes)
        self.tally, self.causes = Tally(), MissCauses(self.causes.prices, self.causes.minimums)

    def snapshot(self) -> bytes:
        """This stretch's state as bytes, for `restore` in another run (one that did
        not spill: a stretch to be kept may not)."""
        assert self.store is None
        return _ENCODER.encode(_state_of(self))

    def restore(self, data: bytes) -> None:
        """Become the stretch `data` is the snapshot of (this sink fresh, as its
        factory made it: its prices and minimums are kept). Bytes that are not such a
        snapshot raise ValueError, and leave the sink as it was."""
        try:
            state = _DECODER.decode(data)
        except (msgspec.DecodeError, RecursionError) as exc:
            raise ValueError(f"not a kpi snapshot: {exc}") from None
        _fill(self, state)

    def merge(self, later: KpiEvidence) -> None:
        """Take in the stretch of the ledger right after this one (which did not
        spill: a stretch read apart may not)."""
        assert later.store is None
        self.tally.merge(later.tally)
        self.causes.merge(later.causes)
        self.bound()

    def add_plain_backlog(self, lines: list[BacklogKpiLine], window: Window,
                          workflows: frozenset[str] | None) -> PlainCounts | None:
        """The reader's hot path: plain backlog lines, without building a Record for
        any but the eligible ones. It does exactly what `formats.normalise_plain`
        followed by `add` do (the property tests hold the two to it), and returns None,
        having changed nothing, where a line needs the general path (as
        `Tally.add_plain_backlog` does, and for a line naming a session or a cause)."""
        for line in lines:
            if line.session_id is not None or line.cache_miss_reason is not None:
                return None
        eligible: list[tuple[BacklogKpiLine, bool]] = []
        counts = self.tally.add_plain_backlog(lines, window, workflows, eligible)
        if counts is None:
            return None
        observe = self.causes.observe
        for line, hit in eligible:
            total = line.input_tokens
            read, write = line.cache_read_input_tokens, line.cache_creation_input_tokens
            if read is not None or write is not None:  # the Anthropic fields
                known = total is not None
                creation = line.cache_creation
                uncached, cache_read = total, (read or 0) if known else None
                cache_write = (write or 0) if known else None
                one_hour = (creation.ephemeral_1h_input_tokens
                            if known and creation is not None else None)
            else:
                cached = line.cached_input_tokens
                known = cached is not None and total is not None
                uncached = total - cached if known else None  # type: ignore[operator]
                cache_read, cache_write, one_hour = cached if known else None, None, None
            observe(Record(
                "backlog", time=epoch(line.timestamp), workflow=line.workflow,
                prompt_id=line.prompt_id, model=line.model, uncached_input=uncached,
                cache_read=cache_read, cache_write=cache_write, cache_write_1h=one_hour,
                prompt_cache_hit=hit, prefix_sha256=line.prefix_sha256))
        self.bound()
        return counts


# (workflow, prompt_id, day, cause, requests, input tokens, picodollars, unpriced).
_Cell = tuple[str | None, str | None, str | None, str, Count, Count, int, Count]


class _State(msgspec.Struct, array_like=True, forbid_unknown_fields=True):
    groups: list[tuple[str | None, str | None, Sums]]
    eligible: Count
    cells: list[_Cell]
    avoidable: list[tuple[str | None, str | None, Count]]
    lineages: dict[str, LineageState]
    examples: list[tuple[str, Count, Record]]


_ENCODER = msgspec.msgpack.Encoder()
_DECODER = msgspec.msgpack.Decoder(_State)


def _state_of(evidence: KpiEvidence) -> _State:
    causes = evidence.causes
    return _State(
        groups=[(workflow, prompt, sums)
                for (workflow, prompt), sums in evidence.tally.groups.items()],
        eligible=causes.eligible,
        cells=[(*cell, cost.requests, cost.input_tokens, cost.picodollars,
                cost.unpriced_requests) for cell, cost in causes.cells.items()],
        avoidable=[(*group, count) for group, count in causes.avoidable_counts().items()],
        lineages=causes.lineages,
        examples=[(cause, ordinal, record)
                  for cause, (ordinal, record) in causes.first_examples().items()],
    )


def _fill(evidence: KpiEvidence, state: _State) -> None:
    evidence.tally.groups = {(workflow, prompt): sums
                             for workflow, prompt, sums in state.groups}
    evidence.causes.load(
        eligible=state.eligible,
        cells={(workflow, prompt, day, cause): CauseCost(requests, tokens, pico, unpriced)
               for workflow, prompt, day, cause, requests, tokens, pico, unpriced
               in state.cells},
        avoidable=Counter({(workflow, prompt): count
                           for workflow, prompt, count in state.avoidable}),
        lineages=state.lineages,
        examples={cause: (ordinal, record) for cause, ordinal, record in state.examples})
