"""The package surface: a curated, lazily imported public API."""

from __future__ import annotations

import subprocess
import sys

import pytest

import spec_kitty_telemetry


def test_every_public_name_resolves():
    """Each name in __all__ is importable from the package itself."""
    for name in spec_kitty_telemetry.__all__:
        assert getattr(spec_kitty_telemetry, name) is not None, name


def test_unknown_names_raise_attribute_error():
    """A name the package does not export raises AttributeError, like any module."""
    with pytest.raises(AttributeError, match="no_such_thing"):
        _ = spec_kitty_telemetry.no_such_thing  # type: ignore[attr-defined]


def test_importing_the_package_and_emitting_stays_off_pydantic():
    """Importing the package and emitting a record does not import pydantic, typer or rich."""
    code = (
        "import sys, tempfile\n"
        "import spec_kitty_telemetry as t\n"
        "t.emit_execution_record(tempfile.mkdtemp(), 'f', 'WP01', 'claude', 'implementer')\n"
        "print(sorted(m for m in ('pydantic', 'typer', 'rich', 'yaml') if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
