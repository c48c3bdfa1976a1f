"""A transcript's stretch read apart (`jsonl.survivors`): the records it hands on,
taken after whatever came before the stretch, give what one pass gives."""

from __future__ import annotations

import io
from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from cache_gate.ledger.jsonl import survivors
from cache_gate.ledger.jsonl.survivors import Survivors
from cache_gate.ledger.record import Record
from cache_gate.ledger.requests import Requests


@dataclass
class Counts:
    duplicates: int = 0
    late_winners: int = 0


def _record(key: str | None, tokens: int, moment: int) -> Record:
    return Record("claude-code", float(moment), output_tokens=tokens, dedup_key=key)


records = st.lists(st.tuples(st.sampled_from([None, "a", "b", "c", "d", "e"]),
                             st.integers(0, 4)), max_size=40)


def _shown(handed: list[Record]) -> list[tuple[str | None, int | None, float | None]]:
    return [(record.dedup_key, record.output_tokens, record.time) for record in handed]


@settings(max_examples=500, deadline=None)
@given(before=records, stretch=records, window=st.integers(1, 4),
       cuts=st.lists(st.integers(0, 40), max_size=4), remembered=st.integers(1, 4))
def test_a_stretch_read_apart_hands_on_what_one_pass_does(
        before: list[tuple[str | None, int]], stretch: list[tuple[str | None, int]],
        window: int, cuts: list[int], remembered: int) -> None:
    saved, survivors.REMEMBERED = survivors.REMEMBERED, remembered
    try:
        _check(before, stretch, window, cuts)
    finally:
        survivors.REMEMBERED = saved


def _check(before: list[tuple[str | None, int]], stretch: list[tuple[str | None, int]],
           window: int, cuts: list[int]) -> None:
    first = [_record(key, tokens, index) for index, (key, tokens) in enumerate(before)]
    later = [_record(key, tokens, len(before) + index)
             for index, (key, tokens) in enumerate(stretch)]

    one_pass, counts = Requests(window), Counts()
    expected = one_pass.take(first, counts) + one_pass.take(later, counts)
    expected += one_pass.close_all()

    reader, apart_counts = Requests(window), Counts()
    handed = reader.take(first, apart_counts)
    spill = io.BytesIO()
    apart = Survivors(spill)
    for start, end in zip([0, *sorted(cuts)], [*sorted(cuts), len(later)], strict=True):
        apart.take(later[start:end], apart_counts)  # chunk by chunk
    apart.close()
    for batch in survivors.survivors(spill):
        handed += reader.take(batch, apart_counts)
    handed += reader.close_all()

    assert _shown(handed) == _shown(expected)
    assert apart_counts == counts


def test_streamed_lines_and_repeats_are_dropped_apart() -> None:
    spill, counts = io.BytesIO(), Counts()
    apart = Survivors(spill)
    lines = [("m1", 1), ("m1", 5), ("m1", 9), (None, 0), ("m2", 3), ("m1", 9), ("m1", 2)]
    apart.take([_record(key, tokens, index) for index, (key, tokens) in enumerate(lines)],
               counts)
    apart.close()
    kept = [record for batch in survivors.survivors(spill) for record in batch]
    # m1's streamed run stands as its largest line, in its first line's place.
    assert _shown(kept) == [("m1", 9, 2.0), (None, 0, 3.0), ("m2", 3, 4.0)]
    assert counts.duplicates == 4
