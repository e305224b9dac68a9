"""Credentials never reach a log: the one scrubber for free text the package records.

Event logs are committed and shared, so a key an agent printed in an error
message would be published with the next push. Every record the package
builds passes its payload through :func:`redact_payload` (in
``_records.event_record``), which replaces what looks like a credential with
a marker naming its kind, e.g. ``[REDACTED:anthropic-key]``.

One table of patterns, compiled into a single alternation, scanned once per
string. The patterns are shaped after the providers' published formats and
need the random part of a key to be long (and, for the looser ones, to hold a
digit), so ids, commit hashes, model names, feature slugs and paths are left
alone. For a ``key=value`` or ``Authorization: Bearer`` pair only the value
is replaced, so the record still says what was there.
"""

from __future__ import annotations

import functools
import re
from typing import Any, Final

__all__ = ["PATTERNS", "find_secrets", "redact", "redact_payload"]

_WORD: Final = r"A-Za-z0-9_-"
_KEY_WORDS: Final = ("pass", "secret", "token", "key", "credential")

#: (kind, triggers, pattern). A string is scanned only if its lower-cased text
#: holds one of a pattern's triggers (literal parts every match contains), so
#: the usual payload (names, ids, hashes) costs a few substring tests and the
#: patterns are compiled only by the first process that meets a candidate. A
#: pattern with a group named ``value`` has only that part replaced (the key
#: or header before it stays); otherwise the whole match is.
PATTERNS: Final[tuple[tuple[str, tuple[str, ...], str], ...]] = (
    (
        "private-key",
        ("private key",),
        r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----[\s\S]*?"
        r"(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----|\Z)",
    ),
    ("anthropic-key", ("sk-ant-",), rf"(?<![{_WORD}])sk-ant-[{_WORD}]{{20,}}"),
    (
        "openai-key",
        ("sk-",),
        rf"(?<![{_WORD}])sk-(?:proj-|svcacct-|admin-)?(?=[{_WORD}]*[0-9])[{_WORD}]{{20,}}",
    ),
    ("google-api-key", ("aiza",), rf"(?<![{_WORD}])AIza[{_WORD}]{{35}}(?![{_WORD}])"),
    (
        "github-token",
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
        r"(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})",
    ),
    (
        "aws-access-key",
        ("akia", "asia"),
        r"(?<![A-Za-z0-9])(?:AKIA|ASIA)[0-9A-Z]{16}(?![A-Za-z0-9])",
    ),
    ("slack-token", ("xox",), r"(?<![A-Za-z0-9])xox[abposr]-[A-Za-z0-9-]{10,}"),
    (
        "bearer-token",
        ("authorization", "bearer"),
        r"(?i:(?:authorization[\"']?\s*[:=]\s*[\"']?(?:bearer|basic|token)"
        r"|\bbearer(?=\s+[A-Za-z0-9._~+/-]*[0-9])))\s+(?P<value>[A-Za-z0-9._~+/-]{8,}=*)",
    ),
    (
        # A key naming a secret, then = or :, then the value (quoted or up to a separator).
        "secret",
        _KEY_WORDS,
        r"(?i:\b[A-Za-z0-9_.-]{0,40}?(?:password|passwd|passphrase|secret|token|api[_-]?key"
        r"|access[_-]?key|private[_-]?key|credentials?))[\"']?\s*[:=]\s*"
        r"(?P<value>\"[^\"\n]*\"|'[^'\n]*'|[^\s\"',;&]+)",
    ),
)

# One alternation; group ``k<n>`` is pattern n as a whole, ``v<n>`` its value part.
_KINDS: Final = {f"k{n}": kind for n, (kind, _, _) in enumerate(PATTERNS)}
# Every pattern's triggers as one alternation of literals, run on the lower-cased text
# (re.IGNORECASE made it ten times slower): one C-level scan per string.
_TRIGGERS: Final = re.compile(
    "|".join(re.escape(t) for t in dict.fromkeys(t for _, ts, _ in PATTERNS for t in ts))
)
#: No pattern matches fewer characters (``token=x``): shorter strings are skipped outright.
_SHORTEST: Final = 7


@functools.cache
def _scanner() -> re.Pattern[str]:
    return re.compile(
        "|".join(
            f"(?P<k{n}>{pattern.replace('(?P<value>', f'(?P<v{n}>')})"
            for n, (_, _, pattern) in enumerate(PATTERNS)
        )
    )


_LEAVES: Final = frozenset({int, float, bool, type(None)})


def _may_hold_a_secret(text: str) -> bool:
    return len(text) >= _SHORTEST and _TRIGGERS.search(text.lower()) is not None


def find_secrets(text: str) -> list[tuple[str, tuple[int, int]]]:
    """Return ``(kind, (start, end))`` for each credential-looking span of ``text``.

    The span covers what :func:`redact` would replace (for a ``key=value``
    pair, the value). For ``doctor``, which reports secret-looking config
    values without printing them.
    """
    found: list[tuple[str, tuple[int, int]]] = []
    if not _may_hold_a_secret(text):
        return found
    for match in _scanner().finditer(text):
        group = match.lastgroup
        assert group is not None  # every alternative is a named group
        value = f"v{group[1:]}"
        where = match.span(value) if value in match.re.groupindex else match.span()
        found.append((_KINDS[group], where))
    return found


def redact(text: str) -> str:
    """Return ``text`` with every credential-looking span replaced by ``[REDACTED:<kind>]``."""
    if len(text) < _SHORTEST or _TRIGGERS.search(text.lower()) is None:
        return text  # the usual case, kept to two C calls: this runs on every payload string
    return _scanner().sub(_marker, text)


def redact_payload(value: Any) -> Any:
    """Return ``value`` with :func:`redact` applied to every string in it, at any depth.

    Mapping keys are names chosen by the caller, not free text, and stay as
    they are; so does everything that is not a string.
    """
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):  # leaves handled inline: one call per payload, not per field
        return {
            key: redact(item)
            if type(item) is str
            else item
            if type(item) in _LEAVES
            else redact_payload(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [redact_payload(item) for item in value]
    if isinstance(value, tuple):
        return tuple(redact_payload(item) for item in value)
    return value


def _marker(match: re.Match[str]) -> str:
    group = match.lastgroup
    assert group is not None
    marker = f"[REDACTED:{_KINDS[group]}]"
    value = f"v{group[1:]}"
    if value not in match.re.groupindex:
        return marker
    start, end = match.span(value)
    secret = match[value]
    if secret[:1] in "\"'" and len(secret) >= 2:  # keep the quotes: the text stays well-formed
        marker = f"{secret[0]}{marker}{secret[-1]}"
    whole = match.start()
    text = match[0]
    return text[: start - whole] + marker + text[end - whole :]
