"""`kpi`'s evidence beyond memory: the ledger read so far, kept in a SQLite file.

A ledger of a million workflows, prompts or sessions would need a million tallies,
cells and lineage states in memory. Instead, once the sink holds
`kpi_evidence.SPILL_AFTER` of them, the stretch it has read merges into this store
(`absorb`), by `MissCauses.merge` itself, as stretches read apart merge (so exactly:
the property tests hold a spilled read to one in memory), and the sink starts a
fresh stretch. Memory stays about SPILL_AFTER entries, whatever the ledger; the
answers are SQL over the store (`SpilledTally`, `SpilledCauses`), in the same order
as the in-memory ones.

The file lives in a private temporary directory (mode 0700) and is removed when the
store is closed or collected: it holds workflow and prompt names from the ledger,
never anything else, and never beside the ledger.
"""

from __future__ import annotations

import functools
import shutil
import sqlite3
import tempfile
import weakref
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import ParamSpec, TypeVar

import msgspec

from cache_gate.analyses import kpis
from cache_gate.analyses.kpis import SLOTS, Tally
from cache_gate.analyses.lineage import LineageState
from cache_gate.analyses.miss_causes import (
    TOP_GROUPS,
    CauseCost,
    MissCauses,
    breakdown_of,
    worst_of,
)
from cache_gate.config import LOWER_IS_BETTER
from cache_gate.errors import InputError
from cache_gate.ledger.record import Record

# Keys a query names at once (SQLite allows 32,766 parameters).
BATCH = 500

_SUMS = ", ".join(f"s{slot}" for slot in range(SLOTS))
_SUMMED = ", ".join(f"sum(s{slot})" for slot in range(SLOTS))
_ADDED = ", ".join(f"s{slot} = s{slot} + excluded.s{slot}" for slot in range(SLOTS))
_COSTS = "requests, tokens, pico, unpriced"
_COSTS_SUMMED = "sum(requests), sum(tokens), sum(pico), sum(unpriced)"
_SCHEMA = f"""
CREATE TABLE groups (workflow BLOB, prompt BLOB, first INTEGER, {_SUMS},
                     PRIMARY KEY (workflow, prompt)) WITHOUT ROWID;
CREATE TABLE cells (workflow BLOB, prompt BLOB, day BLOB, cause BLOB, {_COSTS},
                    PRIMARY KEY (workflow, prompt, day, cause)) WITHOUT ROWID;
CREATE TABLE lineages (key BLOB PRIMARY KEY, state BLOB, avoidable INTEGER)
                       WITHOUT ROWID;
"""
P = ParamSpec("P")
T = TypeVar("T")
K = TypeVar("K")
_ENCODER = msgspec.msgpack.Encoder()
_LINEAGE = msgspec.msgpack.Decoder(LineageState)


def stored(text: str | None) -> bytes:
    """A name as the store keys it: None apart from every string, the empty one
    included, and strings in code point order (UTF-8 keeps it; a lone surrogate from
    a JSON escape passes)."""
    return b"" if text is None else b"\x01" + text.encode("utf-8", "surrogatepass")


def name_of(key: bytes) -> str | None:
    return None if key == b"" else text_of(key)


def text_of(key: bytes) -> str:
    return key[1:].decode("utf-8", "surrogatepass")


def on_disk(method: Callable[P, T]) -> Callable[P, T]:
    """`method`, a failure of the disk (full, unwritable) an InputError that says so."""
    @functools.wraps(method)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return method(*args, **kwargs)
        except (sqlite3.Error, OSError) as exc:
            raise InputError(
                "the ledger has too many workflows, prompts, sessions or request hashes to "
                "hold in memory, "
                f"and they could not be kept on disk in {tempfile.gettempdir()} ({exc}): "
                "free some space there, or point TMPDIR at a disk with room") from None
    return guarded


def chunked(items: list[K]) -> Iterator[list[K]]:
    """`items` BATCH at a time (the keys one query names)."""
    for start in range(0, len(items), BATCH):
        yield items[start:start + BATCH]


def private_directory(owner: object) -> Path:
    """A new private temporary directory (mode 0700), removed with what it holds once
    `owner` is collected, or at exit (SIGTERM unwinds to it). Disk errors raise: call
    it `on_disk`."""
    directory = tempfile.mkdtemp(prefix="cache-gate-")
    weakref.finalize(owner, shutil.rmtree, directory, ignore_errors=True)
    return Path(directory)


def private_database(owner: object, name: str) -> sqlite3.Connection:
    """A new SQLite file `name` in a `private_directory`, tuned for a scratch file; an
    open connection to an unlinked file is harmless."""
    database = sqlite3.connect(private_directory(owner) / name, isolation_level=None)
    for pragma in ("journal_mode = OFF", "synchronous = OFF", "temp_store = FILE",
                   "cache_size = -2048"):
        database.execute(f"PRAGMA {pragma}")
    return database


