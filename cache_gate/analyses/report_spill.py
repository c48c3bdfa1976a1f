"""`report`'s evidence beyond memory: `kpi_spill`'s store, with the report's own parts.

Once the report's sink (`breakdowns.Analytics`) holds `breakdowns.SPILL_AFTER`
entries, the stretch it has read goes here, as `kpi`'s does (`kpi_spill`): the tally
and the miss causes as there; the breakdowns by phase, model and day and the cache
tokens per model as sums that add, each group with its first appearance (ties break
in the order groups came, as in memory); each prompt's prefix hashes with their
counts and first appearance; each lineage's TTL simulation (`tuning_ttl.LineageCost`),
merged by `TtlAdvice.merge` itself. The answers are SQL, or the in-memory code run
over the store a page at a time; the property tests hold them to a read in memory.

Duplicate spend and the response cache curve keep their tables per request hash
apart, and move them to disk themselves (`hash_spill`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import msgspec

from cache_gate.analyses import kpis
from cache_gate.analyses.kpi_spill import KpiStore, chunked, name_of, on_disk, stored, text_of
from cache_gate.analyses.kpis import SLOTS, Tally
from cache_gate.analyses.lineage import Span
from cache_gate.analyses.miss_causes import MissCauses
from cache_gate.analyses.ttl_lineage import LineageCost
from cache_gate.analyses.tuning_ttl import Advice, TtlAdvice
from cache_gate.prices import PriceTable

# The breakdowns kept in the `breakdowns` table, by their `kind`.
PHASE, MODEL, DAY = range(3)
# Lineages whose TTL advice is computed at once, at the end.
PAGE = 5000

_SUMS = ", ".join(f"s{slot}" for slot in range(SLOTS))
_ADDED = ", ".join(f"s{slot} = s{slot} + excluded.s{slot}" for slot in range(SLOTS))
_SCHEMA = f"""
CREATE TABLE breakdowns (kind INTEGER, name BLOB, first INTEGER, {_SUMS},
                         PRIMARY KEY (kind, name)) WITHOUT ROWID;
CREATE TABLE cache_tokens (model BLOB PRIMARY KEY, first INTEGER, read INTEGER,
                           write_5m INTEGER, write_1h INTEGER, unreported INTEGER)
                           WITHOUT ROWID;
CREATE TABLE prefixes (prompt BLOB, hash BLOB, first INTEGER, n INTEGER,
                       PRIMARY KEY (prompt, hash)) WITHOUT ROWID;
