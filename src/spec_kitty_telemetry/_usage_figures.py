"""The :class:`~spec_kitty_telemetry.usage.Usage` value class, apart from the usage rules.

A dataclass, because ``agent_usage.ModelUsage`` and ``AgentUsage`` (dataclasses)
extend it. It lives here so that ``usage``, whose rules every report reads,
does not import ``dataclasses``: ``usage.Usage`` loads this module on first use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .usage import USAGE_FIELDS

__all__ = ["Usage"]


@dataclass(frozen=True)
class Usage:
    """The usage figures of one invocation (or one model's share of it); None = not reported.

    Built by :func:`strict` or :func:`lenient` it obeys every rule of this
    module; built directly it holds what it is given (parsers and callers build
    it from figures they checked with :func:`read_count` and :func:`read_cost`).
    """

    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read_tokens: int | None = None
    cache_write_tokens: int | None = None
    reasoning_tokens: int | None = None
    cost_usd: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the figures as stored in a payload (and under ``payload["models"][<model>]``)."""
        return {name: getattr(self, name) for name in USAGE_FIELDS}

    @classmethod
    def of(cls, figures: Any) -> Usage:
        """Take the usage fields of any object that has them as attributes, unchecked."""
        return cls(**{name: getattr(figures, name) for name in USAGE_FIELDS})


Usage.__module__ = "spec_kitty_telemetry.usage"  # its public home (docs, pickles, reprs)
