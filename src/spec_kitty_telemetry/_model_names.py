"""Canonical model names: one name for every spelling of one model.

Agents report models in many spellings: ``claude-sonnet-4.5``,
``anthropic/claude-sonnet-4-5``, ``us.anthropic.claude-sonnet-4-5-20250929-v1:0``,
or the Claude Code alias ``sonnet``. Prices and ``--group-by model`` rows are
keyed by the canonical name, so all of them price and count as one model. The
raw name stays in the event; canonical names are computed when reading.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

__all__ = ["AGENT_ALIASES", "canonical_model_name"]

#: Short names agent CLIs accept for a model (Claude Code's ``--model sonnet``),
#: as those CLIs resolve them since Claude Opus 4.5 (24 November 2025; before,
#: ``opus`` was Opus 4.1). Projects can add or change aliases in the
#: ``pricing: aliases:`` section of ``.kittify/telemetry.yaml``.
AGENT_ALIASES: Final[Mapping[str, str]] = {
    "sonnet": "claude-sonnet-4-5",
    "opus": "claude-opus-4-5",
    "haiku": "claude-haiku-4-5",
    "claude-sonnet-4-0": "claude-sonnet-4",
    "claude-opus-4-0": "claude-opus-4",
}

# Cloud platforms prefix the vendor (and a region) with dots: ``us.anthropic.``.
_PLATFORM_PREFIX: Final = re.compile(
    r"^(?:(?:us|eu|apac|au|jp|ca|global)\.)?"
    r"(?:anthropic|openai|google|meta|amazon|mistral|cohere|deepseek|ai21)\."
)
# Agent frameworks write ``provider:model`` (``anthropic:claude-sonnet-4-5``).
_PROVIDER_COLON: Final = re.compile(
    r"^(?:anthropic|openai|google|google-gla|google-vertex|bedrock|azure|groq|mistral"
    r"|deepseek|openrouter|vertex_ai|gemini):(?=.)"
)
# Bedrock's model version (``-v1:0``): always a platform suffix, never part of a name.
_BEDROCK_VERSION: Final = re.compile(r"-v\d+:\d+$")
# After a cloud prefix, shorter version suffixes (``-v2``, ``:0``) are the platform's too;
# elsewhere they belong to the name (``deepseek-v3``, ``qwen2.5-coder:32``).
_PLATFORM_VERSION: Final = re.compile(r"-v\d+$|:\d+$")
_DATE_SUFFIX: Final = re.compile(r"-(?:20\d{6}|20\d\d-\d\d-\d\d)$")
# Claude Code's context-window marker: ``sonnet[1m]``, ``claude-sonnet-4-5[1m]``.
_CONTEXT_MARKER: Final = re.compile(r"\[[0-9a-z]+\]$")
_LATEST_SUFFIX: Final = "-latest"
_DOT_BETWEEN_DIGITS: Final = re.compile(r"(?<=\d)\.(?=\d)")


def canonical_model_name(raw: str, aliases: Mapping[str, str] = AGENT_ALIASES) -> str:
    """Return the canonical spelling of a model name.

    Lower-cases, drops provider paths (``anthropic/``, ``models/``) and
    prefixes (``anthropic:``), cloud prefixes (``us.anthropic.``) and Bedrock
    versions (``-v1:0``), ``@`` versions, date stamps (``-20250514``,
    ``-2025-04-14``), ``-latest`` and Claude Code's ``[1m]`` marker; writes
    Claude version numbers with dashes as Anthropic's own ids do
    (``claude-sonnet-4.5`` becomes ``claude-sonnet-4-5``; other vendors keep
    their dots, ``gpt-4.1``), then resolves ``aliases`` (one step: pass
    aliases already resolved to their final model, as ``Pricing`` does).
    Version suffixes that are part of a name stay: ``deepseek-v3``,
    ``qwen2.5-coder:32``.
    """
    name = raw.strip().lower()
    if "/" in name:
        name = name.rsplit("/", 1)[1]
    name = _PROVIDER_COLON.sub("", name)
    unprefixed = _PLATFORM_PREFIX.sub("", name)
    on_platform = unprefixed != name
    name = unprefixed.split("@", 1)[0]
    name = _CONTEXT_MARKER.sub("", name)
    name = _BEDROCK_VERSION.sub("", name)
    if on_platform:
        name = _PLATFORM_VERSION.sub("", name)
    name = _DATE_SUFFIX.sub("", name)
    if name.endswith(_LATEST_SUFFIX) and len(name) > len(_LATEST_SUFFIX):
        name = name[: -len(_LATEST_SUFFIX)]
    if name.startswith("claude"):
        name = _DOT_BETWEEN_DIGITS.sub("-", name)
    return aliases.get(name, name)
