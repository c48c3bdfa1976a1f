"""Per-model minimum cacheable prompt lengths, from the data file shipped in the package.

A prompt prefix shorter than its model's minimum is processed without caching and
without any error, so both `lint` (CG109) and `policy` (CG306) need the table. The
numbers change with every model generation, which is why they live in
`cache_gate/data/model_minimums.json` and the tool settings can override them
(`model-minimums` table).

Model ids are matched after normalisation, so every spelling of one model finds its
entry: a provider prefix (`anthropic/`, `bedrock/`, `openrouter/anthropic/`), a Bedrock
id (`us.anthropic.claude-haiku-4-5-20251001-v1:0`), a Vertex id (`claude-3-5-haiku@20241022`),
a date suffix, `-latest`, dotted versions (`claude-3.5-haiku`) and both word orders
(`claude-3-7-sonnet` and `claude-sonnet-3-7`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources

DATA_FILE = "model_minimums.json"

_BEDROCK = re.compile(r"^(?:[a-z]+\.)?anthropic\.")
_BEDROCK_VERSION = re.compile(r"-v\d+(?::\d+)?$")
_DATE_SUFFIX = re.compile(r"[@-]\d{8}$")
_DOTTED_VERSION = re.compile(r"(?<=\d)\.(?=\d)")
_VERSION_FIRST = re.compile(r"claude-(\d+(?:-\d+)?)-([a-z]+)(.*)")


def normalise_model_id(model: str) -> str:
    """The canonical spelling of a model id: `claude-<family>-<version>`, lower case.

    >>> normalise_model_id("us.anthropic.claude-3-5-haiku-20241022-v1:0")
    'claude-haiku-3-5'
    """
    name = model.strip().lower().rsplit("/", 1)[-1]
    name = _BEDROCK.sub("", name)
    name = _BEDROCK_VERSION.sub("", name)
    name = _DATE_SUFFIX.sub("", name)
    name = name.removesuffix("-latest")
    name = _DOTTED_VERSION.sub("-", name)
    name = name.removesuffix("-0")
    version_first = _VERSION_FIRST.fullmatch(name)
    if version_first:
        version, family, rest = version_first.groups()
        name = f"claude-{family}-{version}{rest}"
    return name


@dataclass(frozen=True)
class ModelMinimums:
    """Minimum cacheable tokens by normalised model id."""

    by_model: Mapping[str, int]
    # Where each entry came from: the shipped data file or the settings file.
    source: Mapping[str, str]

    def minimum_for(self, model: str) -> int | None:
        """The minimum for `model` (any spelling), or None when the model is unknown."""
        return self.by_model.get(normalise_model_id(model))

    def source_for(self, model: str) -> str | None:
        return self.source.get(normalise_model_id(model))


@cache
def _shipped() -> dict[str, int]:
    text = resources.files("cache_gate").joinpath("data", DATA_FILE).read_text(encoding="utf-8")
    models: dict[str, int] = json.loads(text)["models"]
    return {normalise_model_id(model): tokens for model, tokens in models.items()}


def load_model_minimums(overrides: Mapping[str, int] | None = None,
                        overrides_source: str = "settings") -> ModelMinimums:
    """The shipped table, with `overrides` (e.g. Settings.model_minimums) taking precedence."""
    by_model = dict(_shipped())
    source = dict.fromkeys(by_model, DATA_FILE)
    for model, tokens in (overrides or {}).items():
        key = normalise_model_id(model)
        by_model[key] = tokens
        source[key] = overrides_source
    return ModelMinimums(by_model, source)
