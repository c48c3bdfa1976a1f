"""The report's sink read in stretches, each from a fresh sink, and merged in ledger
order (as the parallel reader does) is exactly one pass: every part of it (the
breakdowns, cache tokens, prefix hashes, duplicate spend, the miss causes, the TTL
advice, the two curves) and the whole report, JSON and text, byte for byte; whichever
way the merges are grouped. Where a part cannot merge exactly (the response cache
curve across a repeat; a table that dropped entries on a ledger out of time order) the
merge raises `InexactMerge` and nothing else happens: the gate then reads in one pass."""

from __future__ import annotations

from collections.abc import Callable
from itertools import pairwise
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cache_gate.analyses import breakdowns
from cache_gate.analyses.breakdowns import Analytics
from cache_gate.analyses.duplicate_spend import DuplicateSpend
from cache_gate.analyses.merging import InexactMerge
from cache_gate.analyses.miss_causes import MissCauses
from cache_gate.analyses.tuning import Tuning
from cache_gate.analyses.tuning_curves import ResponseTtlCurve, SemanticThresholdCurve
from cache_gate.analyses.tuning_ttl import TtlAdvice
from cache_gate.config import Settings
from cache_gate.gates.kpi import LedgerOptions
from cache_gate.gates.report import report_result
from cache_gate.ledger.reading import LedgerStats
from cache_gate.ledger.record import Record
from cache_gate.models import load_model_minimums
from cache_gate.prices import load_prices
from cache_gate.reporters import RenderContext, get

PRICES, MINIMUMS = load_prices(), load_model_minimums()
START = 1_795_000_000.0
# Gaps at the edges that matter: the two prompt cache TTLs, the duplicate TTL (1 h),
# the response curve's TTLs (up to a day).
GAPS = st.sampled_from([0, 30, 299, 301, 900, 1800, 3599, 3600, 3601, 7200, 86400, 86401])
# Prompt p3 drifts over more hashes than are kept.
PREFIXES = {"p1": ["a", "a", "b"], "p2": ["c"], "p3": [f"h{n:02}" for n in range(30)]}


@st.composite
def record(draw: st.DrawFn, moment: float | None) -> Record:
    prompt = draw(st.sampled_from([None, "p1", "p1", "p2", "p3"]))
    write = draw(st.sampled_from([None, 0, 0, 2000, 2000]))
    fields: dict[str, Any] = {
        "time": moment,
        "workflow": draw(st.sampled_from([None, "impl", "review"])),
        "phase": draw(st.sampled_from([None, "plan", "build"])),
        "prompt_id": prompt,
        "session": draw(st.sampled_from([None, None, "s1"])),
        "model": draw(st.sampled_from(["claude-sonnet-4-6", "claude-sonnet-4-6",
                                       "claude-haiku-4-5", "no-such-model", None])),
        "prefix_sha256": draw(st.sampled_from([None, *PREFIXES[prompt or "p1"]])),
        "request_sha256": draw(st.sampled_from([None, "r1", "r1", "r2", "r3"])),
        "uncached_input": draw(st.sampled_from([None, 100, 5000])),
        "cache_read": draw(st.sampled_from([None, 0, 0, 900])),
        "cache_write": write,
        "cache_write_1h": draw(st.sampled_from([None, 0, write])) if write else None,
        "output_tokens": draw(st.sampled_from([None, 50])),
        "cost": draw(st.sampled_from([None, 0.01, 0.1, 0.3])),
        "prompt_cache_hit": draw(st.sampled_from([None, True, False, False])),
        "response_cache": draw(st.sampled_from([None, None, None, "hit", "miss"])),
        "semantic_cache": draw(st.sampled_from([None, None, "hit", "miss"])),
        "semantic_similarity": draw(st.sampled_from([None, None, 0.79, 0.8, 0.855, 0.99])),
        "semantic_useful": draw(st.sampled_from([None, True, False])),
        "miss_reason": draw(st.sampled_from([None, None, None, "system_changed"])),
        "aggregate": draw(st.integers(0, 19)) == 0,
    }
    return Record("backlog", **fields)


