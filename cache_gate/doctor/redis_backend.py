"""CG401 cache-backend-unreachable, CG402 cache-backend-degraded: probe the Redis behind
LiteLLM's response cache.

The probe, every step bounded by `timeout` seconds (`--timeout`, default 3) and
never retried, so an unreachable backend is reported in seconds:

1. PING, five times: the median is the round-trip latency.
2. A SET (60 s expiry) / GET / TTL round trip on a key of the proxy's namespace,
   `<namespace>:cache-gate:doctor:<random>`, deleted again whatever happens.
3. INFO: evicted keys, `maxmemory`, `maxmemory-policy`, memory in use.

CG401 (error): the host does not resolve, the connection is refused, no answer
within the timeout, authentication refused or missing.

CG402 (warning): keys evicted since the statistics were reset; `maxmemory-policy
noeviction` (with `maxmemory`, a full cache refuses every write; without, it grows
until the host runs out of memory); memory 95% full or more; a median round trip
over 50 ms. An error when the backend refuses the probe's write (out of memory, a
read-only replica, an ACL without write), as LiteLLM then caches nothing new.

Where the backend is found (`--redis-url`, `REDIS_URL`, the LiteLLM config) is in
`doctor.redis_target`. The probe needs redis-py (`pip install 'cache-gate[redis]'`).

Example:

    CG401 cache-backend-unreachable error: Redis redis://redis:6379/0
    (litellm_settings.cache_params in config/litellm/proxy-config.docker.yaml): host
    redis does not resolve here

    CG402 cache-backend-degraded warning: Redis redis://:***@127.0.0.1:6379/0
    (REDIS_URL): 1,204 keys evicted since the statistics were reset (uptime 3.2 days;
    maxmemory 64.0 MB, policy allkeys-lru): cached responses leave before their TTL

Fix: for CG401, correct the address and credentials (a docker compose service name
resolves only inside the compose network: run doctor there, or pass `--redis-url`),
or bring the backend up. For CG402, give the cache more memory, set `maxmemory`
with `maxmemory-policy allkeys-lru` (or `volatile-lru`: LiteLLM sets a TTL on every
entry), run it next to the proxy, point LiteLLM at a writable primary.
"""

from __future__ import annotations

import contextlib
import secrets
import statistics
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cache_gate.doctor.redis_target import RedisTarget
from cache_gate.errors import InputError
from cache_gate.findings import Finding, Severity
from cache_gate.policy.engine import flag

if TYPE_CHECKING:
    import redis

PINGS = 5
# How getaddrinfo failures read on Linux (glibc, musl) and macOS.
_UNRESOLVED = ("Name or service not known", "Temporary failure in name resolution",
               "nodename nor servname", "No address associated", "Name does not resolve")
SLOW_ROUND_TRIP_MS = 50.0
MEMORY_NEARLY_FULL = 0.95
PROBE_EXPIRY_SECONDS = 60
LRU_HINT = ("Set maxmemory and maxmemory-policy allkeys-lru (or volatile-lru: LiteLLM "
            "writes every entry with a TTL).")


@dataclass
class BackendProbe:
    """What the probe found: findings, a line for people, a section for JSON."""

    target: RedisTarget
    findings: list[Finding] = field(default_factory=list)
    summary: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def flag(self, rule_id: str, message: str, key: str, *,
             severity: Severity | None = None, hint: str | None = None) -> None:
        target = self.target
        self.findings.append(flag(rule_id, f"Redis {target.display} ({target.source}): "
                                  f"{message}", path=target.config_path,
                                  line=target.config_line, key=key, severity=severity,
                                  hint=hint))


