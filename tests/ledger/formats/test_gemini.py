"""`gemini`: `usageMetadata` (REST) or `usage_metadata` (the google-genai SDK's dump).
`promptTokenCount` INCLUDES `cachedContentTokenCount`; a zero count is left out."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from cache_gate.ledger.line_errors import LineError
from tests.ledger.formats.reading import read, verdicts
from tests.ledgers import gemini, gemini_sdk


@pytest.mark.parametrize("build", [gemini, gemini_sdk], ids=["rest", "sdk"])
def test_prompt_tokens_include_the_cached_tokens(build: Callable[..., dict[str, Any]]) -> None:
    record = read(build(prompt=5200, cached=4096))
    assert record is not None
    assert (record.format, record.uncached_input, record.cache_read, record.cache_write) == (
        "gemini", 1104, 4096, None)
    assert record.input_total == 5200
    assert record.prompt_cache_hit is True and record.eligible
    assert (record.model, record.output_tokens) == ("gemini-2.5-flash", 40)


@pytest.mark.parametrize("build", [gemini, gemini_sdk], ids=["rest-absent", "sdk-null"])
def test_no_cached_count_on_a_gemini_response_is_zero_cached_tokens(
        build: Callable[..., dict[str, Any]]) -> None:
    """The API leaves zero-valued fields out (the SDK writes null): a miss, not unknown."""
    record = read(build(prompt=5200, cached=None))
    assert record is not None
    assert (record.uncached_input, record.cache_read, record.prompt_cache_hit) == (
        5200, 0, False)
    assert record.eligible


def test_usage_metadata_without_a_prompt_count_reports_no_tokens() -> None:
    line = gemini()
    line["usageMetadata"] = {"candidatesTokenCount": 3, "totalTokenCount": 3}
    record = read(line)
    assert record is not None and record.format == "gemini"
    assert record.prompt_cache_hit is None and not record.eligible


def test_thoughts_count_as_output() -> None:
    line = gemini()
    line["usageMetadata"]["thoughtsTokenCount"] = 200
    record = read(line)
    assert record is not None and record.output_tokens == 240


def test_cached_tokens_beyond_the_prompt_make_the_line_bad() -> None:
    with pytest.raises(LineError, match="exceeds promptTokenCount"):
        read(gemini(prompt=100, cached=200))


def test_a_count_of_the_wrong_type_makes_the_line_bad_in_every_run() -> None:
    line = gemini()
    line["usageMetadata"]["cachedContentTokenCount"] = "4096"
    assert verdicts(line) == {"bad"}


def test_the_applications_timestamp_beside_the_response_dates_it() -> None:
    record = read(gemini(timestamp="2026-11-20T10:00:00Z"))
    assert record is not None
    assert record.time == datetime(2026, 11, 20, 10, tzinfo=UTC).timestamp()


def test_a_model_version_of_the_wrong_type_is_unknown_in_every_run() -> None:
    line = gemini(modelVersion={"not": "a model"})
    assert verdicts(line) == {"gemini"}
    record = read(line)
    assert record is not None and record.model is None
