"""doctor's ledger profile beyond memory: the ledger read so far, in a SQLite file.

Once `ledger_profile.LedgerProfile` holds `SPILL_AFTER` workflows, paths and hashes,
what it read is added here (`absorb`): sums that add, each workflow and path with its
first appearance (ties break in the order they came, as in memory), and each
workflow's sampled hashes with their counts and the sample's level.

The sample needs no second look at the ledger: a workflow's level in one pass is the
smallest level, at least any stretch's, at which its distinct hashes fit in
`DISTINCT_KEPT` (a stretch raises its level only when the hashes it holds at the
level below are too many, and the whole ledger holds at least those), and the hashes
a stretch dropped are never in a sample of that level or higher. `settle` finds that
level per workflow, so the answers are exactly one pass's.

The file lives in a private temporary directory, as `kpi_spill`'s does, and is
removed when the store is closed or collected.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cache_gate.analyses.kpi_spill import name_of, on_disk, private_database, stored, text_of
from cache_gate.analyses.kpis import REQUESTS, SLOTS
from cache_gate.doctor import repetition
from cache_gate.doctor.repetition import Counted, Repetition

# A path: ("prompt", prompt_id) or ("workflow", workflow).
Path = tuple[str, str]
_SUMS = ", ".join(f"s{slot}" for slot in range(SLOTS))
_ADDED = ", ".join(f"s{slot} = s{slot} + excluded.s{slot}" for slot in range(SLOTS))
_SCHEMA = f"""
CREATE TABLE workflows (name BLOB PRIMARY KEY, first INTEGER, {_SUMS}) WITHOUT ROWID;
CREATE TABLE paths (kind BLOB, name BLOB, first INTEGER, requests INTEGER,
                    tokens INTEGER, PRIMARY KEY (kind, name)) WITHOUT ROWID;
CREATE TABLE hashes (kind INTEGER, workflow BLOB, value INTEGER, n INTEGER,
                     PRIMARY KEY (kind, workflow, value)) WITHOUT ROWID;
CREATE TABLE levels (kind INTEGER, workflow BLOB, level INTEGER,
                     PRIMARY KEY (kind, workflow)) WITHOUT ROWID;
CREATE TABLE repetition (kind INTEGER, workflow BLOB, requests INTEGER,
                         distinct_hashes INTEGER, level INTEGER,
                         PRIMARY KEY (kind, workflow)) WITHOUT ROWID;
"""
# A workflow's sample at its level, whether it has hashes there or not.
_COUNTED = """
SELECT l.kind, l.workflow, coalesce(sum(h.n), 0), count(h.value), l.level FROM levels AS l
LEFT JOIN hashes AS h ON h.kind = l.kind AND h.workflow = l.workflow
                     AND (h.value & ((1 << l.level) - 1)) = 0
