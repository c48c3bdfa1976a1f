"""The tables `report` keeps per request hash on disk (`analyses.hash_spill`): a report
whose tables move to disk every few hashes is exactly the report in memory, JSON and
text, byte for byte (duplicate spend and the response cache curve, with what their
expired hashes' drops decide), on ledgers in time order and not, of dense distinct
hashes and of repeats within and beyond every TTL, read by one process or several;
and a table on disk behaves as one dict, whatever its keys."""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cache_gate.analyses.duplicate_spend import DuplicateSpend, Waiting
from cache_gate.analyses.hash_spill import HashTable, key_of, request_of
from cache_gate.analyses.merging import InexactMerge
from cache_gate.analyses.tuning_curves import ResponseTtlCurve
from cache_gate.ledger.record import Record
from tests.analyses import test_report_merge as merge_tests
from tests.analyses.test_report_spill import report
from tests.full_disk import run_on_a_full_disk, said_in_one_line
from tests.ledger.test_fast_reader_agrees import START
from tests.ledger.test_resume import small_chunks  # noqa: F401 - a fixture
from tests.ledgers import backlog

# Hashes of 64 hex digits and keys that look like them or like nothing (kept as text,
# or as bytes where not ASCII).
HEX = [f"{index:064x}" for index in range(3)]
ODD = ["", "r1", "é", "\ud800", "\x00", "a" * 64, "A" * 64, HEX[1].upper(), "g" * 64,
       " " + HEX[2][1:], "\x01" + HEX[0][1:]]
# Seconds between requests at the edges that matter: the response cache curve's TTLs
# (15 min to a day), duplicate spend's (an hour).
GAPS = [0, 0.1, 899, 901, 1800, 3599, 3601, 7199, 14401, 86399, 86401]


@st.composite
def hashed_ledgers(draw: st.DrawFn) -> bytes:
    """Backlog lines with request hashes: new ones (a dense run of distinct hashes) and
    repeats, served by a cache or not, priced or not, times in order or not; fewer
    further on, so that a later stretch read apart may hold few enough to merge into
    a first that spilled."""
    lines = []
    moment = START.timestamp()
    in_order = draw(st.booleans())
    count = draw(st.integers(0, 60))
    for index in range(count):
        moment = (moment + draw(st.sampled_from(GAPS)) if in_order
                  else START.timestamp() + draw(st.integers(0, 2 * 86400)))
        request = draw(st.one_of(st.just(f"{index + 100:064x}"), st.sampled_from(HEX),
                                 st.sampled_from(ODD), st.just(...)))
        if draw(st.integers(0, count)) < index:
            request = ...
        fields: dict[str, Any] = {
            "timestamp": _utc(moment) if draw(st.integers(0, 9)) else ...,
            "request_sha256": request,
            "cache_hit": draw(st.booleans()),
            "cost_usd": draw(st.sampled_from([None, 0.01, 0.3, 1e25])),
            "response_cache": draw(st.sampled_from([..., {"status": "hit"},
                                                    {"status": "miss"}])),
        }
        lines.append(json.dumps(backlog(**fields)))
    return "".join(f"{line}\n" for line in lines).encode()