def _client(target: RedisTarget, timeout: float) -> redis.Redis:
    try:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry
    except ImportError:
        raise InputError("checking a Redis backend needs redis-py: pip install "
                         "'cache-gate[redis]'") from None
    options: dict[str, Any] = {"socket_timeout": timeout, "socket_connect_timeout": timeout,
                               "retry": Retry(NoBackoff(), 0), "health_check_interval": 0}
    if target.url is not None:
        try:
            return redis.Redis.from_url(target.url, **options)
        except ValueError as exc:
            raise InputError(f"Redis URL {target.display} ({target.source}) is not usable: "
                             f"{exc}") from None
    return redis.Redis(**target.params, **options)


def _unreachable(probe: BackendProbe, exc: Exception, timeout: float) -> None:
    import redis

    target = probe.target
    host = target.host or ""
    hint: str | None
    if isinstance(exc, redis.AuthenticationError):
        if target.params.get("password") or (target.url and "@" in target.url):
            message, key = "authentication refused (wrong password or user name)", "auth"
        else:
            message, key = "the server requires a password and none was given", "noauth"
        hint = ("Set the password in the URL (redis://:PASSWORD@host:port) through REDIS_URL, "
                "or in cache_params.password (os.environ/REDIS_PASSWORD).")
    elif isinstance(exc, redis.TimeoutError):
        message, key = f"no answer within {timeout:g} s", "timeout"
        hint = "Check that the address is a Redis server and that no firewall drops traffic."
    elif any(text in str(exc) for text in _UNRESOLVED):
        message, key = f"host {host or 'in the URL'} does not resolve here", "dns"
        hint = ("A docker compose service name resolves only inside the compose network: run "
                "doctor there, or pass --redis-url with an address reachable from here."
                if host and "." not in host and host != "localhost" else None)
    elif "refused" in str(exc).lower():
        message, key = "connection refused: nothing listens there", "refused"
        hint = "Start Redis, or point --redis-url / REDIS_URL at the running one."
    else:
        message, key = f"{type(exc).__name__}: {exc}", "error"
        hint = None
    probe.flag("CG401", message, key, hint=hint)


def _round_trip(probe: BackendProbe, client: redis.Redis) -> None:
    """SET/GET/TTL on a key of our own that is deleted again whatever happens."""
    import redis

    prefix = f"{probe.target.namespace}:" if probe.target.namespace else ""
    key = f"{prefix}cache-gate:doctor:{secrets.token_hex(8)}"
    value = secrets.token_hex(8)
    probe.details["probe_key"] = key
    try:
        client.set(key, value, ex=PROBE_EXPIRY_SECONDS, nx=True)
        read = client.get(key)
        ttl = client.ttl(key)
        if read is None or (read.decode() if isinstance(read, bytes) else read) != value:
            probe.flag("CG402", "a value written was not read back", "readback",
                       severity=Severity.ERROR)
        elif not isinstance(ttl, int) or not 0 < ttl <= PROBE_EXPIRY_SECONDS:
            probe.flag("CG402", f"a key written with a {PROBE_EXPIRY_SECONDS} s expiry reports "
                       f"TTL {ttl}", "ttl")
        probe.details["round_trip"] = "ok"
    except redis.ResponseError as exc:
        text = str(exc)
        if isinstance(exc, redis.exceptions.OutOfMemoryError) or text.startswith("OOM"):
            reason = "it is out of memory (maxmemory reached, noeviction)"
        elif isinstance(exc, redis.exceptions.ReadOnlyError) or "READONLY" in text:
            reason = "it is a read-only replica"
        elif isinstance(exc, redis.exceptions.NoPermissionError) or "NOPERM" in text:
            reason = "this user may not write keys"
        else:
            reason = text
        probe.flag("CG402", f"refuses writes: {reason}; LiteLLM caches no new responses",
                   "writes", severity=Severity.ERROR, hint=LRU_HINT if "memory" in reason
                   else "Point LiteLLM at a writable primary with a user allowed to write.")
        probe.details["round_trip"] = f"refused: {reason}"
    finally:
        with contextlib.suppress(redis.RedisError):
            client.delete(key)


