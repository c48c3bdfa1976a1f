"""doctor against live Redis servers: healthy, refused, silent, evicting, full."""

from __future__ import annotations

import socket
import sys
import time
from pathlib import Path

import pytest
import redis

from cache_gate.doctor import redis_backend
from cache_gate.findings import Severity
from cache_gate.gates.doctor import DoctorOptions, run_doctor
from tests import consumers
from tests.doctor.conftest import RedisServer, StartRedis
from tests.doctor.helpers import doctor, doctor_json, findings_of
from tests.policy.helpers import REALWORLD


@pytest.fixture(autouse=True)
def _no_default_ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def _probe_keys(server: RedisServer) -> list[bytes]:
    client = server.client()
    try:
        return list(client.scan_iter(match="*cache-gate:doctor:*"))
    finally:
        client.close()


def test_healthy_backend_passes_and_leaves_nothing_behind(redis_server: RedisServer) -> None:
    code, document = doctor_json("--redis-url", redis_server.url)
    assert code == 0 and document["findings"] == []
    backend = document["doctor"]["backend"]
    assert backend["reachable"] is True and backend["round_trip"] == "ok"
    assert backend["maxmemory_policy"] == "allkeys-lru" and backend["evicted_keys"] == 0
    assert 0 < backend["latency_ms"] < 1000
    assert backend["probe_key"].startswith("cache-gate:doctor:")
    assert _probe_keys(redis_server) == []
    _, out, _ = doctor("--redis-url", redis_server.url)
    assert f"Redis redis://:***@127.0.0.1:{redis_server.port}/0 (--redis-url): PONG in" in out
    assert "round trip ok, allkeys-lru, 0 evicted" in out


def test_redis_url_from_the_environment(redis_server: RedisServer) -> None:
    code, document = doctor_json(env={"REDIS_URL": redis_server.url})
    assert code == 0
    assert document["doctor"]["backend"]["source"] == "REDIS_URL"


def test_wrong_password(redis_server: RedisServer) -> None:
    url = f"redis://:not-the-password@127.0.0.1:{redis_server.port}/0"
    code, document = doctor_json("--redis-url", url)
    assert code == 1
    [finding] = document["findings"]
    assert finding["rule"] == "CG401" and finding["severity"] == "error"
    assert finding["message"].endswith("authentication refused (wrong password or user name)")


def test_missing_password(redis_server: RedisServer) -> None:
    code, document = doctor_json("--redis-url", f"redis://127.0.0.1:{redis_server.port}/0")
    assert code == 1
    [finding] = document["findings"]
    assert "the server requires a password and none was given" in finding["message"]


def test_stopped_server(redis_factory: StartRedis) -> None:
    server = redis_factory()
    server.stop()
    started = time.monotonic()
    code, document = doctor_json("--redis-url", server.url)
    assert time.monotonic() - started < 5
    assert code == 1
    [finding] = document["findings"]
    assert "connection refused: nothing listens there" in finding["message"]


def test_a_silent_host_is_given_up_on_within_the_timeout(silent_port: int) -> None:
    started = time.monotonic()
    code, document = doctor_json("--redis-url", f"redis://127.0.0.1:{silent_port}/0",
                                 "--timeout", "0.5")
    elapsed = time.monotonic() - started
    assert code == 1
    [finding] = document["findings"]
    assert finding["message"].endswith("no answer within 0.5 s")
    assert elapsed < 3, elapsed


def _fill_until_evicted(server: RedisServer) -> None:
    client = server.client()
    try:
        for index in range(2000):
            client.set(f"filler:{index}", b"x" * 65536)
            if int(client.info("stats")["evicted_keys"]) > 0:
                return
        raise AssertionError("Redis never evicted")
    finally:
        client.close()


def _fill_until_full(server: RedisServer) -> None:
    """Write until Redis refuses, then lower maxmemory to 1 MB, well under what is used:
    near the limit, memory in use moves with client buffers, and a small write may pass."""
    client = server.client()
    try:
        for index in range(2000):
            try:
                client.set(f"filler:{index}", b"x" * 65536)
            except redis.exceptions.OutOfMemoryError:
                break
        client.config_set("maxmemory", "1mb")
    finally:
        client.close()


def test_evictions_are_reported(redis_factory: StartRedis) -> None:
    server = redis_factory("--maxmemory", "2mb", "--maxmemory-policy", "allkeys-lru")
    _fill_until_evicted(server)
    code, document = doctor_json("--redis-url", server.url)
    assert code == 0  # a warning
    evictions = [f for f in findings_of(document, "CG402") if "evicted" in f["message"]]
    assert len(evictions) == 1
    assert "keys evicted since the statistics were reset" in evictions[0]["message"]
    assert "maxmemory 2.0 MB, policy allkeys-lru" in evictions[0]["message"]
    assert document["doctor"]["backend"]["evicted_keys"] > 0


def test_a_full_noeviction_backend_refuses_writes(redis_factory: StartRedis) -> None:
    server = redis_factory("--maxmemory", "2mb", "--maxmemory-policy", "noeviction")
    _fill_until_full(server)
    code, document = doctor_json("--redis-url", server.url)
    assert code == 1
    messages = {f["message"].split("): ", 1)[1]: f["severity"]
                for f in findings_of(document, "CG402")}
    assert messages[("refuses writes: it is out of memory (maxmemory reached, noeviction); "
                     "LiteLLM caches no new responses")] == "error"
    assert messages[("maxmemory-policy is noeviction: once 1.0 MB is used, every write fails "
                     "and new responses stop being cached")] == "warning"
    assert any(m.startswith("memory ") and " full " in m for m in messages)
    assert _probe_keys(server) == []