def _utc(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat().replace("+00:00", "Z")


@pytest.mark.usefixtures("small_chunks")
@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(ledger=hashed_ledgers(), held=st.integers(0, 6),
       memory=st.sampled_from([0, 1, 3, 10**6]), spill_after=st.sampled_from([3, 10**9, 10**9]),
       jobs=st.integers(1, 3))
def test_a_report_with_its_hashes_on_disk_is_the_report_in_memory(
        tmp_path_factory: pytest.TempPathFactory, ledger: bytes, held: int, memory: int,
        spill_after: int, jobs: int) -> None:
    path = tmp_path_factory.mktemp("hashes") / "ledger.jsonl"
    path.write_bytes(ledger)
    assert (report(path, spill_after, jobs, hashes_held=held, memory=memory)
            == report(path, 10**9, 1, memory=memory))


@pytest.mark.usefixtures("small_chunks")
def test_the_property_spills_and_fetches(tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The tables of a ledger like the property's do move to disk, and repeats bring
    entries back from it, into the duplicates and hits counted in memory."""
    lines = [backlog(timestamp=_utc(START.timestamp() + 10 * index),
                     request_sha256=f"{index % 150:064x}", cache_hit=False)
             for index in range(300)]
    path = tmp_path / "ledger.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    fetched = []
    fetch = HashTable.fetch

    def counted(table: HashTable[Any], requests: Any) -> None:
        before = table.on_disk
        fetch(table, requests)
        fetched.append(before - table.on_disk)

    monkeypatch.setattr(HashTable, "fetch", counted)
    spilled = report(path, 10**9, 1, hashes_held=5)
    assert sum(fetched) > 0
    assert spilled == report(path, 10**9, 1)
    document = json.loads(spilled[0])
    assert document["duplicate_spend"]["requests"] == 150
    assert document["response_ttl_curve"]["points"][-1]["hits"] == 150


keys = st.one_of(st.sampled_from(HEX + ODD), st.text(max_size=70),
                 st.from_regex(r"\A[0-9a-fA-F]{64}\Z"))


@given(request=keys)
def test_a_key_on_disk_is_its_request(request: str) -> None:
    assert request_of(key_of(request)) == request


# What a test does to a table: write an entry (its hash fetched first, as the analyses
# do), spill, or drop the entries before or after a time.
operations = st.one_of(
    st.tuples(st.just("write"), keys, st.floats(0, 100),
              st.sampled_from([0, 10**15]), st.sampled_from([None, 0.1, 1e300])),
    st.tuples(st.just("spill")),
    st.tuples(st.sampled_from(["keep_from", "keep_until"]), st.floats(0, 100)))


@given(steps=st.lists(operations, max_size=40))
def test_a_spilled_table_is_one_dict(steps: list[tuple[Any, ...]]) -> None:
    table: HashTable[Waiting] = HashTable(Waiting, lambda spent: spent[0])
    model: dict[str, Waiting] = {}
    for step in steps:
        if step[0] == "write":
            _, request, moment, tokens, cost = step
            table.fetch([request])
            assert table.held.get(request) == model.get(request)
            table.held[request] = model[request] = (moment, tokens, tokens, cost)
        elif step[0] == "spill":
            table.spill()
        else:
            kept = {request: spent for request, spent in model.items()
                    if (spent[0] >= step[1] if step[0] == "keep_from" else spent[0] <= step[1])}
            assert getattr(table, step[0])(step[1]) == (len(kept) < len(model))
            model = kept
        assert len(table) == len(model)
    table.fetch(list(model))
    assert table.held == model and table.on_disk == 0


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records=merge_tests.ledger(), cut=st.integers(0, 50))
def test_a_later_stretch_merges_into_a_spilled_one(records: list[Record], cut: int) -> None:
    """The later stretch's hashes are fetched from the spilled one's disk before it
    merges: duplicate spend and the curve are one pass's (or the merge refuses)."""
    first, later = DuplicateSpend(3600), DuplicateSpend(3600)
    merge_tests.feed_duplicates(first, records[:cut])
    first.spill()
    merge_tests.feed_duplicates(later, records[cut:])
    first.settle()
    whole = DuplicateSpend(3600)
    merge_tests.feed_duplicates(whole, records)
    first.merge(later)
    assert merge_tests.spend(first) == merge_tests.spend(whole)
    curves = [ResponseTtlCurve(), ResponseTtlCurve(), ResponseTtlCurve()]
    curves[0].add(records[:cut])
    curves[0].spill()
    curves[1].add(records[cut:])
    curves[2].add(records)
    try:
        curves[0].merge(curves[1])
    except InexactMerge:
        return
    assert curves[0].to_json() == curves[2].to_json()
    curves[0].spill()
    curves[0].entries.fetch([r.request_sha256 for r in records if r.request_sha256])
    assert curves[0].entries.on_disk == 0


def _distinct_hashes(path: Path, count: int) -> None:
    """`count` requests 0.1 s apart, each its own request hash."""
    path.write_text("".join(
        json.dumps(backlog(timestamp=_utc(START.timestamp() + index / 10),
                           request_sha256=f"{index:064x}")) + "\n" for index in range(count)))


def test_hashes_on_disk_leave_nothing_behind(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    path = tmp_path / "ledger.jsonl"
    _distinct_hashes(path, 200)
    assert report(path, 10**9, 1, hashes_held=5) == report(path, 10**9, 1)
    assert list((tmp_path / "tmp").iterdir()) == []


def test_no_room_for_the_hashes_is_said_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    _distinct_hashes(path, 2000)
    process = run_on_a_full_disk(
        "from cache_gate.analyses import hash_spill; hash_spill.HASHES_HELD = 5",
        "report", "--ledger", str(path))
    assert said_in_one_line(process), process.stderr
    assert "request hashes" in process.stderr
