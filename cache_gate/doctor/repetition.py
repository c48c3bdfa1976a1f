"""How often a workflow's requests repeat a key seen before (a prefix or a request hash).

Counted exactly up to `DISTINCT_KEPT` distinct hashes per workflow; past that, a
hash-based sample (the same hashes always in or out, so a repeated prefix is in the
sample every time or never) keeps memory bounded and the rate unbiased.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

DISTINCT_KEPT = 20_000
# A workflow's repetition: (requests in the sample, distinct hashes in it, sample level).
Counted = tuple[int, int, int]


def hash64(digest: str) -> int:
    """64 evenly spread bits of any hash string (hex or not)."""
    return int.from_bytes(hashlib.blake2b(digest.encode("utf-8", "surrogatepass"),
                                          digest_size=8).digest(), "big")


def repeat_rate(counted: Counted) -> float | None:
    """Share of requests whose key was seen before: 1 - distinct / requests."""
    requests, distinct, _ = counted
    return 1 - distinct / requests if requests else None


@dataclass
class Repetition:
    """How many requests repeat a key seen before (exactly, then sampled by hash)."""

    counts: dict[int, int] = field(default_factory=dict)
    level: int = 0  # the sample keeps hashes whose low `level` bits are all zero

    def add(self, digest: str) -> None:
        value = hash64(digest)
        if value & ((1 << self.level) - 1):
            return
        self.counts[value] = self.counts.get(value, 0) + 1
        while len(self.counts) > DISTINCT_KEPT:
            self.add_level()

    def add_level(self) -> None:
        """Halve the sample: keep the hashes with one more low bit zero."""
        self.level += 1
        mask = (1 << self.level) - 1
        self.counts = {v: n for v, n in self.counts.items() if not v & mask}

    @property
    def counted(self) -> Counted:
        return sum(self.counts.values()), len(self.counts), self.level
