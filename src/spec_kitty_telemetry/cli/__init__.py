"""The command line: a thin layer over the library.

The typer app lives in ``cli/_app.py`` and is loaded on first use of the
names below, so that importing a typer-free part of ``cli`` (the fast route
of ``cost`` in ``cli/_fast.py``, the formatters) does not load typer and
pydantic, which take longer to import than a small report takes to run.
Commands are registered in ``cli/_app.py``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["app", "main", "run_telemetry", "telemetry_app"]


def __getattr__(name: str) -> Any:
    """Load the typer app when one of its names is first asked for."""
    if name in __all__:
        from . import _app

        return getattr(_app, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
