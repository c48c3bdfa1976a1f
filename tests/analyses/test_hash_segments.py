"""How a table kept per request hash keeps its spills on disk (`analyses.hash_segments`):
one file a spill, found by the digests of its keys, in memory or, past a count, on
disk; keys that share a digest told apart in full; files merged past a count and
removed once their last entry went, whatever fetched or dropped it; the table one
dict all along (a model test against a dict)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cache_gate.analyses import hash_segments, hash_spill
from cache_gate.analyses.hash_spill import HashTable
from tests.analyses.test_hash_spill import keys


class Colliding(str):
    """A request hash whose digest it shares with every other of its length's parity."""

    __slots__ = ()

    def __hash__(self) -> int:
        return len(self) % 2


def _latest(written: float | list[float]) -> float:
    return max(written) if isinstance(written, list) else written


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The temporary directory the tables' files go to."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    yield tmp_path


def files(scratch: Path) -> int:
    return sum(1 for path in scratch.rglob("*") if path.is_file())


entries = st.one_of(st.floats(allow_nan=False), st.lists(st.floats(allow_nan=False),
                                                          min_size=1, max_size=3))
# Writes weigh three times as much: a spill holds a few entries, often more than a block.
writes = st.tuples(st.just("write"), keys, entries)
operations = st.one_of(
    writes, writes, writes,
    st.tuples(st.just("read"), st.lists(keys, max_size=5)),
    st.tuples(st.just("spill")),
    st.tuples(st.sampled_from(["keep_from", "keep_until"]), st.floats(allow_nan=False)))


@settings(max_examples=500, deadline=None)
@given(steps=st.lists(operations, max_size=60), collide=st.booleans(),
       most=st.sampled_from([1, 2, 64]), merged=st.sampled_from([1, 3, 10**6]),
       digests=st.sampled_from([0, 2, 10**6]), block=st.sampled_from([1, 2, 64]))
def test_a_table_of_many_files_and_shared_digests_is_one_dict(
        steps: list[tuple[Any, ...]], collide: bool, most: int, merged: int,
        digests: int, block: int) -> None:
    """Keys whose digests collide (two digests for every key) or not; files merged past
    one, two or 64 of them, a few entries or all at a time; their digests in memory,
    or on disk past none or two; read in blocks of one, two or 64 entries."""
    def request(key: str) -> str:
        return Colliding(key) if collide else key

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(hash_spill, "MOST_SEGMENTS", most)
        patch.setattr(hash_spill, "MERGED_AT_MOST", merged)
        patch.setattr(hash_spill, "DIGESTS_HELD", digests)
        patch.setattr(hash_segments, "BLOCK", block)
        played(steps, request)


def played(steps: list[tuple[Any, ...]], request: Callable[[str], str] = str) -> None:
    """`steps` done to a table and to a dict (the keys made `request`s): they hold the
    same all along, and the disk is asked for every key it holds."""
    table: HashTable[float | list[float]] = HashTable(float | list[float], _latest)
    model: dict[str, float | list[float]] = {}
    for step in steps:
        if step[0] in ("write", "read"):
            requests = ([request(step[1])] if step[0] == "write"
                        else list(map(request, step[1])))
            on_disk = {asked for asked in requests
                       if asked in model and asked not in table.held}
            before = table.asked
            table.fetch(requests)
            assert table.asked - before >= len(on_disk)
            for asked in requests:
                assert repr(table.held.get(asked)) == repr(model.get(asked))  # -0.0 too
            if step[0] == "write":
                table.held[requests[0]] = model[requests[0]] = step[2]
        elif step[0] == "spill":
            table.spill()
        else:
            kept = {key: entry for key, entry in model.items()
                    if (_latest(entry) >= step[1] if step[0] == "keep_from"
                        else _latest(entry) <= step[1])}
            assert getattr(table, step[0])(step[1]) == (len(kept) < len(model))
            model = kept
        assert len(table) == len(model)
    table.fetch(list(model))
    assert ({key: repr(entry) for key, entry in table.held.items()}
            == {key: repr(entry) for key, entry in model.items()})
    assert table.on_disk == 0


def test_a_file_goes_with_its_last_entry(scratch: Path) -> None:
    table: HashTable[float] = HashTable(float, _latest)
    for first in (0, 10, 20):
        table.held = {f"{index:064x}": float(index) for index in range(first, first + 10)}
        table.spill()
    assert files(scratch) == 3
    assert table.keep_from(10.0)  # every entry of the first spill: its file goes
    assert files(scratch) == 2
    assert table.keep_from(15.0)  # half the second's: it stays
    assert files(scratch) == 2 and table.on_disk == 15
    table.fetch([f"{index:064x}" for index in range(15, 20)])
    assert files(scratch) == 1 and table.on_disk == 10
    assert table.keep_until(19.0)
    assert files(scratch) == 0 and table.on_disk == 0
    assert table.held == {f"{index:064x}": float(index) for index in range(15, 20)}


def test_past_the_most_files_the_smallest_are_merged(scratch: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hash_spill, "MOST_SEGMENTS", 4)
    monkeypatch.setattr(hash_spill, "MERGED_AT_MOST", 25)
    table: HashTable[float] = HashTable(float, _latest)
    written = {}
    for spill in range(8):
        table.held = {f"{spill:02}{index:062x}": float(spill) for index in range(10)}
        written.update(table.held)
        table.spill()
    # Past 4 files, the two smallest merge (three would pass 25 entries).
    assert files(scratch) <= 4
    table.fetch(list(written))
    assert table.held == written and files(scratch) == 0


@pytest.mark.parametrize("digests", [0, 10**6])
def test_every_key_of_a_long_run_of_one_digest_is_found(digests: int,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs of a digest across many blocks of a file, its digests in memory or not."""
    monkeypatch.setattr(hash_spill, "DIGESTS_HELD", digests)
    monkeypatch.setattr(hash_segments, "BLOCK", 4)
    table: HashTable[float] = HashTable(float, _latest)
    written = {Colliding("x" * (index % 7) + f"{index}"): float(index) for index in range(300)}
    table.held = dict(written)
    table.spill()
    assert table.on_disk == 300
    table.fetch([Colliding("absent"), *written])
    assert table.held == written and table.on_disk == 0
