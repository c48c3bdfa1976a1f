"""What spares the disk of a table kept per request hash (`analyses.hash_spill`): the
filter of the keys on disk never says no to one of them, at any size, however full
(a model test against a set); a table asks the disk for no new hash and for every
one it holds, whatever its filter has seen dropped or made anew; an entry that is its
own time comes back as that time, exactly; and a sink that spilled keeps no first
requests for a merge it will never meet, answering as one that kept them."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cache_gate.analyses import hash_spill
from cache_gate.analyses.duplicate_spend import DuplicateSpend
from cache_gate.analyses.hash_spill import HashTable, SpilledKeys
from cache_gate.analyses.tuning_curves import ResponseTtlCurve
from cache_gate.ledger.record import Record
from tests.analyses import test_report_merge as merge_tests
from tests.analyses.test_hash_segments import operations, played
from tests.analyses.test_hash_spill import _distinct_hashes, keys
from tests.analyses.test_report_spill import report


@contextmanager
def filters_of(fewest: int, most: int) -> Iterator[None]:
    """Filters with room for `fewest` to `most` keys (a handful: full at once)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(hash_spill, "FEWEST_KEYS", fewest)
        patch.setattr(hash_spill, "MOST_KEYS", most)
        yield


@given(added=st.lists(keys, max_size=60), asked=st.lists(keys, max_size=60),
       held=st.lists(keys, max_size=10), room=st.sampled_from([1, 4, 64, 1 << 16]))
def test_the_filter_never_says_no_to_a_key_it_holds(added: list[str], asked: list[str],
                                                     held: list[str], room: int) -> None:
    with filters_of(1, 1 << 16):
        spilled = SpilledKeys(room)
    spilled.add_digests(map(hash, added))
    assert spilled.added == len(added)
    found = spilled.among([*asked, *added], set(held))
    assert found >= set(added) - set(held)
    assert found <= set(asked + added) - set(held)


def test_the_filter_says_no_to_most_new_keys() -> None:
    spilled = SpilledKeys(10_000)
    spilled.add_digests(hash(f"{index:064x}") for index in range(10_000))
    new = [f"{index:064x}" for index in range(10_000, 20_000)]
    # Two probes of 16 bits a key: about one in 70 at its room, fewer below.
    assert len(spilled.among(new, ())) < 300


def _moment(moment: float) -> float:
    return moment


@settings(max_examples=300, deadline=None)
@given(steps=st.lists(operations, max_size=60), fewest=st.sampled_from([1, 2, 1 << 16]))
def test_a_table_whose_filter_fills_and_is_made_anew_is_one_dict(
        steps: list[tuple[Any, ...]], fewest: int) -> None:
    """Entries that are their own time (floats, -0.0 and infinities among them) and
    others (lists); filters of a key or two, full at once and made anew at every
    spill, or roomy; the disk asked only for what it may hold."""
    with filters_of(fewest, max(fewest, 4)):
        played(steps)


def test_new_hashes_never_ask_the_disk() -> None:
    table: HashTable[float] = HashTable(float, _moment)
    old = [f"{index:064x}" for index in range(2000)]
    table.held = {request: float(index) for index, request in enumerate(old)}
    table.spill()
    table.fetch(f"{index:064x}" for index in range(2000, 4000))
    assert table.asked < 100  # the filter's false yeses, about 0 at this room
    assert not table.held
    table.fetch(old[:700])
    assert table.asked >= 700
    assert table.held == {request: float(index) for index, request in enumerate(old[:700])}
    assert table.on_disk == 1300


def test_a_full_filter_is_made_anew_seldom(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the most keys a filter has room for, a table makes it anew (reading every
    key on disk) only once as many keys came as it was made with: not at every spill."""
    read: list[int] = []
    refiltered = HashTable._refiltered

    def counted(table: HashTable[Any], coming: int) -> SpilledKeys:
        read.append(table.on_disk)
        return refiltered(table, coming)

    monkeypatch.setattr(HashTable, "_refiltered", counted)
    with filters_of(4, 4):
        table: HashTable[float] = HashTable(float, _moment)
        spilled = {f"{index:064x}": float(index) for index in range(1000)}
        for request, moment in spilled.items():
            table.held[request] = moment
            table.spill()
        assert 0 < sum(read) <= 2 * len(spilled)
        table.fetch(spilled)
        assert table.held == spilled and table.on_disk == 0


def test_a_report_of_distinct_hashes_asks_the_disk_for_next_to_none(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every hash new: the tables spill, and their filters spare the disk the queries
    that would find nothing, while the report stays the one in memory."""
    path = tmp_path / "ledger.jsonl"
    _distinct_hashes(path, 3000)
    tables: list[HashTable[Any]] = []
    spill = HashTable.spill

    def kept(table: HashTable[Any]) -> None:
        if table not in tables:
            tables.append(table)
        spill(table)

    monkeypatch.setattr(HashTable, "spill", kept)
    assert report(path, 10**9, 1, hashes_held=50) == report(path, 10**9, 1)
    assert len(tables) >= 2
    assert sum(table.asked for table in tables) < 100
    assert sum(table.on_disk for table in tables) > 2000


def _hashed(records: list[Record]) -> list[Record]:
    return [record for record in records
            if record.request_sha256 is not None and record.time is not None]


@settings(max_examples=200, deadline=None)
@given(records=merge_tests.ledger(), cut=st.integers(0, 50))
def test_a_sink_that_spilled_keeps_no_first_requests(records: list[Record],
                                                     cut: int) -> None:
    """Once spilled, duplicate spend keeps no waiting requests and the curve no first
    requests (nothing merges it into a stretch before it); what they count is the same."""
    records = _hashed(records)
    spilled, whole = DuplicateSpend(3600, memory=3), DuplicateSpend(3600, memory=3)
    merge_tests.feed_duplicates(spilled, records[:cut])
    spilled.spill()
    merge_tests.feed_duplicates(spilled, records[cut:])
    spilled.settle()
    merge_tests.feed_duplicates(whole, records)
    assert not spilled.waiting.held and not spilled.waiting.spilled
    assert merge_tests.spend(spilled) == merge_tests.spend(whole)
    curve, one = ResponseTtlCurve(memory=3), ResponseTtlCurve(memory=3)
    curve.add(records[:cut])
    curve.spill()
    curve.add(records[cut:])
    one.add(records)
    assert not curve.firsts.held and not curve.firsts.spilled
    assert json.dumps(curve.to_json()) == json.dumps(one.to_json())
    assert curve.horizon.uncertain == one.horizon.uncertain


def test_infinite_and_negative_zero_times_come_back_as_they_went() -> None:
    table: HashTable[float] = HashTable(float, _moment)
    table.held = {"a": -0.0, "b": math.inf, "c": -math.inf, "d": 1e-300}
    table.spill()
    table.fetch(["a", "b", "c", "d"])
    assert [math.copysign(1, table.held["a"]), *list(table.held.values())[1:]] == [
        -1, math.inf, -math.inf, 1e-300]
