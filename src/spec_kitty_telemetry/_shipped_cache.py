"""A disposable JSON copy of the shipped price table, so reports need not import YAML.

Loading PyYAML and parsing ``_pricing.yaml`` costs more than a small report
(about 40 ms of a 100 ms budget on a quiet machine). The table changes only
when the package does, so after the first parse its document (plain mappings,
strings and numbers) is saved as JSON in the user's cache folder
(``$XDG_CACHE_HOME/spec-kitty-telemetry/``, beside the catalogue's answers; one
file per installed copy of the package),
stamped with the package version and the YAML file's path, size, modification
time and inode. A report reads the copy only when the stamp matches, and the
copy is validated by the same rules as the YAML (``_rates.parse_rate_table``),
so an edited, replaced or upgraded table is parsed afresh. A copy that cannot
be read, written or decoded is ignored: losing it costs one YAML parse.
"""

from __future__ import annotations

import contextlib
import os
import zlib
from pathlib import Path
from typing import Any

from . import _lazy_json as orjson

__all__ = ["cache_file", "read_copy", "stamp_of", "write_copy"]

_FORMAT = 1


def cache_file(table: Path) -> Path:
    """Where the copy of ``table`` is kept: one file per installed copy of the package."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    install = zlib.crc32(str(table).encode())  # two virtualenvs do not overwrite each other
    return Path(base) / "spec-kitty-telemetry" / f"shipped-prices-{install:08x}.json"


def stamp_of(table: Path) -> str | None:
    """Identify this package version's table file; None when it cannot be examined."""
    from . import __version__

    try:
        info = table.stat()
    except OSError:
        return None
    return f"{_FORMAT}|{__version__}|{table}|{info.st_size}|{info.st_mtime_ns}|{info.st_ino}"


def read_copy(table: Path, stamp: str) -> Any:
    """Return the saved document for ``stamp``, or None (no copy, another stamp, damaged)."""
    try:
        saved = orjson.loads_small(cache_file(table).read_bytes())
    except (OSError, ValueError):  # json's and orjson's decode errors are ValueErrors
        return None
    if not isinstance(saved, dict) or saved.get("stamp") != stamp:
        return None
    return saved.get("document")


def write_copy(table: Path, stamp: str, document: Any) -> None:
    """Save ``document`` for ``stamp`` if JSON holds it unchanged; never raises for I/O."""
    try:
        encoded = orjson.dumps({"stamp": stamp, "document": document})
    except TypeError:  # a value JSON cannot hold (a date in a row): keep parsing YAML
        return
    if orjson.loads(encoded)["document"] != document:
        return
    path = cache_file(table)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_bytes(encoded)
        os.replace(temporary, path)
    except OSError:
        with contextlib.suppress(OSError):  # the folder may not be one
            temporary.unlink(missing_ok=True)