@st.composite
def ledger(draw: st.DrawFn, ordered: bool | None = None) -> list[Record]:
    """In time order (times rarely missing), or not at all."""
    in_order = draw(st.booleans()) if ordered is None else ordered
    moment = START
    records = []
    for _ in range(draw(st.integers(0, 50))):
        if in_order:
            moment += draw(GAPS)
            at: float | None = draw(st.sampled_from([moment] * 9 + [None]))
        else:
            at = draw(st.one_of(st.none(), st.integers(0, 200_000).map(lambda t: START + t)))
        records.append(draw(record(at)))
    return records


cuts = st.lists(st.integers(0, 50), max_size=4)
S = TypeVar("S")


def merged(records: list[Record], where: list[int], right: bool, make: Callable[[], S],
           add: Callable[[S, list[Record]], None], merge: Callable[[S, S], None]) -> S:
    """The stretches between the cuts, each read into a fresh sink, merged in ledger
    order: left to right, or (A + (B + C)): a merged stretch is itself a stretch."""
    bounds = [0, *sorted(min(cut, len(records)) for cut in where), len(records)]
    parts = []
    for low, high in pairwise(bounds):
        part = make()
        add(part, records[low:high])
        parts.append(part)
    if right:
        while len(parts) > 1:
            merge(parts[-2], parts[-1])
            parts.pop()
    else:
        for part in parts[1:]:
            merge(parts[0], part)
    return parts[0]


def one_pass(records: list[Record], make: Callable[[], S],
             add: Callable[[S, list[Record]], None]) -> S:
    sink = make()
    add(sink, records)
    return sink


def analytics() -> Analytics:
    return Analytics(causes=MissCauses(PRICES, MINIMUMS), tuning=Tuning(PRICES))


def document(sink: Analytics) -> tuple[str, str]:
    """The report, JSON and text, of a ledger read into `sink`."""
    stats = LedgerStats("ledger.jsonl", records=1)
    options = LedgerOptions("ledger.jsonl", targets=dict(Settings().targets))
    result = report_result(sink, stats, options, Settings())
    context = RenderContext(0)
    return get("json")(result, context), get("text")(result, context)


def add_records(sink: Any, records: list[Record]) -> None:
    sink.add(records)


def merge_into(sink: Any, later: Any) -> None:
    sink.merge(later)


# --- the whole report ------------------------------------------------------------------


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records=ledger(), where=cuts, right=st.booleans())
def test_the_report_of_stretches_merged_in_order_is_one_pass(
        records: list[Record], where: list[int], right: bool) -> None:
    try:
        parts = merged(records, where, right, analytics, add_records, merge_into)
    except InexactMerge:
        return  # read in one pass instead (the gate's fallback: tests/gates)
    assert document(parts) == document(one_pass(records, analytics, add_records))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records=ledger(), where=cuts, right=st.booleans())
def test_the_report_without_request_hashes_always_merges(
        records: list[Record], where: list[int], right: bool) -> None:
    """No request hash, no repeat: every ledger merges (in or out of time order), and
    the report is one pass's."""
    records = [_without_hash(r) for r in records]
    parts = merged(records, where, right, analytics, add_records, merge_into)
    assert document(parts) == document(one_pass(records, analytics, add_records))


def _without_hash(record: Record) -> Record:
    fields = {name: getattr(record, name) for name in record.__struct_fields__}
    fields["request_sha256"] = None
    return Record(**fields)


def test_merging_stretches_read_apart_is_exercised() -> None:
    """The properties above do merge (not only raise): a ledger of two stretches with a
    repeat in each, a day apart, merges."""
    early = [Record("backlog", time=START + n, request_sha256="r1", prompt_id="p1",
                    prefix_sha256="a", cost=0.1, prompt_cache_hit=False) for n in (0, 10)]
    late = [Record("backlog", time=START + 90_000 + n, request_sha256="r1", prompt_id="p1",
                   prefix_sha256="b", cost=0.1, prompt_cache_hit=False) for n in (0, 10)]
    parts = merged(early + late, [2], False, analytics, add_records, merge_into)
    assert document(parts) == document(one_pass(early + late, analytics, add_records))
    assert parts.duplicates.requests == 2


