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
from cache_gate.analyses.lineage import LineageState, lineage_of
from cache_gate.analyses.miss_causes import CauseCost, MissCauses, remember_silent_hit
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
        return SpilledTally(self.store), SpilledCauses(self.store)

    def bound(self) -> None:
        """Memory bounded: past SPILL_AFTER entries, the stretch read goes to disk (a
        reader that adds to the tally and the causes itself calls it now and then,
        and takes them again: they may be fresh ones)."""
        causes = self.causes
        causes.bound_names(self.may_spill)
        if len(self.tally.groups) + len(causes.lineages) + len(causes.cells) > SPILL_AFTER:
            if not self.may_spill:
                raise SinkFull
            self._spill()

    def _spill(self) -> None:
        from cache_gate.analyses.kpi_spill import KpiStore

        if self.store is None:
            self.store = KpiStore(self.causes)
        self.store.absorb(self.tally, self.causes)
        causes = self.causes
        self.tally = Tally()
        self.causes = MissCauses(causes.prices, causes.minimums, names=causes.names)

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
        self._observe_plain(eligible)
        self.bound()
        return counts

    def _observe_plain(self, eligible: list[tuple[BacklogKpiLine, bool]]) -> None:
        """The miss causes observe the eligible lines, in order, as `add` has them
        observe their Records; a hit that writes nothing to the cache makes no Record:
        the last of a run of them in its lineage (before the lineage's next other
        request or the chunk's end) is remembered in it (`remember_silent_hit`).

        Exact: a hit changes nothing but its lineage's state and the count of eligible
        requests (a miss's ordinal), and a hit that writes nothing sets every part
        of the state that it sets at all (the previous request, the last activity):
        the next such hit of its lineage sets them all again. So a run of them
        observed as its last alone leaves the state the whole run leaves. Each
        lineage is made where its first request comes, as `observe` makes it (its
        order in `lineages` is a snapshot's)."""
        causes = self.causes
        observe, lineages = causes.observe, causes.lineages
        base = causes.eligible
        # Lineage keys of this chunk's (prompt_id, workflow, model): a plain line names
        # no session. Per chunk: a ledger of distinct prompts keeps no table.
        keys: dict[tuple[str | None, str | None, str | None], str] = {}
        # The latest unobserved silent hit of a lineage (no ordinal: a hit counts no cause).
        held: dict[str, BacklogKpiLine] = {}
        for ordinal, (line, hit) in enumerate(eligible, base):
            group = (line.prompt_id, line.workflow, line.model)
            key = keys.get(group)
            if key is None:
                key = keys[group] = lineage_of(_lineage_record(line))
            if hit and not (line.cache_creation_input_tokens and line.input_tokens is not None):
                if key not in held and key not in lineages:
                    lineages[key] = LineageState()
                held[key] = line
                continue
            earlier = held.pop(key, None)
            if earlier is not None:
                _remember_held(lineages[key], earlier)
            causes.eligible = ordinal
            observe(_plain_record(line, hit), key)
        for key, earlier in held.items():
            _remember_held(lineages[key], earlier)
        causes.eligible = base + len(eligible)


def _remember_held(lineage: LineageState, held: BacklogKpiLine) -> None:
    """A held silent hit observed: no Record is made of it (it counts no cause)."""
    remember_silent_hit(lineage, held.model, held.prefix_sha256, epoch(held.timestamp))


def _lineage_record(line: BacklogKpiLine) -> Record:
    """What the lineage of a plain line's request is read from."""
    return Record("backlog", workflow=line.workflow, prompt_id=line.prompt_id,
                  model=line.model)


def _plain_record(line: BacklogKpiLine, hit: bool) -> Record:
    """An eligible plain line's Record, as `formats.normalise_plain` makes it, for the
    miss causes (which read neither the caches' layers nor the phase)."""
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
    return Record(
        "backlog", time=epoch(line.timestamp), workflow=line.workflow,
        prompt_id=line.prompt_id, model=line.model, uncached_input=uncached,
        cache_read=cache_read, cache_write=cache_write, cache_write_1h=one_hour,
        prompt_cache_hit=hit, prefix_sha256=line.prefix_sha256)


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
