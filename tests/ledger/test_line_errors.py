"""Why a line is bad is said in cache-gate's words, whatever msgspec's release: users
script against these messages, and msgspec rewords its own between releases."""

from __future__ import annotations

from typing import Literal

import msgspec
import pytest

from cache_gate.ledger.line_errors import LineError, describe
from cache_gate.ledger.lines import Tokens


class Shape(msgspec.Struct):
    input_tokens: Tokens | None = None
    workflow: str | None = None
    status: Literal["ok", "error"] | None = None


DECODER = msgspec.json.Decoder(Shape)


def message(raw: bytes) -> str:
    with pytest.raises((msgspec.DecodeError, UnicodeDecodeError)) as caught:
        DECODER.decode(raw)
    return describe(caught.value)


@pytest.mark.parametrize(("raw", "expected"), [
    (b'{"input_tokens": "12"}', "input_tokens: expected integer or null, got string"),
    (b'{"input_tokens": 1.5}', "input_tokens: expected integer or null, got number"),
    (b'{"input_tokens": 1e400}', "input_tokens: a number out of range"),
    (b'{"input_tokens": -1}', "input_tokens: a number out of range"),
    (b'{"input_tokens": 1000000000000000}', "input_tokens: a number out of range"),
    (b'{"status": "weird"}', "status: a value that is not one of those allowed"),
    (b'{"workflow": "\xff"}', "not UTF-8 text"),
    (b'[1, 2]', "not a JSON object"),
    (b'"text"', "not a JSON object"),
    (b'{oops', "not valid JSON"),
    (b'{"a": 1}{"b": 2}', "not valid JSON"),
    (b'{"a": 1', "not valid JSON"),
])
def test_msgspec_errors_in_our_words(raw: bytes, expected: str) -> None:
    assert message(raw) == expected


def test_our_own_line_errors_pass_through() -> None:
    assert describe(LineError("cache_hit must be true, false or null, got 'yes'")) == (
        "cache_hit must be true, false or null, got 'yes'")


def test_a_decode_error_of_unknown_wording_gets_the_generic_words() -> None:
    assert describe(msgspec.DecodeError("a wording from a future release")) == "not valid JSON"
    assert describe(msgspec.ValidationError("Something new - at `$.model`")) == (
        "model: an invalid value")


def test_invalid_utf8_from_python_is_the_same_words() -> None:
    with pytest.raises(UnicodeDecodeError) as caught:
        b"\xff".decode()
    assert describe(caught.value) == "not UTF-8 text"