# --- each part -------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(records=ledger(), where=cuts, right=st.booleans())
def test_breakdowns_cache_tokens_and_prefixes(records: list[Record], where: list[int],
                                              right: bool) -> None:
    def make() -> Analytics:
        return Analytics()

    def parts(sink: Analytics) -> object:
        return (list(sink.tally.groups.items()), list(sink.by_phase.items()),
                list(sink.by_model.items()), list(sink.by_day.items()),
                {model: vars(tokens) for model, tokens in sink.cache_tokens.items()},
                list(sink.cache_tokens),
                {prompt: list(hashes.items()) for prompt, hashes in sink.prefixes.items()})

    records = [_without_hash(r) for r in records]
    assert parts(merged(records, where, right, make, add_records, merge_into)) == parts(
        one_pass(records, make, add_records))


@settings(max_examples=200, deadline=None)
@given(prefixes=st.lists(st.sampled_from(PREFIXES["p3"]), min_size=20, max_size=80),
       where=st.lists(st.integers(0, 80), max_size=4), right=st.booleans())
def test_the_prefixes_kept_are_the_smallest_with_their_exact_counts(
        prefixes: list[str], where: list[int], right: bool) -> None:
    records = [Record("backlog", prompt_id="p3", prefix_sha256=p) for p in prefixes]

    def make() -> Analytics:
        return Analytics()

    got = merged(records, where, right, make, add_records, merge_into).prefixes
    smallest = sorted(set(prefixes))[:breakdowns.PREFIXES_KEPT]
    first_seen = list(dict.fromkeys(p for p in prefixes if p in smallest))
    assert list(got.get("p3", {}).items()) == [(p, prefixes.count(p)) for p in first_seen]


def spend(sink: DuplicateSpend) -> tuple[int, ...]:
    return (sink.requests, sink.input_tokens, sink.output_tokens, sink.picodollars,
            sink.unpriced)


def feed_duplicates(sink: DuplicateSpend, records: list[Record]) -> None:
    for r in records:
        if r.request_sha256 is not None and r.time is not None:
            sink.add(r, r.request_sha256, r.time)


@settings(max_examples=200, deadline=None)
@given(records=ledger(), where=cuts, right=st.booleans(), ttl=st.sampled_from([300, 3600]))
def test_duplicate_spend(records: list[Record], where: list[int], right: bool,
                         ttl: float) -> None:
    """Without pruning, every ledger merges: the first request of a hash in a stretch
    waits for the stretch before."""
    def make() -> DuplicateSpend:
        return DuplicateSpend(ttl)

    assert spend(merged(records, where, right, make, feed_duplicates, merge_into)) == spend(
        one_pass(records, make, feed_duplicates))


@settings(max_examples=200, deadline=None)
@given(records=ledger(ordered=True), where=cuts, right=st.booleans(),
       memory=st.integers(0, 3))
def test_duplicate_spend_in_bounded_memory_in_time_order(
        records: list[Record], where: list[int], right: bool, memory: int) -> None:
    """Dropping expired hashes (a tiny memory) is exact in time order, in one pass
    and merged, and then no merge is refused."""
    def make() -> DuplicateSpend:
        return DuplicateSpend(3600, memory=memory)

    expected = spend(one_pass(records, lambda: DuplicateSpend(3600), feed_duplicates))
    assert spend(one_pass(records, make, feed_duplicates)) == expected
    assert spend(merged(records, where, right, make, feed_duplicates, merge_into)) == expected


@settings(max_examples=200, deadline=None)
@given(records=ledger(ordered=False), where=cuts, right=st.booleans(),
       memory=st.integers(0, 3))
def test_duplicate_spend_merges_exactly_or_not_at_all_out_of_time_order(
        records: list[Record], where: list[int], right: bool, memory: int) -> None:
    """Out of time order, dropping may lose a repeat: a merge then refuses, and where it
    does not, it is exact (the unbounded one pass's answer)."""
    def make() -> DuplicateSpend:
        return DuplicateSpend(3600, memory=memory)

    expected = spend(one_pass(records, lambda: DuplicateSpend(3600), feed_duplicates))
    try:
        got = merged(records, where, right, make, feed_duplicates, merge_into)
    except InexactMerge:
        return
    if where or not got.horizon.uncertain:  # one stretch alone is not merged: no check
        assert spend(got) == expected


def curve(sink: ResponseTtlCurve) -> object:
    return sink.to_json()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records=ledger(), where=cuts, right=st.booleans(), memory=st.sampled_from([0, 2, 10**6]))
