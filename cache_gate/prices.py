"""Model prices and what prompt caching saved, from a price table shipped as data.

Savings are an estimate: every token read from the cache would otherwise have
been billed at the base input price; reads cost 0.1x of it, and writing the
cache costs 0.25x extra (5-minute TTL) or 1x extra (1-hour TTL).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources

from cache_gate.models import normalise_model_id


@dataclass(frozen=True)
class Multipliers:
    cache_read: float
    cache_write_5m: float
    cache_write_1h: float


@dataclass(frozen=True)
class PriceTable:
    """Base input price in USD per million tokens, by normalised model id."""

    per_mtok: Mapping[str, float]
    multipliers: Multipliers

    def price(self, model: str | None) -> float | None:
        return None if model is None else self.per_mtok.get(normalise_model_id(model))

    def saved_usd(self, price: float, read: int, write_5m: int, write_1h: int) -> float:
        """What the reads saved, less what the writes cost beyond the base price."""
        m = self.multipliers
        return price / 1e6 * (read * (1 - m.cache_read) - write_5m * (m.cache_write_5m - 1)
                              - write_1h * (m.cache_write_1h - 1))


@cache
def _shipped() -> tuple[dict[str, float], Multipliers]:
    text = resources.files("cache_gate").joinpath("data", "prices.json").read_text("utf-8")
    document = json.loads(text)
    prices = {normalise_model_id(model): float(usd) for model, usd in
              document["models"].items()}
    return prices, Multipliers(**document["multipliers"])


def load_prices(overrides: Mapping[str, float] | None = None) -> PriceTable:
    """The shipped table, with `overrides` (Settings.prices) taking precedence."""
    prices, multipliers = _shipped()
    table = dict(prices)
    table.update({normalise_model_id(model): float(usd)
                  for model, usd in (overrides or {}).items()})
    return PriceTable(table, multipliers)
