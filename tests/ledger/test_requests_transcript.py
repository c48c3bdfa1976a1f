"""`Requests.take_transcript`, the transcript's hot path: a chunk's lines read and
taken as the plain reader reads and takes them one by one, a request's repeats
dropped before they become Records. Held to the reference reader (`read_plain`,
`formats.read_line` then `reading.keep`) on hostile transcripts: bad UTF-8 where
msgspec skips, other formats and junk between, repeats far apart, a later repeat
reporting more tokens, keys no TranscriptLine names, wrong types, duplicate keys."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_type_hints

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cache_gate.ledger import reading
from cache_gate.ledger.jsonl.reference import read_plain
from cache_gate.ledger.lines import TRANSCRIPT_EXTRAS, Line, TranscriptLine
from cache_gate.ledger.reading import LedgerStats, Selection, counted, decoders_for, finish
from cache_gate.ledger.record import Record
from cache_gate.ledger.requests import JSON_BLANK, LINE_ERRORS, Requests
from cache_gate.ledger.window import Window
from tests.ledgers import backlog, claude_code, gemini, openai_chat


@dataclass
class Kept:
    """A sink that keeps the records it is handed, in order."""

    records: list[Record] = field(default_factory=list)

    def add(self, records: list[Record]) -> None:
        self.records += records


@dataclass
class Lineage(Kept):
    """A sink that asks for each record's time, model and prefix (as kpi's does)."""

    reads_lineage: bool = True


def seen(sink: object, stats: LedgerStats) -> dict[str, object]:
    """Everything a reader's caller may see: the records, whole, and every count."""
    assert isinstance(sink, Kept)
    return {
        "records": sink.records, "counted": stats.records, "formats": dict(stats.formats),
        "bad": [(bad.offset, bad.error) for bad in stats.bad], "bad_count": stats.bad_count,
        "not_requests": stats.not_requests, "undated": stats.undated,
        "outside": stats.outside_window, "other_workflows": stats.other_workflows,
        "duplicates": stats.duplicates, "late_winners": stats.late_winners,
    }


def fast_path(data: bytes, selection: Selection, sink: Kept, window: int | None,
              chunk_lines: int, descriptive: bool) -> dict[str, object]:
    """The ledger's lines, `chunk_lines` at a time, through `take_transcript`."""
    requests = Requests(window)
    stats = LedgerStats("-")
    decoding = decoders_for(sink, selection, descriptive)
    lines = data.split(b"\n")[:-1]
    offset = 0
    for start in range(0, len(lines), chunk_lines):
        chunk = lines[start:start + chunk_lines]
        sink.add(counted(requests.take_transcript(
            chunk, offset, decoding, selection.window, selection.workflows, stats), stats))
        offset += sum(len(line) + 1 for line in chunk)
    sink.add(finish(requests, stats))
    return seen(sink, stats)


def reference(data: bytes, selection: Selection, sink: Kept, window: int | None,
              descriptive: bool) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "transcript.jsonl"
        path.write_bytes(data)
        return seen(*read_plain(str(path), selection, lambda: sink,
                                descriptive=descriptive, requests_window=window))


MESSAGES = [f"msg_{number}" for number in range(6)]
ODD = st.sampled_from([5, -1, 1.5, True, [1], {"a": 1}, "x", "", None])


def response(draw: st.DrawFn, message: str, request: str, minute: int) -> dict[str, Any]:
    """An assistant line, its usage in any of the shapes a request's lines take."""
    line = claude_code(message_id=message, request_id=request,
                       output_tokens=draw(st.integers(0, 90)),
                       read=draw(st.sampled_from([0, 5000, 5001])),
                       timestamp=f"2026-11-20T10:{minute:02d}:00.000Z",
                       sessionId=draw(st.sampled_from(["sess-1", "sess-2", ""])))
    usage = line["message"]["usage"]
    shape = draw(st.integers(0, 9))
    if shape == 0:  # no prompt caching reported: only the output counts
        del usage["cache_read_input_tokens"], usage["cache_creation_input_tokens"]
    elif shape == 1:
        del usage["input_tokens"]
    elif shape == 2:
        usage["cache_creation"] = {"ephemeral_5m_input_tokens": 0,
                                   "ephemeral_1h_input_tokens": 200}
    elif shape == 3:
        line["message"]["diagnostics"] = draw(st.sampled_from(
            [None, {"cache_miss_reason": {"type": "messages_changed"}}, "x"]))
    return line


