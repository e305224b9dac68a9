"""Events of several models (a ``models`` breakdown) whose event carries no counts of its own.

Another tool may write only per-model figures. Then the shares decide how the
event is priced, by the rules a one-model event follows: a share with its own
reported cost is priced by it, an invalid share's counts are unusable (so the
event's total is unknown, and the event is unpriced as ``invalid_tokens``, the
reason that names what it reported), and a share that reported nothing is
``no_usage``. Each rule runs in the event-level grouping (``agent``) and by
model, through ``cost_report``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from spec_kitty_telemetry._rates import ModelRates
from spec_kitty_telemetry.cost import cost_report
from spec_kitty_telemetry.pricing import Pricing

#: $1 in / $2 out per million tokens.
CHEAP = ModelRates(Decimal(1), Decimal(2), Decimal(1), Decimal(1), source="test")
#: $3 in / $6 out per million tokens.
DEAR = ModelRates(Decimal(3), Decimal(6), Decimal(3), Decimal(3), source="test")
PRICING = Pricing(shipped={"cheap": CHEAP, "dear": DEAR}, catalogue=False)


def record(agent: str = "a", **payload: Any) -> dict[str, Any]:
    """A stored ExecutionEvent record of ``agent``."""
    return {
        "event_type": "ExecutionEvent",
        "aggregate_id": "001-alpha",
        "timestamp": "2025-11-03T10:00:00+00:00",
        "payload": {"agent": agent, "role": "implementer", **payload},
    }


@pytest.mark.parametrize("group_by", ["agent", "model"])
def test_an_invalid_share_without_event_counts_is_unpriced_as_invalid_tokens(group_by: str):
    """A per-model count of -1, and no event counts: unpriced for ``invalid_tokens``.

    The same invalid share under event-level counts was already
    ``invalid_tokens``; without them it used to be called ``no_usage`` (as if
    nothing had been reported), so the reason depended on whether the writer
    also stored totals.
    """
    events = [
        record(
            models={
                "cheap": {"input_tokens": 100, "output_tokens": 10},
                "dear": {"input_tokens": -1, "output_tokens": 10},
            }
        )
    ]
    report = cost_report(events, group_by, pricing=PRICING)
    assert report.total.unpriced_event_count == 1
    assert report.total.unpriced_reasons == {"invalid_tokens": 1}
    for row in report.summaries:
        assert row.unpriced_reasons == {"invalid_tokens": 1}, row.group_key
    assert report.total.total_cost_usd == 0


def test_an_invalid_share_leaves_the_event_total_unknown_not_the_valid_shares_sum():
    """The event-level row adds no tokens from an event one of whose shares is invalid.

    The invalid share's counts are dropped, so the event's total input is
    unknown: the valid share's 100 tokens are not its total. Beside another
    event that reported 50 input tokens, the agent row holds 50, not 150.
    """
    events = [
        record(model="cheap", input_tokens=50, output_tokens=5),
        record(
            models={
                "cheap": {"input_tokens": 100, "output_tokens": 10},
                "dear": {"input_tokens": -1, "output_tokens": 10},
            }
        ),
    ]
    row = cost_report(events, "agent", pricing=PRICING).summaries[0]
    assert (row.event_count, row.input_tokens, row.output_tokens) == (2, 50, 5)
    assert row.estimated_event_count == 1
    assert row.unpriced_reasons == {"invalid_tokens": 1}


@pytest.mark.parametrize("group_by", ["agent", "model"])
def test_shares_that_report_their_own_costs_price_the_event_without_counts(group_by: str):
    """Two shares with their own costs ($0.50, $0.25) and no counts: the event costs $0.75.

    Each model can be priced (by its own reported cost), so the event is; it
    used to be unpriced as ``no_usage`` because the event itself had no counts.
    """
    events = [record(models={"cheap": {"cost_usd": 0.5}, "dear": {"cost_usd": 0.25}})]
    report = cost_report(events, group_by, pricing=PRICING)
    assert report.total.unpriced_event_count == 0
    assert report.total.reported_cost_usd == Decimal("0.75")
    assert report.total.cost_known
    if group_by == "model":
        costs = {row.group_key: row.reported_cost_usd for row in report.summaries}
        assert costs == {"cheap": Decimal("0.5"), "dear": Decimal("0.25")}


@pytest.mark.parametrize("group_by", ["agent", "model"])
def test_a_share_with_its_own_cost_and_one_with_counts_are_priced_each_their_way(group_by: str):
    """One share reports $0.50, the other 1M input + 1M output tokens of ``dear`` ($9).

    No event counts: the first share is priced by its cost, the second
    estimated at its model's rates; the event costs $9.50 and is estimated once.
    """
    events = [
        record(
            models={
                "cheap": {"cost_usd": 0.5},
                "dear": {"input_tokens": 1_000_000, "output_tokens": 1_000_000},
            }
        )
    ]
    report = cost_report(events, group_by, pricing=PRICING)
    assert report.total.unpriced_event_count == 0
    assert report.total.reported_cost_usd == Decimal("0.5")
    assert report.total.estimated_cost_usd == Decimal(9)
    assert report.total.estimated_event_count == 1


@pytest.mark.parametrize("group_by", ["agent", "model"])
def test_a_share_that_reported_nothing_leaves_the_event_unpriced_as_no_usage(group_by: str):
    """One share has counts, the other neither counts nor a cost: ``no_usage``."""
    events = [
        record(
            models={
                "cheap": {"input_tokens": 100, "output_tokens": 10},
                "dear": {"output_tokens": 10},
            }
        )
    ]
    report = cost_report(events, group_by, pricing=PRICING)
    assert report.total.unpriced_reasons == {"no_usage": 1}
    assert report.total.total_cost_usd == 0
