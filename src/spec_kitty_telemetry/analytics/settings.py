"""The ``alerts:`` and ``budgets:`` sections of ``.kittify/telemetry.yaml``, validated here.

``config.py`` keeps every section as written; this module owns the meaning of
these two, so a typo in a budget stops the budget report (a ConfigError
naming the file and key) and never the emitter.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..errors import ConfigError

__all__ = [
    "PERIODS",
    "SCOPES",
    "AlertSettings",
    "BudgetSettings",
    "Sink",
    "alert_settings",
    "budget_settings",
    "parse_span",
]

PERIODS: Final = ("day", "week", "month")
SCOPES: Final = ("project", "feature", "agent", "model", "provider")
SINK_KINDS: Final = ("stderr", "jsonl", "webhook", "slack", "command")
_SPAN: Final = re.compile(r"(\d+(?:\.\d+)?)\s*(s|m|h|d)")
_UNIT_SECONDS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_span(text: str, where: str) -> float:
    """Parse ``90s``, ``30m``, ``24h`` or ``7d`` into seconds; ConfigError naming ``where``."""
    match = _SPAN.fullmatch(str(text).strip())
    if match is None:
        raise ConfigError(f"{where}: expected a span like 30m, 24h or 7d, got {text!r}")
    return float(match[1]) * _UNIT_SECONDS[match[2]]


@dataclass(frozen=True)
class Sink:
    """Where an alert goes: ``kind`` is one of stderr, jsonl, webhook, slack, command."""

    kind: str
    target: str | list[str] | None = None
    timeout: float = 2.0


@dataclass(frozen=True)
class AlertSettings:
    """The ``alerts:`` section, with defaults for everything."""

    realtime: bool = False
    min_sample: int = 20
    z_threshold: float = 3.5
    alpha: float = 0.001
    cooldown_seconds: float = 86400.0
    log: Path = Path(".kittify") / "alerts.jsonl"
    sinks: list[Sink] = field(default_factory=lambda: [Sink("stderr")])


@dataclass(frozen=True)
class BudgetSettings:
    """One budget: a scope, a limit in USD or tokens, a period and its warning levels."""

    name: str
    scope: str = "project"
    scope_value: str | None = None
    limit_usd: float | None = None
    limit_tokens: int | None = None
    period: str = "month"
    reset: time = time(0, 0)
    timezone: str = "UTC"
    yellow: float = 50.0
    red: float = 80.0

    @property
    def zone(self) -> ZoneInfo:
        """The budget's time zone (validated when the settings were read)."""
        return ZoneInfo(self.timezone)


def _where(config_path: Path | None, key: str) -> str:
    return f"{config_path or '.kittify/telemetry.yaml'}: {key}"


