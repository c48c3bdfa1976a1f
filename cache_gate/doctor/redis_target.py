"""Where the cache backend is: `--redis-url`, else `REDIS_URL`, else the LiteLLM config.

From a LiteLLM config, the Redis connection is assembled the way the proxy does
it: `REDIS_HOST`, `REDIS_PORT`, `REDIS_PASSWORD`, `REDIS_USERNAME`, `REDIS_SSL`
and `REDIS_DB` from the environment, overridden by `cache_params` (`host`,
`port`, `password`, `username`, `ssl`, `db`, or a `url`), whose
`os.environ/NAME` values are looked up in the environment.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from cache_gate.doctor.redaction import Redactor
from cache_gate.errors import InputError
from cache_gate.manifest.positions import format_path
from cache_gate.policy.litellm_config import CACHE_PARAMS, REDIS_TYPES, LiteLLMConfig, resolve

DEFAULT_PORT = 6379
_ENV_PARAMS = ("host", "port", "password", "username", "ssl", "db")
_TRUE = {"true", "1", "yes", "on"}


@dataclass(frozen=True)
class RedisTarget:
    """A Redis to probe, and how to say where it came from (never with its password)."""

    source: str  # "--redis-url", "REDIS_URL", "litellm_settings.cache_params in X"
    display: str  # redacted URL
    url: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    namespace: str | None = None
    # The config the target was read from, for findings to point at.
    config_path: str | None = None
    config_line: int | None = None

    @property
    def host(self) -> str | None:
        if self.url is not None:
            try:
                return urlsplit(self.url).hostname
            except ValueError:
                return None
        host = self.params.get("host")
        return host if isinstance(host, str) else None


def _display(params: Mapping[str, Any]) -> str:
    scheme = "rediss" if params.get("ssl") else "redis"
    auth = ""
    if params.get("password"):
        auth = f"{params.get('username') or ''}:***@"
    elif params.get("username"):
        auth = f"{params['username']}@"
    return f"{scheme}://{auth}{params['host']}:{params['port']}/{params.get('db', 0)}"


def from_url(url: str, source: str, redactor: Redactor) -> RedisTarget:
    return RedisTarget(source, redactor.url(url), url=url)


def _as_int(value: Any, where: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    raise InputError(f"{where} must be a whole number, got {value!r}")


def from_litellm(config: LiteLLMConfig, environ: Mapping[str, str],
                 redactor: Redactor) -> tuple[RedisTarget | None, str | None]:
    """The proxy's Redis, or None and the reason there is none to check."""
    cache_type = config.cache_type
    if config.cache is not True:
        return None, (f"{config.display}: the proxy's response cache is not on "
                      "(litellm_settings.cache), so it has no backend to check")
    if cache_type not in REDIS_TYPES:
        return None, (f"{config.display}: the proxy caches in {cache_type!r}, not Redis: "
                      "doctor checks Redis backends (pass --proxy-url to ask the proxy "
                      "itself through /cache/ping)")
    kwargs: dict[str, Any] = {}
    for name in _ENV_PARAMS:
        variable = f"REDIS_{name.upper()}"
        if variable in environ:
            kwargs[name] = environ[variable]
    where = f"{config.display}: {format_path(CACHE_PARAMS)}"
    for name in (*_ENV_PARAMS, "url"):
        if config.param(name) is not None:
            kwargs[name] = resolve(config.param(name), f"{where}.{name}", environ)
    redactor.add(kwargs.get("password"))
    source = f"{format_path(CACHE_PARAMS)} in {config.display}"
    line = config.line_of(CACHE_PARAMS)
    namespace = config.param("namespace")
    namespace = namespace if isinstance(namespace, str) and namespace else None
    if kwargs.get("url"):
        url = str(kwargs["url"])
        return RedisTarget(source, redactor.url(url), url=url, namespace=namespace,
                           config_path=config.display, config_line=line), None
    if not kwargs.get("host"):
        raise InputError(f"{where} has no host (and REDIS_HOST is not set): the proxy "
                         "cannot reach Redis either; set host, or pass --redis-url")
    params: dict[str, Any] = {"host": str(kwargs["host"]),
                              "port": _as_int(kwargs.get("port", DEFAULT_PORT), f"{where}.port"),
                              "db": _as_int(kwargs.get("db", 0), f"{where}.db")}
    ssl = kwargs.get("ssl")
    params["ssl"] = ssl if isinstance(ssl, bool) else str(ssl).lower() in _TRUE
    for name in ("password", "username"):
        if kwargs.get(name):
            params[name] = str(kwargs[name])
    return RedisTarget(source, _display(params), params=params, namespace=namespace,
                       config_path=config.display, config_line=line), None