@st.composite
def hostile_lines(draw: st.DrawFn) -> bytes:
    minute = draw(st.integers(0, 59))
    message = draw(st.sampled_from(MESSAGES))
    request = draw(st.sampled_from(["req_1", "req_2", "req_3"]))
    kind = draw(st.integers(0, 24))
    line: Any
    if kind <= 8:  # a response's line: the common case
        line = response(draw, message, request, minute)
    elif kind == 9:  # no message.id: the request is its requestId
        line = response(draw, message, request, minute)
        del line["message"]["id"]
    elif kind == 10:  # no requestId: sessionId alone tells the format
        line = response(draw, message, request, minute)
        del line["requestId"]
        if draw(st.booleans()):
            del line["message"]["id"]  # a request of no key at all
    elif kind == 11:  # an API error's line, Claude Code's own (no request)
        line = response(draw, message, request, minute)
        line["message"]["model"] = "<synthetic>"
        line["isApiErrorMessage"] = True
    elif kind == 23:  # a user turn, a summary, a message of no shape
        line = draw(st.sampled_from([
            {"type": "user", "sessionId": "s", "message": {"role": "user", "content": "hi"},
             "toolUseResult": {"stdout": "x"}, "timestamp": "2026-11-20T10:00:00Z"},
            {"type": "summary", "summary": "s", "leafUuid": "u"},
            {"sessionId": "s", "message": "text"}, {"sessionId": "s", "message": None},
            {"requestId": "r", "message": {"id": "m"}}]))
    elif kind == 12:  # a key no TranscriptLine names: read as a Line
        line = response(draw, message, request, minute)
        line[draw(st.sampled_from(["newKey", "workflow", "prompt_id", "session_id",
                                   "cache_miss_reason", "model"]))] = draw(
            st.one_of(ODD, st.just("impl")))
    elif kind == 13:  # a wrong type: lenient (unknown) or bad
        line = response(draw, message, request, minute)
        name = draw(st.sampled_from(["timestamp", "sessionId", "type", "requestId"]))
        line[name] = draw(ODD)
    elif kind == 14:  # a wrong type inside the message
        line = response(draw, message, request, minute)
        where = draw(st.sampled_from(["id", "model", "usage"]))
        line["message"][where] = draw(ODD)
        if draw(st.booleans()):
            line["message"]["usage"] = {"input_tokens": draw(ODD), "output_tokens": 1,
                                        "cache_read_input_tokens": 0}
    elif kind == 15:  # undated, or outside a window
        line = response(draw, message, request, minute)
        if draw(st.booleans()):
            del line["timestamp"]
        else:
            line["timestamp"] = "2025-01-01T00:00:00Z"
    elif kind == 16:
        line = draw(st.sampled_from([backlog(cache_hit=True, workflow="impl"), openai_chat(),
                                     gemini(), backlog(cache_hit=False, workflow="review")]))
    elif kind == 17:
        return draw(st.sampled_from([b"", b"  ", b"\r", b"{", b"[]", b"null", b"\xff{}",
                                     b'{"message": 3, "sessionId": 1}']))
    elif kind == 18:  # invalid UTF-8 in a field msgspec skips, or valid non-ASCII text
        raw = json.dumps(response(draw, message, request, minute)).encode()
        bad = draw(st.sampled_from([b"\xff\xfe", b"\xc3\xa9", b"\xe2\x86\x92"]))
        return raw.replace(b'"text": "hi"', b'"text": "' + bad + b'"')
    elif kind == 19:  # a duplicate key: the last one counts, in every decoder
        raw = json.dumps(response(draw, message, request, minute)).encode()
        again = draw(st.sampled_from([b'"sessionId": 5', b'"sessionId": "t"',
                                      b'"requestId": "req_9"', b'"timestamp": 1']))
        return raw[:-1] + b", " + again + b"}"
    else:  # a line of a response repeated: most of a transcript
        line = response(draw, message, request, minute)
        line.update(dict.fromkeys(draw(st.lists(st.sampled_from(TRANSCRIPT_EXTRAS),
                                                max_size=3)), True))
    return json.dumps(line).encode()


@st.composite
def transcripts(draw: st.DrawFn) -> bytes:
    lines: list[bytes] = []
    for _ in range(draw(st.integers(0, 40))):
        line = draw(hostile_lines())
        # Claude Code streams a response as 2-3 adjacent lines, output growing.
        lines += [line] * draw(st.sampled_from([1, 1, 2, 3]))
    return b"".join(line + b"\n" for line in lines)


