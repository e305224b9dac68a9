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


def _type_checking_imports() -> dict[str, str]:
    """Read the names the TYPE_CHECKING block of __init__.py imports, and from where."""
    import ast
    from pathlib import Path

    tree = ast.parse(Path(spec_kitty_telemetry.__file__).read_text(encoding="utf-8"))
    found: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for statement in node.body:
                assert isinstance(statement, ast.ImportFrom), ast.unparse(statement)
                for alias in statement.names:
                    # "X as X" is how a type checker learns that X is re-exported.
                    assert alias.asname == alias.name, ast.unparse(statement)
                    found[alias.name] = str(statement.module)
    return found


def test_the_public_surface_is_written_once():
    """__all__ is the export table's names; the TYPE_CHECKING block imports exactly those."""
    exports = spec_kitty_telemetry._EXPORTS
    assert sorted(spec_kitty_telemetry.__all__) == sorted([*exports, "__version__"])
    assert _type_checking_imports() == exports


def test_each_name_comes_from_the_module_the_table_names():
    """The lazy loader's module for each name is the one that defines it."""
    from importlib import import_module

    for name, module in spec_kitty_telemetry._EXPORTS.items():
        value = getattr(import_module(f"spec_kitty_telemetry.{module}"), name)
        assert getattr(spec_kitty_telemetry, name) is value, name


def test_internals_are_not_exported():
    """Layout constants, clock storages and reader reports live in their modules only."""
    for name in ("CLOCK_FILENAME", "ClockStorage", "FileClockStorage", "ReadReport", "LogHead"):
        assert name not in spec_kitty_telemetry.__all__, name
