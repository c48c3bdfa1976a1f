"""The fast reader on awkward ledgers, held to the plain reference reader."""

from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cache_gate.analyses.kpis import Tally
from cache_gate.errors import InputError
from cache_gate.ledger.jsonl import reader
from cache_gate.ledger.jsonl.reader import scan
from cache_gate.ledger.jsonl.reference import read_plain
from cache_gate.ledger.reading import LedgerStats, Selection
from cache_gate.ledger.window import Window
from tests.ledgers import backlog, claude_code, jsonl, litellm, openai_chat, write_ledger

EVERYTHING = Selection()


def fast(path: Path, selection: Selection = EVERYTHING, jobs: int = 1,
         descriptive: bool = False) -> tuple[Tally, LedgerStats]:
    tally, stats = scan(str(path), selection, Tally, jobs=jobs, descriptive=descriptive)
    assert isinstance(tally, Tally)
    return tally, stats


def plain(path: Path, selection: Selection = EVERYTHING,
          descriptive: bool = False) -> tuple[Tally, LedgerStats]:
    tally, stats = read_plain(str(path), selection, Tally, descriptive=descriptive)
    assert isinstance(tally, Tally)
    return tally, stats


def summary(tally: Tally, stats: LedgerStats) -> dict[str, object]:
    """Everything both readers must agree on."""
    return {
        "groups": tally.groups,
        "records": stats.records,
        "formats": dict(stats.formats),
        "bad": [(bad.line, bad.error) for bad in stats.bad],
        "bad_count": stats.bad_count,
        "not_requests": stats.not_requests,
        "undated": stats.undated,
        "outside": stats.outside_window,
        "other_workflows": stats.other_workflows,
        "duplicates": stats.duplicates,
        "partial_tail": stats.partial_tail,
    }


def assert_agree(path: Path, selection: Selection = EVERYTHING) -> dict[str, object]:
    expected = summary(*plain(path, selection))
    for jobs in (1, 2, 3):
        assert summary(*fast(path, selection, jobs)) == expected, f"jobs={jobs}"
    return expected


