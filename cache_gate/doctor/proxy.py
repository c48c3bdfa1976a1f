"""CG401 cache-backend-unreachable, through the proxy: ask LiteLLM's `GET /cache/ping`.

With `--proxy-url`, doctor asks the proxy whether its cache answers. The proxy
pings its cache and writes a test entry; it answers 200 with `"status": "healthy"`,
or 503 with the error. The master key (from `LITELLM_MASTER_KEY`, or
`general_settings.master_key` of the LiteLLM config) is sent as a bearer token and
never printed.

Reported as CG401 (error): no answer, 401 or 403 (the key is missing or refused),
a 503 from `/cache/ping` (with LiteLLM's error, without its cache parameters), a
proxy with no cache configured, and a redirect. Redirects are not followed (they
would carry the key to another address), and the answer's body is never shown as
is: LiteLLM's 503 detail lists the cache parameters, password included.

Fix: correct the proxy's address and key, or configure and start its cache.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from cache_gate.doctor.redaction import Redactor
from cache_gate.errors import InputError
from cache_gate.findings import Finding
from cache_gate.policy.engine import flag

PING_PATH = "/cache/ping"
MAX_ANSWER_BYTES = 64 * 1024
LOOPBACK = {"localhost", "127.0.0.1", "::1"}


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@dataclass
class ProxyPing:
    url: str  # redacted
    findings: list[Finding] = field(default_factory=list)
    summary: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def unhealthy(self, message: str, key: str, hint: str | None = None) -> None:
        self.findings.append(flag("CG401", f"LiteLLM proxy {self.url}: {message}", key=key,
                                  hint=hint))
        self.summary = f"LiteLLM proxy {self.url}: {message}"
        self.details["healthy"] = False


def _opener(host: str) -> urllib.request.OpenerDirector:
    handlers: list[urllib.request.BaseHandler] = [_NoRedirect()]
    if host in LOOPBACK or host.startswith("127."):
        handlers.append(urllib.request.ProxyHandler({}))  # never via an HTTP proxy
    return urllib.request.build_opener(*handlers)


def _detail(body: bytes) -> str:
    """LiteLLM's error detail, cut before the cache parameters it lists."""
    try:
        detail = json.loads(body).get("detail", "")
    except (ValueError, AttributeError):
        return ""
    if isinstance(detail, dict):
        detail = detail.get("error", "")
    text = str(detail).split(".Cache parameters:")[0].split("Cache parameters:")[0]
    return text[:200]


def ping_proxy(base_url: str, key: str | None, timeout: float, redactor: Redactor) -> ProxyPing:
    redactor.add(key)
    shown = redactor.url(base_url)
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"--proxy-url {shown}: expected http(s)://host[:port], the LiteLLM "
                         "proxy's base URL")
    if parts.username or parts.password:
        raise InputError(f"--proxy-url {shown}: LiteLLM takes its key as a bearer token, not "
                         "in the URL: drop the user-info and set LITELLM_MASTER_KEY")
    url = base_url.rstrip("/") + PING_PATH
    ping = ProxyPing(redactor.url(url))
    ping.details["url"] = ping.url
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    if key:
        request.add_header("Authorization", f"Bearer {key}")
    try:
        with _opener(parts.hostname).open(request, timeout=timeout) as answer:
            body = answer.read(MAX_ANSWER_BYTES)
            status = answer.status
    except urllib.error.HTTPError as exc:
        body = exc.read(MAX_ANSWER_BYTES) if exc.fp is not None else b""
        exc.close()
        _refused(ping, exc.code, body, exc.headers.get("Location"), key)
        return ping
    except TimeoutError:
        ping.unhealthy(f"no answer within {timeout:g} s", "timeout")
        return ping
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        ping.unhealthy(f"not reachable: {reason}", "unreachable",
                       hint="Check --proxy-url and that the proxy is running.")
        return ping
    _answered(ping, status, body)
    return ping


def _refused(ping: ProxyPing, code: int, body: bytes, location: str | None,
             key: str | None) -> None:
    ping.details["http_status"] = code
    if code in (401, 403):
        why = "no key was sent" if not key else "the key was refused"
        ping.unhealthy(f"answered {code}: {why}", "auth",
                       hint="Set LITELLM_MASTER_KEY to the proxy's master key.")
    elif code == 503:
        detail = _detail(body)
        if "not initialized" in detail or "is None" in detail:
            ping.unhealthy("answered 503: the proxy has no cache configured",
                           "no-cache", hint="Set litellm_settings.cache: true and cache_params.")
        else:
            ping.unhealthy(f"answered 503, cache unhealthy{': ' + detail if detail else ''}",
                           "unhealthy")
    elif code == 404:
        ping.unhealthy(f"answered 404: no {PING_PATH} here (not a LiteLLM proxy, or a path "
                       "prefix missing from --proxy-url?)", "not-found")
    elif 300 <= code < 400:
        ping.unhealthy(f"answered {code}, a redirect to {location or '?'}, not followed "
                       "(it would carry the master key)", "redirect",
                       hint="Pass the final address as --proxy-url.")
    else:
        ping.unhealthy(f"answered {code}", f"http-{code}")


def _answered(ping: ProxyPing, status: int, body: bytes) -> None:
    ping.details["http_status"] = status
    try:
        answer = json.loads(body)
    except ValueError:
        answer = None
    if not isinstance(answer, dict) or "status" not in answer:
        ping.unhealthy(f"answered {status}, but not with LiteLLM's cache ping", "unexpected")
        return
    healthy = answer.get("status") == "healthy"
    cache_type = answer.get("cache_type")
    ping.details.update({"healthy": healthy, "cache_type": cache_type,
                         "ping_response": answer.get("ping_response"),
                         "set_cache_response": answer.get("set_cache_response")})
    if not healthy:
        ping.unhealthy(f"cache status {str(answer.get('status'))[:40]!r}", "status")
        return
    checks = ", ".join(f"{name} {answer[name]}" for name in ("ping_response",
                                                             "set_cache_response")
                       if name in answer)
    ping.summary = (f"LiteLLM proxy {ping.url}: cache healthy ({cache_type}"
                    f"{'; ' + checks if checks else ''})")
