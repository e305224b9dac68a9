"""How every command shows money, counts and tables: one formatter each, one table layout rule.

``cost``, ``events`` and ``timeline`` print the same kinds of numbers, so they
go through the same two formatters (:func:`money`, :func:`count`) and the same
table builder (:class:`Grid`). The rule for tables: a number is never cut.
Rich shrinks only columns it may wrap, and cuts the rest as a last resort, so
numbers are ``no_wrap`` columns and names wrap (``overflow="fold"``); a
command offers layouts from widest to narrowest and :func:`choose` takes the
first whose numbers and the shortest name width fit the console. Rich, and
the decimal module, are imported only by the commands that print tables.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Literal

from .._money import CENT, money, money_per
from ._table_text import PIPE_WIDTH

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

__all__ = [
    "CENT",
    "Column",
    "Grid",
    "choose",
    "console",
    "count",
    "money",
    "money_per",
]

#: A name column is folded down to this many characters, never fewer.
NAME_MIN_WIDTH = 10


_UNITS = ((10**3, "k"), (10**6, "M"), (10**9, "B"), (10**12, "T"))


def count(value: int, *, compact: bool = False) -> str:
    """Format a count with thousands separators (``1,342,512``), or ``1.3M`` when ``compact``.

    Compact counts have one decimal below 100 of their unit (``12.3k``,
    ``1.3M``) and none above (``123k``); below 10,000 a count is always whole.
    """
    if not compact or value < 10_000:
        return f"{value:,}"
    for size, unit in _UNITS:  # the smallest unit that keeps the number below 1,000
        scaled = Decimal(value) / size
        digits = 1 if scaled < 100 else 0
        rounded = scaled.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
        if rounded < 1000 or unit == "T":  # 999,960 is 1.0M, not 1000k
            return f"{rounded:,}{unit}"
    return f"{value:,}"  # pragma: no cover - the last unit always returns


Kind = Literal["number", "fixed", "name"]


class Column:
    """A table column: ``number`` (right, never cut), ``fixed`` (left, never cut) or ``name``.

    A name folds onto several lines when the table is too wide, down to
    :data:`NAME_MIN_WIDTH` characters. (Plain classes here, not dataclasses:
    ``cost`` defines them at every start, and a dataclass takes ~100 times longer.)
    """

    __slots__ = ("header", "kind")

    def __init__(self, header: str, kind: Kind = "number") -> None:
        self.header = header
        self.kind = kind

    def __repr__(self) -> str:
        return f"Column({self.header!r}, {self.kind!r})"

    @property
    def no_wrap(self) -> bool:
        """Whether Rich must keep the column's cells on one line (and never shrink it)."""
        return self.kind != "name"


class Grid:
    """The cells of a table before Rich lays it out, so that its width can be known first."""

    def __init__(
        self,
        columns: list[Column],
        rows: list[list[str]] | None = None,
        footer: list[str] | None = None,
        note: str = "",
    ) -> None:
        self.columns = columns
        self.rows: list[list[str]] = [] if rows is None else rows
        self.footer = footer
        #: What the layout left out, for a line under the table ("" when nothing).
        self.note = note

    def __repr__(self) -> str:
        return (
            f"Grid(columns={self.columns!r}, rows={self.rows!r}, "
            f"footer={self.footer!r}, note={self.note!r})"
        )

    def width_needed(self) -> int:
        """Return the narrowest width that cuts no number and folds names no further than allowed.

        The tables have a space at each edge and three characters between
        columns (padding and the divider), as ``box.SIMPLE_HEAD`` without edge
        padding draws them.
        """
        total = 2 + 3 * (len(self.columns) - 1)
        for index, column in enumerate(self.columns):
            widest = self._widest(index)
            total += widest if column.no_wrap else min(widest, NAME_MIN_WIDTH)
        return total

    def _widest(self, index: int) -> int:
        """Return the width of column ``index``'s widest cell, header and footer included."""
        lines = [*self.rows, *([self.footer] if self.footer else [])]
        return max([_cell_len(self.columns[index].header), *(_cell_len(r[index]) for r in lines)])

    def table(self, title: str | None = None, caption: str | None = None) -> Table:
        """Build the Rich table: numbers right-aligned and never wrapped, names folded."""
        from rich import box
        from rich.table import Table
        from rich.text import Text

        table = Table(
            box=box.SIMPLE_HEAD,
            show_footer=self.footer is not None,
            pad_edge=False,
            title=title,
            caption=caption,
        )
        for index, column in enumerate(self.columns):
            table.add_column(
                column.header,
                footer=Text(self.footer[index]) if self.footer is not None else "",
                justify="right" if column.kind == "number" else "left",
                no_wrap=column.no_wrap,
                overflow="fold" if column.kind == "name" else "ellipsis",
                min_width=None if column.no_wrap else min(NAME_MIN_WIDTH, self._widest(index)),
            )
        for row in self.rows:
            # Text, not markup: a value like "[/x]" from a log is shown, not interpreted.
            table.add_row(*(Text(cell) for cell in row))
        return table


def _cell_len(text: str) -> int:
    """Return the terminal cells ``text`` takes (Rich's measure; plain ASCII without Rich)."""
    if text.isascii() and text.isprintable():
        return len(text)
    from rich.cells import cell_len

    return cell_len(text)


def choose(layouts: Sequence[Grid], width: int) -> Grid:
    """Return the first layout that fits ``width`` (widest first), else the narrowest."""
    for grid in layouts:
        if grid.width_needed() <= width:
            return grid
    return layouts[-1]


def console(*, stderr: bool = False) -> Console:
    """Make a console: the terminal's width, else ``COLUMNS``, else as wide as a table needs.

    Piped output (a file, a pager, a test) is not cut to 80 columns unless
    ``COLUMNS`` says so. Pipes get no escape codes; with NO_COLOR set, not
    even bold ones, whatever FORCE_COLOR says.
    """
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    sized = stream.isatty() or os.environ.get("COLUMNS", "").strip().isdigit()
    plain = bool(os.environ.get("NO_COLOR"))
    return Console(
        file=stream,
        highlight=False,
        width=None if sized else PIPE_WIDTH,
        color_system=None if plain else "auto",
    )