SINCE = Window(since=1.0)
SELECTIONS = st.sampled_from([Selection(), Selection(SINCE), Selection(
    workflows=frozenset({"impl"})), Selection(SINCE, frozenset({"impl"}))])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=transcripts(), selection=SELECTIONS, window=st.sampled_from([1, 2, 3, None]),
       chunk_lines=st.integers(1, 50), descriptive=st.booleans(), lineage=st.booleans())
def test_the_hot_path_takes_what_the_reference_reader_takes(
        data: bytes, selection: Selection, window: int | None, chunk_lines: int,
        descriptive: bool, lineage: bool) -> None:
    sink = Lineage if lineage else Kept
    expected = reference(data, selection, sink(), window, descriptive)
    assert fast_path(data, selection, sink(), window, chunk_lines, descriptive) == expected


def test_a_later_line_reporting_more_tokens_wins_without_moving() -> None:
    lines = [claude_code(message_id="m1", output_tokens=1), openai_chat(),
             claude_code(message_id="m1", output_tokens=70),
             claude_code(message_id="m1", output_tokens=20)]
    data = b"".join(json.dumps(line).encode() + b"\n" for line in lines)
    result = fast_path(data, Selection(), Kept(), 4, 10, False)
    records = result["records"]
    assert isinstance(records, list)
    assert [(record.format, record.output_tokens) for record in records] == [
        ("claude-code", 70), ("openai", 20)]
    assert result["duplicates"] == 2


def test_a_replay_after_its_request_closed_is_counted_and_a_larger_one_flagged() -> None:
    lines = [claude_code(message_id="m1", output_tokens=5),
             *(claude_code(message_id=f"x{number}") for number in range(4)),
             claude_code(message_id="m1", request_id="replay", output_tokens=5),
             claude_code(message_id="m1", request_id="replay", output_tokens=9)]
    data = b"".join(json.dumps(line).encode() + b"\n" for line in lines)
    result = fast_path(data, Selection(), Kept(), 2, 3, False)
    assert (result["duplicates"], result["late_winners"]) == (2, 1)
    assert result == reference(data, Selection(), Kept(), 2, False)


def test_a_newer_claude_codes_keys_are_read_in_full_and_alike() -> None:
    """Lines of a key TranscriptLine does not name are read as `Line`s; once most of a
    chunk's are, the rest of the ledger is, without a first try that fails."""
    lines = [claude_code(message_id=f"m{number // 2}", output_tokens=number,
                         newKey={"x": number}) for number in range(12)]
    lines[5]["requestId"] = 5  # a bad line among them
    data = b"".join(json.dumps(line).encode() + b"\n" for line in lines)
    held = Requests(2)
    stats = LedgerStats("-")
    decoding = decoders_for(Kept(), Selection(), False)
    chunk = data.split(b"\n")[:4]
    held.take_transcript(chunk, 0, decoding, Window(), None, stats)
    assert not held.narrow
    assert fast_path(data, Selection(), Kept(), 2, 4, False) == reference(
        data, Selection(), Kept(), 2, False)


def test_invalid_utf8_in_a_skipped_field_makes_the_line_bad() -> None:
    raw = json.dumps(claude_code()).encode().replace(b'"hi"', b'"\xff"')
    result = fast_path(raw + b"\n", Selection(), Kept(), 4, 1, False)
    assert (result["bad"], result["records"]) == ([(0, "not UTF-8 text")], [])


def test_the_transcript_line_types_the_line_fields_it_names_as_a_line_does() -> None:
    """A field of both typed otherwise here would read otherwise; an extra that is a
    `Line` field would be taken raw here and read there."""
    assert set(TRANSCRIPT_EXTRAS) & set(Line.__struct_fields__) == set()
    ours, theirs = get_type_hints(TranscriptLine), get_type_hints(Line)
    shared = set(ours) & set(theirs)
    assert shared == {"sessionId", "message", "requestId", "type", "timestamp"}
    assert all(ours[name] == theirs[name] for name in shared)
    assert all(ours[name] is msgspec.Raw for name in set(ours) - shared)


def test_a_transcript_line_fails_on_any_key_it_does_not_name() -> None:
    decoding = decoders_for(Kept(), Selection(), False)
    try:
        decoding.transcript.decode(b'{"sessionId": "s", "workflow": "impl"}')
    except msgspec.ValidationError as exc:
        assert "workflow" in str(exc)
    else:
        raise AssertionError("a Line field was taken raw")


def test_the_errors_and_blanks_are_the_readers() -> None:
    assert (LINE_ERRORS, JSON_BLANK) == (reading.DECODE_ERRORS, reading.JSON_BLANK)
