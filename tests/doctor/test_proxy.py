"""doctor --proxy-url against a tiny LiteLLM stand-in on 127.0.0.1."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.doctor.conftest import free_port
from tests.doctor.helpers import doctor, doctor_json

KEY = "sk-test-master-key-1234"
REDIS_PASSWORD = "hunter2-redis-password"


@dataclass
class Answer:
    status: int = 200
    body: object = field(default_factory=lambda: {
        "status": "healthy", "cache_type": "redis", "ping_response": True,
        "set_cache_response": "success",
        "litellm_cache_params": f"{{'password': '{REDIS_PASSWORD}'}}"})
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class StandIn:
    url: str
    answer: Answer
    requests: list[tuple[str, str | None]]  # (path, Authorization header)
    release: threading.Event


@pytest.fixture
def stand_in() -> Iterator[StandIn]:
    answer = Answer()
    requests: list[tuple[str, str | None]] = []
    release = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            requests.append((self.path, self.headers.get("Authorization")))
            if answer.delay:
                release.wait(answer.delay)
            body = json.dumps(answer.body).encode()
            try:
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except OSError:
                pass  # the client gave up (the timeout test)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield StandIn(f"http://127.0.0.1:{server.server_address[1]}", answer, requests,
                      release)
    finally:
        release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(autouse=True)
def _no_default_ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def _ping(stand_in: StandIn, *args: str, key: str | None = KEY) -> tuple[int, dict[str, Any]]:
    return doctor_json("--proxy-url", stand_in.url, *args, env={"LITELLM_MASTER_KEY": key})


def test_healthy_cache(stand_in: StandIn) -> None:
    code, document = _ping(stand_in)
    assert code == 0 and document["findings"] == []
    assert stand_in.requests == [("/cache/ping", f"Bearer {KEY}")]
    proxy = document["doctor"]["proxy"]
    assert proxy["healthy"] is True and proxy["cache_type"] == "redis"
    _, out, _ = doctor("--proxy-url", stand_in.url + "/", env={"LITELLM_MASTER_KEY": KEY})
    assert (f"LiteLLM proxy {stand_in.url}/cache/ping: cache healthy (redis; ping_response "
            "True, set_cache_response success)") in out


def test_unhealthy_cache_without_its_parameters(stand_in: StandIn) -> None:
    stand_in.answer.status = 503
    stand_in.answer.body = {"detail": "Service Unhealthy (Error 111 connecting to redis:6379. "
                                      f"Connection refused.).Cache parameters: {{'password': "
                                      f"'{REDIS_PASSWORD}'}}.specific_cache_params: {{}}"}
    code, out, err = doctor("--proxy-url", stand_in.url, env={"LITELLM_MASTER_KEY": KEY})
    assert code == 1
    assert ("CG401 cache-backend-unreachable error: LiteLLM proxy "
            f"{stand_in.url}/cache/ping: answered 503, cache unhealthy: Service Unhealthy "
            "(Error 111 connecting to redis:6379. Connection refused.)\n") in out
    assert REDIS_PASSWORD not in out + err


def test_a_proxy_without_cache(stand_in: StandIn) -> None:
    stand_in.answer.status = 503
    stand_in.answer.body = {"detail": "Cache not initialized. litellm.cache is None"}
    code, document = _ping(stand_in)
    assert code == 1
    [finding] = document["findings"]
    assert finding["message"].endswith("answered 503: the proxy has no cache configured")


@pytest.mark.parametrize(("key", "says"), [(KEY, "the key was refused"),
                                           (None, "no key was sent")])
def test_refused_key(stand_in: StandIn, key: str | None, says: str) -> None:
    stand_in.answer.status = 401
    stand_in.answer.body = {"error": {"message": f"Invalid key {key}"}}
    code, document = _ping(stand_in, key=key)
    assert code == 1
    [finding] = document["findings"]
    assert finding["message"].endswith(f"answered 401: {says}")
    assert stand_in.requests[0][1] == (f"Bearer {key}" if key else None)


def test_the_key_may_come_from_the_litellm_config(stand_in: StandIn, tmp_path: Path) -> None:
    config = tmp_path / "proxy.yaml"
    config.write_text("general_settings:\n  master_key: os.environ/PROXY_KEY\n",
                      encoding="utf-8")
    code, _ = doctor_json("--proxy-url", stand_in.url, "--litellm-config", str(config),
                          env={"PROXY_KEY": KEY})
    assert code == 0
    assert stand_in.requests == [("/cache/ping", f"Bearer {KEY}")]


def test_a_redirect_is_not_followed(stand_in: StandIn) -> None:
    elsewhere = f"http://127.0.0.1:{free_port()}/steal"
    stand_in.answer.status = 302
    stand_in.answer.headers = {"Location": elsewhere}
    code, document = _ping(stand_in)
    assert code == 1
    [finding] = document["findings"]
    assert f"a redirect to {elsewhere}, not followed" in finding["message"]
    assert len(stand_in.requests) == 1


def test_not_a_litellm_proxy(stand_in: StandIn) -> None:
    stand_in.answer.status = 404
    code, document = _ping(stand_in)
    assert code == 1
    assert "answered 404: no /cache/ping here" in document["findings"][0]["message"]
    stand_in.answer.status = 200
    stand_in.answer.body = ["something", "else"]
    code, document = _ping(stand_in)
    assert "answered 200, but not with LiteLLM's cache ping" in (
        document["findings"][0]["message"])


def test_a_slow_proxy_is_given_up_on(stand_in: StandIn) -> None:
    stand_in.answer.delay = 10
    started = time.monotonic()
    code, document = _ping(stand_in, "--timeout", "0.5")
    assert time.monotonic() - started < 3
    assert code == 1
    assert document["findings"][0]["message"].endswith("no answer within 0.5 s")


def test_nothing_listening() -> None:
    code, document = doctor_json("--proxy-url", f"http://127.0.0.1:{free_port()}")
    assert code == 1
    assert "not reachable: [Errno 111] Connection refused" in (
        document["findings"][0]["message"])


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/", "file:///etc/passwd", "127.0.0.1:4000"])
def test_only_http_urls(url: str) -> None:
    code, _, err = doctor("--proxy-url", url)
    assert code == 2 and "expected http(s)://host[:port]" in err


def test_credentials_in_the_url_are_refused_unsent(stand_in: StandIn) -> None:
    url = stand_in.url.replace("http://", f"http://admin:{KEY}@")
    code, _, err = doctor("--proxy-url", url)
    assert code == 2 and stand_in.requests == []
    assert err == ("cache-gate: error: --proxy-url http://admin:***@127.0.0.1:"
                   f"{url.rsplit(':', 1)[1]}: LiteLLM takes its key as a bearer token, not in "
                   "the URL: drop the user-info and set LITELLM_MASTER_KEY\n")
