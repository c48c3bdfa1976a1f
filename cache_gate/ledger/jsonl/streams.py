"""Ledgers that are streams (standard input, a pipe, a FIFO, a socket): told apart
from files, and copied to a temporary file first (the reader seeks), bounded in size
and in how long a silent stream is waited for."""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import tempfile
from collections.abc import Generator, Iterator
from pathlib import Path

from cache_gate.errors import InputError

# The most a read of a stream takes at once.
BLOCK_BYTES = 1 << 20


def is_stream(path: str) -> bool:
    try:
        mode = Path(path).stat().st_mode
    except OSError:
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISCHR(mode) or stat.S_ISSOCK(mode)


# A piped ledger is copied to a temporary file first (the reader seeks): bounded, so
# that an endless stream cannot fill the disk.
STREAM_MAX_BYTES = 16 << 30
# How long a pipe may stay silent before its first byte: a FIFO nobody writes to.
STREAM_FIRST_BYTE_SECONDS = 30.0
# How long a stream's reader waits for more before it lets pending signals run.
SIGNAL_CHECK_MS = 200


def _blocks(path: str, shown: str) -> Generator[bytes, None, None]:
    """The blocks of standard input, a pipe, a FIFO or a socket. A terminal or a
    device is refused (a terminal waits for a person, /dev/zero never ends), and so is
    a FIFO nothing writes to within STREAM_FIRST_BYTE_SECONDS."""
    import select

    if path == "-":
        try:
            descriptor = os.dup(sys.stdin.fileno())
        except (OSError, ValueError):  # a stdin with no descriptor (an embedding caller)
            yield from iter(lambda: sys.stdin.buffer.read(BLOCK_BYTES), b"")
            return
    else:
        # Non-blocking: a FIFO nothing writes to would block the open for ever.
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        if stat.S_ISCHR(os.fstat(descriptor).st_mode):
            raise InputError(f"ledger {shown} is a terminal or a device, not a ledger: "
                             "pass --ledger PATH, or pipe the ledger in")
        poller = select.poll()
        poller.register(descriptor, select.POLLIN | select.POLLHUP)
        if not poller.poll(int(STREAM_FIRST_BYTE_SECONDS * 1000)):
            raise InputError(f"ledger {shown}: nothing was written to it for "
                             f"{STREAM_FIRST_BYTE_SECONDS:.0f} s (a FIFO with no writer?)")
        while True:
            # Waits are bounded, never a read that blocks: a signal (SIGTERM when a CI
            # job is cancelled) that lands just before a blocking read would only be
            # handled once the next byte came, if ever. A bounded wait returns to
            # Python, which runs the handler.
            if not poller.poll(SIGNAL_CHECK_MS):
                continue
            try:
                block = os.read(descriptor, BLOCK_BYTES)
            except BlockingIOError:
                continue
            if not block:
                return
            yield block
    finally:
        os.close(descriptor)


def _copy_blocks(blocks: Iterator[bytes], copy: Path, shown: str) -> None:
    copied = 0
    with copy.open("wb") as out:
        for block in blocks:
            copied += len(block)
            if copied > STREAM_MAX_BYTES:
                raise InputError(f"ledger {shown} is over {STREAM_MAX_BYTES:,} bytes: write "
                                 "it to a file and pass --ledger PATH")
            out.write(block)


@contextlib.contextmanager
def copied(path: str, shown: str) -> Iterator[str]:
    """A stream's ledger (`path`, or "-": standard input), copied whole to a private
    temporary file: its path, the file removed afterwards. `shown` names the ledger in
    errors."""
    blocks = _blocks(path, shown)
    with tempfile.TemporaryDirectory(prefix="cache-gate-") as folder:
        copy = Path(folder) / "ledger.jsonl"
        try:
            _copy_blocks(blocks, copy, shown)
        except OSError as exc:
            raise InputError(f"cannot read ledger {shown}: {exc.strerror}") from None
        finally:
            blocks.close()
        yield str(copy)