class KpiStore:
    """The stretches of the ledger absorbed so far, in ledger order, on disk."""

    @on_disk
    def __init__(self, causes: MissCauses) -> None:
        self.prices, self.minimums = causes.prices, causes.minimums
        self.eligible = 0
        self.examples: dict[str, tuple[int, Record]] = {}
        # Groups absorbed so far: the next new group's place in the order they came.
        self._groups = 0
        self._db = private_database(self, "kpi.sqlite")
        self._db.executescript(_SCHEMA)

    @on_disk
    def absorb(self, tally: Tally, causes: MissCauses) -> None:
        """Take in the stretch of the ledger right after those absorbed so far."""
        before = self._lineages([stored(key) for key in causes.lineages])
        merged = self._view(before)
        merged.merge(causes)
        # The store holds the ledger from its start (a sink that may spill reads from
        # there, and only stretches after it merge in): a miss still waiting has nothing
        # before it, ever, and is decided now, as `MissCauses` decides it at the end.
        merged.avoidable_by_group  # noqa: B018 - reading it settles the view
        self.eligible, self.examples = merged.eligible, merged.first_examples()
        self._write(merged, tally.groups)

    def _view(self, lineages: dict[str, LineageState]) -> MissCauses:
        """A MissCauses that is this store as far as these lineages go."""
        view = MissCauses(self.prices, self.minimums)
        view.load(eligible=self.eligible, cells={}, avoidable=Counter(), lineages=lineages,
                  examples=dict(self.examples))
        return view

    def _lineages(self, keys: list[bytes]) -> dict[str, LineageState]:
        found: dict[str, LineageState] = {}
        for batch in chunked(keys):
            marks = ", ".join("?" * len(batch))
            for key, state in self._db.execute(
                    f"SELECT key, state FROM lineages WHERE key IN ({marks})", batch):
                found[text_of(key)] = _LINEAGE.decode(state)
        return found

    def _write(self, merged: MissCauses, groups: dict[kpis.Group, list[int]]) -> None:
        db = self._db
        db.execute("BEGIN")
        # Rows in key order: the B-trees grow at a few places, not all over.
        db.executemany(
            "INSERT OR REPLACE INTO lineages VALUES (?, ?, ?)",
            sorted((stored(key), _ENCODER.encode(state),
                    sum(state.avoidable.values()) if state.avoidable else 0)
                   for key, state in merged.lineages.items()))
        db.executemany(
            "INSERT INTO cells VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET "
            "requests = requests + excluded.requests, tokens = tokens + excluded.tokens, "
            "pico = pico + excluded.pico, unpriced = unpriced + excluded.unpriced",
            sorted((stored(workflow), stored(prompt), stored(day), stored(cause), cost.requests,
                    cost.input_tokens, cost.picodollars, cost.unpriced_requests)
                   for (workflow, prompt, day, cause), cost in merged.cells.items()))
        # Each group with its place in the order groups came; one with avoidable misses
        # and no requests here (none is expected: a stretch's misses are its own
        # records') after this stretch's groups, as the union of both always placed it.
        avoidable = merged.avoidable_counts()
        rows: list[tuple[object, ...]] = []
        for place, (group, sums) in enumerate(groups.items(), self._groups):
            missed = avoidable.get(group)
            if missed:
                sums = list(sums)
                sums[kpis.AVOIDABLE_MISSES] += missed
            rows.append((stored(group[0]), stored(group[1]), place, *sums))
        self._groups += len(groups)
        for group, missed in avoidable.items():
            if group not in groups:
                sums = [0] * SLOTS
                sums[kpis.AVOIDABLE_MISSES] = missed
                rows.append((stored(group[0]), stored(group[1]), self._groups, *sums))
        rows.sort()
        db.executemany(
            f"INSERT INTO groups VALUES (?, ?, ?, {', '.join('?' * SLOTS)}) "
            f"ON CONFLICT DO UPDATE SET {_ADDED}", rows)
        db.execute("COMMIT")

    # The answers, once every stretch is absorbed.

    @on_disk
    def total(self, excluded: frozenset[str]) -> list[int]:
        names = [stored(name) for name in excluded]
        where = f"WHERE workflow NOT IN ({', '.join('?' * len(names))})" if names else ""
        row = self._db.execute(f"SELECT {_SUMMED} FROM groups {where}", names).fetchone()
        return [value or 0 for value in row]

    @on_disk
    def workflow_sums(self, names: frozenset[str]) -> dict[str, list[int]]:
        keys = [stored(name) for name in names]
        if not keys:
            return {}
        return {text_of(workflow): list(sums) for workflow, *sums in self._db.execute(
            f"SELECT workflow, {_SUMMED} FROM groups WHERE workflow IN "
            f"({', '.join('?' * len(keys))}) GROUP BY workflow", keys)}

    @on_disk
    def worst(self, field: int, name: str, limit: int) -> list[tuple[str | None, list[int]]]:
        numerator, denominator, _ = kpis.KPI_SLOTS[name]
        short = (f"sum(s{numerator})" if name in LOWER_IS_BETTER
                 else f"sum(s{denominator}) - sum(s{numerator})")
        column = ("workflow", "prompt")[field]
        return [(name_of(key), list(sums)) for key, *sums in self._db.execute(
            f"SELECT {column}, {_SUMMED} FROM groups GROUP BY {column} "
            f"HAVING {short} > 0 ORDER BY {short} DESC, min(first) LIMIT ?", (limit,))]

    @on_disk
    def causes(self, column: str | None,
               names: Iterable[bytes] = ()) -> dict[str | None, dict[str, CauseCost]]:
        """The cells summed per cause, and per `column` where given (for these of its
        `names`, where given)."""
        keys = list(names)
        group = "" if column is None else f"{column}, "
        where = f"WHERE {column} IN ({', '.join('?' * len(keys))})" if keys else ""
        tables: dict[str | None, dict[str, CauseCost]] = {}
        for *by, cause, requests, tokens, pico, unpriced in self._db.execute(
                f"SELECT {group}cause, {_COSTS_SUMMED} FROM cells {where} "
                f"GROUP BY {group}cause", keys):
            table = tables.setdefault(name_of(by[0]) if by else None, {})
            table[text_of(cause)] = CauseCost(requests, tokens, pico, unpriced)
        return tables

    @on_disk
    def latest_days(self, limit: int) -> tuple[list[tuple[str, dict[str, CauseCost]]], int]:
        """The `limit` latest dates with misses, each with its causes summed, in date
        order; and how many dates have misses."""
        dated = "FROM cells WHERE day != X''"
        count = self._db.execute(f"SELECT count(DISTINCT day) {dated}").fetchone()[0]
        latest = [day for day, in self._db.execute(
            f"SELECT DISTINCT day {dated} ORDER BY day DESC LIMIT ?", (limit,))]
        tables = self.causes("day", latest) if latest else {}
        return sorted((day, table) for day, table in tables.items() if day is not None), count

    @on_disk
    def busiest(self, column: str, limit: int) -> list[bytes]:
        """The `limit` values of `column` with the most misses, as `_breakdown` orders
        them (most first, then by name, no name last)."""
        return [key for key, in self._db.execute(
            f"SELECT {column} FROM cells GROUP BY {column} "
            f"ORDER BY sum(requests) DESC, {column} = X'', {column} LIMIT ?", (limit,))]

    @on_disk
    def worst_lineage(self) -> tuple[str, LineageState] | None:
        row = self._db.execute("SELECT key, state FROM lineages WHERE avoidable > 0 "
                               "ORDER BY avoidable DESC, key LIMIT 1").fetchone()
        return None if row is None else (text_of(row[0]), _LINEAGE.decode(row[1]))


