"""Model prices and what prompt caching saved, from a price table shipped as data.

Savings are an estimate: every token read from the cache would otherwise have
been billed at the base input price; reads cost 0.1x of it, and writing the
cache costs 0.25x extra (5-minute TTL) or 1x extra (1-hour TTL).

`cache_gate/data/prices.json` has the same shape as the minimums table
(`cache_gate.models`): per model an `anthropic` price and, where a platform's own
price differs, a `bedrock` or `vertex` one, each with its source and the date it was
checked. The platform comes from the model id; a platform without a price of its
own is billed at the Anthropic price.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache

import msgspec

from cache_gate.models import (
    ANTHROPIC,
    SPELLINGS_KEPT,
    PlatformFigure,
    figure_for,
    normalise_model_id,
    platform_of,
    read_data_file,
    read_figures,
)

DATA_FILE = "prices.json"


class Multipliers(msgspec.Struct, frozen=True):
    cache_read: float
    cache_write_5m: float
    cache_write_1h: float


class PriceTable(msgspec.Struct, frozen=True):
    """Base input price in USD per million tokens, by normalised model id and platform."""

    per_mtok: Mapping[str, Mapping[str, PlatformFigure]]
    multipliers: Multipliers
    # Prices by model id as logged: an analysis asks once a request, the table answers
    # each spelling once.
    _known: dict[str, float | None] = msgspec.field(default_factory=dict)

    def price(self, model: str | None) -> float | None:
        if model is None:
            return None
        try:
            return self._known[model]
        except KeyError:
            if len(self._known) >= SPELLINGS_KEPT:
                self._known.clear()
            figure = figure_for(self.per_mtok.get(normalise_model_id(model), {}),
                                platform_of(model))
            price = self._known[model] = None if figure is None else figure.value
            return price

    def saved_usd(self, price: float, read: int, write_5m: int, write_1h: int) -> float:
        """What the reads saved, less what the writes cost beyond the base price."""
        m = self.multipliers
        return price / 1e6 * (read * (1 - m.cache_read) - write_5m * (m.cache_write_5m - 1)
                              - write_1h * (m.cache_write_1h - 1))


@cache
def _shipped() -> tuple[dict[str, dict[str, PlatformFigure]], Multipliers]:
    document = read_data_file(DATA_FILE)
    return read_figures(document, "usd_per_mtok"), Multipliers(**document["multipliers"])


def load_prices(overrides: Mapping[str, float] | None = None,
                overrides_source: str = "settings") -> PriceTable:
    """The shipped table, with `overrides` (Settings.prices) taking precedence everywhere."""
    prices, multipliers = _shipped()
    table: dict[str, Mapping[str, PlatformFigure]] = dict(prices)
    for model, usd in (overrides or {}).items():
        # One price for every platform: the Anthropic entry is every platform's fallback.
        table[normalise_model_id(model)] = {
            ANTHROPIC: PlatformFigure(float(usd), overrides_source, "")}
    return PriceTable(table, multipliers)
