"""The file form of the package's own caches: a header line (format, version, CRC), a body.

Projections, rollups and the ids of a log's lines are derived files kept
beside committed logs, where a clone, a checkout or another package version
may leave any bytes: each is written under a header naming its format, the
package version, what it was built for, and the CRC-32 of its body, and is
read back only when all of those hold. Anything else reads as missing, and
the cache is rebuilt from the log.
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING, Final

from . import _lazy_json as orjson

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["checked_file", "read_checked"]

_MAX_BYTES: Final = 1 << 31


def _package_version() -> str:
    from . import __version__

    return __version__


def checked_file(form: int, body: bytes, **fields: str) -> bytes:
    """Return ``body`` under a header line: its format, the package version, ``fields``, its CRC.

    The form of the package's own caches (projections, rollups, ids), read
    back by :func:`read_checked`.
    """
    header = {"format": form, "package": _package_version(), **fields, "crc": zlib.crc32(body)}
    return orjson.dumps(header) + b"\n" + body


def read_checked(path: Path, form: int, limit: int = _MAX_BYTES, **fields: str) -> bytes | None:
    """Return the body of a :func:`checked_file` at ``path``; None unless its header holds.

    None when the file is missing, unreadable or not a sidecar, over ``limit``
    bytes, of another format or package version, with other ``fields``, or
    damaged (its CRC fails).
    """
    from ._safe_paths import read_sidecar

    try:
        data = read_sidecar(path, limit)
    except OSError:
        return None
    head, _, body = data.partition(b"\n")
    try:
        header = orjson.loads_small(head)
        expected = {"format": form, "package": _package_version(), **fields}
        if any(header[name] != value for name, value in expected.items()):
            return None
        return body if header["crc"] == zlib.crc32(body) else None
    except (ValueError, TypeError, KeyError):
        return None
