"""Find and run spec-kitty's own command line, which shares the ``spec-kitty`` script name.

spec-kitty (PyPI: ``spec-kitty-cli``) installs a console script called
``spec-kitty``, and so does this package, so whichever is installed last owns
the file in ``bin/``. pip replaces it without a word. Ours therefore only
*adds* ``spec-kitty agent telemetry …``: every other command line is handed to
spec-kitty's real entry point, found through its installed metadata (the
``console_scripts`` entry it declares), called in this same process with
``sys.argv`` and the standard streams untouched, so it cannot tell the
difference from being started by its own script.

Looking the entry point up reads every installed distribution's metadata
(tens of milliseconds), which is why only the hand-over path does it; the
telemetry commands never import this module.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import metadata
from typing import Any, Final

__all__ = ["OUR_DISTRIBUTION", "SCRIPT", "UPSTREAM_DISTRIBUTION", "find_upstream", "our_version"]

#: The console script both packages install.
SCRIPT: Final = "spec-kitty"
#: spec-kitty's distribution on PyPI, named in the error shown when it is missing.
UPSTREAM_DISTRIBUTION: Final = "spec-kitty-cli"
#: This package's distribution name.
OUR_DISTRIBUTION: Final = "spec-kitty-telemetry"
_OUR_MODULE: Final = "spec_kitty_telemetry"


def _normalise(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def find_upstream() -> tuple[str, Callable[[], Any]] | None:
    """Return (distribution name, entry point) of another package's ``spec-kitty`` script.

    Any installed distribution other than ours that declares a ``spec-kitty``
    console script counts (spec-kitty-cli today; a fork or a rename tomorrow).
    None when there is none, or when its entry point cannot be imported.
    """
    for entry in metadata.entry_points(group="console_scripts", name=SCRIPT):
        dist = entry.dist
        dist_name = dist.metadata["Name"] if dist is not None else ""
        if _normalise(dist_name or "") == OUR_DISTRIBUTION:
            continue
        if entry.module.split(".")[0] == _OUR_MODULE:  # never hand over to ourselves
            continue
        try:
            target = entry.load()
        except Exception:  # noqa: BLE001 - a broken install is "not installed" here
            continue
        return dist_name or entry.value, target
    return None


def our_version() -> str:
    """Return this package's installed version (``unknown`` when run from a bare source tree)."""
    try:
        return metadata.version(OUR_DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "unknown"