def test_unbounded_noeviction_is_degraded(redis_factory: StartRedis) -> None:
    server = redis_factory("--maxmemory", "0", "--maxmemory-policy", "noeviction")
    code, document = doctor_json("--redis-url", server.url)
    assert code == 0
    [finding] = document["findings"]
    assert finding["rule"] == "CG402"
    assert "no maxmemory and maxmemory-policy noeviction" in finding["message"]
    assert "allkeys-lru" in finding["hint"]


def test_a_slow_round_trip_is_degraded(redis_server: RedisServer,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(redis_backend, "SLOW_ROUND_TRIP_MS", 0.0)
    result = run_doctor(DoctorOptions(redis_url=redis_server.url, environ={}))
    [finding] = result.findings
    assert finding.rule == "CG402" and finding.severity is Severity.WARNING
    assert "(median of 5 PINGs), over 0 ms" in finding.message


def _proxy_config(tmp_path: Path, **params: str | int) -> Path:
    lines = "".join(f"    {key}: {value}\n" for key, value in params.items())
    path = tmp_path / "proxy.yaml"
    path.write_text("model_list: []\nlitellm_settings:\n  cache: true\n  cache_params:\n"
                    f"    type: redis\n    namespace: backlog\n{lines}", encoding="utf-8")
    return path


def test_backend_from_the_litellm_config_and_its_env_references(
        redis_server: RedisServer, tmp_path: Path) -> None:
    config = _proxy_config(tmp_path, host="os.environ/REDIS_HOST", port="os.environ/REDIS_PORT",
                           password="os.environ/REDIS_PASSWORD")
    env = {"REDIS_HOST": "127.0.0.1", "REDIS_PORT": str(redis_server.port),
           "REDIS_PASSWORD": redis_server.password}
    code, document = doctor_json("--litellm-config", str(config), env=env)
    assert code == 0, document
    backend = document["doctor"]["backend"]
    assert backend["source"] == f"litellm_settings.cache_params in {config.as_posix()}"
    assert backend["probe_key"].startswith("backlog:cache-gate:doctor:")
    assert _probe_keys(redis_server) == []


def test_the_proxy_falls_back_on_redis_environment_variables(
        redis_server: RedisServer, tmp_path: Path) -> None:
    config = _proxy_config(tmp_path)  # no host: LiteLLM reads REDIS_HOST and friends
    env = {"REDIS_HOST": "127.0.0.1", "REDIS_PORT": str(redis_server.port),
           "REDIS_PASSWORD": "wrong-on-purpose"}
    code, document = doctor_json("--litellm-config", str(config), env=env)
    assert code == 1
    [finding] = document["findings"]
    assert finding["path"] == config.as_posix() and finding["line"] == 4
    assert "authentication refused" in finding["message"]


def test_an_unset_env_reference_is_exit_2(tmp_path: Path) -> None:
    config = _proxy_config(tmp_path, host="localhost", password="os.environ/REDIS_SECRET")
    code, _, err = doctor("--litellm-config", str(config))
    assert code == 2
    assert err == (f"cache-gate: error: {config.as_posix()}: litellm_settings.cache_params."
                   "password is os.environ/REDIS_SECRET, but REDIS_SECRET is not set in the "
                   "environment: export REDIS_SECRET, or pass --redis-url\n")


def test_a_non_redis_cache_has_no_backend_to_check(tmp_path: Path) -> None:
    path = tmp_path / "proxy.yaml"
    path.write_text("litellm_settings:\n  cache: true\n  cache_params:\n    type: s3\n",
                    encoding="utf-8")
    code, _, err = doctor("--litellm-config", str(path))
    assert code == 2 and err.startswith("cache-gate: error: nothing to check")
    code, out, _ = doctor("--litellm-config", str(path), "--proxy-url", "http://127.0.0.1:1")
    assert "the proxy caches in 's3', not Redis" in out


def test_a_compose_service_name_does_not_resolve_here() -> None:
    docker = consumers.shared_path(
        str((REALWORLD / "litellm" / "proxy-config.docker.yaml").relative_to(consumers.SHARED)))
    try:
        socket.getaddrinfo("redis", 6379)
    except OSError:
        pass
    else:
        pytest.skip("a host named 'redis' resolves on this machine (a CI service?)")
    code, document = doctor_json("--litellm-config", str(docker), "--timeout", "2")
    assert code == 1
    [finding] = document["findings"]
    assert finding["rule"] == "CG401"
    assert "redis://redis:6379/0" in finding["message"]
    assert finding["message"].endswith("host redis does not resolve here")
    assert "docker compose service name" in finding["hint"]


def test_a_malformed_url_is_exit_2(redis_server: RedisServer) -> None:
    code, out, err = doctor("--redis-url", "http://127.0.0.1:6379")
    assert code == 2 and out == ""
    assert err.startswith("cache-gate: error: Redis URL http://127.0.0.1:6379 (--redis-url) is "
                          "not usable: ")


def test_without_redis_py_the_user_is_told_what_to_install(
        redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)
    code, _, err = doctor("--redis-url", redis_server.url)
    assert code == 2
    assert "pip install 'cache-gate[redis]'" in err
