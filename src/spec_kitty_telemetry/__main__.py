"""Entry point of the ``spec-kitty`` console script (and ``python -m spec_kitty_telemetry``).

``agent telemetry emit`` runs once per workflow phase, so it goes straight to
its typer-free implementation (:mod:`spec_kitty_telemetry.emit_command`);
importing the typer app alone would cost more than the whole emit. Every other
command goes to the typer app in :mod:`spec_kitty_telemetry.cli`.
"""

from __future__ import annotations

import sys

__all__ = ["main"]

_EMIT = ["agent", "telemetry", "emit"]


def main() -> None:
    """Run the ``spec-kitty`` command line with ``sys.argv``."""
    if sys.argv[1:4] == _EMIT:
        from .emit_command import main as emit_main

        raise SystemExit(emit_main(sys.argv[4:]))
    from .cli import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
