"""The miss causes of a ledger read in stretches, each from a fresh sink, and merged in
ledger order (as the parallel reader does) are exactly those of one pass: every
cause, cost, example, avoidable count and the worst lineage; whichever way the merges
are grouped."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from cache_gate.analyses.miss_causes import MissCauses
from cache_gate.ledger.record import Record
from cache_gate.models import load_model_minimums
from cache_gate.prices import load_prices

PRICES, MINIMUMS = load_prices(), load_model_minimums()
START = 1_795_000_000.0


@st.composite
def ledger(draw: st.DrawFn) -> list[Record]:
    """Few lineages, so that they have histories; gaps around the two TTLs."""
    moment = START
    records = []
    for _ in range(draw(st.integers(0, 50))):
        moment += draw(st.sampled_from([0, 30, 299, 301, 1800, 3599, 3601, 7200]))
        write = draw(st.sampled_from([None, 0, 0, 2000, 2000]))
        fields: dict[str, Any] = {
            "time": draw(st.sampled_from([moment, moment, moment, None])),
            "workflow": draw(st.sampled_from([None, "impl", "review"])),
            "prompt_id": draw(st.sampled_from([None, "p1", "p1", "p2"])),
            "session": draw(st.sampled_from([None, None, "s1"])),
            "model": draw(st.sampled_from(["claude-sonnet-4-6", "claude-sonnet-4-6",
                                           "claude-haiku-4-5", "no-such-model", None])),
            "prefix_sha256": draw(st.sampled_from([None, "a", "a", "b"])),
            "uncached_input": draw(st.sampled_from([None, 100, 5000])),
            "cache_read": draw(st.sampled_from([None, 0, 0, 900])),
            "cache_write": write,
            "cache_write_1h": draw(st.sampled_from([None, 0, write])) if write else None,
            "prompt_cache_hit": draw(st.sampled_from([None, True, False, False, False])),
            "response_cache": draw(st.sampled_from([None, None, None, "hit", "miss"])),
            "miss_reason": draw(st.sampled_from([None, None, None, None, "system_changed"])),
        }
        records.append(Record("anthropic", **fields))
    return records


def outcome(causes: MissCauses) -> dict[str, object]:
    return {"json": causes.to_json(), "avoidable": dict(causes.avoidable_by_group),
            "examples": causes.examples, "worst": causes.worst_lineage(),
            "eligible": causes.eligible}


def read(records: list[Record]) -> MissCauses:
    causes = MissCauses(PRICES, MINIMUMS)
    causes.add(records)
    return causes


@settings(max_examples=400, deadline=None)
@given(records=ledger(), cuts=st.lists(st.integers(0, 50), max_size=4), right=st.booleans())
def test_stretches_merged_in_order_are_one_pass(records: list[Record], cuts: list[int],
                                                right: bool) -> None:
    bounds = [0, *sorted(min(cut, len(records)) for cut in cuts), len(records)]
    parts = [read(records[low:high]) for low, high in pairwise(bounds)]
    if right:  # (A + (B + C)): a merged stretch is itself a stretch
        while len(parts) > 1:
            parts[-2].merge(parts[-1])
            parts.pop()
    else:
        for part in parts[1:]:
            parts[0].merge(part)
    assert outcome(parts[0]) == outcome(read(records))


def test_a_miss_waits_for_the_stretch_before_it() -> None:
    """A write-miss first in its stretch: `cold` alone, `ttl_expired` once the stretch
    before it says the lineage wrote two hours earlier."""
    first = Record("anthropic", time=START, prompt_id="p", model="claude-sonnet-4-6",
                   uncached_input=100, cache_read=0, cache_write=2000, prompt_cache_hit=False)
    second = Record("anthropic", time=START + 7200, prompt_id="p", model="claude-sonnet-4-6",
                    uncached_input=100, cache_read=0, cache_write=2000,
                    prompt_cache_hit=False)
    alone = read([second])
    assert {cause: cost.requests for cause, cost in alone.overall.items()} == {"cold": 1}
    before, after = read([first]), read([second])
    before.merge(after)
    assert {cause: cost.requests for cause, cost in before.overall.items()} == {
        "cold": 1, "ttl_expired": 1}


def test_a_read_does_not_tell_the_entrys_ttl() -> None:
    """A 1-hour write, then (next stretch) a read that writes nothing, then a miss 301 s
    later: the entry still lives an hour (the read refreshed it, at its TTL), so the
    miss changed within the TTL, whichever stretch the read is in."""
    model = "claude-sonnet-4-6"
    write = Record("anthropic", time=START, prompt_id="p", model=model, uncached_input=100,
                   cache_read=0, cache_write=2000, cache_write_1h=2000, prompt_cache_hit=False)
    read_ = Record("anthropic", time=START + 60, prompt_id="p", model=model,
                   uncached_input=100, cache_read=2000, cache_write=0, prompt_cache_hit=True)
    miss = Record("anthropic", time=START + 361, prompt_id="p", model=model,
                  uncached_input=100, cache_read=0, cache_write=2000, prompt_cache_hit=False)
    for cut in range(4):
        stretches = [read(part) for part in ([write, read_, miss][:cut],
                                             [write, read_, miss][cut:])]
        stretches[0].merge(stretches[1])
        assert {cause: cost.requests for cause, cost in stretches[0].overall.items()} == {
            "cold": 1, "changed_within_ttl": 1}, cut