@pytest.fixture
def tiny_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks of a few lines, so that every test crosses chunk boundaries."""
    monkeypatch.setattr(reader, "CHUNK_BYTES", 700)


def test_mixed_formats_in_one_file(tmp_path: Path, tiny_chunks: None) -> None:
    ledger = write_ledger(tmp_path / "l.jsonl", backlog(), openai_chat(), litellm(),
                          claude_code(), backlog(cache_hit=False, cached_input_tokens=0))
    result = assert_agree(ledger)
    assert result["formats"] == {"backlog": 2, "openai": 1, "litellm": 1, "claude-code": 1}
    assert result["records"] == 5


def test_blank_and_malformed_lines_are_counted_with_line_numbers(tmp_path: Path,
                                                                tiny_chunks: None) -> None:
    ledger = write_ledger(tmp_path / "l.jsonl", backlog(), "", "   ", "{not json",
                          backlog(input_tokens="many"), "[1, 2]", backlog())
    result = assert_agree(ledger)
    assert result["records"] == 2
    assert result["bad_count"] == 3
    bad = result["bad"]
    assert isinstance(bad, list)
    assert [line for line, _ in bad] == [4, 5, 6]
    assert "input_tokens" in bad[1][1]
    assert bad[2][1] == "not a JSON object"


def test_only_the_first_ten_bad_lines_are_listed(tmp_path: Path, tiny_chunks: None) -> None:
    ledger = write_ledger(tmp_path / "l.jsonl", *(["oops"] * 25), backlog())
    result = assert_agree(ledger)
    assert result["bad_count"] == 25
    assert [line for line, _ in result["bad"]] == list(range(1, 11))  # type: ignore[attr-defined]


def test_invalid_utf8_is_a_bad_line(tmp_path: Path) -> None:
    ledger = tmp_path / "l.jsonl"
    ledger.write_bytes(jsonl(backlog()).encode() + b'{"workflow": "\xff"}\n'
                       + jsonl(backlog()).encode())
    result = assert_agree(ledger)
    assert result["bad"] == [(2, "not UTF-8 text")]
    assert result["records"] == 2


@pytest.mark.parametrize("line", [
    openai_chat(id="chatcmpl-\udcff"),
    claude_code(message_id="m1", requestId="r1", uuid="\udcff"),
    {"type": "user", "sessionId": "s", "message": {"role": "user", "content": "\udcff"}},
])
def test_invalid_utf8_where_no_format_reads_is_a_bad_line(tmp_path: Path,
                                                          line: dict[str, object]) -> None:
    """msgspec skips the values of the fields no format reads unchecked."""
    ledger = tmp_path / "l.jsonl"
    bad = json.dumps(line, ensure_ascii=False).encode("utf-8", "surrogateescape")
    ledger.write_bytes(jsonl(backlog()).encode() + bad + b"\n" + jsonl(backlog()).encode())
    result = assert_agree(ledger)
    assert result["bad"] == [(2, "not UTF-8 text")]


def test_partial_last_line_is_ignored_and_noted(tmp_path: Path, tiny_chunks: None) -> None:
    ledger = tmp_path / "l.jsonl"
    ledger.write_text(jsonl(backlog(), backlog()) + json.dumps(backlog())[:40])
    result = assert_agree(ledger)
    assert result["records"] == 2
    assert result["partial_tail"] is True
    assert result["bad_count"] == 0


def test_whole_last_line_without_newline_counts(tmp_path: Path) -> None:
    ledger = tmp_path / "l.jsonl"
    ledger.write_text(jsonl(backlog()) + json.dumps(backlog()))
    result = assert_agree(ledger)
    assert result["records"] == 2 and result["partial_tail"] is False


def test_crlf_line_endings_are_read(tmp_path: Path) -> None:
    ledger = tmp_path / "l.jsonl"
    ledger.write_bytes(jsonl(backlog(), backlog()).replace("\n", "\r\n").encode())
    assert assert_agree(ledger)["records"] == 2


def test_a_line_longer_than_a_chunk(tmp_path: Path, tiny_chunks: None) -> None:
    long_line = backlog(ticket_id="x" * 5000)
    ledger = write_ledger(tmp_path / "l.jsonl", backlog(), long_line, backlog())
    assert assert_agree(ledger)["records"] == 3


def test_an_overlong_line_is_reported_and_skipped(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reader, "CHUNK_BYTES", 512)
    monkeypatch.setattr(reader, "MAX_LINE_BYTES", 2048)
    ledger = write_ledger(tmp_path / "l.jsonl", backlog(), backlog(ticket_id="x" * 5000),
                          backlog(ticket_id="y" * 1500), backlog())
    result = assert_agree(ledger)
    assert result["records"] == 3
    assert result["bad"] == [(2, reader.OVERLONG)]


def test_claude_code_requests_count_once(tmp_path: Path, tiny_chunks: None) -> None:
    # One request, three content blocks; the streamed last line has the full output.
    ledger = write_ledger(
        tmp_path / "l.jsonl",
        claude_code(output_tokens=1), claude_code(output_tokens=1),
        claude_code(message_id="msg_02", request_id="req_02"),
        *[backlog()] * 12,
        claude_code(output_tokens=90),
    )
    _, stats = fast(ledger, jobs=2)
    assert stats.duplicates == 2
    assert stats.formats["claude-code"] == 2
    assert assert_agree(ledger)["duplicates"] == 2


def test_claude_code_lines_of_one_message_are_one_request_whatever_their_request_id(
        tmp_path: Path) -> None:
    """A sidechain (subagent) transcript replays a message under another requestId:
    one API response, one request."""
    replay = claude_code(request_id="req_02", isSidechain=True)
    no_request_id = claude_code()
    del no_request_id["requestId"]
    ledger = write_ledger(tmp_path / "l.jsonl", claude_code(), replay, no_request_id)
    result = assert_agree(ledger)
    assert result["duplicates"] == 2 and result["records"] == 1


def test_claude_code_lines_without_message_id_are_one_request_per_request_id(
        tmp_path: Path) -> None:
    line = claude_code()
    del line["message"]["id"]
    ledger = write_ledger(tmp_path / "l.jsonl", line, line, claude_code(request_id="req_02"))
    result = assert_agree(ledger)
    assert result["duplicates"] == 1 and result["records"] == 2


def test_window_bounds_are_inclusive_and_undated_records_are_counted(tmp_path: Path) -> None:
    ledger = write_ledger(
        tmp_path / "l.jsonl",
        backlog(timestamp="2026-11-19T23:59:59Z"),
        backlog(timestamp="2026-11-20T00:00:00Z"),
        backlog(timestamp="2026-11-20T12:00:00+02:00"),
        backlog(timestamp="2026-11-21T00:00:00Z"),
        backlog(timestamp="2026-11-21T00:00:01Z"),
        backlog(timestamp=...),
        litellm(startTime="2026-11-20T05:00:00"),  # no offset: UTC
    )
    since = datetime(2026, 11, 20, tzinfo=UTC).timestamp()
    until = datetime(2026, 11, 21, tzinfo=UTC).timestamp()
    result = assert_agree(ledger, Selection(Window(since, until)))
    assert result["records"] == 4
    assert result["outside"] == 2
    assert result["undated"] == 1


def test_workflow_filter(tmp_path: Path) -> None:
    ledger = write_ledger(tmp_path / "l.jsonl", backlog(workflow="a"), backlog(workflow="b"),
                          litellm(tags=["workflow:a"]))
    result = assert_agree(ledger, Selection(workflows=frozenset({"a"})))
    assert result["records"] == 2 and result["other_workflows"] == 1


def ordered_ledger(path: Path, count: int, *, jitter: int = 0) -> Path:
    """`count` hourly backlog lines; every 7th line is `jitter` minutes early."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    lines = []
    for index in range(count):
        moment = start + timedelta(hours=index)
        if jitter and index % 7 == 3:
            moment -= timedelta(minutes=jitter)
        lines.append(backlog(timestamp=moment.isoformat().replace("+00:00", "Z"),
                             cache_hit=index % 3 != 0, workflow=f"w{index % 4}"))
    return write_ledger(path, *lines)


