"""Inputs that are not files: a FIFO nobody writes to, a device, an endless stream,
a run terminated mid-copy. Bounded in time and size, and nothing left behind."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from cache_gate.cli import cli
from cache_gate.ledger.jsonl import streams

LINE = b'{"workflow": "w", "input_tokens": 10, "cached_input_tokens": 0, "cache_hit": false}\n'


def kpi(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["kpi", *args])
    return result.exit_code, result.output


def test_a_fifo_nobody_writes_to_is_refused_in_bounded_time(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(streams, "STREAM_FIRST_BYTE_SECONDS", 0.3)
    fifo = tmp_path / "ledger"
    os.mkfifo(fifo)
    started = time.monotonic()
    code, output = kpi("--ledger", str(fifo))
    assert code == 2 and "nothing was written to it" in output
    assert time.monotonic() - started < 5


@pytest.mark.skipif(os.geteuid() != 0, reason="making a device node needs root")
@pytest.mark.parametrize(("name", "minor"), [("zero", 5), ("null", 3)])
def test_a_device_is_not_a_ledger(tmp_path: Path, name: str, minor: int) -> None:
    """A private device (never the machine's own): /dev/zero once filled $TMPDIR."""
    device = tmp_path / name
    os.mknod(device, 0o666 | stat.S_IFCHR, os.makedev(1, minor))
    code, output = kpi("--ledger", str(device))
    assert code == 2 and "a terminal or a device, not a ledger" in output


def test_an_endless_stream_stops_at_the_bound(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(streams, "STREAM_MAX_BYTES", 10 * len(LINE))
    result = CliRunner().invoke(cli, ["kpi", "--ledger", "-"], input=LINE * 100)
    assert result.exit_code == 2 and "write it to a file" in result.output


def test_a_piped_ledger_is_read(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "cache_gate", "kpi", "--ledger", "-",
                           "--min-requests", "0"], input=LINE * 3, capture_output=True,
                          cwd=tmp_path, env={"PATH": "/usr/bin:/bin"}, timeout=60)
    assert done.returncode == 1 and b"0 / 3 requests" in done.stdout


def test_sigterm_mid_copy_leaves_no_temporary_file(tmp_path: Path) -> None:
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    fifo = tmp_path / "ledger"
    os.mkfifo(fifo)
    command = [sys.executable, "-m", "cache_gate", "kpi", "--ledger", str(fifo)]
    with subprocess.Popen(command, env={"PATH": "/usr/bin:/bin", "TMPDIR": str(temporary)},
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE) as run, \
            fifo.open("wb") as writer:
        writer.write(LINE * 1000)
        writer.flush()
        deadline = time.monotonic() + 10
        while not any(temporary.iterdir()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert any(temporary.iterdir()), "cache-gate never started copying"
        run.send_signal(signal.SIGTERM)
        _, err = run.communicate(timeout=10)
    assert run.returncode == 128 + signal.SIGTERM
    assert list(temporary.iterdir()) == []
    assert b"Traceback" not in err
