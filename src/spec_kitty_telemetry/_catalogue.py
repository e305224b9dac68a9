"""Adapter over the genai-prices catalogue: the last layer of pricing.

genai-prices (MIT, pinned to one minor version in pyproject.toml) bundles
prices for hundreds of models and works offline. Everything this package uses
from it is in this module, so an upgrade that moves its API touches one file.
Importing it costs about 0.2 s, so it is imported only when a model is not in
the project's overrides or the shipped table, and its answers (rates, or "not
listed") are kept for the day in a small cache file, keyed by the installed
catalogue's data file, so later reports skip the import. The cache lives in
``$XDG_CACHE_HOME/spec-kitty-telemetry/`` (``~/.cache`` by default), one file
per installed copy of this package; losing it costs one import, and a cache
that cannot be read or written is ignored.
"""

from __future__ import annotations

import os
import zlib
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from . import _lazy_json as orjson  # a warm report reads the cache with json, no orjson import
from ._log import lazy_logger
from ._rates import ModelRates, RateTier

__all__ = ["catalogue_name", "lookup"]

logger = lazy_logger(__name__)

_KEYS = {
    "input": "input_mtok",
    "output": "output_mtok",
    "cache_read": "cache_read_mtok",
    "cache_write": "cache_write_mtok",
}
#: The 1-hour cache write rate, listed for some models (Anthropic's): None when not.
_HOUR = ("cache_write_1h", "cache_write_1h_mtok")


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
    key = "\n".join(names)
    stamp = _stamp()
    cached = _read_cache(stamp)
    if key in cached:
        try:
            return _rates_from_json(cached[key])
        except (KeyError, TypeError, ValueError, ArithmeticError):
            pass  # a damaged entry: ask the catalogue again
    rates = _lookup_uncached(names)
    if stamp is not None:
        _write_cache(stamp, key, None if rates is None else _rates_to_json(rates))
    return rates


def _lookup_uncached(names: tuple[str, ...]) -> ModelRates | None:
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


#: 2: rates carry the 1-hour cache write rate (answers cached without it are re-asked).
_CACHE_FORMAT = 2


def cache_path() -> Path:
    """Where this installed copy of the package caches catalogue answers on this machine.

    One file per copy (named by where it is installed): two virtualenvs, each
    with its own catalogue, would otherwise evict each other's answers.
    """
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    install = zlib.crc32(str(Path(__file__).parent).encode())
    return Path(base) / "spec-kitty-telemetry" / f"catalogue-{install:08x}.json"


def _stamp() -> str | None:
    """Identify the installed catalogue data and today's date, without importing it."""
    from importlib.machinery import PathFinder  # loaded with the interpreter; importlib.util is not

    try:
        spec = PathFinder.find_spec("genai_prices")
        if spec is None or spec.origin is None:
            return None
        data = Path(spec.origin).with_name("data.py").stat()
    except (ImportError, OSError, ValueError):
        return None
    today = datetime.now(UTC).date().isoformat()
    return f"{_CACHE_FORMAT}|{spec.origin}|{data.st_size}|{data.st_mtime_ns}|{today}"


def _read_cache(stamp: str | None) -> dict[str, Any]:
    if stamp is None:
        return {}
    try:
        document = orjson.loads_small(cache_path().read_bytes())
    except (OSError, ValueError, RecursionError):  # either decoder's errors are ValueErrors
        return {}
    if not isinstance(document, dict) or document.get("stamp") != stamp:
        return {}
    entries = document.get("entries")
    return entries if isinstance(entries, dict) else {}


def _write_cache(stamp: str, key: str, value: dict[str, Any] | None) -> None:
    path = cache_path()
    entries = _read_cache(stamp)  # keep what another process added meanwhile
    entries[key] = value
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_bytes(orjson.dumps({"stamp": stamp, "entries": entries}))
        os.replace(temporary, path)
    except OSError as exc:
        logger.debug("%s: catalogue cache not written: %s", path, exc)


def _rates_to_json(rates: ModelRates) -> dict[str, Any]:
    def row(r: ModelRates | RateTier) -> dict[str, str | None]:
        hour = r.cache_write_1h
        return {
            **{k: str(getattr(r, k)) for k in _KEYS},
            _HOUR[0]: None if hour is None else str(hour),
        }

    return {
        **row(rates),
        "source": rates.source,
        "tiers": [{"above_input_tokens": t.above_input_tokens, **row(t)} for t in rates.tiers],
    }


def _rates_from_json(data: Any) -> ModelRates | None:
    """Rebuild cached rates (None: the catalogue does not list the model); raise if damaged."""
    if data is None:
        return None
    tiers = tuple(
        RateTier(
            above_input_tokens=int(t["above_input_tokens"]),
            **{k: Decimal(t[k]) for k in _KEYS},
            cache_write_1h=_hour_from_json(t),
        )
        for t in data["tiers"]
    )
    return ModelRates(
        **{k: Decimal(data[k]) for k in _KEYS},
        tiers=tiers,
        source=str(data["source"]),
        cache_write_1h=_hour_from_json(data),
    )


def _hour_from_json(row: Any) -> Decimal | None:
    hour = row[_HOUR[0]]
    return None if hour is None else Decimal(hour)


def _rates_from(prices: Any, source: str) -> ModelRates | None:
    raw = {ours: getattr(prices, theirs, None) for ours, theirs in (*_KEYS.items(), _HOUR)}
    if raw["input"] is None or raw["output"] is None:
        return None
    thresholds = sorted(
        {tier.start for value in raw.values() if _is_tiered(value) for tier in value.tiers}  # type: ignore[union-attr]
    )

    def at(threshold: int | None) -> dict[str, Any]:
        values = {key: _price_above(value, threshold) for key, value in raw.items()}
        return {
            "cache_write_1h": values["cache_write_1h"],
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
