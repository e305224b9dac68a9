"""What a model's tokens cost: layered price lookup and model-name normalisation.

Rates for a model come from the first layer that knows it:

1. the project's overrides, the ``pricing:`` section of ``.kittify/telemetry.yaml``
   (negotiated rates, private deployments, models newer than this package);
2. the table shipped with the package (``_pricing.yaml``, with a ``last_updated`` date);
3. the genai-prices catalogue, for everything else.

Model names are canonicalised first (``claude-sonnet-4.5``, ``sonnet`` and
``anthropic/claude-sonnet-4-5-20250929`` are one model). A model no layer knows
has no rates: reports count its events as unpriced instead of pricing them at $0.

The ``pricing:`` section looks like::

    pricing:
      models:
        claude-sonnet-4-5: {input: 3, output: 15, cache_read: 0.3, cache_write: 3.75}
        my-private-model: {input: 0.5, output: 1.5}
      aliases:
        opus: claude-opus-4-1      # logs from before Claude Opus 4.5
        big: opus                  # chains resolve; a cycle is an error

Model keys are read through the aliases (``sonnet:`` sets the rates of
``claude-sonnet-4-5``); two keys naming one model are an error.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from ._model_names import AGENT_ALIASES, canonical_model_name
from ._plain import plain
from ._rates import ModelRates, RateTier, parse_aliases, parse_rate_table, resolve_aliases
from .config import load_config
from .errors import PricingError

__all__ = [
    "ModelRates",
    "Pricing",
    "RateTier",
    "ShippedTable",
    "canonical_model_name",
    "load_aliases",
    "load_pricing",
    "price_sources",
    "shipped_table",
]

_SHIPPED_FILE = "_pricing.yaml"
_OVERRIDE_KEYS = ("models", "aliases")


@plain(frozen=True)
class ShippedTable:
    """The price table shipped with the package."""

    last_updated: date
    models: Mapping[str, ModelRates]


@cache
def shipped_table() -> ShippedTable:
    """Return the package's own price table (read once per process).

    The YAML is parsed once per package version and machine; later processes
    read a JSON copy of its document (``_shipped_cache``), checked by the same rules.
    """
    from . import _shipped_cache

    path = Path(__file__).with_name(_SHIPPED_FILE)
    stamp = _shipped_cache.stamp_of(path)
    copy = None if stamp is None else _shipped_cache.read_copy(path, stamp)
    if isinstance(copy, dict) and isinstance(copy.get("last_updated"), str):
        try:
            return ShippedTable(
                last_updated=date.fromisoformat(copy["last_updated"]),
                models=parse_rate_table(copy.get("models"), f"{path}: models", "shipped"),
            )
        except (ValueError, PricingError):
            pass  # a damaged copy: parse the YAML again
    table, models = _parse_shipped(path)
    if stamp is not None:
        document = {"last_updated": table.last_updated.isoformat(), "models": models}
        _shipped_cache.write_copy(path, stamp, document)
    return table


def _parse_shipped(path: Path) -> tuple[ShippedTable, Any]:
    """Parse the YAML table; return it and its raw ``models`` section."""
    import yaml

    try:
        document: Any = yaml.load(path.read_text(encoding="utf-8"), Loader=_loader())
    except (OSError, yaml.YAMLError) as exc:
        raise PricingError(f"{path}: cannot read the shipped price table: {exc}") from exc
    if not isinstance(document, dict) or not isinstance(document.get("last_updated"), date):
        raise PricingError(f"{path}: expected last_updated (a date) and models")
    models = parse_rate_table(document.get("models"), f"{path}: models", "shipped")
    return ShippedTable(last_updated=document["last_updated"], models=models), document.get(
        "models"
    )


class Pricing:
    """Resolves a model name to its rates through the layers; results are cached per name.

    Build one with :func:`load_pricing`, or directly for tests and scripts:
    ``Pricing(overrides={...}, catalogue=False)``.
    """

    def __init__(
        self,
        overrides: Mapping[str, ModelRates] | None = None,
        *,
        aliases: Mapping[str, str] | None = None,
        shipped: Mapping[str, ModelRates] | None = None,
        catalogue: bool = True,
    ) -> None:
        self.overrides = dict(overrides or {})
        self.shipped = dict(shipped_table().models if shipped is None else shipped)
        self.aliases = resolve_aliases({**AGENT_ALIASES, **(aliases or {})}, "pricing.aliases")
        self.catalogue = catalogue
        self._canonical: dict[str, str] = {}
        self._rates: dict[str, ModelRates | None] = {}

    def canonical(self, model: str) -> str:
        """Return the canonical name of ``model`` under this pricing's aliases."""
        name = self._canonical.get(model)
        if name is None:
            name = self._canonical[model] = canonical_model_name(model, self.aliases)
        return name

    def rates(self, model: str) -> ModelRates | None:
        """Rates of ``model`` (any spelling) from the first layer that knows it, else None."""
        name = self.canonical(model)
        if name in self._rates:
            return self._rates[name]
        found = self.overrides.get(name) or self.shipped.get(name)
        if found is None and self.catalogue:
            from . import _catalogue

            found = _catalogue.lookup(name, model.strip().lower())
        self._rates[name] = found
        return found

    def estimate(
        self,
        model: str,
        input_tokens: int,
        output_tokens: int,
        cache_read_tokens: int = 0,
        cache_write_tokens: int = 0,
        cache_write_1h_tokens: int = 0,
    ) -> Decimal | None:
        """Exact USD cost of one request's tokens, or None when the model cannot be priced.

        ``cache_write_1h_tokens`` are the part of ``cache_write_tokens`` written
        to the 1-hour cache (see :meth:`ModelRates.cost`).
        """
        rates = self.rates(model)
        if rates is None:
            return None
        return rates.cost(
            input_tokens,
            output_tokens,
            cache_read_tokens,
            cache_write_tokens,
            cache_write_1h_tokens,
        )