def test_response_curve_merges_exactly_or_not_at_all(
        records: list[Record], where: list[int], right: bool, memory: int) -> None:
    def make() -> ResponseTtlCurve:
        return ResponseTtlCurve(memory=memory)

    expected = curve(one_pass(records, ResponseTtlCurve, add_records))
    try:
        got = merged(records, where, right, make, add_records, merge_into)
    except InexactMerge:
        return
    if where or not got.horizon.uncertain:  # one stretch alone is not merged: no check
        assert curve(got) == expected


@settings(max_examples=200, deadline=None)
@given(records=ledger(ordered=True), where=cuts, memory=st.integers(0, 3))
def test_response_curve_merges_where_no_hash_repeats_within_a_day_across_a_cut(
        records: list[Record], where: list[int], memory: int) -> None:
    """In time order, a merge is refused only for a hash whose first request in a
    stretch comes within the longest TTL (a day) of its last entry before."""
    bounds = [0, *sorted(min(cut, len(records)) for cut in where), len(records)]
    dated = [r for r in records if r.request_sha256 is not None and r.time is not None]
    crossing = False
    for cut in bounds[1:-1]:
        before = [r for r in records[:cut] if r in dated]
        for r in records[cut:]:
            if r in dated and any(b.request_sha256 == r.request_sha256
                                  and r.time - b.time <= 86400 for b in before):  # type: ignore[operator]
                crossing = True

    def make() -> ResponseTtlCurve:
        return ResponseTtlCurve(memory=memory)

    try:
        got = merged(records, where, False, make, add_records, merge_into)
    except InexactMerge:
        assert crossing
        return
    assert curve(got) == curve(one_pass(records, ResponseTtlCurve, add_records))


@settings(max_examples=200, deadline=None)
@given(records=ledger(), where=cuts, right=st.booleans())
def test_semantic_curve(records: list[Record], where: list[int], right: bool) -> None:
    def make() -> SemanticThresholdCurve:
        return SemanticThresholdCurve(also=[0.855, 0.9])

    def seen(sink: SemanticThresholdCurve) -> object:
        return sink.to_json(), sink.at(0.855), sink.at(0.9)

    assert seen(merged(records, where, right, make, add_records, merge_into)) == seen(
        one_pass(records, make, add_records))


@settings(max_examples=200, deadline=None)
@given(records=ledger(), where=cuts, right=st.booleans())
def test_ttl_advice(records: list[Record], where: list[int], right: bool) -> None:
    """Each lineage's first request in a stretch waits for the stretch before: its gap,
    its cost, and what it does to an open 1-hour write."""
    def make() -> TtlAdvice:
        return TtlAdvice(PRICES)

    def seen(sink: TtlAdvice) -> object:
        return [row.to_json() for row in sink.advice()], sink.to_json()

    assert seen(merged(records, where, right, make, add_records, merge_into)) == seen(
        one_pass(records, make, add_records))


def test_a_1_hour_write_paid_back_across_a_cut() -> None:
    """A 1-hour write, then (next stretch) a read 20 minutes later, then a write: the
    write was paid back, whichever stretch the read is in."""
    model = "claude-sonnet-4-6"
    write: dict[str, Any] = {"prompt_id": "p", "model": model, "uncached_input": 100,
                             "cache_read": 0, "cache_write": 2000, "cache_write_1h": 2000,
                             "prompt_cache_hit": False}
    read = {**write, "cache_read": 2000, "cache_write": 0, "cache_write_1h": None,
            "prompt_cache_hit": True}
    ledger_ = [Record("backlog", time=START, **write),
               Record("backlog", time=START + 1200, **read),
               Record("backlog", time=START + 1300, **write)]
    for cut in range(4):
        parts = merged(ledger_, [cut], False, lambda: TtlAdvice(PRICES), add_records,
                       merge_into)
        [row] = parts.advice()
        assert (row.requests, row.unpaid_1h_writes) == (3, 0), cut


def test_a_repeat_across_a_cut_is_refused_by_the_response_curve() -> None:
    records = [Record("backlog", time=START + n, request_sha256="r1") for n in (0, 600)]
    first, second = ResponseTtlCurve(), ResponseTtlCurve()
    first.add(records[:1])
    second.add(records[1:])
    with pytest.raises(InexactMerge):
        first.merge(second)