CREATE TABLE ttl (key BLOB PRIMARY KEY, state BLOB) WITHOUT ROWID;
"""
_ENCODER = msgspec.msgpack.Encoder()
_LINEAGE_COST = msgspec.msgpack.Decoder(LineageCost)

# What a stretch of the report hands over: per breakdown kind, its groups' sums (in
# the order they came); per model, (read, 5-minute writes, 1-hour writes, requests
# without write counts); per prompt, its kept prefix hashes and their requests.
Breakdowns = tuple[dict[str | None, list[int]], dict[str | None, list[int]],
                   dict[str, list[int]]]
Tokens = dict[str | None, tuple[int, int, int, int]]


class ReportStore(KpiStore):
    """The stretches of the ledger the report absorbed so far, in ledger order, on disk."""

    @on_disk
    def __init__(self, causes: MissCauses, prices: PriceTable) -> None:
        super().__init__(causes)
        self.ttl_prices = prices
        # The dated span of every record absorbed (the TTL advice's days).
        self.span = Span()
        # Rows absorbed so far: the next new row's place in the order it came (only
        # ever compared within a table, so one count serves them all).
        self._rows = 0
        self._db.executescript(_SCHEMA)

    @on_disk
    def absorb_report(self, tally: Tally, causes: MissCauses, breakdowns: Breakdowns,
                      tokens: Tokens, prefixes: dict[str, Counter[str]],
                      advice: TtlAdvice) -> None:
        """Take in the stretch of the ledger right after those absorbed so far (its
        cells summed into `tally` and `breakdowns` already)."""
        self.absorb(tally, causes)
        keys = [stored(key) for key in advice.lineages]
        view = TtlAdvice(self.ttl_prices, self._costs(keys), self.span)
        view.merge(advice)
        db = self._db
        db.execute("BEGIN")
        # Rows in key order, as `KpiStore` writes them: the B-trees grow at a few places.
        tables: tuple[dict[str, list[int]] | dict[str | None, list[int]], ...] = breakdowns
        for kind, table in enumerate(tables):
            first = self._placed(len(table))
            db.executemany(
                f"INSERT INTO breakdowns VALUES (?, ?, ?, {', '.join('?' * SLOTS)}) "
                f"ON CONFLICT DO UPDATE SET {_ADDED}",
                sorted([(kind, stored(name), first + index, *sums)
                        for index, (name, sums) in enumerate(table.items())]))
        first = self._placed(len(tokens))
        db.executemany(
            "INSERT INTO cache_tokens VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET "
            "read = read + excluded.read, write_5m = write_5m + excluded.write_5m, "
            "write_1h = write_1h + excluded.write_1h, "
            "unreported = unreported + excluded.unreported",
            ((stored(model), first + index, *counts)
             for index, (model, counts) in enumerate(tokens.items())))
        first = self._placed(sum(map(len, prefixes.values())))
        # A hash's first appearance is only ever compared with its prompt's others'.
        db.executemany(
            "INSERT INTO prefixes VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE SET "
            "n = n + excluded.n",
            sorted([(stored(prompt), stored(digest), first + index, n)
                    for index, (prompt, digest, n) in enumerate(
                        (prompt, digest, n) for prompt, hashes in prefixes.items()
                        for digest, n in hashes.items())]))
        db.executemany("INSERT OR REPLACE INTO ttl VALUES (?, ?)",
                       sorted([(stored(key), _ENCODER.encode(cost))
                               for key, cost in view.lineages.items()]))
        db.execute("COMMIT")

    def _placed(self, rows: int) -> int:
        first = self._rows
        self._rows += rows
        return first

    def _costs(self, keys: list[bytes]) -> dict[str, LineageCost]:
        found: dict[str, LineageCost] = {}
        for batch in chunked(keys):
            for key, state in self._db.execute(
                    f"SELECT key, state FROM ttl WHERE key IN ({', '.join('?' * len(batch))})",
                    batch):
                found[text_of(key)] = _LINEAGE_COST.decode(state)
        return found

    # The answers, once every stretch is absorbed.

    @on_disk
    def breakdown(self, field: str, limit: int) -> tuple[list[tuple[str | None, list[int]]],
                                                         int]:
        """The `limit` groups of `field` with the most requests (the first to come on
        a tie), and how many groups there are."""
        requests = f"s{kpis.REQUESTS}"
        if field in ("workflow", "prompt"):
            # The top groups by their requests alone first, then their sums: summing every
            # column of every group costs three times as much.
            top = [key for key, in self._db.execute(
                f"SELECT {field} FROM groups GROUP BY {field} "
                f"ORDER BY sum({requests}) DESC, min(first) LIMIT ?", (limit,))]
            summed = ", ".join(f"sum(s{slot})" for slot in range(SLOTS))
            found = {key: sums for key, *sums in self._db.execute(
                f"SELECT {field}, {summed} FROM groups WHERE {field} IN "
                f"({', '.join('?' * len(top))}) GROUP BY {field}", top)}
            rows = [(key, *found[key]) for key in top]
            count = self._db.execute(
                f"SELECT count(DISTINCT {field}) FROM groups").fetchone()[0]
        else:
            kind = (PHASE, MODEL)[("phase", "model").index(field)]
            rows = self._db.execute(
                f"SELECT name, {_SUMS} FROM breakdowns WHERE kind = ? "
                f"ORDER BY {requests} DESC, first LIMIT ?", (kind, limit)).fetchall()
            count = self._db.execute("SELECT count(*) FROM breakdowns WHERE kind = ?",
                                     (kind,)).fetchone()[0]
        return [(name_of(key), list(sums)) for key, *sums in rows], count

    @on_disk
    def days(self, limit: int) -> tuple[list[tuple[str, list[int]]], int]:
        """The `limit` latest days' sums, in date order, and how many days there are."""
        latest = [(text_of(day), list(sums)) for day, *sums in self._db.execute(
            f"SELECT name, {_SUMS} FROM breakdowns WHERE kind = ? ORDER BY name DESC "
            "LIMIT ?", (DAY, limit))]
        count = self._db.execute("SELECT count(*) FROM breakdowns WHERE kind = ?",
                                 (DAY,)).fetchone()[0]
        return latest[::-1], count

    def cache_tokens(self) -> Iterator[tuple[int, str | None, tuple[int, int, int, int]]]:
        """Per model, with its place in the order models came: (read, 5-minute writes,
        1-hour writes, requests without write counts); a page at a time."""
        page = self._tokens_page(None)
        while page:
            for model, first, *counts in page:
                yield first, name_of(model), (counts[0], counts[1], counts[2], counts[3])
            after = page[-1][0]
            page = self._tokens_page(after)

    @on_disk
    def _tokens_page(self, after: bytes | None) -> list[tuple[bytes, int, int, int, int, int]]:
        where = "" if after is None else "WHERE model > ? "
        return self._db.execute(
            "SELECT model, first, read, write_5m, write_1h, unreported FROM cache_tokens "
            f"{where}ORDER BY model LIMIT ?", (() if after is None else (after,)) + (PAGE,)
        ).fetchall()

    @on_disk
    def drifting(self, kept: int, limit: int) -> tuple[list[tuple[str, Counter[str]]], int]:
        """The `limit` prompts sent with several of their `kept` smallest prefix hashes,
        the most drift first (as `breakdowns.drifting` orders them), each with those
        hashes in the order they came; and how many prompts drift."""
        # Only a prompt sent with several hashes can drift: the others (most, where
        # prompts are many) are left out before the window function sorts them.
        kept_hashes = (
            "SELECT prompt, hash, first, n FROM (SELECT prompt, hash, first, n, "
            "row_number() OVER (PARTITION BY prompt ORDER BY hash) AS place "
            "FROM prefixes WHERE prompt IN (SELECT prompt FROM prefixes GROUP BY prompt "
            f"HAVING count(*) > 1)) WHERE place <= {int(kept)}")
        drifting = (f"SELECT prompt, sum(n) - max(n) AS drift FROM ({kept_hashes}) "
                    "GROUP BY prompt HAVING count(*) > 1")
        count = self._db.execute(f"SELECT count(*) FROM ({drifting})").fetchone()[0]
        found: dict[bytes, Counter[str]] = {
            prompt: Counter() for prompt, _ in self._db.execute(
                f"{drifting} ORDER BY drift DESC, prompt LIMIT ?", (limit,))}
        if found:
            prompts = list(found)
            for prompt, digest, _, n in self._db.execute(
                    f"SELECT * FROM ({kept_hashes}) WHERE prompt IN "
                    f"({', '.join('?' * len(prompts))}) ORDER BY first", prompts):
                found[prompt][text_of(digest)] = n
        return [(text_of(prompt), hashes) for prompt, hashes in found.items()], count

    @on_disk
    def advice_count(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM ttl").fetchone()[0])

    def advice_pages(self) -> Iterator[dict[str, LineageCost]]:
        """Every lineage's TTL simulation, a page at a time."""
        after = b""
        while page := self._advice_page(after):
            after = page[-1][0]
            yield {text_of(key): _LINEAGE_COST.decode(state) for key, state in page}

    @on_disk
    def _advice_page(self, after: bytes) -> list[tuple[bytes, bytes]]:
        return self._db.execute("SELECT key, state FROM ttl WHERE key > ? ORDER BY key "
                                "LIMIT ?", (after, PAGE)).fetchall()


class SpilledAdvice(TtlAdvice):
    """The TTL advice of a store's ledger: its rows are computed from the store's
    lineages a page at a time (`TtlAdvice.rows` streams them: the top rows and CG208's
    are kept as they pass)."""

    def __init__(self, store: ReportStore) -> None:
        super().__init__(store.ttl_prices, {}, store.span)
        self._store = store

    def rows(self) -> Iterator[Advice]:
        for page in self._store.advice_pages():
            yield from TtlAdvice(self.prices, page, self.span).rows()

    def count(self) -> int:
        return self._store.advice_count()

