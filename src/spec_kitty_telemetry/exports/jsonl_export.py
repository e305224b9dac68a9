"""Events as JSON Lines: each exactly as the log holds it, so any log reader reads the export."""

from __future__ import annotations

from collections.abc import Iterable
from typing import IO, TYPE_CHECKING

from .._json_output import dumps_line

if TYPE_CHECKING:
    from ..events import Event

__all__ = ["write_events_jsonl"]


def write_events_jsonl(events: Iterable[Event], out: IO[str]) -> int:
    """Write one line per event, keys sorted as the log writes them; return how many."""
    written = 0
    for event in events:
        out.write(dumps_line(event.to_dict()) + "\n")
        written += 1
    return written
