"""No password, key or token ever appears in doctor's output, whatever happens.

Every scenario runs in every format, verbose too, and all of stdout and stderr is
searched for every secret involved (the right password, wrong ones, the proxy key).
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.doctor.conftest import RedisServer, StartRedis, free_port
from tests.doctor.helpers import doctor

FORMATS = (("--format", "text"), ("--format", "json"), ("--format", "text", "-v"))


@pytest.fixture(autouse=True)
def _no_default_ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def _all_output(*args: str, env: dict[str, str | None] | None = None) -> str:
    captured = []
    for form in FORMATS:
        code, out, err = doctor(*args, *form, env=env)
        assert code in (0, 1, 2)
        captured.append(out + err)
        if form[1] == "json" and code != 2:
            json.loads(out)  # still a valid document after redaction
    return "\n".join(captured)


def _assert_clean(output: str, *found_secrets: str) -> None:
    assert output.strip()
    for secret in found_secrets:
        assert secret not in output, f"secret {secret[:3]}… printed"


@pytest.fixture
def leaky_proxy(redis_server: RedisServer) -> Iterator[str]:
    """A proxy stand-in whose 503 lists the cache parameters, password included, as
    LiteLLM's does."""
    detail = (f"Service Unhealthy (AUTH failed for {redis_server.password}).Cache parameters: "
              f"{{'password': '{redis_server.password}'}}")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps({"detail": detail}).encode()
            self.send_response(503)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_redis_urls_in_every_outcome(redis_server: RedisServer, redis_factory: StartRedis,
                                     silent_port: int) -> None:
    password = redis_server.password
    assert password is not None
    wrong = "wrong-" + secrets.token_urlsafe(12)
    stopped = redis_factory()
    stopped.stop()
    port = redis_server.port
    scenarios = [
        ["--redis-url", redis_server.url],
        ["--redis-url", f"redis://:{wrong}@127.0.0.1:{port}/0"],
        ["--redis-url", f"redis://{password}@127.0.0.1:{port}/0"],  # user-info without ':'
        ["--redis-url", f"redis://127.0.0.1:{port}/0?password={password}"],
        ["--redis-url", stopped.url],
        ["--redis-url", f"redis://:{password}@127.0.0.1:{silent_port}/0", "--timeout", "0.3"],
        ["--redis-url", f"redis://:{password}@127.0.0.1:notaport/0"],
        ["--redis-url", f"http://:{password}@127.0.0.1:{port}/0"],
    ]
    for args in scenarios:
        _assert_clean(_all_output(*args), password, wrong, stopped.password or "")
    _assert_clean(_all_output(env={"REDIS_URL": redis_server.url}), password)


def test_litellm_configs_with_literal_and_referenced_passwords(
        redis_server: RedisServer, tmp_path: Path) -> None:
    password = redis_server.password
    assert password is not None
    wrong = "wrong-" + secrets.token_urlsafe(12)
    for value, env in [(password, {}), (wrong, {}),
                       ("os.environ/REDIS_PASSWORD", {"REDIS_PASSWORD": password}),
                       ("os.environ/REDIS_PASSWORD", {"REDIS_PASSWORD": wrong})]:
        config = tmp_path / "proxy.yaml"
        config.write_text("litellm_settings:\n  cache: true\n  cache_params:\n    type: redis\n"
                          f"    host: 127.0.0.1\n    port: {redis_server.port}\n"
                          f"    password: {value}\n", encoding="utf-8")
        _assert_clean(_all_output("--litellm-config", str(config), env=dict(env)),
                      password, wrong)


def test_the_proxy_key_and_the_password_in_a_proxy_answer(
        redis_server: RedisServer, leaky_proxy: str) -> None:
    password = redis_server.password
    assert password is not None
    key = "sk-" + secrets.token_urlsafe(16)
    output = _all_output("--proxy-url", f"http://{leaky_proxy}",
                         env={"LITELLM_MASTER_KEY": key, "REDIS_PASSWORD": password})
    assert "answered 503, cache unhealthy: Service Unhealthy (AUTH failed for ***)" in output
    _assert_clean(output, password, key)
    output = _all_output("--proxy-url", f"http://admin:{key}@{leaky_proxy}")
    _assert_clean(output, key)
    unreachable = f"http://127.0.0.1:{free_port()}/?token={key}"
    _assert_clean(_all_output("--proxy-url", unreachable), key)


@pytest.mark.parametrize(("url", "shown"), [
    ("redis://:pw-123@host:6379/0", "redis://:***@host:6379/0"),
    ("rediss://user:pw-123@host:6380/1", "rediss://user:***@host:6380/1"),
    ("redis://pw-123@host:6379", "redis://***@host:6379"),
    ("redis://host:6379/0?password=pw-123&db=1", "redis://host:6379/0?password=***&db=1"),
    ("http://127.0.0.1:4000/?api_key=pw-123", "http://127.0.0.1:4000/?api_key=***"),
    ("redis://:pw-123@host:notaport/0", "(malformed URL)"),
    ("redis://host:6379/0", "redis://host:6379/0"),
])
def test_urls_are_shown_redacted(url: str, shown: str) -> None:
    from cache_gate.doctor.redaction import Redactor

    redactor = Redactor()
    assert redactor.url(url) == shown
    # ... and what was masked is remembered, to be scrubbed wherever else it shows up.
    if "pw-123" in url:
        assert "pw-123" not in redactor.scrub(f"error from {url}: pw-123")


def test_scrub_masks_every_secret_and_its_url_encoding() -> None:
    from cache_gate.doctor.redaction import Redactor

    redactor = Redactor()
    redactor.add("p@ss/word")
    redactor.add("x")  # one character hides nothing and would garble every message
    assert redactor.scrub("a p@ss/word, p%40ss%2Fword, x") == "a ***, ***, x"
