"""Real Redis servers for doctor's tests, started here and stopped again.

Each runs on a free loopback port, with a password, no persistence (`--save ''`) and a
temporary directory. Without `redis-server` the tests skip, unless
CACHE_GATE_REQUIRE_REDIS is set (as `.ci/run` does), in which case they fail: CI
must not go green by skipping them.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

REDIS_SERVER = shutil.which("redis-server")
START_TIMEOUT = 10.0


def _need_redis_server() -> str:
    if REDIS_SERVER is None:
        reason = "redis-server is not installed (apt-get install redis-server)"
        if os.environ.get("CACHE_GATE_REQUIRE_REDIS"):
            pytest.fail(f"{reason}, and CACHE_GATE_REQUIRE_REDIS is set")
        pytest.skip(reason)
    return REDIS_SERVER


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class RedisServer:
    port: int
    password: str | None
    directory: Path
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, password=self.password,
                           socket_timeout=5)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_redis(directory: Path, password: str | None, *options: str) -> RedisServer:
    server = _need_redis_server()
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    command = [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "no", "--dir", str(directory), "--daemonize", "no",
               "--logfile", str(directory / "redis.log"), *options]
    if password:
        command += ["--requirepass", password]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    running = RedisServer(port, password, directory, process)
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        client = running.client()
        try:
            client.ping()
            return running
        except redis.ConnectionError:
            if process.poll() is not None or time.monotonic() > deadline:
                running.stop()
                log = (directory / "redis.log").read_text(errors="replace")[-500:]
                raise RuntimeError(f"redis-server did not start: {log}") from None
            time.sleep(0.05)
        finally:
            client.close()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One healthy Redis for the session: a password, bounded memory, LRU eviction."""
    server = start_redis(tmp_path_factory.mktemp("redis"), secrets.token_urlsafe(18),
                         "--maxmemory", "64mb", "--maxmemory-policy", "allkeys-lru")
    yield server
    server.stop()


StartRedis = Callable[..., RedisServer]


@pytest.fixture
def redis_factory(tmp_path: Path) -> Iterator[StartRedis]:
    """Start servers of a test's own (tiny memory, another policy); all stopped after."""
    started: list[RedisServer] = []

    def start(*options: str, password: str | None = None) -> RedisServer:
        server = start_redis(tmp_path / f"redis-{len(started)}",
                             password or secrets.token_urlsafe(18), *options)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that accepts connections and never says a word."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()
