"""The cache policy of a backlog toolkit config: `llmOps.cachePolicy` and `llmOps.routing`.

A key that is absent takes the toolkit's default (from the shipped schema), marked
as such so that messages say "default"; a key with a wrong type is left out (the
schema check reports it as CG301) rather than guessed at.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

import msgspec

from cache_gate.manifest.positions import JsonPath, format_path
from cache_gate.policy.loading import ConfigDocument
from cache_gate.policy.schema import BACKLOG_SCHEMA, load_schema

T = TypeVar("T")

CACHE_POLICY: JsonPath = ("llmOps", "cachePolicy")
ROUTING: JsonPath = ("llmOps", "routing")


class Setting(msgspec.Struct, Generic[T], frozen=True):
    """One policy value and where it is (or would be) set."""

    value: T
    path: JsonPath
    explicit: bool  # False: absent, so the toolkit's default applies

    @property
    def described(self) -> str:
        """`llmOps.cachePolicy.x 2048` or `llmOps.cachePolicy.x (default 2048)`."""
        shown = str(self.value).lower() if isinstance(self.value, bool) else str(self.value)
        if self.explicit:
            return f"{format_path(self.path)} {shown}"
        return f"{format_path(self.path)} (default {shown})"


class Route(msgspec.Struct, frozen=True):
    """One routing entry: a workflow phase and the model alias it sends to."""

    key: str
    alias: str
    explicit: bool

    @property
    def path(self) -> JsonPath:
        return (*ROUTING, self.key)


class BacklogPolicy(msgspec.Struct, frozen=True):
    document: ConfigDocument
    provider_prompt_caching: Setting[bool] | None
    stable_prefix_min_tokens: Setting[int] | None
    response_cache_enabled: Setting[bool] | None
    response_cache_ttl: Setting[int] | None
    response_cache_backend: Setting[str] | None
    semantic_cache_enabled: Setting[bool] | None
    semantic_threshold: Setting[float] | None
    routes: tuple[Route, ...]
    declares_cache_policy: bool

    def line_of(self, path: JsonPath) -> int | None:
        return self.document.line_of(path)


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_str(value: Any) -> bool:
    return isinstance(value, str) and bool(value)


def _mapping(document: Any, path: JsonPath) -> dict[str, Any] | None:
    node = document
    for key in path:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node if isinstance(node, dict) else None


def _schema_at(path: JsonPath) -> dict[str, Any]:
    node = load_schema(BACKLOG_SCHEMA)
    for key in path:
        node = node.get("properties", {}).get(key, {})
    return node


def _default(path: JsonPath) -> Setting[Any] | None:
    default = _schema_at(path).get("default")
    return None if default is None else Setting(default, path, explicit=False)


def _setting(document: Any, path: JsonPath, valid: Callable[[Any], bool]) -> Setting[Any] | None:
    """The value at `path`: its own when valid, the default when absent, None when it
    (or an object on the way to it) has the wrong type, which the schema reports."""
    node = document
    for key in path[:-1]:
        if not isinstance(node, dict):
            return None
        if key not in node:
            return _default(path)
        node = node[key]
    if not isinstance(node, dict):
        return None
    if path[-1] not in node:
        return _default(path)
    value = node[path[-1]]
    return Setting(value, path, explicit=True) if valid(value) else None


def _routes(document: Any) -> tuple[Route, ...]:
    """Every routing entry, the toolkit's default for each one absent."""
    llm_ops = document.get("llmOps") if isinstance(document, dict) else None
    if llm_ops is not None and not isinstance(llm_ops, dict):
        return ()
    routing = llm_ops.get("routing", {}) if llm_ops is not None else {}
    if not isinstance(routing, dict):
        return ()
    declared = _schema_at(ROUTING).get("properties", {})
    routes = []
    for key, spec in declared.items():
        if "default" not in spec:
            continue  # not an alias (maxEscalationsPerTicket)
        if key not in routing:
            routes.append(Route(key, spec["default"], explicit=False))
        elif _is_str(routing[key]):
            routes.append(Route(key, routing[key], explicit=True))
    for key, value in routing.items():
        if key not in declared and key.startswith("entryModel") and _is_str(value):
            routes.append(Route(key, value, explicit=True))
    return tuple(routes)


def read_backlog_policy(document: ConfigDocument) -> BacklogPolicy:
    data = document.data
    policy = CACHE_POLICY
    return BacklogPolicy(
        document=document,
        provider_prompt_caching=_setting(data, (*policy, "providerPromptCaching"), _is_bool),
        stable_prefix_min_tokens=_setting(
            data, (*policy, "stablePrefixMinTokens"), lambda v: _is_int(v) and v > 0),
        response_cache_enabled=_setting(data, (*policy, "responseCache", "enabled"), _is_bool),
        response_cache_ttl=_setting(
            data, (*policy, "responseCache", "ttlSeconds"), lambda v: _is_int(v) and v >= 0),
        response_cache_backend=_setting(data, (*policy, "responseCache", "backend"), _is_str),
        semantic_cache_enabled=_setting(data, (*policy, "semanticCache", "enabled"), _is_bool),
        semantic_threshold=_setting(
            data, (*policy, "semanticCache", "threshold"), lambda v: _is_number(v) and 0 <= v <= 1),
        routes=_routes(data),
        declares_cache_policy=_mapping(data, policy) is not None,
    )
