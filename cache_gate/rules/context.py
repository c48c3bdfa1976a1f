"""What lint checks are given: the scope of a piece of text, and the run's context."""

from __future__ import annotations

import datetime as dt

import msgspec

from cache_gate.manifest.loader import Manifest
from cache_gate.models import ModelMinimums


class TextScope(msgspec.Struct, frozen=True):
    """How a piece of stable-prefix text is sent."""

    # Sent byte for byte: brace-like text is literal, never a placeholder.
    verbatim: bool = False
    # The render command's output: the bytes the application really sends.
    rendered: bool = False


class LintContext(msgspec.Struct):
    manifest: Manifest
    minimums: ModelMinimums
    # Today in local time and in UTC (they differ around midnight).
    today: frozenset[dt.date] = msgspec.field(default_factory=frozenset)
    # Things worth saying that are not problems (shown after the findings).
    notes: list[str] = msgspec.field(default_factory=list)
    # Prompts whose minimum cacheable length could not be checked (CG109): no model,
    # or a model the minimums table does not know (model -> prompt ids).
    prompts_without_model: list[str] = msgspec.field(default_factory=list)
    unknown_models: dict[str, list[str]] = msgspec.field(default_factory=dict)

    @classmethod
    def create(cls, manifest: Manifest, minimums: ModelMinimums,
               now: dt.datetime | None = None) -> LintContext:
        now = now or dt.datetime.now(dt.UTC)
        today = frozenset({now.date(), now.astimezone().date()})
        return cls(manifest, minimums, today)
