"""The report's breakdowns, counted once a record into cells and summed when read, are
the breakdowns counted the plain way: a `kpis.count` per group a record belongs to,
in the order the groups came (read midway or not)."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from cache_gate.analyses.breakdowns import Analytics
from cache_gate.analyses.kpis import SLOTS, count
from cache_gate.ledger.record import Record

MIDNIGHT = 1_795_000_000 - 1_795_000_000 % 86400

records = st.builds(
    Record, st.just("backlog"),
    time=st.one_of(st.none(), st.integers(-3, 3).map(lambda d: MIDNIGHT + d * 86400.0),
                   st.floats(MIDNIGHT - 1, MIDNIGHT + 1)),
    workflow=st.sampled_from([None, "impl", "review"]),
    prompt_id=st.sampled_from([None, "p1", "p2"]),
    phase=st.sampled_from([None, "plan", "build"]),
    model=st.sampled_from([None, "sonnet", "haiku"]),
    uncached_input=st.sampled_from([None, 0, 100]), cache_read=st.sampled_from([None, 0, 900]),
    cache_write=st.sampled_from([None, 0, 50]),
    prompt_cache_hit=st.sampled_from([None, True, False]),
    response_cache=st.sampled_from([None, "hit", "miss", "bypass"]),
    semantic_cache=st.sampled_from([None, "hit", "miss"]), aggregate=st.booleans())


def plain(records: list[Record], key: str) -> dict[object, list[int]]:
    groups: dict[object, list[int]] = {}
    for record in records:
        if key == "day":
            if record.time is None:
                continue
            group: object = datetime.fromtimestamp(record.time, UTC).date().isoformat()
        elif key == "tally":
            group = (record.workflow, record.prompt_id)
        else:
            group = getattr(record, key)
        count(groups.setdefault(group, [0] * SLOTS), record)
    return groups


@given(st.lists(records, max_size=40), st.lists(st.integers(0, 40), max_size=3))
def test_the_breakdowns_are_the_plain_counts(ledger: list[Record], cuts: list[int]) -> None:
    analytics = Analytics()
    start = 0
    for cut in sorted(cuts):
        analytics.add(ledger[start:cut])
        assert list(analytics.tally.groups) == list(plain(ledger[:max(start, cut)], "tally"))
        start = max(start, cut)
    analytics.add(ledger[start:])
    for name, got in (("tally", analytics.tally.groups), ("phase", analytics.by_phase),
                      ("model", analytics.by_model), ("day", analytics.by_day)):
        expected = plain(ledger, name)
        assert list(got.items()) == list(expected.items()), name
