"""Per-model minimum cacheable prompt lengths, per platform, from a data file in the package.

A prompt prefix shorter than its model's minimum is processed without caching and
without any error, so both `lint` (CG109) and `policy` (CG306) need the table. The
numbers change with every model generation, which is why they live in
`cache_gate/data/model_minimums.json` and the tool settings can override them
(`model-minimums` table).

The same model can have another minimum on another platform: Anthropic's figures
hold on the Claude API, Claude Platform on AWS, Google Cloud (Vertex AI) and Microsoft
Foundry, while Amazon Bedrock publishes its own (Opus 4.7: 2,048 on the Claude API,
4,096 on Bedrock). The data file therefore holds, for each model, an `anthropic`
entry and, where a platform differs, a `bedrock` or `vertex` entry; a platform with
no entry of its own falls back to the Anthropic figure. Every entry names its source
and the date it was checked; `"confirmed": false` marks a figure the provider's own
page could not confirm.

The platform is read from the model id (`platform_of`): a `bedrock/` provider
prefix, an ARN, or a Bedrock id (`anthropic.claude-opus-4-7`,
`us.anthropic.claude-haiku-4-5-20251001-v1:0`) is Bedrock; a `vertex_ai/` prefix or
a Vertex version (`claude-3-5-haiku@20241022`) is Vertex AI; anything else is the
Anthropic API.

Model ids are matched after normalisation, so every spelling of one model finds its
entry: a provider prefix (`anthropic/`, `bedrock/`, `openrouter/anthropic/`), a Bedrock
id, a Vertex id, a date suffix, `-latest`, dotted versions (`claude-3.5-haiku`) and
both word orders (`claude-3-7-sonnet` and `claude-sonnet-3-7`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import msgspec

DATA_FILE = "model_minimums.json"

ANTHROPIC = "anthropic"
BEDROCK = "bedrock"
VERTEX = "vertex"
PLATFORMS = (ANTHROPIC, BEDROCK, VERTEX)
PLATFORM_NAMES = {ANTHROPIC: "the Anthropic API", BEDROCK: "Bedrock", VERTEX: "Vertex AI"}

_BEDROCK = re.compile(r"^(?:[a-z]+\.)?anthropic\.")
_BEDROCK_VERSION = re.compile(r"-v\d+(?::\d+)?$")
_VERTEX_VERSION = re.compile(r"@[\w.-]*$")
_DATE_SUFFIX = re.compile(r"-\d{8}$")
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
    name = _VERTEX_VERSION.sub("", name)
    name = _DATE_SUFFIX.sub("", name)
    name = name.removesuffix("-latest")
    name = _DOTTED_VERSION.sub("-", name)
    name = name.removesuffix("-0")
    version_first = _VERSION_FIRST.fullmatch(name)
    if version_first:
        version, family, rest = version_first.groups()
        name = f"claude-{family}-{version}{rest}"
    return name


def platform_of(model: str) -> str:
    """Where requests to `model` go, read from how the id is spelt.

    >>> platform_of("bedrock/us.anthropic.claude-haiku-4-5-20251001-v1:0")
    'bedrock'
    >>> platform_of("claude-3-5-haiku@20241022")
    'vertex'
    """
    name = model.strip().lower()
    prefix, _, last = name.rpartition("/")
    segments = prefix.split("/") if prefix else []
    if (name.startswith("arn:aws:bedrock:") or _BEDROCK.match(last)
            or any("bedrock" in segment for segment in segments)):
        return BEDROCK
    if (_VERTEX_VERSION.search(last) or "publishers" in segments
            or any("vertex" in segment for segment in segments)):
        return VERTEX
    return ANTHROPIC


def described(model: str) -> str:
    """`model` for messages: its canonical id and, off the Anthropic API, its platform."""
    platform = platform_of(model)
    name = normalise_model_id(model)
    return name if platform == ANTHROPIC else f"{name} on {PLATFORM_NAMES[platform]}"


class PlatformFigure(msgspec.Struct, frozen=True):
    """One number of a data file for one model on one platform, with where it came from."""

    value: float
    source: str
    checked: str
    confirmed: bool = True
    note: str | None = None


def read_figures(document: Mapping[str, Any], value_key: str
                 ) -> dict[str, dict[str, PlatformFigure]]:
    """`{"models": {id: {platform: {value_key, source, checked, ...}}}}` by normalised id."""
    figures: dict[str, dict[str, PlatformFigure]] = {}
    for model, platforms in document["models"].items():
        figures[normalise_model_id(model)] = {
            platform: PlatformFigure(entry[value_key], entry["source"], entry["checked"],
                                     entry.get("confirmed", True), entry.get("note"))
            for platform, entry in platforms.items()}
    return figures


def figure_for(figures: Mapping[str, PlatformFigure], platform: str) -> PlatformFigure | None:
    """The platform's own figure, else the Anthropic one (the docs state it holds elsewhere)."""
    return figures.get(platform) or figures.get(ANTHROPIC)


class Minimum(msgspec.Struct, frozen=True):
    """The minimum that applies to one model id, and whose figure it is."""

    tokens: int
    platform: str  # where the id sends requests
    figure_platform: str | None  # whose figure was used; None for a settings override
    source: str  # the data file or the settings file


# Model ids as logged whose lookup is remembered: past them the memo starts afresh (a
# ledger that names a model a line would grow it without bound).
SPELLINGS_KEPT = 1024


class ModelMinimums(msgspec.Struct, frozen=True):
    """Minimum cacheable tokens by normalised model id and platform."""

    shipped: Mapping[str, Mapping[str, PlatformFigure]]
    # The settings' `model-minimums`: they win, on every platform.
    overrides: Mapping[str, int]
    overrides_source: str = "settings"
    # Lookups by model id as logged: each spelling is resolved once.
    _known: dict[str, Minimum | None] = msgspec.field(default_factory=dict)

    def lookup(self, model: str) -> Minimum | None:
        """The minimum for `model` (any spelling), or None when the model is unknown."""
        try:
            return self._known[model]
        except KeyError:
            if len(self._known) >= SPELLINGS_KEPT:
                self._known.clear()
            minimum = self._known[model] = self._resolve(model)
            return minimum

    def _resolve(self, model: str) -> Minimum | None:
        key, platform = normalise_model_id(model), platform_of(model)
        if key in self.overrides:
            return Minimum(self.overrides[key], platform, None, self.overrides_source)
        figure = figure_for(self.shipped.get(key, {}), platform)
        if figure is None:
            return None
        used = platform if platform in self.shipped[key] else ANTHROPIC
        return Minimum(int(figure.value), platform, used, DATA_FILE)

    def minimum_for(self, model: str) -> int | None:
        """The minimum for `model` (any spelling), or None when the model is unknown."""
        minimum = self.lookup(model)
        return None if minimum is None else minimum.tokens

    def source_for(self, model: str) -> str | None:
        minimum = self.lookup(model)
        return None if minimum is None else minimum.source


def read_data_file(name: str) -> Any:
    return json.loads((Path(__file__).with_name("data") / name).read_text(encoding="utf-8"))


@cache
def _shipped() -> dict[str, dict[str, PlatformFigure]]:
    return read_figures(read_data_file(DATA_FILE), "tokens")


def load_model_minimums(overrides: Mapping[str, int] | None = None,
                        overrides_source: str = "settings") -> ModelMinimums:
    """The shipped table, with `overrides` (e.g. Settings.model_minimums) taking precedence."""
    return ModelMinimums(_shipped(), {normalise_model_id(model): tokens
                                      for model, tokens in (overrides or {}).items()},
                         overrides_source)
