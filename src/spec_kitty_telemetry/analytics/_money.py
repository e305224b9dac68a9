"""Money as the reports show it: rows rounded so they add up to the total shown.

Both helpers are the cost report's one rounding rule (``cost.apportioned``,
largest remainder) at the two precisions the reports use: micro-dollars in
``--json``, cents in tables and in the weekly review. With them a scoreboard
or review row shows the same amount ``cost`` shows for that group, and the
rows of a table never miss their total by a cent.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Final

__all__ = ["in_cents", "in_micros"]

_CENT: Final = Decimal("0.01")
_MICRO: Final = Decimal("0.000001")


def in_cents(amounts: Sequence[Decimal], total: Decimal) -> tuple[list[Decimal], Decimal]:
    """Round ``amounts`` to cents adding up to ``total`` rounded half up (the cost table's rule)."""
    from ..cost import apportioned

    target = total.quantize(_CENT, rounding=ROUND_HALF_UP)
    return apportioned(list(amounts), target, _CENT), target


def in_micros(amounts: Sequence[Decimal], total: Decimal) -> tuple[list[Decimal], Decimal]:
    """Round ``amounts`` to micro-dollars adding up to ``total`` so rounded (``--json``'s rule)."""
    from ..cost import apportioned

    target = total.quantize(_MICRO)
    return apportioned(list(amounts), target, _MICRO), target