"""


def _signed(value: int) -> int:
    """A 64-bit hash as SQLite's signed integer (its low bits, the sample's, kept)."""
    return value - (1 << 64) if value >> 63 else value


class ProfileStore:
    """The stretches of the ledger the profile absorbed so far, on disk."""

    @on_disk
    def __init__(self) -> None:
        self._db = private_database(self, "doctor.sqlite")
        self._db.executescript(_SCHEMA)
        # Rows absorbed so far: the next new row's place in the order it came.
        self._rows = 0
        self.settled = False

    @on_disk
    def absorb(self, workflows: dict[str | None, list[int]], paths: dict[Path, list[int]],
               repeats: tuple[dict[str | None, Repetition], ...]) -> None:
        """Take in the stretch of the ledger right after those absorbed so far."""
        db = self._db
        db.execute("BEGIN")
        db.executemany(
            f"INSERT INTO workflows VALUES (?, ?, {', '.join('?' * SLOTS)}) "
            f"ON CONFLICT DO UPDATE SET {_ADDED}",
            ((stored(name), self._rows + index, *sums)
             for index, (name, sums) in enumerate(workflows.items())))
        self._rows += len(workflows)
        db.executemany(
            "INSERT INTO paths VALUES (?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET "
            "requests = requests + excluded.requests, tokens = tokens + excluded.tokens",
            ((stored(kind), stored(name), self._rows + index, requests, tokens)
             for index, ((kind, name), (requests, tokens)) in enumerate(paths.items())))
        self._rows += len(paths)
        for kind, table in enumerate(repeats):
            db.executemany(
                "INSERT INTO levels VALUES (?, ?, ?) ON CONFLICT DO UPDATE SET "
                "level = max(level, excluded.level)",
                ((kind, stored(workflow), repetition.level)
                 for workflow, repetition in table.items()))
            db.executemany(
                "INSERT INTO hashes VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE SET "
                "n = n + excluded.n",
                ((kind, stored(workflow), _signed(value), n)
                 for workflow, repetition in table.items()
                 for value, n in repetition.counts.items()))
        db.execute("COMMIT")

    @on_disk
    def settle(self) -> None:
        """Every workflow's sample at its one-pass level (see the module docstring)."""
        db, kept = self._db, repetition.DISTINCT_KEPT
        db.execute(f"INSERT INTO repetition {_COUNTED} GROUP BY l.kind, l.workflow")
        over = "SELECT kind, workflow FROM repetition WHERE distinct_hashes > ?"
        while db.execute(f"{over} LIMIT 1", (kept,)).fetchone() is not None:
            db.execute(f"UPDATE levels SET level = level + 1 WHERE (kind, workflow) IN ({over})",
                       (kept,))
            db.execute("DELETE FROM repetition WHERE distinct_hashes > ?", (kept,))
            db.execute(f"INSERT INTO repetition {_COUNTED} WHERE (l.kind, l.workflow) NOT IN "
                       "(SELECT kind, workflow FROM repetition) GROUP BY l.kind, l.workflow")
        self.settled = True

    # The answers, once settled.

    @on_disk
    def top_workflows(self, limit: int) -> tuple[list[tuple[str | None, list[int]]], int]:
        rows = self._db.execute(f"SELECT name, {_SUMS} FROM workflows ORDER BY s{REQUESTS} "
                                "DESC, first LIMIT ?", (limit,)).fetchall()
        total = self._db.execute("SELECT count(*) FROM workflows").fetchone()[0]
        return [(name_of(name), list(sums)) for name, *sums in rows], total

    @on_disk
    def path_totals(self) -> tuple[int, int, int]:
        paths, requests, tokens = self._db.execute(
            "SELECT count(*), coalesce(sum(requests), 0), coalesce(sum(tokens), 0) "
            "FROM paths").fetchone()
        return paths, requests, tokens

    def paths_by(self, measure: int) -> Iterator[tuple[Path, int, int]]:
        self._rank(("requests", "tokens")[measure])
        place = 0
        while page := self._ranked_page(place):
            for _, kind, name, requests, tokens in page:
                yield (text_of(kind), text_of(name)), requests, tokens
            place = page[-1][0]

    @on_disk
    def _rank(self, column: str) -> None:
        """The paths in the order asked, numbered (each page is then one index range)."""
        self._db.executescript(f"""
            DROP TABLE IF EXISTS ranked;
            CREATE TABLE ranked (place INTEGER PRIMARY KEY, kind BLOB, name BLOB,
                                 requests INTEGER, tokens INTEGER);
            INSERT INTO ranked SELECT row_number() OVER (ORDER BY {column} DESC, first),
                                      kind, name, requests, tokens FROM paths;""")

    @on_disk
    def _ranked_page(self, after: int) -> list[tuple[int, bytes, bytes, int, int]]:
        return self._db.execute("SELECT * FROM ranked WHERE place > ? ORDER BY place "
                                "LIMIT 5000", (after,)).fetchall()

    def repetitions(self, kind: int) -> Iterator[tuple[str, Counted, list[int]]]:
        after = b""  # None's key: never listed
        while page := self._repetition_page(kind, after):
            for workflow, requests, distinct, level, *sums in page:
                yield text_of(workflow), (requests, distinct, level), sums
            after = page[-1][0]

    @on_disk
    def _repetition_page(self, kind: int, after: bytes) -> list[tuple[Any, ...]]:
        return self._db.execute(
            f"SELECT workflow, requests, distinct_hashes, level, {_SUMS} FROM repetition "
            "JOIN workflows ON name = workflow WHERE kind = ? AND workflow > ? "
            "ORDER BY workflow LIMIT 5000", (kind, after)).fetchall()

    @on_disk
    def repetition_of(self, kind: int, workflow: str | None) -> Counted | None:
        row = self._db.execute(
            "SELECT requests, distinct_hashes, level FROM repetition WHERE kind = ? AND "
            "workflow = ?", (kind, stored(workflow))).fetchone()
        return None if row is None else (row[0], row[1], row[2])
