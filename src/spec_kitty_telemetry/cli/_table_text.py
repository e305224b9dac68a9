"""A table and its notes as plain text, drawn as Rich draws them, for output that is not a terminal.

Importing Rich takes longer than ``cost`` takes to report on a small project,
and when the output is a pipe or a file Rich adds nothing: no colour, no
terminal width, no wrapping when the table fits. So ``cost`` prints such a
table itself, byte for byte as Rich would (``box.SIMPLE_HEAD`` without edge
padding, see :class:`~spec_kitty_telemetry.cli._format.Grid`), and leaves to
Rich every case where the two could differ: a terminal or forced colour,
a width Rich would find another way, text Rich would change (anything but
printable ASCII, markup brackets, ``:emoji:`` codes), a table that must fold
its names to fit. Tests compare the two on many grids.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from ._format import Grid

__all__ = ["PIPE_WIDTH", "plain_text", "plain_width"]

#: Width a piped table may take when COLUMNS says nothing: as wide as it needs.
PIPE_WIDTH: Final = 1000
_RULE: Final = "─"  # SIMPLE_HEAD's line under the header


def plain_width() -> int | None:
    """Return the width Rich would lay stdout out at when it would print no escape codes.

    None when Rich would treat stdout as a terminal (a TTY, ``FORCE_COLOR``,
    ``TTY_COMPATIBLE=1``), when it would not draw the box in Unicode, or when
    it would find the width some way other than ``COLUMNS`` or the pipe default.
    """
    environ = os.environ
    if sys.platform == "win32" or {"IPython", "idlelib"} & sys.modules.keys():
        return None  # legacy consoles, notebooks and IDLE: Rich's own rules
    compatible = environ.get("TTY_COMPATIBLE", "")
    if compatible == "1":
        return None
    if compatible != "0":
        forced = environ.get("FORCE_COLOR")
        if forced is not None and forced != "":
            return None
        if forced is None and _isatty():
            return None
    encoding = (getattr(sys.stdout, "encoding", None) or "utf-8").lower()
    if not encoding.startswith("utf"):
        return None  # Rich would draw the rule in ASCII
    columns = environ.get("COLUMNS", "")
    if not columns.strip().isdigit():
        return PIPE_WIDTH  # as cli._format.console() sizes a pipe
    return int(columns) if columns.isdigit() else None


def _isatty() -> bool:
    isatty = getattr(sys.stdout, "isatty", None)
    try:
        return False if isatty is None else bool(isatty())
    except ValueError:  # a closed stream, as Rich reads it
        return False


def plain_text(grid: Grid, notes: Sequence[str], width: int) -> str | None:
    """Return the table of ``grid`` and the ``notes`` under it as Rich prints them at ``width``.

    None when Rich could print something else: a cell, header or note that
    is not plain printable ASCII, holds a ``[`` or an ``:emoji:``-like code
    or ends in a space, or a table wider than ``width`` (Rich would fold its names).
    """
    lines = [*grid.rows, *([grid.footer] if grid.footer is not None else [])]
    texts = [column.header for column in grid.columns]
    if not all(_plain(text) for text in (*texts, *notes, *(cell for r in lines for cell in r))):
        return None
    widths = [
        max([len(column.header), *(len(row[index]) for row in lines)])
        for index, column in enumerate(grid.columns)
    ]
    total = 2 + 3 * (len(widths) - 1) + sum(widths)
    if total > width or not grid.columns or 0 in widths:
        return None
    right = [column.kind == "number" for column in grid.columns]

    def line(cells: Sequence[str]) -> str:
        padded = (
            cell.rjust(size) if is_number else cell.ljust(size)
            for cell, size, is_number in zip(cells, widths, right, strict=True)
        )
        return " " + "   ".join(padded) + " "

    blank = " " * total
    out = [blank, line(texts), " " + _RULE * (total - 2) + " "]
    out.extend(line(row) for row in grid.rows)
    if grid.footer is not None:
        out.extend([blank, line(grid.footer)])
    out.append(blank)
    out.extend(notes)
    return "".join(f"{text}\n" for text in out)


def _plain(text: str) -> bool:
    """Whether Rich prints ``text`` as it is: printable ASCII, no markup, no emoji code.

    Nor a trailing space, which Rich trims from a justified cell.
    """
    if not (text.isascii() and text.isprintable()) or "[" in text or text.endswith(" "):
        return False
    first = text.find(":")
    if first < 0:
        return True
    # Rich replaces ':name:' (no spaces between the colons) by an emoji when it knows the name.
    return all(" " in part for part in text[first + 1 :].split(":")[:-1])
