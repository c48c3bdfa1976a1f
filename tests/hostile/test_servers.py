"""Hostile servers on 127.0.0.1: silent, dripping a byte at a time, announcing a
2 GB reply, nesting 200,000 deep, answering garbage. `doctor` ends within its one
deadline per check, in bounded memory, with a CG401 finding and no traceback."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from click.testing import CliRunner

from cache_gate.cli import cli

pytest.importorskip("redis")

TIMEOUT = 0.5
# doctor's whole-check deadline for --timeout 0.5 is 1.5 s; the run adds start-up.
WITHIN = 6.0


def dripping(payload: bytes, pause: float) -> Callable[[socket.socket], None]:
    def serve(conn: socket.socket) -> None:
        conn.recv(4096)
        for index in range(len(payload)):
            conn.sendall(payload[index:index + 1])
            time.sleep(pause)
    return serve


def answering(payload: bytes) -> Callable[[socket.socket], None]:
    def serve(conn: socket.socket) -> None:
        conn.recv(4096)
        conn.sendall(payload)
        time.sleep(3)
    return serve


def silent(conn: socket.socket) -> None:
    time.sleep(3)


@pytest.fixture
def server() -> Iterator[Callable[[Callable[[socket.socket], None]], int]]:
    """A one-behaviour TCP server on 127.0.0.1; every connection is served by it for
    a bounded time, and the server stops with the test."""
    listeners: list[socket.socket] = []
    stop = threading.Event()

    def start(behaviour: Callable[[socket.socket], None]) -> int:
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        listener.settimeout(0.2)
        listeners.append(listener)

        def accept() -> None:
            deadline = time.monotonic() + 20
            while not stop.is_set() and time.monotonic() < deadline:
                try:
                    conn, _ = listener.accept()
                except (TimeoutError, OSError):
                    continue
                with conn, contextlib.suppress(OSError):
                    behaviour(conn)

        threading.Thread(target=accept, daemon=True).start()
        port: int = listener.getsockname()[1]
        return port

    yield start
    stop.set()
    for listener in listeners:
        listener.close()


def doctor(*args: str) -> tuple[int, dict[str, object], float]:
    started = time.monotonic()
    result = CliRunner().invoke(cli, ["doctor", "--timeout", str(TIMEOUT), "--format", "json",
                                      *args])
    elapsed = time.monotonic() - started
    assert "internal error" not in result.output and "Traceback" not in result.output
    return result.exit_code, json.loads(result.stdout), elapsed


REDIS_CASES = {
    "silent": silent,
    "slow drip": dripping(b"+PONG" + b"G" * 1000 + b"\r\n", 0.2),
    "a 2 GB bulk header": dripping(b"$2000000000\r\n" + b"x" * 1000, 0.05),
    "nested 200,000 deep": answering(b"*1\r\n" * 200_000 + b":1\r\n"),
    "garbage": answering(b"\x00\xffHTTP/1.1 200 OK\r\n\r\n"),
}


@pytest.mark.parametrize("behaviour", list(REDIS_CASES), ids=list(REDIS_CASES))
def test_a_hostile_redis_is_a_finding_within_the_deadline(
        server: Callable[[Callable[[socket.socket], None]], int], behaviour: str) -> None:
    port = server(REDIS_CASES[behaviour])
    code, report, elapsed = doctor("--redis-url", f"redis://127.0.0.1:{port}/0")
    assert code == 1
    assert [f["rule"] for f in report["findings"]] == ["CG401"]  # type: ignore[union-attr,index]
    assert elapsed < WITHIN


PROXY_CASES = {
    "silent": silent,
    "slow drip": dripping(b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n" + b"x" * 5000,
                          0.05),
    "a garbage status line": answering(b"\x16\x03\x01 not http at all\r\n\r\n"),
}


@pytest.mark.parametrize("behaviour", list(PROXY_CASES), ids=list(PROXY_CASES))
def test_a_hostile_proxy_is_a_finding_within_the_deadline(
        server: Callable[[Callable[[socket.socket], None]], int], behaviour: str) -> None:
    port = server(PROXY_CASES[behaviour])
    code, report, elapsed = doctor("--proxy-url", f"http://127.0.0.1:{port}")
    assert code == 1
    assert [f["rule"] for f in report["findings"]] == ["CG401"]  # type: ignore[union-attr,index]
    assert elapsed < WITHIN
