"""orjson loaded on first use, and the stdlib ``json`` for the few small files a warm report reads.

``import orjson`` costs about 90 M instructions (20-50 ms of wall): it imports
``dataclasses``, ``inspect``, ``ast``, ``uuid``, ``platform``, ``enum`` and more
itself. A warm report on a small project parses no log line: it reads a
projection per feature and the price table's copy, a few kilobytes that the
stdlib ``json`` (always loaded: ``--json`` output uses it) decodes in far less
time than orjson takes to import. So the modules on the report's path import
this module as ``orjson``: each name (``loads``, ``dumps``, ``JSONDecodeError``,
the ``OPT_`` flags) is looked up in the real orjson on first use and then kept
in this module's globals, so a line parsed later costs what it cost before (one
module attribute lookup). :func:`loads_small` decodes our own files: with
``json`` until orjson is loaded anyway or the bytes decoded that way pass
:data:`CROSSOVER`, when orjson's import has paid for itself.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:  # the real names, for the type checker; resolved lazily at run time
    from orjson import (
        OPT_APPEND_NEWLINE as OPT_APPEND_NEWLINE,
        OPT_SORT_KEYS as OPT_SORT_KEYS,
        JSONDecodeError as JSONDecodeError,
        dumps as dumps,
        loads as loads,
    )

__all__ = ["CROSSOVER", "loads_small"]

#: Bytes of our own JSON files decoded with the stdlib ``json`` per process before
#: orjson is imported instead. Measured with callgrind on a day projection of 20,000
#: runs: ``json.loads`` takes about 116 instructions a byte, ``orjson.loads`` 59, and
#: importing orjson (after ``json``) 59 M; in wall time 5.2 against 2.4 ms per 125 kB,
#: and an import of 25-50 ms: orjson pays for itself past about 1-2 MB.
CROSSOVER: Final = 1_000_000
_decoded = 0


def __getattr__(name: str) -> Any:
    """Look ``name`` up in orjson (imported now) and keep it here for the next caller."""
    import orjson

    value = getattr(orjson, name)
    globals()[name] = value
    return value


def loads_small(data: bytes) -> Any:
    """Decode one of our own JSON files (a projection, the price table's copy).

    What we write holds only objects, arrays, text, whole numbers of at most
    64 bits (larger sums are written as text), floats, booleans and null, which
    ``json`` and orjson decode to equal values; both raise a ``ValueError``
    subclass on bytes that are not JSON or not UTF-8.
    """
    global _decoded
    if "orjson" not in sys.modules:
        _decoded += len(data)
        if _decoded <= CROSSOVER:
            import json

            return json.loads(data)
    return __getattr__("loads")(data)
