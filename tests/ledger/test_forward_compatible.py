"""Forward compatibility: providers and LiteLLM add fields every month. A field
cache-gate does not use never makes a line bad, whatever its type; `kpi` (which
decodes only what the KPIs need, times only for a window) and `report` (every field)
agree exactly on which lines are bad."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cache_gate.ledger.formats import read_line
from cache_gate.ledger.line_errors import LineError
from cache_gate.ledger.lines import LENIENT_FIELDS, Decoders, decoders
from cache_gate.ledger.reading import DECODE_ERRORS
from tests.ledgers import (
    anthropic,
    backlog,
    bedrock_converse,
    bedrock_log,
    claude_code,
    deepseek,
    gemini,
    gemini_sdk,
    litellm,
    openai_chat,
    usage_report,
)

KPI = decoders(descriptive=False, timed=False)
KPI_WINDOWED = decoders(descriptive=False, timed=True)
REPORT = decoders(descriptive=True, timed=True)
EVERY_RUN = (KPI, KPI_WINDOWED, REPORT)

ODD_VALUES = ["12", -3, 1.5, True, None, [1, "x"], {"a": {"b": []}}, "2026-12-02T00:32:21.235",
              10**30, ""]


def verdict(raw: bytes, decoders: Decoders) -> str:
    """What a run makes of a line: bad, not a request, or a record of some format."""
    try:
        record = read_line(raw, decoders)
    except DECODE_ERRORS:
        return "bad"
    return "not a request" if record is None else record.format


EVERY_FORMAT = [backlog(), anthropic(), openai_chat(), litellm(), claude_code(),
                bedrock_converse(), bedrock_log(), gemini(), gemini_sdk(), deepseek(),
                usage_report()]


@pytest.mark.parametrize("value", ODD_VALUES)
@pytest.mark.parametrize("line", EVERY_FORMAT, ids=lambda line: str(sorted(line))[:20])
def test_an_unknown_field_never_makes_a_line_bad(line: dict[str, Any], value: object) -> None:
    raw = json.dumps({**line, "x_new_field": value, "service_tier_v2": value}).encode()
    assert {verdict(raw, run) for run in EVERY_RUN} == {verdict(json.dumps(line).encode(),
                                                                 REPORT)}


def test_a_current_litellm_export_with_created_at_and_updated_at_reads() -> None:
    row = litellm(created_at="2026-12-02T00:32:21.235", updated_at="2026-12-02T00:32:21.240")
    raw = json.dumps(row).encode()
    assert {verdict(raw, run) for run in EVERY_RUN} == {"litellm"}
    record = read_line(raw, REPORT)
    assert record is not None and record.time is not None  # startTime, not created_at


@pytest.mark.parametrize("field_name", sorted(LENIENT_FIELDS))
def test_a_lenient_field_of_the_wrong_type_is_unknown_in_every_run(field_name: str) -> None:
    raw = json.dumps(backlog(**{field_name: {"not": "a value"}})).encode()
    assert {verdict(raw, run) for run in EVERY_RUN} == {"backlog"}
    # Unknown: the record is the one of the same line without that field.
    line_without = backlog()
    line_without.pop(field_name, None)
    assert read_line(raw, REPORT) == read_line(json.dumps(line_without).encode(), REPORT)


@pytest.mark.parametrize("value", ODD_VALUES)
@pytest.mark.parametrize("line", EVERY_FORMAT, ids=lambda line: str(sorted(line))[:20])
def test_an_unknown_field_inside_a_container_never_makes_a_line_bad(
        line: dict[str, Any], value: object) -> None:
    """Providers add fields inside their usage objects too (a new cache detail, a
    new count): only the fields cache-gate reads are typed."""
    changed = json.loads(json.dumps(line))
    for container in ("usage", "usageMetadata", "usage_metadata", "input", "output",
                      "message"):
        if isinstance(changed.get(container), dict):
            changed[container]["x_new_count"] = value
    for row in changed.get("results", []):
        row["x_new_count"] = value
    raw = json.dumps(changed).encode()
    assert {verdict(raw, run) for run in EVERY_RUN} == {verdict(json.dumps(line).encode(),
                                                                 REPORT)}


@pytest.mark.parametrize(("line", "field_name", "seen_as"), [
    (gemini(), "modelVersion", "model"),
    (gemini_sdk(), "model_version", "model"),
    (bedrock_log(), "modelId", "model"),
    (bedrock_log(), "timestamp", "time"),
    (deepseek(), "created", "time"),
])
def test_a_lenient_field_of_a_new_format_is_unknown_in_every_run(
        line: dict[str, Any], field_name: str, seen_as: str) -> None:
    raw = json.dumps({**line, field_name: {"not": "a value"}}).encode()
    expected = verdict(json.dumps(line).encode(), REPORT)
    assert {verdict(raw, run) for run in EVERY_RUN} == {expected}
    record = read_line(raw, REPORT)
    assert record is not None and getattr(record, seen_as) is None


def test_a_log_record_whose_schema_type_is_wrong_cannot_be_told_apart() -> None:
    """`schemaType` only tells a Bedrock log from other lines: wrong, the line is in no
    format (not a request), never bad."""
    raw = json.dumps(bedrock_log(schemaType=["ModelInvocationLog"])).encode()
    assert {verdict(raw, run) for run in EVERY_RUN} == {"not a request"}


def test_a_wrong_time_makes_the_record_undated() -> None:
    record = read_line(json.dumps(backlog(timestamp="yesterday")).encode(), REPORT)
    assert record is not None and record.time is None


@pytest.mark.parametrize("created", [10**17, -(10**17), 1e308])
def test_a_time_no_date_can_be_made_of_makes_the_record_undated(created: float) -> None:
    """An epoch past year 9999 (or before year 1) is no time: undated, in every run
    (it once stopped `kpi` with an internal error, and `report` with a misleading one)."""
    line = deepseek(created=created)
    raw = json.dumps(line).encode()
    expected = verdict(json.dumps({**line, "created": "never"}).encode(), REPORT)
    assert {verdict(raw, run) for run in EVERY_RUN} == {expected}
    record = read_line(raw, REPORT)
    assert record is not None and record.time is None


@pytest.mark.parametrize("field_name", ["input_tokens", "cached_input_tokens", "workflow",
                                        "prompt_id", "cache_hit", "cache_read_input_tokens"])
def test_a_field_the_kpis_use_with_the_wrong_type_makes_the_line_bad_in_every_run(
        field_name: str) -> None:
    raw = json.dumps(backlog(**{field_name: [1]})).encode()
    assert {verdict(raw, run) for run in EVERY_RUN} == {"bad"}


@pytest.mark.parametrize("where", ["model_alias", "x_unknown", "phase"])
def test_invalid_utf8_anywhere_is_bad_in_every_run(where: str) -> None:
    raw = json.dumps(backlog(**{where: "PLACEHOLDER"})).encode().replace(b"PLACEHOLDER",
                                                                          b"\xff\xfe")
    assert {verdict(raw, run) for run in EVERY_RUN} == {"bad"}
    with pytest.raises(UnicodeDecodeError):
        read_line(raw, KPI)


lines = st.sampled_from([*EVERY_FORMAT,
                         backlog(cache_read_input_tokens=5, cache_creation_input_tokens=1)])
keys = st.sampled_from([*sorted(LENIENT_FIELDS), "x_new", "input_tokens", "workflow",
                        "cache_hit", "usage", "metadata", "message", "usageMetadata",
                        "usage_metadata", "input", "output", "results", "starting_at",
                        "diagnostics", "prompt_cache_diagnostics", "semantic_cache"])


@settings(max_examples=300, deadline=None)
@given(line=lines, changes=st.dictionaries(keys, st.sampled_from(ODD_VALUES), max_size=4))
def test_kpi_and_report_agree_on_which_lines_are_bad(line: dict[str, Any],
                                                     changes: dict[str, object]) -> None:
    raw = json.dumps({**line, **changes}).encode()
    verdicts = [verdict(raw, run) == "bad" for run in EVERY_RUN]
    assert verdicts == [verdicts[0]] * 3, raw


@pytest.mark.parametrize("value", ODD_VALUES)
@pytest.mark.parametrize("line", EVERY_FORMAT, ids=lambda line: str(sorted(line))[:20])
def test_the_miss_causes_fields_never_make_a_line_bad(line: dict[str, Any],
                                                      value: object) -> None:
    """What only the miss causes read (a session, a provider's diagnosis, a semantic
    score), of any type, wherever a format keeps it: unknown at worst."""
    changed = json.loads(json.dumps(line))
    changed.update({"session_id": value, "sessionId": value, "cache_miss_reason": value,
                    "diagnostics": value, "prompt_cache_diagnostics": value})
    if isinstance(changed.get("message"), dict):
        changed["message"]["diagnostics"] = value
    if isinstance(changed.get("semantic_cache"), dict):
        changed["semantic_cache"]["similarity"] = value
    raw = json.dumps(changed).encode()
    assert {verdict(raw, run) for run in EVERY_RUN} == {verdict(json.dumps(line).encode(),
                                                                 REPORT)}


def test_line_errors_are_decode_errors() -> None:
    assert issubclass(LineError, DECODE_ERRORS)  # type: ignore[arg-type]
