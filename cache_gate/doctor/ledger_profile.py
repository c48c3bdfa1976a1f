"""One pass over the ledger for doctor: who carries the tokens, and how often requests repeat.

`LedgerProfile` is a reader sink (`cache_gate.ledger.jsonl.reader.scan`): the KPI tally
per (workflow, prompt_id), input tokens per (workflow, prompt_id) for coverage,
and per workflow how often a request repeats an earlier stable prefix
(`prefix_sha256`) or an earlier request exactly (`request_sha256`).

Repetition is counted exactly up to `DISTINCT_KEPT` distinct hashes per
workflow; past that, a hash-based sample (the same hashes always in or out, so a
repeated prefix is in the sample every time or never) keeps memory bounded and
the rate unbiased.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Self

from cache_gate.analyses.kpis import Group, Tally
from cache_gate.ledger.record import Record

DISTINCT_KEPT = 20_000


def _hash64(digest: str) -> int:
    """64 evenly spread bits of any hash string (hex or not)."""
    return int.from_bytes(hashlib.blake2b(digest.encode(), digest_size=8).digest(), "big")


@dataclass
class Repetition:
    """How many requests repeat a key seen before (exactly, then sampled by hash)."""

    counts: dict[int, int] = field(default_factory=dict)
    level: int = 0  # the sample keeps hashes whose low `level` bits are all zero

    def add(self, digest: str) -> None:
        value = _hash64(digest)
        if value & ((1 << self.level) - 1):
            return
        self.counts[value] = self.counts.get(value, 0) + 1
        while len(self.counts) > DISTINCT_KEPT:
            self.add_level()

    def merge(self, other: Repetition) -> None:
        self.level = max(self.level, other.level)
        mask = (1 << self.level) - 1
        merged = {v: n for v, n in self.counts.items() if not v & mask}
        for value, n in other.counts.items():
            if not value & mask:
                merged[value] = merged.get(value, 0) + n
        self.counts = merged
        while len(self.counts) > DISTINCT_KEPT:
            self.add_level()

    def add_level(self) -> None:
        """Halve the sample: keep the hashes with one more low bit zero."""
        self.level += 1
        mask = (1 << self.level) - 1
        self.counts = {v: n for v, n in self.counts.items() if not v & mask}

    @property
    def requests(self) -> int:
        """Requests in the sample (all of them while `sampled` is False)."""
        return sum(self.counts.values())

    @property
    def sampled(self) -> bool:
        return self.level > 0

    @property
    def repeat_rate(self) -> float | None:
        """Share of requests whose key was seen before: 1 - distinct / requests."""
        requests = self.requests
        return 1 - len(self.counts) / requests if requests else None


@dataclass
class LedgerProfile:
    tally: Tally = field(default_factory=Tally)
    # (workflow, prompt_id) -> [requests, input tokens]
    volume: dict[Group, list[int]] = field(default_factory=dict)
    prefixes: dict[str | None, Repetition] = field(default_factory=dict)
    requests: dict[str | None, Repetition] = field(default_factory=dict)

    def add(self, records: list[Record]) -> None:
        self.tally.add(records)
        for record in records:
            key = (record.workflow, record.prompt_id)
            volume = self.volume.get(key)
            if volume is None:
                volume = self.volume[key] = [0, 0]
            volume[0] += 1
            tokens = record.input_total
            volume[1] += tokens if tokens is not None else record.uncached_input or 0
            if record.prefix_sha256:
                self.prefixes.setdefault(record.workflow, Repetition()).add(record.prefix_sha256)
            if record.request_sha256:
                self.requests.setdefault(record.workflow, Repetition()).add(
                    record.request_sha256)

    def merge(self, other: Self) -> None:
        self.tally.merge(other.tally)
        for key, (requests, tokens) in other.volume.items():
            volume = self.volume.setdefault(key, [0, 0])
            volume[0] += requests
            volume[1] += tokens
        for mine, theirs in ((self.prefixes, other.prefixes), (self.requests, other.requests)):
            for workflow, repetition in theirs.items():
                mine.setdefault(workflow, Repetition()).merge(repetition)