def load_pricing(project_root: str | Path | None = None, *, catalogue: bool = True) -> Pricing:
    """Return the pricing for a project: its overrides, the shipped table, the catalogue.

    Without ``project_root`` (or when the project has no ``.kittify/telemetry.yaml``)
    only the shipped table and the catalogue apply. Raises PricingError naming
    the file and key when the ``pricing:`` section is malformed.
    """
    if project_root is None:
        return Pricing(catalogue=catalogue)
    config = load_config(project_root)
    section = _pricing_section(config.pricing, f"{config.path}: pricing")
    if section is None:
        return Pricing(catalogue=catalogue)
    where = f"{config.path}: pricing"
    aliases = _project_aliases(section, where)
    return Pricing(
        parse_rate_table(
            section.get("models"),
            f"{where}.models",
            f"project ({config.path})",
            resolve_aliases({**AGENT_ALIASES, **aliases}, f"{where}.aliases"),
        ),
        aliases=aliases,
        catalogue=catalogue,
    )


def load_aliases(project_root: str | Path | None = None) -> dict[str, str]:
    """Return the model aliases a project's reports use (agent CLIs' and its own), fully resolved.

    Raises PricingError naming the file and key when the aliases are malformed
    or form a cycle; bad rates elsewhere in the section do not matter here.
    """
    if project_root is None:
        return dict(AGENT_ALIASES)
    config = load_config(project_root)
    where = f"{config.path}: pricing"
    section = _pricing_section(config.pricing, where)
    aliases = {} if section is None else _project_aliases(section, where)
    return resolve_aliases({**AGENT_ALIASES, **aliases}, f"{where}.aliases")


def price_sources(sources: Iterable[str]) -> list[str]:
    """Name the price layers behind some rates' ``source`` fields, for a report's footnote.

    ``shipped`` becomes ``shipped table of <date>``, catalogue sources lose the
    model id (``genai-prices 0.2.3``); project sources name their file.
    """
    names: set[str] = set()
    for source in sources:
        if source == "shipped":
            names.add(f"shipped table of {shipped_table().last_updated}")
        elif source.startswith("genai-prices"):
            names.add(source.split(" (", 1)[0])
        elif source.startswith("project (") and source.endswith(")"):
            names.add(f"project rates in {source[len('project (') : -1]}")
        elif source:
            names.add(source)
    order = ("project", "shipped", "genai-prices")

    def rank(name: str) -> tuple[int, str]:
        starts = [i for i, prefix in enumerate(order) if name.startswith(prefix)]
        return (starts[0] if starts else len(order), name)

    return sorted(names, key=rank)


def _pricing_section(section: object, where: str) -> Mapping[str, Any] | None:
    if section is None:
        return None
    if not isinstance(section, Mapping):
        raise PricingError(f"{where}: expected a mapping with models and aliases")
    unknown = sorted(str(key) for key in section if key not in _OVERRIDE_KEYS)
    if unknown:
        raise PricingError(f"{where}: unknown key {unknown[0]!r} (expected models, aliases)")
    return section


def _project_aliases(section: Mapping[str, Any], where: str) -> dict[str, str]:
    aliases = parse_aliases(section.get("aliases"), f"{where}.aliases")
    resolve_aliases({**AGENT_ALIASES, **aliases}, f"{where}.aliases")  # cycles name the file
    return aliases


def _loader() -> Any:
    import yaml

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)
