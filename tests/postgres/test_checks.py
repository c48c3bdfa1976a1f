"""The SQL checks generated from the ledger structs agree with msgspec on any JSON,
and the window's timestamp bounds select exactly what the float comparison selects."""

from __future__ import annotations

import math
import sys
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg import sql
from psycopg.types.json import Jsonb

from cache_gate.ledger.formats import epoch
from cache_gate.ledger.lines import Usage
from cache_gate.ledger.postgres.checks import decodes, fields_decode
from cache_gate.ledger.postgres.rows import WHITESPACE
from cache_gate.ledger.postgres.source import _bound

KEYS = ["input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens",
        "prompt_tokens", "cache_creation", "prompt_tokens_details", "input_tokens_details",
        "cached_tokens", "text_tokens", "ephemeral_1h_input_tokens", "other"]
scalars = st.one_of(st.integers(-3, 2**70), st.floats(allow_nan=False, allow_infinity=False),
                    st.sampled_from([1.0, 0.0, -0.0, 1e3, 2.5e-3]), st.booleans(), st.none(),
                    st.text(st.characters(blacklist_characters="\x00",
                                          # PostgreSQL's json holds no NUL and no lone
                                          # surrogate: such a row cannot be in a table.
                                          blacklist_categories=("Cs",)), max_size=3))
json_values = st.recursive(
    scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                     st.dictionaries(st.sampled_from(KEYS), inner, max_size=5)),
    max_leaves=12)
USAGE_TYPE = msgspec.inspect.type_info(Usage | None)


def msgspec_decodes(rendered: str) -> bool:
    try:
        msgspec.json.decode(rendered, type=Usage | None)
    except msgspec.ValidationError:
        return False
    return True


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.one_of(json_values, st.dictionaries(st.sampled_from(KEYS), json_values)))
def test_sql_decodes_exactly_what_msgspec_decodes(pg_admin: Any, value: Any) -> None:
    check = decodes(sql.SQL("%(value)s::jsonb"), USAGE_TYPE)
    verdict, rendered = pg_admin.execute(
        sql.SQL("SELECT {}, %(value)s::jsonb::text").format(check),
        {"value": Jsonb(value)}).fetchone()
    assert verdict is msgspec_decodes(rendered), rendered


def test_a_missing_member_decodes_to_its_default(pg_admin: Any) -> None:
    check = fields_decode(sql.SQL("'{}'::jsonb"), Usage)
    assert pg_admin.execute(sql.SQL("SELECT {}").format(check)).fetchone() == (True,)


def test_types_without_an_sql_check_are_refused() -> None:
    class Odd(msgspec.Struct):
        name: str | None = None
        level: Annotated[int, msgspec.Meta(le=5)] | None = None

    with pytest.raises(NotImplementedError):
        fields_decode(sql.SQL("x"), Odd)


# Every second of the years 1 to 9999.
moments = st.floats(min_value=-62135596799.0, max_value=253402300798.0)


@given(moment=moments)
def test_window_bounds_select_what_the_float_comparison_selects(moment: float) -> None:
    since = _bound(moment, lower=True)
    until = _bound(moment, lower=False)
    step = timedelta(microseconds=1)
    if since is not None:
        assert epoch(since) >= moment > epoch(since - step)  # type: ignore[operator]
    if until is not None:
        assert epoch(until) <= moment < epoch(until + step)  # type: ignore[operator]


def test_bounds_beyond_any_timestamp_are_no_bounds() -> None:
    assert _bound(-1e15, lower=True) is None
    assert _bound(1e15, lower=False) is None
    assert _bound(0.0, lower=True) == datetime(1970, 1, 1)
    midnight = datetime(2026, 11, 20, tzinfo=UTC).timestamp()
    # Just past midnight as a float: the first microsecond at or after it is the next one.
    assert _bound(math.nextafter(midnight, math.inf), lower=True) == (
        datetime(2026, 11, 20, 0, 0, 0, 1))
    assert _bound(math.nextafter(midnight, -math.inf), lower=False) == (
        datetime(2026, 11, 19, 23, 59, 59, 999999))


def test_the_whitespace_listed_is_what_str_strip_strips() -> None:
    everything = "".join(char for char in map(chr, range(1, sys.maxunicode + 1))
                         if char.isspace())
    assert everything == WHITESPACE
