"""Rows priced at read time: TOTAL, breakdowns by model, who gets a rounded micro-dollar.

Amounts are settled to micro-dollars once, rows adding up to TOTAL and parts
to their row (largest remainder). When two rows lose the same fraction, the
costlier row (then the first by name) gets the micro-dollar, so a report of
the same events is the same in any order they were read. A breakdown by
model counts each event once in its row although it may be in several parts.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from spec_kitty_telemetry._rates import ModelRates
from spec_kitty_telemetry.cost import cost_report
from spec_kitty_telemetry.pricing import Pricing

MICRO = Decimal("0.000001")
#: $1 in / $2 out per million tokens.
RATES = ModelRates(Decimal(1), Decimal(2), Decimal(1), Decimal(1), source="test")
PRICING = Pricing(shipped={"m-cheap": RATES, "m-dear": RATES}, catalogue=False)


def record(agent: str = "a", **payload: Any) -> dict[str, Any]:
    """A stored ExecutionEvent record of ``agent``."""
    return {
        "event_type": "ExecutionEvent",
        "aggregate_id": "001-alpha",
        "timestamp": "2025-11-03T10:00:00+00:00",
        "payload": {"agent": agent, "role": "implementer", **payload},
    }


@pytest.mark.parametrize("reverse", [False, True])
def test_a_tied_leftover_micro_dollar_goes_to_the_costlier_row_in_any_order(reverse: bool):
    """Rows of $0.0000015 (agent z) and $0.0000005 (agent a) lose half a micro-dollar each.

    TOTAL is $0.000002: one leftover micro-dollar, and it goes to z, the
    costlier row, though a comes first by name; the order of the events
    does not change that.
    """
    events = [record("z", cost_usd=0.0000015), record("a", cost_usd=0.0000005)]
    report = cost_report(events[::-1] if reverse else events, "agent", pricing=PRICING)
    costs = {row.group_key: row.reported_cost_usd for row in report.summaries}
    assert costs == {"z": 2 * MICRO, "a": 0 * MICRO}
    assert report.total.reported_cost_usd == 2 * MICRO


def test_a_tied_leftover_micro_dollar_of_a_row_goes_to_its_costlier_part():
    """Within a row, parts by model settle the same way: the costlier model takes the tie."""
    events = [
        record("a", model="m-dear", cost_usd=0.0000015),
        record("a", model="m-cheap", cost_usd=0.0000005),
    ]
    (row,) = cost_report(events, "agent", pricing=PRICING, breakdown="model").summaries
    assert row.breakdown is not None
    parts = {part.group_key: part.reported_cost_usd for part in row.breakdown}
    assert parts == {"m-dear": 2 * MICRO, "m-cheap": 0 * MICRO}
    assert row.reported_cost_usd == 2 * MICRO


def test_breakdown_parts_are_settled_to_micro_dollars_adding_up_to_their_row():
    """Three parts of a third of a micro-dollar each: whole micro-dollars that sum to the row."""
    events = [
        record("a", model="m-cheap", cost_usd=0.0000004),
        record("a", model="m-dear", cost_usd=0.0000004),
        record("a", model="(other)", cost_usd=0.0000004),
    ]
    (row,) = cost_report(events, "agent", pricing=PRICING, breakdown="model").summaries
    assert row.breakdown is not None
    amounts = [part.reported_cost_usd for part in row.breakdown]
    assert all(amount == amount.quantize(MICRO) for amount in amounts), amounts
    assert sum(amounts) == row.reported_cost_usd == MICRO


def test_a_breakdown_by_model_counts_each_event_once_in_its_row():
    """An event of two models is in two parts of its row, and once in the row's own counts.

    Agent a: one two-model event (estimated from tokens), one unpriced event
    (no usage) and one reported cost; the row says 3 events, 1 estimated,
    1 unpriced, whatever its parts add up to. TOTAL says the same.
    """
    events = [
        record(
            "a",
            models={
                "m-cheap": {"input_tokens": 1_000_000, "output_tokens": 0},
                "m-dear": {"input_tokens": 0, "output_tokens": 1_000_000},
            },
        ),
        record("a", model="m-cheap", output_tokens=5),
        record("a", model="m-dear", cost_usd=0.25),
    ]
    report = cost_report(events, "agent", pricing=PRICING, breakdown="model")
    (row,) = report.summaries
    assert row.breakdown is not None
    assert sum(part.event_count for part in row.breakdown) == 4
    for summary in (row, report.total):
        assert summary.event_count == 3, summary.group_key
        assert summary.estimated_event_count == 1
        assert summary.unpriced_event_count == 1
        assert summary.unpriced_reasons == {"no_usage": 1}
        assert summary.invalid_cost_event_count == 0
        assert summary.total_cost_usd == Decimal("3.25")


@pytest.mark.parametrize("group_by", ["agent", "model"])
def test_the_total_row_is_named_total(group_by: str):
    """The sum of every row is the summary named ``TOTAL`` (its key in ``--json`` too)."""
    report = cost_report([record(model="m-cheap", cost_usd=0.5)], group_by, pricing=PRICING)
    assert report.total.group_key == "TOTAL"
    assert report.to_dict()["total"]["group_key"] == "TOTAL"


def test_one_events_price_counts_it_once_whatever_made_it_unpriced():
    """``EventPricer``'s summary of an event of an unknown model counts that event once.

    The analytics read its reason and unknown model from this summary: one
    event, one unknown model, one ``unknown_model`` reason.
    """
    from spec_kitty_telemetry.cost import EventPricer

    price = EventPricer(PRICING)(record(model="mystery-9", input_tokens=10, output_tokens=1))
    assert price.cost_usd is None
    assert price.unpriced_reason == "unknown_model"
    assert price.unknown_model == "mystery-9"
    assert price.summary.event_count == 1
    assert price.summary.unknown_models == {"mystery-9": 1}
    assert price.summary.unpriced_reasons == {"unknown_model": 1}
