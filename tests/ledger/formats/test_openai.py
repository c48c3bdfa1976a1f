"""`openai`: the Responses API's `prompt_cache_diagnostics`. Its `type` says what the
comparison found (`cache_miss`, `cache_hit`, `comparison_response_not_found`,
`unavailable`); only a `cache_miss` names a cause, in `reason`: that is the cause,
kept by name and read leniently."""

from __future__ import annotations

from typing import Any

import pytest

from tests.ledger.formats.reading import (
    HOSTILE_CAUSES,
    read,
    real_lines,
    records_in_every_run,
    verdicts,
)
from tests.ledgers import openai_chat, openai_responses

# Written by the openai SDK (Response.model_dump_json()): each request named a
# baseline in `prompt_cache_options.comparison_response_id`.
DIAGNOSED = real_lines("openai_prompt_cache_diagnostics.jsonl")


def test_the_cause_is_the_reason_of_a_cache_miss() -> None:
    records = [read(line) for line in DIAGNOSED]
    assert [(record.format, record.prompt_cache_hit, record.miss_reason)
            for record in records if record is not None] == [
        ("openai", False, None),  # no baseline named: no diagnostics
        ("openai", True, None),  # type cache_hit: no cause
        ("openai", False, "tools_changed"),
        ("openai", False, None),  # comparison_response_not_found: no diagnosis made
        ("openai", False, "prompt_cache_key_changed"),
    ]


def test_every_run_reads_the_cause() -> None:
    for line in DIAGNOSED:
        reasons = {record.miss_reason if record else "none"
                   for record in records_in_every_run(line)}
        assert len(reasons) == 1


def _diagnosed(diagnostics: Any) -> dict[str, Any]:
    return openai_responses(input_tokens=8200, cached=0, prompt_cache_diagnostics=diagnostics)


@pytest.mark.parametrize("found", ["unavailable", "comparison_response_not_found",
                                   "cache_hit", "something_new"])
def test_a_diagnosis_that_is_no_miss_names_no_cause(found: str) -> None:
    """Even with a `reason` beside it: only a `cache_miss` has one."""
    record = read(_diagnosed({"type": found, "reason": "input_changed"}))
    assert record is not None and record.miss_reason is None


def test_a_reason_openai_adds_later_is_kept_by_name() -> None:
    record = read(_diagnosed({"type": "cache_miss", "reason": "instructions_changed",
                              "cache_missed_tokens": 10}))
    assert record is not None and record.miss_reason == "instructions_changed"


@pytest.mark.parametrize("diagnostics", [
    "tools_changed", 5, ["cache_miss"], {"type": 1, "reason": "tools_changed"},
    {"type": "cache_miss", "reason": 5}, {"type": "cache_miss", "reason": ["input_changed"]},
    {"type": "cache_miss"}, None,
])
def test_a_wrong_shape_is_unknown_never_a_bad_line(diagnostics: Any) -> None:
    line = _diagnosed(diagnostics)
    assert verdicts(line) == {"openai"}
    for record in records_in_every_run(line):
        assert record is not None and record.miss_reason is None
        assert (record.uncached_input, record.cache_read) == (8200, 0)


@pytest.mark.parametrize("cause", HOSTILE_CAUSES)
def test_a_cause_that_is_no_short_identifier_never_reaches_the_record(cause: str) -> None:
    line = _diagnosed({"type": "cache_miss", "reason": cause, "cache_missed_tokens": 1})
    assert verdicts(line) == {"openai"}
    for record in records_in_every_run(line):
        assert record is not None and record.miss_reason is None


def test_chat_completions_have_no_diagnosis_and_no_session() -> None:
    record = read(openai_chat())
    assert record is not None and (record.session, record.miss_reason) == (None, None)
