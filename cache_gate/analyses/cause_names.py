"""The names the miss causes are counted under: a provider's diagnoses kept by name,
within a bound.

A provider's diagnosis (or an application's `cache_miss_reason`) is any short
identifier, so a ledger could name a new one on every line: a million names would be
a million cells, examples and JSON keys. The first REASONS_NAMED distinct names in
ledger order are kept; a later new one is counted under OTHER_CHANGED where its name
says a change (`*_changed`, avoidable) and OTHER_REASON otherwise. Avoidability goes by
the name, so the avoidable misses, and their KPI, stay exact; only the names beyond
the bound are pooled. The built-in causes are never pooled, and never count.

Only the reader of the ledger's start pools (its sink, after each chunk and merge:
`MissCauses.bound_names`), since which names come first is the whole ledger's to say.
A stretch read apart (or kept in the ledger cache) keeps every name it meets: each has
a cell, which its sink counts towards what it may hold before it gives up
(`reading.SinkFull`); merged into the start's, they are pooled there.
"""

from __future__ import annotations

from collections.abc import Iterable

# Distinct provider diagnoses kept by name; later new ones are pooled.
REASONS_NAMED = 50
OTHER_CHANGED = "other_changed"
OTHER_REASON = "other_reason"
BUILT_IN = frozenset({"cold", "not_requested", "below_minimum", "model_changed",
                      "prefix_changed", "ttl_expired", "changed_within_ttl", "unknown",
                      OTHER_CHANGED, OTHER_REASON})


def pooled(cause: str) -> str:
    """The pool a name beyond the bound is counted under."""
    return OTHER_CHANGED if cause.endswith("_changed") else OTHER_REASON


class CauseNames:
    """The provider diagnoses met so far, in the order they first came, and whether
    new ones are pooled once REASONS_NAMED are kept (only the start's reader pools).
    The stretches of one reader share it: each knows the names before it."""

    def __init__(self, names: Iterable[str] = ()) -> None:
        self.kept: dict[str, None] = dict.fromkeys(
            name for name in names if name not in BUILT_IN)
        self.pooling = False

    @property
    def over(self) -> bool:
        """More names kept than the bound: the start's reader pools them."""
        return len(self.kept) > REASONS_NAMED

    def name(self, reason: str) -> str:
        """The cause a miss with this diagnosis is counted under."""
        if reason in self.kept or reason in BUILT_IN:
            return reason
        if self.pooling and len(self.kept) >= REASONS_NAMED:
            return pooled(reason)
        self.kept[reason] = None
        return reason

    def take(self, later: CauseNames) -> None:
        """Meet the names of the stretch right after this one's, in their order."""
        for name in later.kept:
            self.kept.setdefault(name, None)

    def pool(self) -> dict[str, str]:
        """Pool from now on; the names beyond the bound, each with its pool."""
        self.pooling = True
        names = list(self.kept)
        self.kept = dict.fromkeys(names[:REASONS_NAMED])
        return {name: pooled(name) for name in names[REASONS_NAMED:]}
