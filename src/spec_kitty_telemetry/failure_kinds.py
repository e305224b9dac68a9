"""Why a run failed, in a few words a report can group by: the ``error_category`` rules.

One ordered table decides, first match wins, from what a failed run left: its
exit code, the signal that ended it (an exit code above 128 means signal
code - 128), the agent that ran, the error text recorded (the agent's own
error as :mod:`~spec_kitty_telemetry.agent_usage` reads it from Claude Code,
Codex and Gemini CLI output, or the wrapper's ``killed by SIGTERM`` /
``cannot start``), and whether its tests failed. A project puts its own rules
before the built-in ones in ``.kittify/telemetry.yaml``::

    error_categories:
      - category: quota
        match: "billing hard limit|insufficient_quota"   # regex, case-insensitive
      - category: sandbox
        agent: gemini
        exit_codes: [44]

A rule matches when every condition it gives holds (``match`` against the
error text, ``exit_codes``, ``signals`` by name, ``agent``). The raw error
text stays in the event as recorded; the category is an addition.
"""

from __future__ import annotations

import re
import signal
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from .errors import ConfigError
from .outputs import ERROR_CATEGORY_KEY

__all__ = [
    "BUILTIN_RULES",
    "CATEGORIES",
    "ERROR_CATEGORY_KEY",
    "FailureRule",
    "classify_failure",
    "load_rules",
    "project_rules",
]

#: The built-in categories; a project's rules may add others.
CATEGORIES: Final = (
    "cancelled",
    "timeout",
    "auth",
    "rate_limit",
    "network",
    "limit",
    "test_failure",
    "tool_error",
    "unknown",
)
_CATEGORY_NAME: Final = re.compile(r"[a-z][a-z0-9_]{0,39}")


@dataclass(frozen=True)
class FailureRule:
    """One row of the table: a category and the conditions (all given ones must hold)."""

    category: str
    match: re.Pattern[str] | None = None
    exit_codes: frozenset[int] = frozenset()
    signals: frozenset[str] = frozenset()
    agent: str | None = None
    tests_failed: bool = False

    def applies(
        self, error: str, exit_code: int | None, signal_name: str | None, agent: str | None
    ) -> bool:
        """Whether this rule matches the failed run described."""
        if self.agent is not None and (agent or "").lower() != self.agent:
            return False
        if self.exit_codes and exit_code not in self.exit_codes:
            return False
        if self.signals and signal_name not in self.signals:
            return False
        return self.match is None or self.match.search(error) is not None


def _rule(category: str, pattern: str | None = None, **conditions: Any) -> FailureRule:
    match = re.compile(pattern, re.IGNORECASE) if pattern else None
    return FailureRule(category, match, **conditions)


#: The built-in table, in the order it is tried. Texts are those the agents print:
#: Claude Code result subtypes and API errors, Codex ``turn.failed``/``error``
#: messages, Gemini CLI error objects and exit codes (41 auth, 53 turn limit).
BUILTIN_RULES: Final = (
    _rule("cancelled", signals=frozenset({"SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT"})),
    _rule("cancelled", exit_codes=frozenset({130})),
    _rule("cancelled", r"\b(?:interrupted|cancell?ed|aborted) by (?:the )?user\b"),
    _rule("timeout", signals=frozenset({"SIGALRM", "SIGXCPU"})),
    _rule("timeout", exit_codes=frozenset({124})),
    _rule("auth", exit_codes=frozenset({41}), agent="gemini"),
    _rule(
        "auth",
        r"\b401\b|\b403\b|unauthori[sz]ed|authentication|invalid[ _-]?(?:x-)?api[ _-]?key"
        r"|api key (?:not valid|is invalid|missing)|not logged in|/login\b|oauth token"
        r"|permission_error|credentials?",
    ),
    _rule(
        "rate_limit",
        r"\b429\b|rate[ _-]?limit|too many requests|quota|resource_exhausted"
        r"|usage limit|overloaded",
    ),
    _rule("timeout", r"timed? ?out|timeout|deadline exceeded"),
    _rule(
        "network",
        r"econnrefused|econnreset|enotfound|eai_again|getaddrinfo|socket hang up"
        r"|network|connection (?:refused|reset|error|closed)|stream disconnected"
        r"|fetch failed|dns|tls|ssl|reconnecting",
    ),
    _rule("limit", exit_codes=frozenset({53}), agent="gemini"),
    _rule(
        "limit", r"error_max_turns|max_turns|error_max_budget|turn limit|context (?:length|window)"
    ),
    _rule("test_failure", tests_failed=True),
    _rule("test_failure", r"\btests? failed\b|\bfailing tests?\b|\bfailed tests?\b"),
    _rule("tool_error", exit_codes=frozenset({126, 127})),
    _rule(
        "tool_error", r"error_during_execution|tool_use_error|tool (?:call )?failed|cannot start"
    ),
)


