"""CG305 cache-disabled: a cache layer that the setup expects is switched off.

Reported (warning), each at the line to change:

- `backlog.config.json`: `providerPromptCaching: false` (no cache breakpoints are
  sent: every request pays the full input price), `responseCache.enabled: false`.
  The semantic cache is an optional layer (runbook step 4: "if semantic cache is
  enabled"), so `semanticCache.enabled: false` is not reported.
- LiteLLM proxy config: `litellm_settings.cache: false`; `cache_params` without
  `cache: true` (LiteLLM then ignores them); no response cache at all although
  `backlog.config.json` enables one; `supported_call_types: []`, or a list without
  any chat, completion or messages call type (nothing the agents send is cached);
  `mode: default_off` (only requests that ask for the cache use it).

Example:

    litellm_settings:
      cache_params:          # no `cache: true`: LiteLLM ignores all of this  <- CG305
        type: redis
        ttl: 3600

Fix: turn the layer on (the message says which key to set). Where it is off on
purpose, add `CG305` to `ignore` in the settings.
"""

from __future__ import annotations

from collections.abc import Iterator

from cache_gate.findings import Finding
from cache_gate.manifest.positions import format_path
from cache_gate.policy.backlog_config import BacklogPolicy
from cache_gate.policy.engine import PolicyInputs, flag
from cache_gate.policy.litellm_config import CACHE, CACHE_PARAMS, SETTINGS, LiteLLMConfig

# Call types of the requests agents send: chat completions, text completions,
# Anthropic messages, Responses API (sync and async spellings).
REQUEST_CALL_TYPES = frozenset({
    "completion", "acompletion", "text_completion", "atext_completion",
    "anthropic_messages", "aanthropic_messages", "responses", "aresponses",
})


def _backlog(policy: BacklogPolicy) -> Iterator[Finding]:
    display = policy.document.display
    prompt = policy.provider_prompt_caching
    if prompt is not None and prompt.explicit and prompt.value is False:
        yield flag("CG305", f"{format_path(prompt.path)} is false: no cache breakpoints are "
                   "sent, so every request pays the full input price for its stable prefix",
                   path=display, line=policy.line_of(prompt.path), key="providerPromptCaching",
                   hint="Set providerPromptCaching to true (runbook: prompt cache hit rate "
                        "≥ 60%).")
    response = policy.response_cache_enabled
    if response is not None and response.explicit and response.value is False:
        yield flag("CG305", f"{format_path(response.path)} is false: repeated requests are "
                   "never answered from the response cache",
                   path=display, line=policy.line_of(response.path), key="responseCache",
                   hint="Set responseCache.enabled to true with ttlSeconds 3600 "
                        "(runbook step 3).")


def _response_cache_expected(policy: BacklogPolicy | None) -> bool:
    enabled = policy.response_cache_enabled if policy is not None else None
    return enabled is not None and enabled.value is True


def _proxy_cache(config: LiteLLMConfig, backlog: BacklogPolicy | None) -> Iterator[Finding]:
    display = config.display
    expected = _response_cache_expected(backlog)
    because = ""
    if expected and backlog is not None:
        because = (f", although {backlog.document.display} enables it "
                   "(llmOps.cachePolicy.responseCache.enabled)")
    if config.cache is False:
        yield flag("CG305", f"litellm_settings.cache is false: the proxy caches no "
                   f"responses{because}", path=display, line=config.line_of(CACHE),
                   key="cache", hint="Set litellm_settings.cache: true.")
    elif config.cache is None and config.cache_params is not None:
        yield flag("CG305", "litellm_settings.cache_params is set but `cache: true` is "
                   "missing, so LiteLLM ignores cache_params and caches no responses"
                   f"{because}", path=display, line=config.line_of(CACHE_PARAMS),
                   key="cache", hint="Add `cache: true` under litellm_settings.")
    elif config.cache is None and (backlog is None or expected):
        yield flag("CG305", "the proxy has no response cache (no `cache: true` under "
                   f"litellm_settings){because}", path=display, line=config.line_of(SETTINGS),
                   key="cache", hint="Add `cache: true` and cache_params (type: redis, "
                                     "ttl: 3600) under litellm_settings.")


def _proxy_params(config: LiteLLMConfig) -> Iterator[Finding]:
    display = config.display
    call_types = config.param("supported_call_types")
    path = config.param_path("supported_call_types")
    if isinstance(call_types, list) and all(isinstance(t, str) for t in call_types):
        if not call_types:
            yield flag("CG305", f"{format_path(path)} is empty: the proxy caches no call type",
                       path=display, line=config.line_of(path), key="supported_call_types",
                       hint="Remove supported_call_types (every type is cached), or list "
                            "acompletion.")
        elif not REQUEST_CALL_TYPES & set(call_types):
            listed = ", ".join(call_types)
            yield flag("CG305", f"{format_path(path)} lists only {listed}: no chat, "
                       "completion or messages request is cached",
                       path=display, line=config.line_of(path), key="supported_call_types",
                       hint="Add acompletion (chat completions) to supported_call_types.")
    mode_path = config.param_path("mode")
    if config.param("mode") == "default_off":
        yield flag("CG305", f"{format_path(mode_path)} is default_off: only requests that "
                   "ask for the cache (cache: {use-cache: true}) use it",
                   path=display, line=config.line_of(mode_path), key="mode",
                   hint="Remove mode (default_on), unless every caller opts in on purpose.")


def check(inputs: PolicyInputs) -> Iterator[Finding]:
    if inputs.backlog is not None:
        yield from _backlog(inputs.backlog)
    if inputs.litellm is not None:
        yield from _proxy_cache(inputs.litellm, inputs.backlog)
        if inputs.litellm.cache is True:
            yield from _proxy_params(inputs.litellm)
