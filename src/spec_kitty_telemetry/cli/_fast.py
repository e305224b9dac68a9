"""The fast route of ``cost``: a plain command line read and run without typer.

Importing typer 0.29 loads pydantic (it checks option values with pydantic
type adapters); the two take several times longer than a report on a small
project, or a warm report on a large one. The console scripts therefore try
this route first for ``cost`` (and for the bare group, whose default is
``cost``): it reads the command line by the option table of
``cli/_options.py`` and runs the command's one body
(``cli/_cost_command.run_cost``).

It reads only the plain forms: ``--name``, ``--name VALUE``, ``--name=VALUE``
and, for short spellings, ``-g VALUE`` or ``-gVALUE``. Anything else (help,
an unknown or misspelt option, a value that looks like an option, a value
missing, a stray argument) is left to the typer app, which parses it the
usual way and prints its usual help or one-line error; so this route can
make a command line faster, never mean something else.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import TelemetryError
from ._options import COST_OPTIONS, OptionSpec

__all__ = ["parse_cost", "run_cost_fast"]


def _spellings(specs: tuple[OptionSpec, ...]) -> dict[str, tuple[OptionSpec, object]]:
    """Map every spelling to its option and, for a flag or switch, the value it sets."""
    found: dict[str, tuple[OptionSpec, object]] = {}
    for spec in specs:
        for flag in spec.flags:
            found[flag] = (spec, True)
        if spec.off_flag is not None:
            found[spec.off_flag] = (spec, False)
    return found


_COST_SPELLINGS = _spellings(COST_OPTIONS)


def parse_cost(args: list[str]) -> dict[str, Any] | None:
    """Return ``cost``'s options from a plain command line, or None to leave it to typer."""
    options: dict[str, Any] = {}
    rest = list(args)
    while rest:
        token = rest.pop(0)
        name, value = _split(token)
        found = _COST_SPELLINGS.get(name)
        if found is None:
            return None
        spec, setting = found
        if spec.kind in ("flag", "switch"):
            if value is not None:
                return None
            options[spec.dest] = setting
            continue
        if value is None:
            if not rest:
                return None
            value = rest.pop(0)
        if value.startswith("-"):
            return None
        if spec.kind == "repeat":
            options.setdefault(spec.dest, []).append(value)
        else:
            options[spec.dest] = value
    if "repo" in options:
        options["repo"] = Path(options["repo"])
    return options


def _split(token: str) -> tuple[str, str | None]:
    """Split ``--name=VALUE`` or ``-gVALUE`` into spelling and value (None when apart)."""
    if token.startswith("--"):
        name, equals, value = token.partition("=")
        return name, value if equals else None
    if token.startswith("-") and len(token) > 2:
        return token[:2], token[2:]
    return token, None


def run_cost_fast(args: list[str]) -> int | None:
    """Run ``cost`` for a plain command line and return its exit code; None: use typer."""
    options = parse_cost(args)
    if options is None:
        return None
    from ._cost_command import run_cost

    try:
        run_cost(**options)
    except TelemetryError as exc:  # as the typer app's CommandLine reports it
        from .._cli_warnings import print_error

        print_error(exc)
        return 2
    return 0
