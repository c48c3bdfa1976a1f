"""The caching parts of a LiteLLM proxy config: model aliases and the response cache.

LiteLLM reads `os.environ/NAME` as "the value of environment variable NAME";
`env_reference` recognises such values and `resolve` looks them up, the way the
proxy does at start-up.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import msgspec

from cache_gate.errors import InputError
from cache_gate.manifest.positions import JsonPath, format_path
from cache_gate.policy.loading import ConfigDocument

ENV_PREFIX = "os.environ/"
SETTINGS: JsonPath = ("litellm_settings",)
CACHE: JsonPath = ("litellm_settings", "cache")
CACHE_PARAMS: JsonPath = ("litellm_settings", "cache_params")
# The proxy's cache type when cache_params names none.
DEFAULT_CACHE_TYPE = "redis"
SEMANTIC_TYPES = frozenset({"redis-semantic", "valkey-semantic", "qdrant-semantic"})
REDIS_TYPES = frozenset({"redis", "redis-semantic", "valkey-semantic"})


def env_reference(value: Any) -> str | None:
    """The variable name of an `os.environ/NAME` value, else None."""
    if isinstance(value, str) and value.startswith(ENV_PREFIX):
        return value[len(ENV_PREFIX):]
    return None


def resolve(value: Any, where: str, environ: Mapping[str, str] | None = None) -> Any:
    """The value, with an `os.environ/NAME` reference replaced by the variable's value.

    An unset variable is an InputError: whatever depends on it cannot be checked.
    """
    name = env_reference(value)
    if name is None:
        return value
    environ = os.environ if environ is None else environ
    if name not in environ:
        raise InputError(f"{where} is {value}, but {name} is not set in the environment: "
                         f"export {name}, or pass --redis-url")
    return environ[name]


class Deployment(msgspec.Struct, frozen=True):
    """One model_list entry: the alias clients send, and the provider model behind it."""

    alias: str
    model: str
    index: int

    @property
    def path(self) -> JsonPath:
        return ("model_list", self.index, "litellm_params", "model")


class LiteLLMConfig(msgspec.Struct, frozen=True):
    document: ConfigDocument
    deployments: tuple[Deployment, ...]
    # Every model_name, including those of entries too broken to be deployments.
    model_names: frozenset[str]
    # litellm_settings.cache as written: True, False, an env reference, or None (absent).
    cache: Any
    # litellm_settings.cache_params when it is a mapping, else None.
    cache_params: Mapping[str, Any] | None

    @property
    def display(self) -> str:
        return self.document.display

    def line_of(self, path: JsonPath) -> int | None:
        return self.document.line_of(path)

    def deployments_of(self, alias: str) -> list[Deployment]:
        return [d for d in self.deployments if d.alias == alias]

    @property
    def aliases(self) -> list[str]:
        return sorted(self.model_names)

    @property
    def cache_type(self) -> str | None:
        """The response cache's backend type, or None when the cache is not on."""
        if self.cache is not True:
            return None
        declared = (self.cache_params or {}).get("type", DEFAULT_CACHE_TYPE)
        return declared if isinstance(declared, str) else None

    def param(self, name: str) -> Any:
        return (self.cache_params or {}).get(name)

    def param_path(self, name: str) -> JsonPath:
        return (*CACHE_PARAMS, name)

    def number_param(self, name: str, notes: list[str], rules: str) -> float | None:
        """A numeric `cache_params` value to check, or None. A value the proxy reads
        from its environment at start-up is noted as not checked by `rules`."""
        value = self.param(name)
        if env_reference(value):
            notes.append(f"{self.display}: {format_path(self.param_path(name))} is {value}: "
                         f"set at start-up, so {rules} is not checked")
            return None
        if isinstance(value, int | float) and not isinstance(value, bool):
            return value
        return None


def read_litellm_config(document: ConfigDocument) -> LiteLLMConfig:
    data = document.data if isinstance(document.data, dict) else {}
    deployments = []
    names = set()
    model_list = data.get("model_list")
    for index, entry in enumerate(model_list if isinstance(model_list, list) else []):
        if not isinstance(entry, dict):
            continue
        alias, params = entry.get("model_name"), entry.get("litellm_params")
        model = params.get("model") if isinstance(params, dict) else None
        if isinstance(alias, str):
            names.add(alias)
        if isinstance(alias, str) and isinstance(model, str):
            deployments.append(Deployment(alias, model, index))
    settings = data.get("litellm_settings")
    settings = settings if isinstance(settings, dict) else {}
    cache_params = settings.get("cache_params")
    return LiteLLMConfig(
        document=document,
        deployments=tuple(deployments),
        model_names=frozenset(names),
        cache=settings.get("cache"),
        cache_params=cache_params if isinstance(cache_params, dict) else None,
    )
