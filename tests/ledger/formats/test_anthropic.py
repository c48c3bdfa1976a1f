"""`anthropic`: the provider's own diagnosis of a cache miss,
`diagnostics.cache_miss_reason.type`, kept by name and read leniently."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.ledger.formats.reading import (
    HOSTILE_CAUSES,
    read,
    real_lines,
    records_in_every_run,
    verdicts,
)
from tests.ledgers import anthropic

# Written by the anthropic SDK (Message.model_dump_json(); the fourth streamed):
# each request named the previous response in `diagnostics.previous_message_id`.
DIAGNOSED = real_lines("anthropic_cache_diagnostics.jsonl")


def test_the_cause_is_the_type_of_cache_miss_reason() -> None:
    records = [read(line) for line in DIAGNOSED]
    assert [(record.format, record.prompt_cache_hit, record.miss_reason)
            for record in records if record is not None] == [
        ("anthropic", False, None),  # the first turn: no previous message, no diagnosis
        ("anthropic", True, None),  # no divergence: diagnostics null
        ("anthropic", False, "system_changed"),
        ("anthropic", False, "model_changed"),
        ("anthropic", False, "previous_message_not_found"),
    ]


def test_every_run_reads_the_cause() -> None:
    """The miss causes feed a KPI: `kpi` reads the diagnosis as `report` does."""
    for line in DIAGNOSED:
        reasons = {record.miss_reason if record else "none"
                   for record in records_in_every_run(line)}
        assert len(reasons) == 1


def _diagnosed(diagnostics: Any) -> dict[str, Any]:
    return anthropic(read=0, write=11800, diagnostics=diagnostics)


def test_a_pending_diagnosis_is_none() -> None:
    """`cache_miss_reason` null: the comparison had not finished."""
    record = read(_diagnosed({"cache_miss_reason": None}))
    assert record is not None and record.miss_reason is None


def test_a_reason_anthropic_adds_later_is_kept_by_name() -> None:
    record = read(_diagnosed({"cache_miss_reason": {"type": "thinking_changed",
                                                    "cache_missed_input_tokens": 9}}))
    assert record is not None and record.miss_reason == "thinking_changed"


@pytest.mark.parametrize("diagnostics", [
    "system_changed", 5, ["system_changed"], {"cache_miss_reason": "system_changed"},
    {"cache_miss_reason": {"type": 5}}, {"cache_miss_reason": {"type": ["model_changed"]}},
    {"cache_miss_reason": {"cache_missed_input_tokens": 11800}},
])
def test_a_wrong_shape_is_unknown_never_a_bad_line(diagnostics: Any) -> None:
    line = _diagnosed(diagnostics)
    assert verdicts(line) == {"anthropic"}
    for record in records_in_every_run(line):
        assert record is not None and record.miss_reason is None
        assert (record.cache_read, record.cache_write) == (0, 11800)


@pytest.mark.parametrize("cause", HOSTILE_CAUSES)
def test_a_cause_that_is_no_short_identifier_never_reaches_the_record(cause: str) -> None:
    line = _diagnosed({"cache_miss_reason": {"type": cause, "cache_missed_input_tokens": 1}})
    assert verdicts(line) == {"anthropic"}
    for record in records_in_every_run(line):
        assert record is not None and record.miss_reason is None


def test_a_session_and_cause_logged_beside_the_response_are_read() -> None:
    """An application's own fields beside the SDK's keys, as `workflow` is."""
    line = {"session_id": "conv-9", **DIAGNOSED[0]}
    record = read(line)
    assert record is not None and record.format == "anthropic"
    assert (record.session, record.miss_reason) == ("conv-9", None)
    record = read({"cache_miss_reason": "system_changed", **DIAGNOSED[0]})
    assert record is not None and record.miss_reason == "system_changed"


def test_the_providers_diagnosis_wins_over_one_logged_beside() -> None:
    record = read({"cache_miss_reason": "messages_changed", **DIAGNOSED[2]})
    assert record is not None and record.miss_reason == "system_changed"


def test_a_response_names_no_session_of_its_own() -> None:
    record = read(json.loads(json.dumps(DIAGNOSED[2])))
    assert record is not None and record.session is None
