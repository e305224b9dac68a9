"""Entry points of the two console scripts (and of ``python -m spec_kitty_telemetry``).

``spec-kitty-telemetry …`` is this package's own command: it always works,
whatever else is installed. ``spec-kitty agent telemetry …`` is the spelling
spec-kitty users expect; spec-kitty's own package installs a ``spec-kitty``
script too, so ours handles only ``agent telemetry`` and hands every other
command line to spec-kitty's real entry point (see ``_spec_kitty_cli``).
``python -m spec_kitty_telemetry`` behaves as the ``spec-kitty`` script.

``emit`` runs once per workflow phase, so both routes go straight to its
typer-free implementation (:mod:`spec_kitty_telemetry.emit_command`);
importing the typer app alone would cost more than the whole emit. A plain
``cost`` command line (and the bare group, which runs ``cost``) takes the
typer-free route of ``cli/_fast.py`` for the same reason; help and anything
that route does not read go to the typer app.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import NoReturn

__all__ = ["main", "telemetry_main"]

_TELEMETRY = ["agent", "telemetry"]
#: What ``spec-kitty`` answers itself when spec-kitty is not installed: help screens.
_OWN_WITHOUT_UPSTREAM: tuple[list[str], ...] = (
    [],
    ["--help"],
    ["-h"],
    ["agent"],
    ["agent", "--help"],
    ["agent", "-h"],
)
_VERSION: tuple[list[str], ...] = (["--version"], ["-v"])


def telemetry_main() -> None:
    """Run the ``spec-kitty-telemetry`` command line with ``sys.argv``."""
    _run_telemetry(sys.argv[1:], "spec-kitty-telemetry")


def main() -> None:
    """Run the ``spec-kitty`` command line: ``agent telemetry …`` here, the rest in spec-kitty."""
    args = sys.argv[1:]
    if args[:2] == _TELEMETRY:
        _run_telemetry(args[2:], "spec-kitty agent telemetry")
    from ._spec_kitty_cli import find_upstream

    upstream = find_upstream()
    if upstream is not None:
        _hand_over(upstream[1], version=args in _VERSION)
    if args in _VERSION:
        from ._spec_kitty_cli import our_version

        print(f"spec-kitty-telemetry version {our_version()} (spec-kitty itself is not installed)")
        raise SystemExit(0)
    if args in _OWN_WITHOUT_UPSTREAM:
        from .cli import main as cli_main

        cli_main()
        raise SystemExit(0)
    from ._spec_kitty_cli import UPSTREAM_DISTRIBUTION

    print(
        f"Error: 'spec-kitty {args[0]}' is a spec-kitty command, and spec-kitty is not "
        f"installed here (pip install {UPSTREAM_DISTRIBUTION}); this package adds only "
        "'spec-kitty agent telemetry …' (also 'spec-kitty-telemetry …')",
        file=sys.stderr,
    )
    raise SystemExit(2)


def _run_telemetry(args: list[str], prog: str) -> NoReturn:
    if args[:1] == ["emit"]:
        from .emit_command import main as emit_main

        raise SystemExit(emit_main(args[1:], prog=f"{prog} emit"))
    if args[:1] == ["phase"] and len(args) == 2 and not args[1].startswith("-"):
        from .phases import main as phase_main  # the mark's time is when it was asked for

        raise SystemExit(phase_main(args[1]))
    if args[:1] == ["cost"] or not args:  # the bare group runs cost, by agent
        from .cli._fast import run_cost_fast

        code = run_cost_fast(args[1:])
        if code is not None:
            raise SystemExit(code)
    from .cli import run_telemetry

    run_telemetry(args, prog)
    raise SystemExit(0)


def _hand_over(entry_point: Callable[[], object], *, version: bool) -> NoReturn:
    """Run spec-kitty's entry point as its own script would, then exit with its code."""
    try:
        code = entry_point()
    except SystemExit as exc:
        if not version:
            raise
        code = exc.code
    if version:
        from ._spec_kitty_cli import our_version

        sys.stdout.flush()
        print(f"spec-kitty-telemetry version {our_version()}")
    raise SystemExit(code)


if __name__ == "__main__":
    main()
