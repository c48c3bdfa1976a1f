"""The response cache TTL curve and the semantic threshold curve, held against plain
references (no pruning, no histogram) on random sequences, and cases by hand."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cache_gate.analyses.tuning import Tuning
from cache_gate.analyses.tuning_curves import (
    RESPONSE_TTLS,
    ResponseTtlCurve,
    SemanticThresholdCurve,
    bucket,
)
from cache_gate.ledger.record import Record
from cache_gate.prices import load_prices

START = 1_795_000_000.0

# --- the references --------------------------------------------------------------


def reference_response(records: list[Record],
                       ttls: tuple[float, ...] = RESPONSE_TTLS) -> dict[str, Any]:
    """Every TTL replayed on its own, every hash kept for ever."""
    points = []
    for ttl in ttls:
        written: dict[str, float] = {}
        hits = tokens = unpriced = 0
        cost = 0.0
        for r in records:
            if r.request_sha256 is None or r.time is None:
                continue
            previous = written.get(r.request_sha256)
            if previous is not None and abs(r.time - previous) <= ttl:
                hits += 1
                tokens += ((r.uncached_input or 0) + (r.cache_read or 0)
                           + (r.cache_write or 0) + (r.output_tokens or 0))
                served = r.response_cache == "hit" or r.semantic_cache == "hit"
                if r.cost is None or served:
                    unpriced += 1
                else:
                    cost += r.cost
            else:
                written[r.request_sha256] = r.time
        points.append({"ttl_s": ttl, "hits": hits, "tokens_saved": tokens,
                       "cost_saved_usd": None if hits and unpriced == hits else cost,
                       "unpriced_hits": unpriced})
    most = max(point["hits"] for point in points)
    recommended = None
    if most:
        recommended = next(p["ttl_s"] for p in points if 10 * p["hits"] >= 9 * most)
    return {"points": points, "recommended_ttl_s": recommended}


def reference_semantic(records: list[Record]) -> dict[str, Any]:
    scored = [r for r in records if r.semantic_similarity is not None]
    points = []
    for hundredths in range(80, 97):
        threshold = hundredths / 100
        hits = [r for r in scored if r.semantic_similarity >= threshold]
        useless = [r for r in hits if r.semantic_useful is False]
        points.append({"threshold": threshold, "hits": len(hits),
                       "known_useless": len(useless)})
    recommended = next((p["threshold"] for p in points
                        if p["hits"] and 20 * p["known_useless"] <= p["hits"]), None)
    return {"points": points, "recommended": recommended}


def assert_response_same(curve: ResponseTtlCurve, expected: dict[str, Any]) -> None:
    shown = curve.to_json()
    assert shown["recommended_ttl_s"] == expected["recommended_ttl_s"]
    got_points = shown["points"]
    assert isinstance(got_points, list)
    for got, want in zip(got_points, expected["points"], strict=True):
        assert (got["ttl_s"], got["hits"], got["tokens_saved"], got["unpriced_hits"]) == (
            want["ttl_s"], want["hits"], want["tokens_saved"], want["unpriced_hits"])
        if want["cost_saved_usd"] is None:
            assert got["cost_saved_usd"] is None
        else:
            assert got["cost_saved_usd"] == pytest.approx(want["cost_saved_usd"], abs=1e-6)


# --- random sequences ------------------------------------------------------------

BOUNDARIES = st.sampled_from([0, 1, 899, 900, 901, 1799, 1800, 3600, 3601, 7200, 14400,
                              86399, 86400, 86401, 100_000])
GAPS = st.one_of(BOUNDARIES, st.integers(0, 5000), st.integers(0, 200_000)).map(float)
SIMILARITIES = st.one_of(
    st.sampled_from([k / 100 for k in range(70, 101)]),
    st.integers(70, 100).map(lambda k: math.nextafter(k / 100, 0)),
    st.floats(0, 1), st.floats(-2, 3, allow_nan=False))


@st.composite
def hashed(draw: st.DrawFn, moment: float | None) -> Record:
    fields: dict[str, Any] = {
        "time": moment,
        "request_sha256": draw(st.sampled_from([None, "a", "a", "b", "c", "d"])),
        "uncached_input": draw(st.sampled_from([None, 10, 1000])),
        "cache_read": draw(st.sampled_from([None, 0, 500])),
        "output_tokens": draw(st.sampled_from([None, 50])),
        "cost": draw(st.sampled_from([None, 0.01, 0.25])),
        "response_cache": draw(st.sampled_from([None, None, "miss", "hit"])),
        "semantic_cache": draw(st.sampled_from([None, None, "miss", "hit"])),
        "semantic_similarity": draw(st.one_of(st.none(), SIMILARITIES)),
        "semantic_useful": draw(st.sampled_from([None, True, True, False])),
    }
    return Record("backlog", **fields)


@st.composite
def ledgers(draw: st.DrawFn, ordered: bool) -> list[Record]:
    size = draw(st.integers(0, 60))
    moment = START
    records = []
    for _ in range(size):
        if ordered:
            moment += draw(GAPS)
            at: float | None = moment
        else:
            at = draw(st.one_of(st.none(), st.integers(0, 300_000).map(lambda t: START + t)))
        records.append(draw(hashed(at)))
    return records


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records=ledgers(ordered=True), memory=st.integers(0, 3), cut=st.integers(0, 60))
def test_response_curve_with_pruning_is_exact_in_time_order(records: list[Record], memory: int,
                                                            cut: int) -> None:
    curve = ResponseTtlCurve(memory=memory)
    curve.add(records[:cut])
    curve.add(records[cut:])
    assert_response_same(curve, reference_response(records))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records=ledgers(ordered=False))
def test_response_curve_out_of_order_is_exact_while_nothing_is_dropped(
        records: list[Record]) -> None:
    curve = ResponseTtlCurve()
    curve.add(records)
    assert_response_same(curve, reference_response(records))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records=ledgers(ordered=True), extra=st.sampled_from([60.0, 900.0, 2500.0, 1e9]))
def test_a_configured_ttl_is_replayed_exactly(records: list[Record], extra: float) -> None:
    curve = ResponseTtlCurve(also=[extra], memory=1)
    curve.add(records)
    [expected] = reference_response(records, (extra,))["points"]
    point = curve.point(extra)
    assert (point.hits, point.tokens_saved, point.unpriced_hits) == (
        expected["hits"], expected["tokens_saved"], expected["unpriced_hits"])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records=ledgers(ordered=False), cut=st.integers(0, 60))
def test_semantic_curve_agrees_with_the_reference(records: list[Record], cut: int) -> None:
    curve = SemanticThresholdCurve()
    curve.add(records[:cut])
    curve.add(records[cut:])
    shown = curve.to_json()
    expected = reference_semantic(records)
    assert shown["points"] == expected["points"]
    assert shown["recommended"] == expected["recommended"]


@given(similarity=SIMILARITIES)
def test_the_bucket_of_a_score_is_what_comparing_with_each_threshold_says(
        similarity: float) -> None:
    found = bucket(similarity)
    for hundredths in range(80, 97):
        assert (similarity >= hundredths / 100) == (found is not None and found >= hundredths)


# --- cases by hand: the response cache -----------------------------------------------


def repeat(at: float, request: str = "a", **fields: Any) -> Record:
    defaults: dict[str, Any] = {"uncached_input": 900, "cache_read": 100, "output_tokens": 50,
                                "cost": 0.02}
    defaults.update(fields)
    return Record("backlog", time=START + at, request_sha256=request, **defaults)


def point_at(curve: ResponseTtlCurve, ttl: float) -> dict[str, Any]:
    return next(p for p in curve.to_json()["points"]
                if p["ttl_s"] == ttl)


def test_hits_do_not_extend_an_entry() -> None:
    curve = ResponseTtlCurve()
    curve.add([repeat(0), repeat(800), repeat(1600)])
    # At 15 minutes: written at 0, hit at 800, expired by 1600 (written anew).
    assert point_at(curve, 900)["hits"] == 1
    assert point_at(curve, 1800)["hits"] == 2


def test_a_hit_saves_the_whole_request_and_its_logged_cost() -> None:
    curve = ResponseTtlCurve()
    curve.add([repeat(0), repeat(60)])
    assert point_at(curve, 900) == {"ttl_s": 900, "hits": 1, "tokens_saved": 1050,
                                    "cost_saved_usd": 0.02, "unpriced_hits": 0}


def test_unknown_costs_are_counted_apart_never_as_zero() -> None:
    curve = ResponseTtlCurve()
    curve.add([repeat(0), repeat(60, cost=None), repeat(120, request="b"),
               repeat(180, request="b", cost=0.0, response_cache="hit")])
    point = point_at(curve, 900)
    assert (point["hits"], point["unpriced_hits"], point["cost_saved_usd"]) == (2, 2, None)
    curve.add([repeat(240, request="b")])
    assert point_at(curve, 900)["cost_saved_usd"] == 0.02


def test_the_recommended_ttl_is_the_shortest_with_90_percent_of_the_most_hits() -> None:
    records = []
    for n in range(10):
        records += [repeat(n * 100_000, f"r{n}"), repeat(n * 100_000 + 5000, f"r{n}")]
    records += [repeat(2_000_000, "late"), repeat(2_000_000 + 80_000, "late")]
    curve = ResponseTtlCurve()
    curve.add(records)
    hits = [point["hits"] for point in curve.to_json()["points"]]
    assert hits == [0, 0, 0, 10, 10, 11]
    # 10 of the 11 hits at 2 h: over 90%.
    assert curve.to_json()["recommended_ttl_s"] == 7200


def test_no_hits_no_recommendation() -> None:
    curve = ResponseTtlCurve()
    curve.add([repeat(0, "a"), repeat(10, "b"), repeat(200_000, "a")])
    shown = curve.to_json()
    assert shown["recommended_ttl_s"] is None and shown["requests"] == 3


def test_an_entry_exactly_the_longest_ttl_old_is_kept() -> None:
    curve = ResponseTtlCurve(memory=2)  # "c" makes three hashes: pruned then
    curve.add([repeat(0, "a"), repeat(86400, "b"), repeat(86400, "c"), repeat(86400, "a")])
    assert point_at(curve, 86400)["hits"] == 1


def test_expired_entries_are_dropped() -> None:
    curve = ResponseTtlCurve(memory=100)
    curve.add([repeat(n * 1000.0, f"r{n}") for n in range(1000)])
    # 1,000 s apart: only the last day's hashes (87) can still hit.
    assert len(curve.entries) <= 200
    assert curve.requests == 1000


# --- cases by hand: the semantic threshold -------------------------------------------


def scored(similarity: float, useful: bool | None = True) -> Record:
    return Record("backlog", semantic_cache="hit", semantic_similarity=similarity,
                  semantic_useful=useful)


def test_a_score_on_a_threshold_hits_it() -> None:
    curve = SemanticThresholdCurve()
    curve.add([scored(0.29 + 0.52), scored(0.88)])  # 0.81 by float arithmetic, and 0.88
    points = {p.threshold: p.hits for p in curve.points}
    assert points[0.88] == 1 and points[0.89] == 0
    assert points[0.81] == (2 if 0.29 + 0.52 >= 0.81 else 1)


def test_the_recommended_threshold_is_the_lowest_with_at_most_5_percent_known_useless() -> None:
    records = ([scored(0.84, useful=False)] * 2 + [scored(0.86)] * 10
               + [scored(0.90, useful=False)] + [scored(0.93)] * 30)
    curve = SemanticThresholdCurve()
    curve.add(records)
    shown = curve.to_json()
    by_threshold = {p["threshold"]: (p["hits"], p["known_useless"])
                    for p in shown["points"]}
    assert by_threshold[0.84] == (43, 3)  # 7%
    assert by_threshold[0.85] == (41, 1)  # 2.4%
    assert shown["recommended"] == 0.85
    assert (shown["requests"], shown["judged"]) == (43, 43)


def test_no_scores_at_or_above_080_no_recommendation() -> None:
    curve = SemanticThresholdCurve()
    curve.add([scored(0.5), scored(0.79)])
    shown = curve.to_json()
    assert shown["recommended"] is None
    assert all(p["hits"] == 0 for p in shown["points"])


def test_a_configured_threshold_off_the_grid_is_counted_exactly() -> None:
    curve = SemanticThresholdCurve(also=[0.885])
    curve.add([scored(0.884), scored(0.885, useful=False), scored(0.9)])
    point = curve.at(0.885)
    assert (point.hits, point.known_useless) == (2, 1)


# --- the sink as a whole -----------------------------------------------------------


def test_the_sink_gives_the_contract_keys() -> None:
    tuning = Tuning(load_prices())
    tuning.add([repeat(0), repeat(60), scored(0.9)])
    shown = tuning.to_json()
    assert list(shown) == ["ttl_advice", "ttl_advice_left_out", "ttl_gap_bins_s",
                           "response_ttl_curve", "semantic_threshold_curve"]
    response = shown["response_ttl_curve"]
    semantic = shown["semantic_threshold_curve"]
    assert isinstance(response, dict) and isinstance(semantic, dict)
    assert {"points", "recommended_ttl_s"} <= set(response)
    assert list(response["points"][0])[:4] == ["ttl_s", "hits", "tokens_saved",
                                               "cost_saved_usd"]
    assert [p["ttl_s"] for p in response["points"]] == list(RESPONSE_TTLS)
    assert {"points", "recommended"} <= set(semantic)
    assert list(semantic["points"][0]) == ["threshold", "hits", "known_useless"]
    assert [p["threshold"] for p in semantic["points"]] == [k / 100 for k in range(80, 97)]
    assert tuning.findings("ledger.jsonl") == []