class SpilledTally(Tally):
    """The tally of a store's ledger: its answers are the store's (it has no groups
    in memory; the avoidable misses are in it already)."""

    def __init__(self, store: KpiStore) -> None:
        super().__init__()
        self._store = store

    def total(self, excluded: frozenset[str] = frozenset()) -> list[int]:
        return self._store.total(excluded)

    def by(self, field: int) -> dict[str | None, list[int]]:
        # Every group's sums at once: what a store is there not to hold.
        raise TypeError("a spilled tally answers `worst` and `workflow_sums`, not `by`")

    def workflow_sums(self, names: frozenset[str]) -> dict[str, list[int]]:
        return self._store.workflow_sums(names)

    def worst(self, field: int, name: str, limit: int) -> list[tuple[str | None, list[int]]]:
        return self._store.worst(field, name, limit)


class SpilledCauses(MissCauses):
    """The miss causes of a store's ledger, every miss decided: its answers are the
    store's (its avoidable counts are in the store's tally already)."""

    def __init__(self, store: KpiStore) -> None:
        super().__init__(store.prices, store.minimums)
        self._store = store
        self.load(eligible=store.eligible, cells={}, avoidable=Counter(), lineages={},
                  examples=store.examples)

    @property
    def overall(self) -> dict[str, CauseCost]:
        return self._store.causes(None).get(None, {})

    def days(self, limit: int) -> tuple[list[tuple[str, dict[str, CauseCost]]], int]:
        return self._store.latest_days(limit)

    def breakdown(self, field: int) -> dict[str, object]:
        column = ("workflow", "prompt")[field]
        return breakdown_of(self._store.causes(column, self._store.busiest(column, TOP_GROUPS)))

    @property
    def avoidable_misses(self) -> int:
        return self._store.total(frozenset())[kpis.AVOIDABLE_MISSES]

    def worst_lineage(self) -> tuple[str, int, str] | None:
        found = self._store.worst_lineage()
        return worst_of([found] if found is not None else [])