def _memory(probe: BackendProbe, info: dict[str, Any]) -> None:
    evicted = int(info.get("evicted_keys", 0) or 0)
    maxmemory = int(info.get("maxmemory", 0) or 0)
    used = int(info.get("used_memory", 0) or 0)
    policy = str(info.get("maxmemory_policy", "?"))
    probe.details.update({"redis_version": info.get("redis_version"), "evicted_keys": evicted,
                          "maxmemory": maxmemory, "maxmemory_policy": policy,
                          "used_memory": used})
    limit = f"maxmemory {_size(maxmemory)}" if maxmemory else "no maxmemory"
    if evicted:
        uptime = int(info.get("uptime_in_seconds", 0) or 0)
        probe.flag("CG402", f"{evicted:,} keys evicted since the statistics were reset "
                   f"(uptime {_span(uptime)}; {limit}, policy {policy}): cached responses "
                   "leave before their TTL", "evictions",
                   hint="Give the cache more memory (maxmemory), or shorten TTLs.")
    if policy == "noeviction":
        if maxmemory:
            message = (f"maxmemory-policy is noeviction: once {_size(maxmemory)} is used, "
                       "every write fails and new responses stop being cached")
        else:
            message = ("no maxmemory and maxmemory-policy noeviction: the cache grows until "
                       "the host runs out of memory")
        probe.flag("CG402", message, "noeviction", hint=LRU_HINT)
    if maxmemory and used / maxmemory >= MEMORY_NEARLY_FULL:
        probe.flag("CG402", f"memory {used / maxmemory:.0%} full ({_size(used)} of "
                   f"{_size(maxmemory)})", "memory-full",
                   hint="Give the cache more memory (maxmemory).")


def probe_redis(target: RedisTarget, timeout: float) -> BackendProbe:
    """Connect, measure, write and read back, inspect; always closes the connection."""
    client = _client(target, timeout)  # first: it says how to install redis-py if missing
    import redis

    probe = BackendProbe(target)
    probe.details.update({"url": target.display, "source": target.source, "reachable": False})
    try:
        latencies = []
        try:
            for _ in range(PINGS):
                started = time.perf_counter()
                client.ping()
                latencies.append((time.perf_counter() - started) * 1000)
        except redis.RedisError as exc:
            _unreachable(probe, exc, timeout)
            return probe
        latency = statistics.median(latencies)
        probe.details.update({"reachable": True, "latency_ms": round(latency, 3)})
        try:
            _round_trip(probe, client)
            info = client.info()
        except redis.exceptions.NoPermissionError:
            info = None
            probe.details["info"] = "not permitted for this user"
        except redis.RedisError as exc:
            probe.flag("CG401", f"stopped answering during the check: {type(exc).__name__}: "
                       f"{exc}", "mid-check")
            return probe
        if info is not None:
            _memory(probe, info)
        if latency > SLOW_ROUND_TRIP_MS:
            probe.flag("CG402", f"round trip {latency:.0f} ms (median of {PINGS} PINGs), over "
                       f"{SLOW_ROUND_TRIP_MS:.0f} ms: every cached request waits for it",
                       "slow", hint="Run the cache next to the proxy (same host, zone or "
                                    "network).")
        memory = (f"{probe.details['maxmemory_policy']}, {probe.details['evicted_keys']:,} "
                  "evicted" if info is not None else "INFO not permitted")
        probe.summary = (f"Redis {target.display} ({target.source}): PONG in {latency:.1f} ms, "
                         f"round trip {probe.details.get('round_trip', '?')}, {memory}")
        return probe
    finally:
        client.close()


def _size(size: int) -> str:
    if size < 1024:
        return f"{size:,} B"
    scaled = size / 1024
    for unit in ("KB", "MB"):
        if scaled < 1024:
            return f"{scaled:,.1f} {unit}"
        scaled /= 1024
    return f"{scaled:,.1f} GB"


def _span(seconds: int) -> str:
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"
