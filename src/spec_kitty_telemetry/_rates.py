"""Per-model token rates and the rate tables they are read from.

Rates are exact decimals in USD per million tokens. A table is a mapping of
model name to rates; the shipped ``_pricing.yaml`` and a project's ``pricing:``
overrides use the same format, validated here so both report errors alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from ._model_names import canonical_model_name
from ._plain import plain
from .errors import PricingError

__all__ = [
    "MILLION",
    "ModelRates",
    "RateTier",
    "parse_aliases",
    "parse_rate_table",
    "resolve_aliases",
]

MILLION: Final = Decimal(1_000_000)

_RATE_KEYS: Final = ("input", "output", "cache_read", "cache_write")
#: The rate of writes to the 1-hour cache (Anthropic's; optional: without it they pay
#: ``cache_write``, the 5-minute rate).
_HOUR_KEY: Final = "cache_write_1h"


@plain(frozen=True)
class RateTier:
    """Rates for every token of a request whose total input exceeds ``above_input_tokens``."""

    above_input_tokens: int
    input: Decimal
    output: Decimal
    cache_read: Decimal
    cache_write: Decimal
    cache_write_1h: Decimal | None = None

    def __init__(
        self,
        above_input_tokens: int,
        input: Decimal,
        output: Decimal,
        cache_read: Decimal,
        cache_write: Decimal,
        cache_write_1h: Decimal | None = None,
    ) -> None:
        # Written out rather than generated: compiling a generated __init__ costs a report
        # about 60 k instructions a field at start-up (see _plain).
        object.__setattr__(self, "above_input_tokens", above_input_tokens)
        object.__setattr__(self, "input", input)
        object.__setattr__(self, "output", output)
        object.__setattr__(self, "cache_read", cache_read)
        object.__setattr__(self, "cache_write", cache_write)
        object.__setattr__(self, "cache_write_1h", cache_write_1h)


@plain(frozen=True)
class ModelRates:
    """What one model charges, in USD per million tokens.

    ``input`` is the rate of uncached input; cache reads and writes have their
    own rates; ``cache_write`` is that of 5-minute cache writes and
    ``cache_write_1h`` that of 1-hour ones, None when the table gives none
    (they are then priced at ``cache_write``: see :meth:`hour_rate`).
    ``tiers`` (ascending) replace all the rates for requests with a long
    input, the way vendors price long context. ``source`` says which layer
    the rates came from.
    """

    input: Decimal
    output: Decimal
    cache_read: Decimal
    cache_write: Decimal
    tiers: tuple[RateTier, ...] = ()
    source: str = ""
    cache_write_1h: Decimal | None = None

    def __init__(
        self,
        input: Decimal,
        output: Decimal,
        cache_read: Decimal,
        cache_write: Decimal,
        tiers: tuple[RateTier, ...] = (),
        source: str = "",
        cache_write_1h: Decimal | None = None,
    ) -> None:
        # Written out rather than generated: compiling a generated __init__ costs a report
        # about 60 k instructions a field at start-up (see _plain).
        object.__setattr__(self, "input", input)
        object.__setattr__(self, "output", output)
        object.__setattr__(self, "cache_read", cache_read)
        object.__setattr__(self, "cache_write", cache_write)
        object.__setattr__(self, "tiers", tiers)
        object.__setattr__(self, "source", source)
        object.__setattr__(self, "cache_write_1h", cache_write_1h)

    def hour_rate(self, tier: int = 0) -> Decimal | None:
        """Return the 1-hour cache write rate at ``tier``, None when the table gives none."""
        return self.cache_write_1h if tier == 0 else self.tiers[tier - 1].cache_write_1h

    def tier_for(self, input_tokens: int) -> int:
        """Index of the rates a request with this total input pays: 0 base, i for ``tiers[i-1]``."""
        index = 0
        for number, tier in enumerate(self.tiers, start=1):
            if input_tokens > tier.above_input_tokens:
                index = number
        return index

    def cost(
        self,
        input_tokens: int,
        output_tokens: int,
        cache_read_tokens: int = 0,
        cache_write_tokens: int = 0,
        cache_write_1h_tokens: int = 0,
        *,
        tier: int | None = None,
    ) -> Decimal:
        """Exact USD cost of tokens; ``input_tokens`` is the total input, cache included.

        ``cache_write_1h_tokens`` are the part of ``cache_write_tokens``
        written to the 1-hour cache: they pay ``cache_write_1h`` (the
        5-minute rate when the table has none), the rest ``cache_write``.
        ``tier`` defaults to the tier ``input_tokens`` falls in; the cost fold
        passes it explicitly because it prices sums of many requests at once.
        """
        if tier is None:
            tier = self.tier_for(input_tokens)
        rates: ModelRates | RateTier = self if tier == 0 else self.tiers[tier - 1]
        uncached = input_tokens - cache_read_tokens - cache_write_tokens
        hour = rates.cache_write_1h
        total = (
            uncached * rates.input
            + cache_read_tokens * rates.cache_read
            + (cache_write_tokens - cache_write_1h_tokens) * rates.cache_write
            + cache_write_1h_tokens * (rates.cache_write if hour is None else hour)
            + output_tokens * rates.output
        )
        return total / MILLION


def parse_rate_table(
    table: object, where: str, source: str, aliases: Mapping[str, str] | None = None
) -> dict[str, ModelRates]:
    """Validate a ``models:`` mapping and return it keyed by canonical model name.

    Keys are canonicalised through ``aliases`` (resolved to their final model),
    so ``sonnet:`` sets the rates of ``claude-sonnet-4-5``; two keys naming one
    model are an error naming both. ``where`` prefixes every error (a file and
    the key path of the table), so a bad rate is reported as
    ``<file>: pricing.models.<model>.input: ...``.
    """
    if table is None:
        return {}
    if not isinstance(table, Mapping):
        raise PricingError(f"{where}: expected a mapping of model name to rates")
    parsed: dict[str, ModelRates] = {}
    keys: dict[str, object] = {}
    for model, entry in table.items():
        key = f"{where}.{model}"
        if not isinstance(model, str) or not model.strip():
            raise PricingError(f"{key}: model name must be a non-empty string")
        if not isinstance(entry, Mapping):
            raise PricingError(f"{key}: expected a mapping with input and output rates")
        rates = _parse_rates(entry, key, allowed=(*_RATE_KEYS, _HOUR_KEY, "long_context"))
        tiers: tuple[RateTier, ...] = ()
        if "long_context" in entry:
            tiers = (_parse_tier(entry["long_context"], f"{key}.long_context"),)
        name = canonical_model_name(model, aliases or {})
        if name in keys:
            raise PricingError(
                f"{where}: {keys[name]!r} and {model!r} both name the model {name!r}; keep one"
            )
        keys[name] = model
        parsed[name] = ModelRates(**rates, tiers=tiers, source=source)
    return parsed


def parse_aliases(table: object, where: str) -> dict[str, str]:
    """Validate an ``aliases:`` mapping (short name to model name); keys and values canonical."""
    if table is None:
        return {}
    if not isinstance(table, Mapping):
        raise PricingError(f"{where}: expected a mapping of alias to model name")
    aliases: dict[str, str] = {}
    for alias, target in table.items():
        if not isinstance(alias, str) or not isinstance(target, str) or not target.strip():
            raise PricingError(f"{where}.{alias}: alias and model name must be strings")
        aliases[canonical_model_name(alias, {})] = canonical_model_name(target, {})
    return aliases


def resolve_aliases(aliases: Mapping[str, str], where: str) -> dict[str, str]:
    """Follow chains of aliases (``big: opus``, ``opus: claude-opus-4-5``) to their final model.

    Raises PricingError naming the aliases of a cycle (``a: b``, ``b: a``).
    """
    resolved: dict[str, str] = {}
    for alias in aliases:
        chain = [alias]
        target = aliases[alias]
        while target in aliases:
            if target in chain:
                loop = " -> ".join([*chain[chain.index(target) :], target])
                raise PricingError(f"{where}: aliases form a cycle: {loop}")
            chain.append(target)
            target = aliases[target]
        resolved[alias] = target
    return resolved


def _parse_tier(entry: object, key: str) -> RateTier:
    if not isinstance(entry, Mapping):
        raise PricingError(f"{key}: expected a mapping with above_input_tokens and rates")
    threshold = entry.get("above_input_tokens")
    if type(threshold) is not int or threshold < 0:
        raise PricingError(
            f"{key}.above_input_tokens: must be a whole number >= 0, got {threshold!r}"
        )
    rates = _parse_rates(entry, key, allowed=(*_RATE_KEYS, _HOUR_KEY, "above_input_tokens"))
    return RateTier(above_input_tokens=threshold, **rates)


def _parse_rates(entry: Mapping[Any, Any], key: str, allowed: tuple[str, ...]) -> dict[str, Any]:
    unknown = sorted(str(k) for k in entry if k not in allowed)
    if unknown:
        raise PricingError(f"{key}: unknown key {unknown[0]!r} (expected {', '.join(allowed)})")
    for required in ("input", "output"):
        if required not in entry:
            raise PricingError(f"{key}.{required}: missing (USD per million tokens)")
    rates = {
        name: _rate(entry[name], f"{key}.{name}")
        for name in (*_RATE_KEYS, _HOUR_KEY)
        if name in entry
    }
    rates.setdefault("cache_read", rates["input"])
    rates.setdefault("cache_write", rates["input"])
    return rates


def _rate(value: object, key: str) -> Decimal:
    """Read a rate: a finite number >= 0, from an int, float or numeric string."""
    problem = f"{key}: rate must be a number >= 0 (USD per million tokens), got {value!r}"
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise PricingError(problem)
    try:
        # str() of a float is its shortest repr, so 0.3 in YAML is exactly Decimal("0.3").
        rate = Decimal(str(value).strip())
    except InvalidOperation:
        raise PricingError(problem) from None
    if not rate.is_finite() or rate < 0:
        raise PricingError(problem)
    return rate