def test_a_window_counts_records_after_a_later_block(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The reported bug: a first block dated after the window, then in-window records.
    Stopping at the first chunk past `--until` lost all of them and passed on zero."""
    monkeypatch.setattr(reader, "CHUNK_BYTES", 4096)
    late = ordered_ledger(tmp_path / "late.jsonl", 500)        # from 2026-01-01
    early = [backlog(timestamp=f"2025-12-{day:02d}T12:00:00Z", cache_hit=True)
             for day in range(1, 31)]
    ledger = tmp_path / "l.jsonl"
    ledger.write_bytes(late.read_bytes() + jsonl(*early).encode())
    until = datetime(2025, 12, 31, tzinfo=UTC).timestamp()
    for jobs in (1, 2):
        _, stats = fast(ledger, Selection(Window(None, until)), jobs)
        assert stats.records == 30 and stats.outside_window == 500


def test_two_appended_sessions_are_read_in_full(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reader, "CHUNK_BYTES", 4096)
    first = ordered_ledger(tmp_path / "a.jsonl", 1000)
    second = ordered_ledger(tmp_path / "b.jsonl", 1000)
    ledger = tmp_path / "l.jsonl"
    ledger.write_bytes(first.read_bytes() + second.read_bytes())  # two sessions appended
    since = datetime(2026, 1, 20, tzinfo=UTC).timestamp()
    selection = Selection(Window(since, None))
    expected = summary(*plain(ledger, selection))
    assert expected["records"] == 2 * (1000 - 19 * 24)
    assert summary(*fast(ledger, selection, 2)) == expected


@pytest.mark.parametrize("jobs", [1, 2])
def test_the_ledger_is_never_modified(tmp_path: Path, jobs: int) -> None:
    ledger = write_ledger(tmp_path / "l.jsonl", backlog(), "oops", backlog())
    before = (hashlib.sha256(ledger.read_bytes()).hexdigest(), ledger.stat().st_mtime_ns)
    fast(ledger, jobs=jobs)
    fast(ledger, jobs=jobs, descriptive=True)
    assert (hashlib.sha256(ledger.read_bytes()).hexdigest(), ledger.stat().st_mtime_ns) == before


def test_missing_ledger_is_a_clear_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"ledger .*nope.jsonl not found: pass --ledger"):
        fast(tmp_path / "nope.jsonl")


def test_a_directory_is_not_a_ledger(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is a directory"):
        fast(tmp_path)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_ledger(tmp_path: Path) -> None:
    ledger = write_ledger(tmp_path / "l.jsonl", backlog())
    ledger.chmod(0)
    with pytest.raises(InputError, match="not readable"):
        fast(ledger)


def test_empty_ledger(tmp_path: Path) -> None:
    ledger = tmp_path / "l.jsonl"
    ledger.write_bytes(b"")
    assert assert_agree(ledger)["records"] == 0