def _number(value: Any, where: str, *, low: float = 0.0, integer: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < low:
        raise ConfigError(f"{where}: expected a number >= {low:g}, got {value!r}")
    if integer and not isinstance(value, int):
        raise ConfigError(f"{where}: expected a whole number, got {value!r}")
    return float(value)


def _sink(entry: Any, where: str) -> Sink:
    if entry == "stderr":
        return Sink("stderr")
    if not isinstance(entry, Mapping) or len(set(entry) & set(SINK_KINDS)) != 1:
        raise ConfigError(
            f"{where}: expected stderr or a mapping with one of jsonl, webhook, slack, command"
        )
    kind = next(k for k in entry if k in SINK_KINDS)
    unknown = set(entry) - {kind, "timeout"}
    if unknown:
        raise ConfigError(f"{where}: unknown key {sorted(unknown)[0]!r}")
    target = entry[kind]
    timeout = _number(entry.get("timeout", 2.0), f"{where}.timeout", low=0.001)
    if kind == "command":
        if isinstance(target, str) and target.strip():
            import shlex

            return Sink(kind, shlex.split(target), timeout)
        if isinstance(target, list) and target and all(isinstance(p, str) for p in target):
            return Sink(kind, list(target), timeout)
        raise ConfigError(f"{where}.command: expected a command line or a list of arguments")
    if not isinstance(target, str) or not target.strip():
        raise ConfigError(f"{where}.{kind}: expected a non-empty string, got {target!r}")
    if kind in ("webhook", "slack") and not target.startswith(("http://", "https://")):
        raise ConfigError(f"{where}.{kind}: expected an http(s) URL, got {target!r}")
    return Sink(kind, target, timeout)


def alert_settings(section: Any, config_path: Path | None = None) -> AlertSettings:
    """Validate the ``alerts:`` section (None: the defaults)."""
    if section is None:
        return AlertSettings()
    if not isinstance(section, Mapping):
        raise ConfigError(f"{_where(config_path, 'alerts')}: expected a mapping")
    known = {"realtime", "min_sample", "z_threshold", "alpha", "cooldown", "log", "sinks"}
    for key in section:
        if key not in known:
            raise ConfigError(f"{_where(config_path, f'alerts.{key}')}: unknown key")
    realtime = section.get("realtime", False)
    if not isinstance(realtime, bool):
        raise ConfigError(f"{_where(config_path, 'alerts.realtime')}: expected true or false")
    where = _where(config_path, "alerts")
    min_sample = int(
        _number(section.get("min_sample", 20), f"{where}.min_sample", low=1, integer=True)
    )
    z = _number(section.get("z_threshold", 3.5), f"{where}.z_threshold", low=0.1)
    alpha = _number(section.get("alpha", 0.001), f"{where}.alpha", low=1e-12)
    if alpha >= 1:
        raise ConfigError(f"{where}.alpha: expected a probability below 1, got {alpha!r}")
    cooldown = section.get("cooldown", "24h")
    cooldown_s = (
        _number(cooldown, f"{where}.cooldown")
        if isinstance(cooldown, int | float)
        else parse_span(cooldown, f"{where}.cooldown")
    )
    log = section.get("log", str(AlertSettings.log))
    if not isinstance(log, str) or not log.strip():
        raise ConfigError(f"{where}.log: expected a path")
    sinks_raw = section.get("sinks", ["stderr"])
    if not isinstance(sinks_raw, list):
        raise ConfigError(f"{where}.sinks: expected a list")
    sinks = [_sink(entry, f"{where}.sinks[{i}]") for i, entry in enumerate(sinks_raw)]
    return AlertSettings(realtime, min_sample, z, alpha, cooldown_s, Path(log), sinks)


def _budget(entry: Any, where: str) -> BudgetSettings:
    if not isinstance(entry, Mapping):
        raise ConfigError(f"{where}: expected a mapping")
    known = {"name", "scope", "limit_usd", "limit_tokens", "period", "reset", "timezone", "levels"}
    for key in entry:
        if key not in known:
            raise ConfigError(f"{where}.{key}: unknown key")
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{where}.name: expected a non-empty string")
    where = f"{where} ({name})"
    scope, scope_value = "project", None
    raw_scope = entry.get("scope", "project")
    if isinstance(raw_scope, Mapping) and len(raw_scope) == 1:
        scope, scope_value = next(iter(raw_scope.items()))
        if scope not in SCOPES[1:] or not isinstance(scope_value, str) or not scope_value.strip():
            raise ConfigError(
                f"{where}.scope: expected project or one of {', '.join(SCOPES[1:])}: <value>"
            )
    elif raw_scope != "project":
        raise ConfigError(
            f"{where}.scope: expected project or one of {', '.join(SCOPES[1:])}: <value>"
        )
    has_usd, has_tokens = "limit_usd" in entry, "limit_tokens" in entry
    if has_usd == has_tokens:
        raise ConfigError(f"{where}: give exactly one of limit_usd and limit_tokens")
    limit_usd = _number(entry["limit_usd"], f"{where}.limit_usd", low=0.000001) if has_usd else None
    limit_tokens = (
        int(_number(entry["limit_tokens"], f"{where}.limit_tokens", low=1, integer=True))
        if has_tokens
        else None
    )
    period = entry.get("period", "month")
    if period not in PERIODS:
        raise ConfigError(f"{where}.period: expected day, week or month, got {period!r}")
    reset_raw = entry.get("reset", "00:00")
    try:
        reset = time.fromisoformat(str(reset_raw))
    except ValueError:
        raise ConfigError(
            f"{where}.reset: expected a time of day like 09:00, got {reset_raw!r}"
        ) from None
    timezone = entry.get("timezone", "UTC")
    try:
        ZoneInfo(str(timezone))
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{where}.timezone: unknown time zone {timezone!r}") from None
    levels = entry.get("levels", {})
    if not isinstance(levels, Mapping) or set(levels) - {"yellow", "red"}:
        raise ConfigError(f"{where}.levels: expected yellow and/or red percentages")
    yellow = _number(levels.get("yellow", 50), f"{where}.levels.yellow")
    red = _number(levels.get("red", 80), f"{where}.levels.red")
    if not yellow <= red:
        raise ConfigError(f"{where}.levels: yellow ({yellow:g}) must not be above red ({red:g})")
    return BudgetSettings(
        name.strip(),
        scope,
        scope_value,
        limit_usd,
        limit_tokens,
        period,
        reset,
        str(timezone),
        yellow,
        red,
    )


def budget_settings(section: Any, config_path: Path | None = None) -> list[BudgetSettings]:
    """Validate the ``budgets:`` section (a list; None: no budgets); names must be unique."""
    if section is None:
        return []
    where = _where(config_path, "budgets")
    if not isinstance(section, list):
        raise ConfigError(f"{where}: expected a list of budgets")
    budgets = [_budget(entry, f"{where}[{i}]") for i, entry in enumerate(section)]
    names = [b.name for b in budgets]
    for name in names:
        if names.count(name) > 1:
            raise ConfigError(f"{where}: budget name {name!r} used twice")
    return budgets
