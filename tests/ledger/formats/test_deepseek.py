"""`deepseek`: `prompt_cache_hit_tokens` + `prompt_cache_miss_tokens` = `prompt_tokens`."""

from __future__ import annotations

import pytest

from cache_gate.ledger.line_errors import LineError
from tests.ledger.formats.reading import read
from tests.ledgers import deepseek

REST = {"id": "930c60df", "object": "chat.completion", "created": 1795600000,
        "model": "deepseek-chat", "choices": [],
        "usage": {"prompt_tokens": 1000, "completion_tokens": 10, "total_tokens": 1010,
                  "prompt_cache_hit_tokens": 0, "prompt_cache_miss_tokens": 1000}}


def test_hit_tokens_were_read_from_the_cache_miss_tokens_were_not() -> None:
    record = read(deepseek(prompt_tokens=5120, hit=4864, miss=256))
    assert record is not None
    assert (record.format, record.uncached_input, record.cache_read, record.cache_write) == (
        "deepseek", 256, 4864, None)
    assert record.input_total == 5120
    assert record.prompt_cache_hit is True
    assert (record.time, record.model, record.output_tokens) == (
        1795600000.0, "deepseek-chat", 30)


def test_the_raw_response_without_openai_details_is_deepseek_too() -> None:
    record = read(REST)
    assert record is not None
    assert (record.format, record.uncached_input, record.cache_read, record.prompt_cache_hit) == (
        "deepseek", 1000, 0, False)


@pytest.mark.parametrize(("hit", "miss", "expected"), [(4864, None, (256, 4864)),
                                                       (None, 256, (256, 4864))])
def test_one_count_and_the_prompt_tokens_give_the_other(
        hit: int | None, miss: int | None, expected: tuple[int, int]) -> None:
    record = read(deepseek(prompt_tokens=5120, hit=hit, miss=miss))
    assert record is not None
    assert (record.uncached_input, record.cache_read) == expected


def test_a_count_beyond_the_prompt_tokens_makes_the_line_bad() -> None:
    with pytest.raises(LineError, match=r"prompt_cache_hit_tokens \(6000\) exceeds"):
        read(deepseek(prompt_tokens=5120, hit=6000, miss=None))