def classify_failure(
    *,
    exit_code: int | None,
    error: str | None,
    agent: str | None = None,
    tests_failed: bool = False,
    rules: Iterable[FailureRule] = BUILTIN_RULES,
) -> str:
    """Return the category of a failed run: the first rule of ``rules`` that matches, else unknown.

    ``tests_failed`` says the run's own test report had failures or errors.
    """
    text = error or ""
    signal_name = _signal_name(exit_code, text)
    for rule in rules:
        if rule.tests_failed and not tests_failed:
            continue
        if rule.applies(text, exit_code, signal_name, agent):
            return rule.category
    return "unknown"


def load_rules(section: object, path: Path | str = "telemetry.yaml") -> tuple[FailureRule, ...]:
    """Return a project's ``error_categories:`` rules followed by the built-in ones.

    ``section`` is the section as written (``load_config(root).section(...)``);
    ConfigError names the file and the key of the first thing wrong.
    """
    if section is None:
        return BUILTIN_RULES
    where = f"{path}: error_categories"
    if not isinstance(section, list):
        raise ConfigError(f"{where}: expected a list of rules, got {type(section).__name__}")
    rules = [_project_rule(item, f"{where}[{index}]") for index, item in enumerate(section)]
    return (*rules, *BUILTIN_RULES)


def _project_rule(item: object, where: str) -> FailureRule:
    if not isinstance(item, Mapping):
        raise ConfigError(f"{where}: expected a mapping with category and match/exit_codes")
    unknown = sorted(set(map(str, item)) - {"category", "match", "exit_codes", "signals", "agent"})
    if unknown:
        raise ConfigError(f"{where}.{unknown[0]}: unknown key")
    category = item.get("category")
    if not isinstance(category, str) or not _CATEGORY_NAME.fullmatch(category):
        raise ConfigError(
            f"{where}.category: expected a lower-case name like rate_limit, got {category!r}"
        )
    match = item.get("match")
    pattern = None
    if match is not None:
        if not isinstance(match, str) or not match:
            raise ConfigError(f"{where}.match: expected a regular expression, got {match!r}")
        try:
            pattern = re.compile(match, re.IGNORECASE)
        except re.error as exc:
            raise ConfigError(f"{where}.match: not a valid regular expression: {exc}") from None
    codes = item.get("exit_codes", [])
    if not isinstance(codes, list) or not all(type(c) is int for c in codes):
        raise ConfigError(f"{where}.exit_codes: expected a list of whole numbers, got {codes!r}")
    signals = item.get("signals", [])
    if not isinstance(signals, list) or not all(isinstance(s, str) for s in signals):
        raise ConfigError(
            f"{where}.signals: expected a list of names like SIGTERM, got {signals!r}"
        )
    agent = item.get("agent")
    if agent is not None and (not isinstance(agent, str) or not agent.strip()):
        raise ConfigError(f"{where}.agent: expected an agent name, got {agent!r}")
    if pattern is None and not codes and not signals:
        raise ConfigError(f"{where}: give at least one of match, exit_codes, signals")
    return FailureRule(
        category=category,
        match=pattern,
        exit_codes=frozenset(codes),
        signals=frozenset(
            s.upper() if s.upper().startswith("SIG") else f"SIG{s.upper()}" for s in signals
        ),
        agent=agent.strip().lower() if agent else None,
    )


def _signal_name(exit_code: int | None, error: str) -> str | None:
    """Name the signal that ended the run: from ``killed by SIGX``, or an exit code 128 + N."""
    found = re.search(r"killed by (SIG[A-Z0-9]+)", error)
    if found:
        return found.group(1)
    if exit_code is not None and 128 < exit_code < 128 + 65:
        try:
            return signal.Signals(exit_code - 128).name
        except ValueError:
            return None
    return None


def project_rules(
    feature_dir: str | Path, *, file_problems: bool = True
) -> tuple[tuple[FailureRule, ...], str | None]:
    """Return the rules for the project holding ``feature_dir``, and a warning if its are broken.

    Never raises: a broken config falls back to the built-in table, so a
    failed run still gets a category and is still recorded. With
    ``file_problems`` False a file that cannot be read or parsed at all gives
    no warning here, for callers that already warned about it once.
    """
    from .config import find_project_root, load_config

    fallback = "telemetry: built-in error categories used"
    try:
        root = find_project_root(feature_dir)
        if root is None:
            return BUILTIN_RULES, None
        config = load_config(root)
    except Exception as exc:  # noqa: BLE001 - a bad config must not stop recording
        return BUILTIN_RULES, f"{fallback}: {exc}" if file_problems else None
    try:
        return load_rules(config.section("error_categories"), config.path or root), None
    except Exception as exc:  # noqa: BLE001 - a bad section must not stop recording
        return BUILTIN_RULES, f"{fallback}: {exc}"
