"""Adapter over the genai-prices catalogue: the last layer of pricing.

genai-prices (MIT, pinned to one minor version in pyproject.toml) bundles
prices for hundreds of models and works offline. Everything this package uses
from it is in this module, so an upgrade that moves its API touches one file.
Importing it costs about 0.2 s, so it is imported only when a model is not in
the project's overrides or the shipped table.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from ._rates import ModelRates, RateTier

__all__ = ["catalogue_name", "lookup"]

logger = logging.getLogger(__name__)

_KEYS = {
    "input": "input_mtok",
    "output": "output_mtok",
    "cache_read": "cache_read_mtok",
    "cache_write": "cache_write_mtok",
}


def catalogue_name() -> str:
    """Name and version of the catalogue, as reported in pricing sources."""
    from importlib.metadata import version

    return f"genai-prices {version('genai-prices')}"


def lookup(*names: str) -> ModelRates | None:
    """Return today's rates of the first of ``names`` the catalogue knows, or None.

    Rates come from the catalogue's current prices; a model the catalogue
    lists without an input or output price is treated as unknown rather than
    as free.
    """
    try:
        from genai_prices import data_snapshot
    except ImportError as exc:  # a broken install must not stop a report
        logger.warning("pricing catalogue unavailable: %s", exc)
        return None
    snapshot = data_snapshot.get_snapshot()
    for name in names:
        try:
            _provider, model = snapshot.find_provider_model(name, None, None, None)
        except LookupError:
            continue
        prices = model.get_prices(datetime.now(UTC))
        rates = _rates_from(prices, f"{catalogue_name()} ({model.id})")
        if rates is not None:
            return rates
    return None


def _rates_from(prices: Any, source: str) -> ModelRates | None:
    raw = {ours: getattr(prices, theirs, None) for ours, theirs in _KEYS.items()}
    if raw["input"] is None or raw["output"] is None:
        return None
    thresholds = sorted(
        {tier.start for value in raw.values() if _is_tiered(value) for tier in value.tiers}  # type: ignore[union-attr]
    )

    def at(threshold: int | None) -> dict[str, Decimal]:
        values = {key: _price_above(value, threshold) for key, value in raw.items()}
        return {
            "input": values["input"] or Decimal(0),
            "output": values["output"] or Decimal(0),
            "cache_read": values["cache_read"]
            if values["cache_read"] is not None
            else values["input"] or Decimal(0),
            "cache_write": values["cache_write"]
            if values["cache_write"] is not None
            else values["input"] or Decimal(0),
        }

    tiers = tuple(RateTier(above_input_tokens=t, **at(t)) for t in thresholds)
    return ModelRates(**at(None), tiers=tiers, source=source)


def _is_tiered(value: object) -> bool:
    return hasattr(value, "base") and hasattr(value, "tiers")


def _price_above(value: Any, threshold: int | None) -> Decimal | None:
    """Return the price a request whose input exceeds ``threshold`` pays."""
    if value is None:
        return None
    if not _is_tiered(value):
        return Decimal(value)
    price = Decimal(value.base)
    if threshold is not None:
        for tier in sorted(value.tiers, key=lambda t: t.start):
            if tier.start <= threshold:
                price = Decimal(tier.price)
    return price
