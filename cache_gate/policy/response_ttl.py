"""CG304 response-cache-ttl: a response cache TTL below the runbook's hour.

The response cache answers a repeated request from the proxy without calling the
model. An entry that expires before its request comes back is money spent twice:
the runbook (step 3) sets `ttl: 3600` (one hour) and suggests `7200` for long
refactoring sessions. A TTL below 3600 s is reported (info), in
`backlog.config.json` `llmOps.cachePolicy.responseCache.ttlSeconds` (when the
response cache is enabled) and in the LiteLLM `cache_params.ttl` (when the
proxy's cache is on). An absent TTL is not reported: the backend keeps entries
until it evicts them.

Example:

    cache_params:
      type: redis
      ttl: 1800                                                           <- CG304

Fix: `ttl: 3600`, or `7200` for long refactoring sessions (runbook step 3).
"""

from __future__ import annotations

from collections.abc import Iterator

from cache_gate.findings import Finding
from cache_gate.manifest.positions import format_path
from cache_gate.policy.engine import PolicyInputs, flag

RUNBOOK_TTL = 3600
LONG_SESSION_TTL = 7200


def _duration(seconds: float) -> str:
    if seconds and seconds % 60 == 0:
        return f"{seconds:g} s ({seconds / 60:g} min)"
    return f"{seconds:g} s"


def judge(ttl: float, where: str, *, path: str, line: int | None) -> Iterator[Finding]:
    if ttl >= RUNBOOK_TTL:
        return
    yield flag("CG304", f"response cache TTL {where} is {_duration(ttl)}, below the "
               f"runbook's {RUNBOOK_TTL} s: a request repeated later than that pays full "
               "price again", path=path, line=line, key=where,
               hint=f"Use {RUNBOOK_TTL} s, or {LONG_SESSION_TTL} s for long refactoring "
                    "sessions (runbook step 3).")


def check(inputs: PolicyInputs) -> Iterator[Finding]:
    backlog = inputs.backlog
    if backlog is not None:
        enabled, ttl = backlog.response_cache_enabled, backlog.response_cache_ttl
        if enabled is not None and enabled.value and ttl is not None and ttl.explicit:
            yield from judge(ttl.value, format_path(ttl.path), path=backlog.document.display,
                             line=backlog.line_of(ttl.path))
    litellm = inputs.litellm
    if litellm is None or litellm.cache is not True:
        return
    path = litellm.param_path("ttl")
    value = litellm.number_param("ttl", inputs.notes, "CG304")
    if value is not None and value > 0:
        yield from judge(value, format_path(path), path=litellm.display,
                         line=litellm.line_of(path))
