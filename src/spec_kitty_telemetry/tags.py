"""Free-form labels on a run (``environment=ci``, ``operator=ana``): the one tag rule.

Tags are stored as ``payload["tags"]``, a mapping of string to string, and
every way of giving them goes through the functions here: ``--tag KEY=VALUE``
on ``emit`` and ``run`` (:func:`parse_tag_options`), ``tags=`` in the Python
hooks (:func:`lenient_tags`), the ``tags:`` section of ``.kittify/telemetry.yaml``
(:func:`config_tags`, merged under the explicit ones by :func:`merge_tags`) and
the writer's own payload check (:func:`tag_problems`, called by
``_records.execution_payload``). So a tag that one route accepts, every route
accepts.

The rule: a key starts with a letter and holds letters, digits, ``_``, ``.``
and ``-`` (at most :data:`MAX_KEY_LENGTH` characters), so it can be spelt in
``--group-by tag:KEY`` and in a CSV header without quoting; a value is a
non-empty string of at most :data:`MAX_VALUE_LENGTH` characters without
control characters, so it fits in a table cell; at most :data:`MAX_TAGS` per
event, so a runaway script cannot make one event megabytes long.

``KEY=`` (an empty value) on the command line or in a hook removes the tag,
a default one included: templates that pass ``--tag operator=$OPERATOR`` with
the variable unset record no operator rather than failing the phase.

Kept free of heavy imports: ``emit`` reads it on its fast path.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Final

from .errors import ConfigError, InvalidOptionError

__all__ = [
    "MAX_KEY_LENGTH",
    "MAX_TAGS",
    "MAX_VALUE_LENGTH",
    "TAGS_KEY",
    "TAG_GROUP_PREFIX",
    "config_tags",
    "default_tags",
    "lenient_tags",
    "merge_tags",
    "parse_tag_filter",
    "parse_tag_options",
    "tag_group_key",
    "tag_group_problem",
    "tag_problems",
]

#: The payload key tags are stored under.
TAGS_KEY: Final = "tags"
#: Longest tag key, in characters.
MAX_KEY_LENGTH: Final = 64
#: Longest tag value, in characters.
MAX_VALUE_LENGTH: Final = 256
#: Most tags one event may carry.
MAX_TAGS: Final = 32
#: How a report names a grouping by a tag's value: ``tag:KEY``.
TAG_GROUP_PREFIX: Final = "tag:"

_KEY: Final = re.compile(r"[A-Za-z][A-Za-z0-9_.-]*")
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")


def _key_problem(key: object) -> str | None:
    if not isinstance(key, str):
        return f"tag key {key!r} is not a string"
    if not _KEY.fullmatch(key):
        return f"tag key {key!r} must start with a letter and hold only letters, digits, _ . -"
    if len(key) > MAX_KEY_LENGTH:
        return f"tag key {key[:20]!r}... is longer than {MAX_KEY_LENGTH} characters"
    return None


def _value_problem(key: str, value: object) -> str | None:
    if not isinstance(value, str):
        return f"tag {key!r}: value {value!r} is not a string"
    if not value:
        return f"tag {key!r}: value is empty"
    if len(value) > MAX_VALUE_LENGTH:
        return f"tag {key!r}: value is longer than {MAX_VALUE_LENGTH} characters"
    if _CONTROL.search(value):
        return f"tag {key!r}: value holds a control character"
    return None


def _problem(key: object, value: object) -> str | None:
    """Say what is wrong with one tag, or None: THE tag rule."""
    return _key_problem(key) or _value_problem(key, value)  # type: ignore[arg-type]


def tag_problems(tags: object) -> list[str]:
    """Everything wrong with a stored ``tags`` value (empty when it may be stored as given)."""
    if not isinstance(tags, Mapping):
        return [f"tags: must be a mapping of string to string, got {type(tags).__name__}"]
    found = [f"tags: {p}" for key, value in tags.items() if (p := _problem(key, value))]
    if len(tags) > MAX_TAGS:
        found.append(f"tags: {len(tags)} tags, at most {MAX_TAGS} allowed")
    return found


def lenient_tags(tags: object) -> tuple[dict[str, str], list[str]]:
    """Keep the tags that may be stored, and say why each other one was dropped.

    For the hooks, which must record the invocation whatever the caller
    passed: a bad tag is a note, never a lost event. An empty value drops
    the tag without a note (see the module docstring); tags beyond
    :data:`MAX_TAGS` are dropped in the order given.
    """
    if tags is None:
        return {}, []
    if not isinstance(tags, Mapping):
        return {}, [f"tags: expected a mapping of string to string, got {type(tags).__name__}"]
    kept: dict[str, str] = {}
    notes: list[str] = []
    for key, value in tags.items():
        if value == "" and _key_problem(key) is None:
            kept[key] = ""  # removes the key when merged; never stored
            continue
        problem = _problem(key, value)
        if problem is not None:
            notes.append(f"{problem}: dropped")
        elif len([v for v in kept.values() if v]) >= MAX_TAGS:
            notes.append(f"tag {key!r}: more than {MAX_TAGS} tags: dropped")
        else:
            kept[key] = value
    return kept, notes


def _split(text: str) -> tuple[str, str]:
    key, equals, value = text.partition("=")
    key = key.strip()
    if not equals or not key:
        raise InvalidOptionError(f"expected KEY=VALUE, got {text!r}", parameter="tag")
    problem = _key_problem(key)
    if problem is not None:
        raise InvalidOptionError(problem, parameter="tag")
    return key, value


def tag_group_key(group: str) -> str | None:
    """Return KEY of a ``tag:KEY`` grouping, None for any other grouping (KEY unchecked).

    Called per row of a report, so it only looks at the prefix;
    :func:`tag_group_problem` checks KEY once, before reading.
    """
    return group[len(TAG_GROUP_PREFIX) :] if group.startswith(TAG_GROUP_PREFIX) else None


def tag_group_problem(group: str) -> str | None:
    """Say what is wrong with the KEY of a ``tag:KEY`` grouping (None: fine, or no tag group)."""
    key = tag_group_key(group)
    return None if key is None else _key_problem(key)


def parse_tag_options(values: Iterable[str] | None) -> dict[str, str]:
    """Parse repeated ``--tag KEY=VALUE`` options into tags (later ones win).

    ``KEY=`` keeps the key with an empty value, which :func:`merge_tags` reads
    as "remove". Raises InvalidOptionError naming ``--tag`` (parameter ``tag``)
    at the first bad one.
    """
    tags: dict[str, str] = {}
    for text in values or ():
        key, value = _split(text)
        if value:
            problem = _value_problem(key, value)
            if problem is not None:
                raise InvalidOptionError(problem, parameter="tag")
        tags[key] = value
    if sum(1 for value in tags.values() if value) > MAX_TAGS:
        raise InvalidOptionError(f"more than {MAX_TAGS} tags", parameter="tag")
    return tags


def parse_tag_filter(values: Iterable[str] | None) -> dict[str, str] | None:
    """Parse repeated ``--tag KEY=VALUE`` read-command filters; None when none given.

    Every tag given must be on an event for it to match; a filter value must
    not be empty (an event never stores an empty one, so nothing could match).
    """
    tags: dict[str, str] = {}
    for text in values or ():
        key, value = _split(text)
        problem = _value_problem(key, value)
        if problem is not None:
            raise InvalidOptionError(problem, parameter="tag")
        tags[key] = value
    return tags or None


def config_tags(section: object, path: Path | str = "telemetry.yaml") -> dict[str, str]:
    """Validate the ``tags:`` section as written (``load_config(root).section("tags")``).

    A mapping of key to value; whole numbers are taken as their digits
    (``build: 42``), other non-strings (``true``, ``1.10``, nothing) are
    refused, since YAML would have changed them (``1.10`` is read as 1.1):
    quote them. Raises ConfigError naming the file and the key.
    """
    if section is None:
        return {}
    where = f"{path}: tags"
    if not isinstance(section, Mapping):
        raise ConfigError(
            f"{where}: expected a mapping of tag names to values, got {type(section).__name__}"
        )
    tags: dict[str, str] = {}
    for key, value in section.items():
        if type(value) is int:
            value = str(value)
        if not isinstance(value, str):
            raise ConfigError(
                f"{where}.{key}: expected a string, got {value!r} (quote it: {key}: '...')"
            )
        problem = _problem(key, value)
        if problem is not None:
            raise ConfigError(f"{where}.{key}: {problem}")
        tags[key] = value
    if len(tags) > MAX_TAGS:
        raise ConfigError(f"{where}: {len(tags)} tags, at most {MAX_TAGS} allowed")
    return tags


def default_tags(
    feature_dir: str | Path, *, file_problems: bool = True
) -> tuple[dict[str, str], str | None]:
    """Return the default tags of the project holding ``feature_dir``, and a warning if broken.

    Never raises: while recording, a broken ``tags:`` section (or config
    file) is a warning and the run is recorded with its explicit tags only.
    With ``file_problems`` False a file that cannot be read or parsed at all
    gives no warning here, for callers that already warned about it once
    (``project.node_id_for`` reads the same file on the same recording).
    """
    from .config import find_project_root, load_config

    try:
        root = find_project_root(feature_dir)
        if root is None:
            return {}, None
        config = load_config(root)
    except Exception as exc:  # noqa: BLE001 - a bad config must not stop recording
        return {}, f"telemetry: default tags not used: {exc}" if file_problems else None
    try:
        return config_tags(config.section(TAGS_KEY), config.path or root), None
    except ConfigError as exc:
        return {}, f"telemetry: default tags not used: {exc}"


def merge_tags(defaults: Mapping[str, str], explicit: Mapping[str, str]) -> dict[str, str]:
    """Put the explicit tags over the defaults; an explicit empty value removes the tag.

    Beyond :data:`MAX_TAGS` in all, defaults are left out first (last ones
    first): what the caller named for this run matters more.
    """
    wanted = {key: value for key, value in explicit.items() if value}
    merged = {key: value for key, value in defaults.items() if key not in explicit}
    room = max(MAX_TAGS - len(wanted), 0)
    return {**dict(list(merged.items())[:room]), **wanted}
