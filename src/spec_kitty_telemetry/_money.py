"""How an amount of USD is written for people: one rule for tables, Markdown and HTML.

The CLI's tables, the Markdown summaries and the HTML report all show money,
and a reader comparing them must see the same figure for the same runs:
cents rounded half up, ``~`` for an estimate, ``<$0.01`` for a positive
amount too small to show, ``unknown*`` (never ``$0.00``) when nothing is
known. The rule lives here, outside ``cli``, so the library's reports use it
without importing the CLI.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Final

__all__ = ["CENT", "MICRO", "in_cents", "in_micros", "money", "money_per"]

#: People read money in cents.
CENT: Final = Decimal("0.01")
#: ``--json`` gives money in micro-dollars.
MICRO: Final = Decimal("0.000001")


def money(
    amount: Decimal | None,
    *,
    estimated: bool = False,
    unpriced: bool = False,
    exact: Decimal | None = None,
) -> str:
    """USD as tables show it: ``$1,234.56``, ``~`` for estimates, ``*`` when some is unknown.

    ``amount`` None means no part of it is known: ``unknown*``, never ``$0.00``.
    ``amount`` is rounded to cents (half up) unless it already is; ``exact``,
    the unrounded amount, turns a positive amount shown as zero into ``<$0.01``.
    """
    if amount is None:
        return "unknown*"
    cents = amount.quantize(CENT, rounding=ROUND_HALF_UP)
    original = amount if exact is None else exact
    text = "<$0.01" if cents == 0 and original > 0 else f"${cents:,.2f}"
    if estimated:
        text = "~" + text
    if unpriced:
        text += "*"
    return text


def money_per(amount: Decimal | None) -> str:
    """USD per unit (line, test, work package): cents, or two significant digits below a cent.

    None (the figure is unknown: no unit, or some runs did not record it) is ``—``,
    never ``$0.00`` or infinity.
    """
    if amount is None:
        return "—"
    if amount >= CENT:
        return f"${amount.quantize(CENT, rounding=ROUND_HALF_UP):,.2f}"
    if amount <= 0:
        return "$0.00"
    digits = Decimal(1).scaleb(amount.adjusted() - 1)  # two significant digits
    return f"${amount.quantize(digits, rounding=ROUND_HALF_UP):f}"


def in_cents(amounts: Sequence[Decimal], total: Decimal) -> tuple[list[Decimal], Decimal]:
    """Round ``amounts`` to cents adding up to ``total`` rounded half up (the cost table's rule).

    Rows rounded this way (largest remainder, ``cost.apportioned``) never
    miss the total shown by a cent, so every table shows a group's amount as
    ``cost`` shows it.
    """
    from .cost import apportioned

    target = total.quantize(CENT, rounding=ROUND_HALF_UP)
    return apportioned(list(amounts), target, CENT), target


def in_micros(amounts: Sequence[Decimal], total: Decimal) -> tuple[list[Decimal], Decimal]:
    """Round ``amounts`` to micro-dollars adding up to ``total`` so rounded (``--json``'s rule)."""
    from .cost import apportioned

    target = total.quantize(MICRO)
    return apportioned(list(amounts), target, MICRO), target
