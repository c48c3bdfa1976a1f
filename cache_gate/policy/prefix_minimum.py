"""CG306 prefix-min-below-model: `stablePrefixMinTokens` below a routed model's minimum.

`llmOps.cachePolicy.stablePrefixMinTokens` is the length from which the toolkit
marks a stable prefix for caching. Each model has its own minimum cacheable
prompt length, which can differ between platforms (1,024 tokens for Sonnet 4.5 and
4.6, 4,096 for Haiku 4.5 and Opus 4.5; Opus 4.7 2,048 on the Anthropic API but 4,096
on Bedrock: the table ships in `cache_gate/data/model_minimums.json` with the source
of every figure, overridable with `[tool.cache-gate.model-minimums]`). When the
setting is below the minimum of a model the routing sends requests to, every prefix
in between carries a cache breakpoint and is processed without caching, silently:
an error.

"The routing" is `llmOps.routing` (each `entryModel*` and `escalationModel`, the
toolkit's default alias where a key is absent). An alias such as `cheap` is
resolved through the LiteLLM `model_list` (every deployment of it); without a
LiteLLM config, only routing values that are model ids themselves can be checked.
Models with no known minimum (a local Ollama model, say) and aliases missing from
the `model_list` are listed as not checked. The proxy's `router_settings` fallbacks
are not followed: they carry failures, not the routing. The platform is read from
the model id (`bedrock/...` and `us.anthropic.claude-...` are Bedrock,
`vertex_ai/...` and `claude-...@20251001` Vertex AI, anything else the Anthropic
API); one model routed through two platforms is checked on each, and the message
names the platform when it is not the Anthropic API ("claude-haiku-4-5 on
Bedrock").

Example: with `cheap` → `anthropic/claude-haiku-4-5` in the proxy's `model_list`
(Haiku 4.5 caches nothing shorter than 4,096 tokens),

    "routing": {"entryModelImplement": "cheap"},
    "cachePolicy": {"stablePrefixMinTokens": 2048}                        <- CG306

Fix: raise `stablePrefixMinTokens` to the largest minimum among the routed models,
or route those phases to a model with a lower minimum.
"""

from __future__ import annotations

from collections.abc import Iterator
from fnmatch import fnmatchcase

import msgspec

from cache_gate.findings import Finding
from cache_gate.manifest.positions import format_path
from cache_gate.models import ANTHROPIC, described, normalise_model_id, platform_of
from cache_gate.policy.engine import PolicyInputs, flag


class RoutedModel(msgspec.Struct):
    """A model the routing sends requests to, and which routing entries send them."""

    model: str
    minimum: int | None
    via: str  # how the alias led here, for messages: "cheap → bedrock/..."
    routes: list[str] = msgspec.field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {"model": self.model, "normalised": normalise_model_id(self.model),
                "platform": platform_of(self.model), "minimum_tokens": self.minimum,
                "via": self.via, "routing": self.routes}

    @property
    def key(self) -> str:
        """The finding's identity: the canonical id, and the platform off the Anthropic API."""
        name = normalise_model_id(self.model)
        platform = platform_of(self.model)
        return name if platform == ANTHROPIC else f"{name}@{platform}"


def routed_models(inputs: PolicyInputs) -> list[RoutedModel]:
    """The models behind the routing, each once; notes for aliases that do not resolve."""
    backlog, litellm, minimums = inputs.backlog, inputs.litellm, inputs.minimums
    if backlog is None:
        return []
    found: dict[tuple[str, str], RoutedModel] = {}
    unresolved: dict[str, list[str]] = {}
    wildcard: dict[str, list[str]] = {}
    for route in backlog.routes:
        label = format_path(route.path) + ("" if route.explicit else " (default)")
        deployments = litellm.deployments_of(route.alias) if litellm is not None else []
        if deployments and litellm is not None:
            targets = [(d.model, f"{route.alias} → {d.model} in {litellm.display}")
                       for d in deployments]
        elif minimums.minimum_for(route.alias) is not None:
            targets = [(route.alias, route.alias)]
        elif litellm is not None and route.alias in litellm.model_names:
            continue  # its model_list entry is broken: CG301 says so
        elif litellm is not None and any(fnmatchcase(route.alias, d.alias)
                                         for d in litellm.deployments if "*" in d.alias):
            wildcard.setdefault(route.alias, []).append(label)
            continue
        else:
            unresolved.setdefault(route.alias, []).append(label)
            continue
        for model, via in targets:
            key = (normalise_model_id(model), platform_of(model))
            entry = found.get(key)
            if entry is None:
                entry = found[key] = RoutedModel(model, minimums.minimum_for(model), via)
            entry.routes.append(label)
    _note_unresolved(inputs, unresolved, wildcard)
    for entry in found.values():
        if entry.minimum is None:
            inputs.notes.append(
                f"CG306 not checked for {entry.via} ({', '.join(entry.routes)}): no minimum "
                "cacheable length is known for this model; if it caches prompts, add it "
                "under [tool.cache-gate.model-minimums]")
    return list(found.values())


def _note_unresolved(inputs: PolicyInputs, unresolved: dict[str, list[str]],
                     wildcard: dict[str, list[str]]) -> None:
    litellm = inputs.litellm
    for alias, labels in unresolved.items():
        if litellm is None:
            inputs.notes.append(
                f"CG306 not checked for alias {alias!r} ({', '.join(labels)}): pass "
                "--litellm-config to resolve it through the proxy's model_list")
        else:
            known = ", ".join(litellm.aliases) or "none"
            inputs.notes.append(
                f"routing alias {alias!r} ({', '.join(labels)}) is not a model_name in "
                f"{litellm.display} (defined: {known}): the proxy rejects requests to it, "
                "and CG306 cannot check it")
    for alias, labels in wildcard.items():
        inputs.notes.append(f"CG306 not checked for alias {alias!r} ({', '.join(labels)}): "
                            "it reaches the proxy through a wildcard model_name")


def check(inputs: PolicyInputs) -> Iterator[Finding]:
    backlog = inputs.backlog
    if backlog is None:
        return
    setting = backlog.stable_prefix_min_tokens
    models = routed_models(inputs)
    prompt = backlog.provider_prompt_caching
    if setting is None or (prompt is not None and prompt.value is False):
        return
    below = [m for m in models if m.minimum is not None and m.minimum > setting.value]
    if not below:
        return
    needed = max(m.minimum or 0 for m in below)
    for entry in below:
        assert entry.minimum is not None
        yield flag(
            "CG306",
            f"{setting.described} is below the {entry.minimum:,}-token minimum cacheable "
            f"prompt of {described(entry.model)}, which {', '.join(entry.routes)} "
            f"send{'s' * (len(entry.routes) == 1)} to ({entry.via}): a stable prefix of "
            f"{setting.value:,} to {entry.minimum - 1:,} tokens gets a cache breakpoint and "
            "is silently never cached",
            path=backlog.document.display, line=backlog.line_of(setting.path),
            key=entry.key,
            hint=f"Raise stablePrefixMinTokens to {needed} (the largest minimum among the "
                 "routed models), or route those phases to a model with a lower minimum.")
