"""`backlog`: what the miss causes read of a record beside its tokens (its session,
the recorded cause of a miss, the semantic cache's score), leniently."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cache_gate.analyses.kpis import Tally
from cache_gate.ledger.lines import decoders
from cache_gate.ledger.window import Window
from tests.ledger.formats.reading import (
    HOSTILE_CAUSES,
    LONGEST_CAUSE,
    read,
    records_in_every_run,
    verdicts,
)
from tests.ledgers import backlog

MISSED = backlog(cache_hit=False, cached_input_tokens=0, session_id="sess-42",
                 cache_miss_reason="tools_changed",
                 semantic_cache={"status": "miss", "similarity": 0.87, "useful": None})


def test_a_record_names_its_session_cause_and_similarity_in_every_run() -> None:
    for record in records_in_every_run(MISSED):
        assert record is not None and record.format == "backlog"
        assert (record.session, record.miss_reason, record.semantic_similarity) == (
            "sess-42", "tools_changed", 0.87)
        assert (record.semantic_cache, record.prompt_cache_hit) == ("miss", False)


def test_without_them_they_are_unknown() -> None:
    record = read(backlog(semantic_cache={"status": "hit", "useful": True}))
    assert record is not None
    assert (record.session, record.miss_reason, record.semantic_similarity) == (
        None, None, None)


def test_an_integer_similarity_is_a_score() -> None:
    record = read(backlog(semantic_cache={"status": "hit", "similarity": 1}))
    assert record is not None and record.semantic_similarity == 1.0


def test_an_empty_session_id_names_no_session() -> None:
    record = read(backlog(session_id=""))
    assert record is not None and record.session is None


def _without(line: dict[str, Any], **changes: Any) -> dict[str, Any]:
    changed = json.loads(json.dumps(line))
    changed.update(changes)
    return changed


@pytest.mark.parametrize(("changes", "field"), [
    ({"session_id": 42}, "session"),
    ({"session_id": ["sess-42"]}, "session"),
    ({"session_id": {"id": "sess-42"}}, "session"),
    ({"cache_miss_reason": 7}, "miss_reason"),
    ({"cache_miss_reason": {"type": "tools_changed"}}, "miss_reason"),
    ({"cache_miss_reason": ["tools_changed"]}, "miss_reason"),
    ({"semantic_cache": {"status": "miss", "similarity": "0.87"}}, "semantic_similarity"),
    ({"semantic_cache": {"status": "miss", "similarity": True}}, "semantic_similarity"),
    ({"semantic_cache": {"status": "miss", "similarity": [0.87]}}, "semantic_similarity"),
    ({"semantic_cache": {"status": "miss", "similarity": None}}, "semantic_similarity"),
])
def test_a_wrong_type_is_unknown_never_a_bad_line(changes: dict[str, Any], field: str) -> None:
    line = _without(MISSED, **changes)
    assert verdicts(line) == {"backlog"}
    for record in records_in_every_run(line):
        assert record is not None and getattr(record, field) is None
        # Nothing else about the request changes.
        assert record.prompt_cache_hit is False and record.semantic_cache == "miss"


def test_a_similarity_beyond_any_float_is_unknown() -> None:
    raw = json.dumps(MISSED).replace("0.87", "1e999")
    for record in records_in_every_run(raw):
        assert record is not None and record.semantic_similarity is None


@pytest.mark.parametrize("cause", HOSTILE_CAUSES)
def test_a_cause_that_is_no_short_identifier_never_reaches_the_record(cause: str) -> None:
    line = _without(MISSED, cache_miss_reason=cause)
    assert verdicts(line) == {"backlog"}
    for record in records_in_every_run(line):
        assert record is not None and record.miss_reason is None
        assert record.session == "sess-42"


def test_a_cause_of_64_characters_is_kept() -> None:
    record = read(_without(MISSED, cache_miss_reason=LONGEST_CAUSE))
    assert record is not None and record.miss_reason == LONGEST_CAUSE


def test_the_kpis_hot_path_still_takes_such_lines() -> None:
    """The KPIs need none of these fields: a plain backlog line carrying them, even
    wrong ones, is tallied without building a Record."""
    lines = [MISSED, _without(MISSED, session_id=5, cache_miss_reason="\x1b[2J",
                              semantic_cache={"status": "hit", "similarity": "high"})]
    plain = decoders(descriptive=False, timed=False).plain
    counts = Tally().add_plain_backlog([plain.decode(json.dumps(line)) for line in lines],
                                       Window(), None)
    assert counts is not None and counts.records == 2
