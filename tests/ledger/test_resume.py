"""Incremental reading (`ledger.jsonl.resume`): a run resumed from the checkpoint the
last run left gives exactly what one plain pass over the ledger gives, whatever
happened to the ledger in between (appended to, mid-line too; truncated; rewritten;
replaced by another file) and whatever the window; and it reads only what it must."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cache_gate.ledger.jsonl import checkpoint, reader, resume
from cache_gate.ledger.jsonl.reference import read_plain
from cache_gate.ledger.reading import Selection
from cache_gate.ledger.window import Window
from tests.ledger.test_fast_reader_agrees import (
    START,
    evidence,
    evidence_summary,
    ledgers,
)
from tests.ledgers import backlog


@pytest.fixture
def small_chunks() -> Iterator[None]:
    """Chunks of a few lines, so that a small ledger has many stretches."""
    saved = reader.CHUNK_BYTES
    reader.CHUNK_BYTES = 256
    yield
    reader.CHUNK_BYTES = saved


EVERYTHING = Selection()


def run(path: Path, cache_dir: Path, selection: Selection = EVERYTHING, jobs: int = 1,
        ) -> tuple[dict[str, object], resume.Use | None]:
    """One resumed run, as `kpi` makes it (any ledger size gets a checkpoint), by `jobs`
    reader processes."""
    cache = checkpoint.LedgerCache("kpi", cache_dir, min_bytes=0)
    sink, stats, use = resume.scan(str(path), selection, evidence, cache=cache, jobs=jobs)
    return evidence_summary(sink, stats), use


def plain(path: Path, selection: Selection = EVERYTHING) -> dict[str, object]:
    return evidence_summary(*read_plain(str(path), selection, evidence))


def hourly(count: int, first: int = 0) -> bytes:
    """`count` backlog lines an hour apart, from hour `first`."""
    lines = [json.dumps(backlog(
        timestamp=(START + timedelta(hours=first + index)).isoformat().replace("+00:00", "Z"),
        cache_hit=index % 3 != 0, workflow=f"w{index % 2}", prompt_id="p",
        cache_read_input_tokens=0 if index % 3 == 0 else 900,
        cache_creation_input_tokens=900 if index % 3 == 0 else 0)) for index in range(count)]
    return ("\n".join(lines) + "\n").encode()


changes = st.one_of(
    st.tuples(st.just("append"), ledgers(ordered=True).map(lambda ledger: ledger[0])),
    st.tuples(st.just("append"), st.sampled_from([b"\n", b"}\n", b'{"cache_hit":true}'])),
    st.tuples(st.just("truncate"), st.integers(0, 4000)),
    st.tuples(st.just("rewrite"), st.integers(0, 4000)),
    st.tuples(st.just("replace"), ledgers(ordered=False).map(lambda ledger: ledger[0])),
)
windows = st.one_of(
    st.just(Window()),
    st.builds(lambda start, hours: Window(
        (START + timedelta(minutes=30 * start)).timestamp(),
        None if hours is None else (START + timedelta(minutes=30 * start,
                                                      hours=hours)).timestamp()),
        st.integers(-10, 60), st.one_of(st.none(), st.integers(0, 40))),
)


def change(path: Path, what: str, argument: bytes | int) -> None:
    data = path.read_bytes()
    if what == "append":
        assert isinstance(argument, bytes)
        with path.open("ab") as handle:
            handle.write(argument)
    elif what == "truncate":
        assert isinstance(argument, int)
        with path.open("r+b") as handle:
            handle.truncate(min(argument, len(data)))
    elif what == "rewrite" and data:  # one byte changed in place, same inode and size
        assert isinstance(argument, int)
        at = argument % len(data)
        with path.open("r+b") as handle:
            handle.seek(at)
            handle.write(b"x" if data[at:at + 1] != b"x" else b"y")
    elif what == "replace":  # rotated: another file at the path
        assert isinstance(argument, bytes)
        fresh = path.with_suffix(".new")
        fresh.write_bytes(argument)
        fresh.replace(path)


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(first=ledgers(ordered=True),
       steps=st.lists(st.tuples(changes, windows, st.integers(1, 3)), max_size=4),
       workflows=st.sampled_from([None, frozenset({"impl"})]), jobs=st.integers(1, 3))
def test_every_resumed_run_equals_one_plain_pass(
        tmp_path_factory: pytest.TempPathFactory, small_chunks: None,
        first: tuple[bytes, list[float]],
        steps: list[tuple[tuple[str, bytes | int], Window, int]],
        workflows: frozenset[str] | None, jobs: int) -> None:
    folder = tmp_path_factory.mktemp("resume")
    path, cache_dir = folder / "ledger.jsonl", folder / "cache"
    path.write_bytes(first[0])
    assert run(path, cache_dir, Selection(workflows=workflows), jobs)[0] == plain(
        path, Selection(workflows=workflows))
    for (what, argument), window, readers in steps:
        change(path, what, argument)
        selection = Selection(window, workflows)
        assert run(path, cache_dir, selection, readers)[0] == plain(path, selection)


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_grown_ledger_is_read_from_where_the_last_run_stopped(
        tmp_path: Path, small_chunks: None, jobs: int) -> None:
    path = tmp_path / "ledger.jsonl"
    path.write_bytes(hourly(200))
    summary, use = run(path, tmp_path / "cache", jobs=jobs)
    assert use is not None and not use.resumed and use.saved
    assert use.read_bytes == path.stat().st_size
    before = path.stat().st_size
    with path.open("ab") as handle:
        handle.write(hourly(10, first=200))
    summary, use = run(path, tmp_path / "cache", jobs=jobs)
    assert summary == plain(path)
    assert use is not None and use.resumed
    # The appended bytes, and the two fingerprints that prove the rest unchanged.
    assert use.read_bytes == path.stat().st_size - before + 2 * checkpoint.FINGERPRINT_BYTES
    assert use.reused_bytes == before


def test_a_window_reads_again_only_the_stretches_its_edges_cut(
        tmp_path: Path, small_chunks: None) -> None:
    path = tmp_path / "ledger.jsonl"
    path.write_bytes(hourly(24 * 30))  # thirty days, in time order
    run(path, tmp_path / "cache")
    since = (START + timedelta(days=20, hours=6)).timestamp()
    selection = Selection(Window(since, None))
    summary, use = run(path, tmp_path / "cache", selection)
    assert summary == plain(path, selection)
    assert use is not None
    a_day = path.stat().st_size / 30
    # The edge's day (and the chunk that crossed into it) is read again; the rest,
    # 29 days inside or outside, comes from the checkpoint.
    assert use.read_bytes - 2 * checkpoint.FINGERPRINT_BYTES < 1.5 * a_day
    assert use.reused_bytes > 28 * a_day


@pytest.mark.parametrize(("what", "argument", "reason"), [
    ("truncate", 1000, "shorter than last time (truncated)"),
    ("rewrite", 10, "content changed since last time (rewritten)"),
    ("replace", hourly(300), "another file than last time (rotated or replaced)"),
])
def test_a_ledger_that_did_not_only_grow_is_read_whole(
        tmp_path: Path, what: str, argument: bytes | int, reason: str) -> None:
    path = tmp_path / "ledger.jsonl"
    path.write_bytes(hourly(200))
    run(path, tmp_path / "cache")
    change(path, what, argument)
    summary, use = run(path, tmp_path / "cache")
    assert summary == plain(path)
    assert use is not None and not use.resumed and reason in use.reason
    assert use.read_bytes == path.stat().st_size


def test_a_damaged_checkpoint_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    path.write_bytes(hourly(100))
    run(path, tmp_path / "cache")
    (entry,) = (tmp_path / "cache").iterdir()
    good = entry.read_bytes()
    kept = checkpoint.decode(good)
    flipped = bytearray(good)
    flipped[len(good) // 2] ^= 1  # a bit that may still decode, as another figure
    kept.segments[0].state = b"not kpi's state"  # decodes as a checkpoint, not restored
    for damage in (b"", b"\x93\x01", good[:-7], b"\xc1" * 100, bytes(flipped),
                   msgspec.msgpack.encode(kept), checkpoint.encode(kept)):
        entry.write_bytes(damage)
        summary, use = run(path, tmp_path / "cache")
        assert summary == plain(path)
        assert use is not None and not use.resumed and "damaged" in use.reason
        assert use.saved  # replaced: the next run resumes
    assert run(path, tmp_path / "cache")[1].resumed  # type: ignore[union-attr]


def test_the_checkpoint_lives_in_the_cache_directory_only(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ledger_dir = tmp_path / "ledgers"
    ledger_dir.mkdir()
    path = ledger_dir / "ledger.jsonl"
    path.write_bytes(hourly(50))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    cache = checkpoint.LedgerCache("kpi", min_bytes=0)
    resume.scan(str(path), Selection(), evidence, cache=cache)
    assert [p.name for p in ledger_dir.iterdir()] == ["ledger.jsonl"]
    assert len(list((tmp_path / "xdg" / "cache-gate").iterdir())) == 1
    assert (tmp_path / "xdg" / "cache-gate").stat().st_mode & 0o777 == 0o700


def test_an_unwritable_cache_leaves_the_run_whole(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    path.write_bytes(hourly(50))
    blocked = tmp_path / "a file, not a directory"
    blocked.write_text("")
    summary, use = run(path, blocked / "cache")
    assert summary == plain(path)
    assert use is not None and not use.saved


def test_a_claude_code_transcript_is_read_as_ever(tmp_path: Path) -> None:
    from tests.ledgers import claude_code

    path = tmp_path / "transcript.jsonl"
    path.write_text("\n".join(json.dumps(claude_code(message_id=f"m{i % 7}", request_id="r"))
                              for i in range(40)) + "\n")
    summary, use = run(path, tmp_path / "cache")
    assert summary == plain(path)
    assert use is None and not (tmp_path / "cache").exists()


def test_settings_have_checkpoints_of_their_own(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    path.write_bytes(hourly(50))
    for key in ("kpi prices A", "kpi prices B"):
        resume.scan(str(path), Selection(), evidence,
                    cache=checkpoint.LedgerCache(key, tmp_path / "cache", min_bytes=0))
    assert len(list((tmp_path / "cache").iterdir())) == 2


def test_kpi_resumes_from_its_checkpoint_and_says_so(tmp_path: Path) -> None:
    """The command line, as a CI job runs it twice: the second run reads the appended
    lines only, and reports what the first would have on the grown ledger."""
    import subprocess
    import sys

    path = tmp_path / "ledger.jsonl"
    day = hourly(24)
    path.write_bytes(day * (checkpoint.CACHE_MIN_BYTES // len(day) + 1))  # just over 8 MiB
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "xdg")}

    def kpi(*extra: str) -> dict[str, object]:
        done = subprocess.run(
            [sys.executable, "-m", "cache_gate", "kpi", "--ledger", str(path), "--format",
             "json", "--exit-zero", *extra], capture_output=True, env=env, check=True)
        document: dict[str, object] = json.loads(done.stdout)
        return document

    first = kpi()
    with path.open("ab") as handle:
        handle.write(hourly(5, first=24))
    second, whole = kpi(), kpi("--no-cache")
    ledger = second["ledger"]
    assert isinstance(ledger, dict) and isinstance(first["ledger"], dict)
    assert first["ledger"]["incremental"]["resumed"] is False
    incremental = ledger.pop("incremental")
    assert incremental["resumed"] is True
    assert incremental["read_bytes"] == len(hourly(5, first=24)) + 2 * checkpoint.FINGERPRINT_BYTES
    assert "incremental" not in whole["ledger"]  # type: ignore[operator]
    assert second == whole
    text = subprocess.run([sys.executable, "-m", "cache_gate", "kpi", "--ledger", str(path),
                           "--exit-zero"], capture_output=True, env=env, text=True,
                          check=True).stdout
    assert "read 8.2 kB, the other 8.4 MB from the last run's checkpoint" in text


def test_a_ledger_rewritten_while_it_is_read_leaves_no_checkpoint(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "ledger.jsonl"
    path.write_bytes(hourly(100))
    read_new = resume._read_new

    def then_rewritten(*args: object, **kwargs: object) -> object:
        segments = read_new(*args, **kwargs)  # type: ignore[arg-type]
        with path.open("r+b") as handle:  # same inode, same size, another first line
            handle.write(b"[")
        return segments

    monkeypatch.setattr(resume, "_read_new", then_rewritten)
    _, use = run(path, tmp_path / "cache")
    assert use is not None and not use.saved
    assert not (tmp_path / "cache").exists()


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1,
                      max_size=6))
def test_a_tampered_checkpoint_never_crashes_a_run(
        tmp_path_factory: pytest.TempPathFactory, flips: list[tuple[int, int]]) -> None:
    """Bytes of the checkpoint changed anyhow: the run goes on (the checkpoint is
    ignored where it does not decode, or where the ledger does not fit it)."""
    folder = tmp_path_factory.mktemp("tampered")
    path = folder / "ledger.jsonl"
    path.write_bytes(hourly(60))
    run(path, folder / "cache")
    (entry,) = (folder / "cache").iterdir()
    data = bytearray(entry.read_bytes())
    for at, value in flips:
        data[at % len(data)] = value
    entry.write_bytes(bytes(data))
    summary, use = run(path, folder / "cache")
    assert use is not None and isinstance(summary["eligible"], int)
