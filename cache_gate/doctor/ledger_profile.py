"""One pass over the ledger for doctor: who carries the tokens, and how often requests repeat.

`LedgerProfile` is a reader sink (`cache_gate.ledger.jsonl.reader.scan`): the KPI sums
per workflow, the requests and input tokens per path for coverage (a record's prompt
when it names one, else its workflow), and per workflow how often a request repeats an
earlier stable prefix (`prefix_sha256`) or an earlier request exactly
(`request_sha256`).

Repetition is counted exactly up to a bound of distinct hashes per workflow, then on a
sample (`repetition`).

Memory is bounded whatever the number of workflows and prompts: past `SPILL_AFTER`
entries, what the profile read goes to disk (`profile_store`), and its answers are the
store's from `finish` on. The answers come in the same order either way (the
property tests hold a spilled profile to one in memory).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cache_gate.analyses.kpis import REQUESTS, SLOTS, count
from cache_gate.doctor.repetition import Counted, Repetition
from cache_gate.ledger.reading import SinkFull
from cache_gate.ledger.record import Record

if TYPE_CHECKING:
    from cache_gate.doctor.profile_store import Path, ProfileStore

# Workflows, paths and hashes held before what the profile read goes to disk.
SPILL_AFTER = 50_000
# The two repetitions measured per workflow.
PREFIX, REQUEST = 0, 1


@dataclass
class LedgerProfile:
    """The sink. Its answers (`top_workflows`, `paths_by`, `repetitions`, ...) are read
    once the ledger is read and `finish`ed."""

    # KPI sums per workflow, in the order they came.
    workflows: dict[str | None, list[int]] = field(default_factory=dict)
    # [requests, input tokens] per path, in the order they came; and of the records
    # that name neither a prompt nor a workflow.
    paths: dict[Path, list[int]] = field(default_factory=dict)
    unattributed: list[int] = field(default_factory=lambda: [0, 0])
    # Per kind (PREFIX, REQUEST), per workflow.
    repeats: tuple[dict[str | None, Repetition], ...] = field(
        default_factory=lambda: ({}, {}))
    may_spill: bool = True
    store: ProfileStore | None = None

    def add(self, records: list[Record]) -> None:
        workflows, paths = self.workflows, self.paths
        prefixes, requests = self.repeats
        for record in records:
            workflow = record.workflow
            sums = workflows.get(workflow)
            if sums is None:
                sums = workflows[workflow] = [0] * SLOTS
            count(sums, record)
            path = (("prompt", record.prompt_id) if record.prompt_id is not None
                    else ("workflow", workflow) if workflow is not None else None)
            volume = (self.unattributed if path is None
                      else paths.get(path) or paths.setdefault(path, [0, 0]))
            volume[0] += 1
            tokens = record.input_total
            volume[1] += tokens if tokens is not None else record.uncached_input or 0
            if record.prefix_sha256:
                _repetition(prefixes, workflow).add(record.prefix_sha256)
            if record.request_sha256:
                _repetition(requests, workflow).add(record.request_sha256)
        self._bound()

    def _bound(self) -> None:
        held = len(self.workflows) + len(self.paths) + sum(
            len(repetition.counts) for kind in self.repeats for repetition in kind.values())
        if held > SPILL_AFTER:
            if not self.may_spill:
                raise SinkFull
            self._spill()

    def _spill(self) -> None:
        from cache_gate.doctor.profile_store import ProfileStore

        if self.store is None:
            self.store = ProfileStore()
        self.store.absorb(self.workflows, self.paths, self.repeats)
        self.workflows, self.paths, self.repeats = {}, {}, ({}, {})

    def finish(self) -> None:
        """The whole ledger read: where it spilled, the rest goes to the store too."""
        if self.store is not None and not self.store.settled:
            self._spill()
            self.store.settle()

    # The answers.

    def top_workflows(self, limit: int) -> tuple[list[tuple[str | None, list[int]]], int]:
        """The `limit` workflows with the most requests (the first to come on a tie),
        and how many workflows there are."""
        if self.store is not None:
            return self.store.top_workflows(limit)
        top = heapq.nlargest(limit, self.workflows.items(), key=lambda item: item[1][REQUESTS])
        return top, len(self.workflows)

    def path_totals(self) -> tuple[int, int, int]:
        """(paths, their requests, their input tokens)."""
        if self.store is not None:
            return self.store.path_totals()
        return (len(self.paths), sum(r for r, _ in self.paths.values()),
                sum(t for _, t in self.paths.values()))

    def paths_by(self, measure: int) -> Iterator[tuple[Path, int, int]]:
        """Every path with its requests and input tokens, the largest `measure` (0
        requests, 1 tokens) first, the first to come on a tie."""
        if self.store is not None:
            yield from self.store.paths_by(measure)
            return
        for path, (requests, tokens) in sorted(self.paths.items(),
                                               key=lambda item: -item[1][measure]):
            yield path, requests, tokens

    def repetitions(self, kind: int) -> Iterator[tuple[str, Counted, list[int]]]:
        """Each named workflow's repetition of `kind` and KPI sums, in name order."""
        if self.store is not None:
            yield from self.store.repetitions(kind)
            return
        named = [(w, r) for w, r in self.repeats[kind].items() if w is not None]
        for workflow, repetition in sorted(named, key=lambda item: item[0]):
            yield workflow, repetition.counted, self.workflows[workflow]

    def repetition_of(self, kind: int, workflow: str | None) -> Counted | None:
        if self.store is not None:
            return self.store.repetition_of(kind, workflow)
        repetition = self.repeats[kind].get(workflow)
        return None if repetition is None else repetition.counted


def _repetition(table: dict[str | None, Repetition], workflow: str | None) -> Repetition:
    repetition = table.get(workflow)
    if repetition is None:
        repetition = table[workflow] = Repetition()
    return repetition
