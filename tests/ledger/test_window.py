"""Windows are closed, [since, until], on the records' own times; a date alone as
`--until` takes in all of that day; any number of days is a window, never a crash."""

from __future__ import annotations

from datetime import datetime

import pytest

from cache_gate.errors import InputError
from cache_gate.ledger.formats import epoch
from cache_gate.ledger.window import Window, make_window


def at(text: str) -> float:
    moment = epoch(datetime.fromisoformat(text))
    assert moment is not None
    return moment


def test_until_a_date_runs_through_the_last_instant_of_that_day() -> None:
    window = make_window(days=None, since=None, until="2026-11-06", now=None)
    assert window.contains(at("2026-11-06T00:00:00Z"))
    assert window.contains(at("2026-11-06T23:59:59.999999Z"))
    assert not window.contains(at("2026-11-07T00:00:00Z"))


def test_since_a_date_starts_at_its_midnight() -> None:
    window = make_window(days=None, since="2026-11-06", until=None, now=None)
    assert not window.contains(at("2026-11-05T23:59:59.999999Z"))
    assert window.contains(at("2026-11-06T00:00:00Z"))


def test_both_edges_are_inside() -> None:
    window = make_window(days=None, since="2026-11-06T10:00:00Z",
                         until="2026-11-06T11:00:00Z", now=None)
    assert window.contains(at("2026-11-06T10:00:00Z"))
    assert window.contains(at("2026-11-06T11:00:00Z"))
    assert window.to_json() == {"since": "2026-11-06T10:00:00Z",
                                "until": "2026-11-06T11:00:00Z"}


def test_a_time_without_an_offset_is_utc() -> None:
    window = make_window(days=None, since="2026-11-06T10:00:00", until=None, now=None)
    assert window.since == at("2026-11-06T10:00:00+00:00")


def test_days_count_back_from_until_or_now() -> None:
    window = make_window(days=2, since=None, until=None, now="2026-11-06T12:00:00Z")
    assert window == Window(at("2026-11-04T12:00:00Z"), at("2026-11-06T12:00:00Z"))


@pytest.mark.parametrize(("days", "now"), [
    (2_932_896, "2026-11-06T00:00:00Z"),
    (10**12, "2026-11-06T00:00:00Z"),
    (1, "0001-01-01T00:00:00Z"),
])
def test_a_window_reaching_before_the_first_representable_instant_is_open_there(
        days: int, now: str) -> None:
    window = make_window(days=days, since=None, until=None, now=now)
    assert window.since is None and window.until == at(now)
    assert window.to_json()["since"] is None


def test_the_last_day_of_year_9999_is_a_window_too() -> None:
    window = make_window(days=None, since=None, until="9999-12-31", now=None)
    assert window.contains(at("9999-12-31T23:59:59Z"))
    assert window.to_json()["until"] is not None


@pytest.mark.parametrize(("option", "value"), [("since", "yesterday"), ("until", "2026-13-01"),
                                               ("now", "")])
def test_a_time_that_is_not_iso_8601_is_an_input_error(option: str, value: str) -> None:
    arguments: dict[str, str | None] = {"since": None, "until": None, "now": None}
    arguments[option] = value
    with pytest.raises(InputError, match=f"--{option} .* is not an ISO-8601 date or time"):
        make_window(days=None, **arguments)


def test_an_empty_window_is_an_input_error() -> None:
    with pytest.raises(InputError, match="the window is empty"):
        make_window(days=None, since="2026-11-07", until="2026-11-06", now=None)
