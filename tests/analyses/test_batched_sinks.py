"""The batched `add` of the miss causes and of the TTL advice equals their definition,
`observe` one request at a time, byte for byte: every lineage's state (in its order),
every cell, example and count, on batches cut anywhere.

`MissCauses.add` remembers a run of a lineage's silent hits (hits that write nothing)
by its last one; `TtlAdvice.add` simulates a lineage's later requests inline, each
model priced once a batch."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from cache_gate.analyses.miss_causes import MissCauses
from cache_gate.analyses.tuning_ttl import TtlAdvice
from cache_gate.ledger.record import Record
from cache_gate.models import load_model_minimums
from cache_gate.prices import load_prices

PRICES, MINIMUMS = load_prices(), load_model_minimums()
START = 1_795_000_000.0


@st.composite
def ledger(draw: st.DrawFn) -> list[Record]:
    """Few lineages, many hits that write nothing (runs of them), gaps around both TTLs,
    writes of both TTLs, priced, unpriced and unnamed models, undated requests."""
    moment = START
    records = []
    for _ in range(draw(st.integers(0, 60))):
        moment += draw(st.sampled_from([0, 30, 299, 300, 301, 1800, 3600, 3601, 7200, -400]))
        write = draw(st.sampled_from([None, 0, 0, 0, 2000]))
        fields: dict[str, Any] = {
            "time": draw(st.sampled_from([moment, moment, moment, None])),
            "workflow": draw(st.sampled_from([None, "impl", "review"])),
            "prompt_id": draw(st.sampled_from([None, "p1", "p1", "p1", "p2"])),
            "session": draw(st.sampled_from([None, None, "s1"])),
            "model": draw(st.sampled_from(["claude-sonnet-4-6", "claude-sonnet-4-6",
                                           "claude-haiku-4-5", "no-such-model", None])),
            "prefix_sha256": draw(st.sampled_from([None, "a", "a", "b"])),
            "uncached_input": draw(st.sampled_from([None, 100, 5000])),
            "cache_read": draw(st.sampled_from([None, 0, 900, 900])),
            "cache_write": write,
            "cache_write_1h": draw(st.sampled_from([None, 0, write])) if write else None,
            "prompt_cache_hit": draw(st.sampled_from([None, True, True, True, False])),
            "response_cache": draw(st.sampled_from([None, None, None, "hit", "miss"])),
            "miss_reason": draw(st.sampled_from([None, None, None, None, "system_changed"])),
        }
        records.append(Record("anthropic", **fields))
    return records


def batches(records: list[Record], cuts: list[int]) -> list[list[Record]]:
    bounds = [0, *sorted(min(cut, len(records)) for cut in cuts), len(records)]
    return [records[low:high] for low, high in pairwise(bounds)]


def causes_state(causes: MissCauses) -> bytes:
    """Everything a miss-cause analysis holds, undecided misses still waiting."""
    return msgspec.msgpack.encode([
        causes.eligible, [[*cell, cost] for cell, cost in causes.cells.items()],
        list(causes.avoidable_counts().items()), causes.lineages,
        [[cause, ordinal, record] for cause, (ordinal, record)
         in causes.first_examples().items()], sorted(causes._waiting)])


@settings(max_examples=300, deadline=None)
@given(records=ledger(), cuts=st.lists(st.integers(0, 60), max_size=4))
def test_the_miss_causes_batched_are_each_request_observed(records: list[Record],
                                                           cuts: list[int]) -> None:
    batched, one_by_one = MissCauses(PRICES, MINIMUMS), MissCauses(PRICES, MINIMUMS)
    for batch in batches(records, cuts):
        batched.add(batch)
        for record in batch:
            if record.eligible:
                one_by_one.observe(record)
        assert causes_state(batched) == causes_state(one_by_one)
    assert batched.to_json() == one_by_one.to_json()
    assert batched.examples == one_by_one.examples


def advice_state(advice: TtlAdvice) -> bytes:
    """Every lineage's simulation (in its order) and the ledger's span."""
    return msgspec.msgpack.encode([advice.lineages, advice.span])


@settings(max_examples=300, deadline=None)
@given(records=ledger(), cuts=st.lists(st.integers(0, 60), max_size=4))
def test_the_ttl_advice_batched_is_each_request_observed(records: list[Record],
                                                         cuts: list[int]) -> None:
    batched, one_by_one = TtlAdvice(PRICES), TtlAdvice(PRICES)
    for batch in batches(records, cuts):
        batched.add(batch)
        for record in batch:  # the definition: every dated record spans the ledger,
            moment, read, write = record.time, record.cache_read, record.cache_write
            if moment is None:
                continue
            one_by_one.span.see(moment)
            # and the eligible ones that read or wrote are simulated.
            if read is not None and write is not None and read + write > 0 \
                    and record.eligible:
                one_by_one.observe(record, moment, read, write)
        assert advice_state(batched) == advice_state(one_by_one)
    assert batched.to_json() == one_by_one.to_json()
