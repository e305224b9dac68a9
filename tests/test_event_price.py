"""One event's price (``EventPricer``) is what the cost report over that one event counts."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from hypothesis import given, settings, strategies as st

from spec_kitty_telemetry import EventPricer
from spec_kitty_telemetry.cost import MONEY_QUANTUM, cost_report
from test_projection_property import PRICING, START, events


def as_record(event: tuple[Any, ...]) -> dict[str, Any]:
    """A stored record of one generated event (the property test's event strategy)."""
    feature, minutes, event_type, payload, breakdown = event
    body = {name: value for name, value in payload.items() if value is not None}
    if breakdown is not None:
        body["models"] = breakdown
    return {
        "event_id": "01JD0000000000000000000000",
        "event_type": event_type,
        "aggregate_id": feature,
        "timestamp": (START + timedelta(minutes=minutes)).isoformat(),
        "lamport_clock": 1,
        "node_id": "n",
        "payload": body,
    }


@settings(max_examples=400, deadline=None)
@given(st.lists(events, min_size=1, max_size=5))
def test_an_events_price_is_the_cost_reports_total_over_it(batch: list[tuple[Any, ...]]) -> None:
    """Cost, estimated flag and unpriced reason equal ``cost_report([record]).total``'s."""
    pricer = EventPricer(PRICING)  # one pricer for several events: its caches must not leak
    for event in batch:
        record = as_record(event)
        price = pricer(record)
        total = cost_report([record], "feature", pricing=PRICING).total
        unpriced = total.unpriced_event_count > 0
        if unpriced:
            assert price.cost_usd is None
        else:
            assert price.cost_usd is not None
            shown = price.cost_usd.quantize(MONEY_QUANTUM)
            if total.split_cost_event_count:  # reported and estimated parts, each rounded
                assert abs(shown - total.total_cost_usd) <= MONEY_QUANTUM
            else:
                assert shown == total.total_cost_usd
        assert price.estimated == bool(total.estimated_event_count or total.split_cost_event_count)
        assert price.unpriced_reason == (min(total.unpriced_reasons) if unpriced else None)
        assert price.unknown_model == (
            min(total.unknown_models, default=None) if unpriced else None
        )
        assert price.summary.to_dict() | {"group_key": ""} == total.to_dict() | {"group_key": ""}


def test_prices_are_exact_so_many_events_add_up_to_the_reports_total() -> None:
    """Three events reporting $0.3333333 price at 0.3333333 each: summed, they round to $1."""
    pricer = EventPricer(PRICING)
    records = [
        as_record(("001-a", minute, "ExecutionEvent", {"cost_usd": 0.3333333}, None))
        for minute in range(3)
    ]
    prices = [pricer(record).cost_usd for record in records]
    assert prices == [Decimal("0.3333333")] * 3
    summed = sum((p for p in prices if p is not None), Decimal(0)).quantize(MONEY_QUANTUM)
    assert summed == cost_report(records, "feature", pricing=PRICING).total.total_cost_usd
    assert str(pricer(records[0]).summary.total_cost_usd) == "0.333333"


def test_a_reported_cost_is_the_price_and_an_unknown_model_is_named() -> None:
    """A sane reported cost is the price as is; an unlisted model leaves the event unpriced."""
    pricer = EventPricer(PRICING)
    reported = as_record(("001-a", 0, "ExecutionEvent", {"cost_usd": 0.25}, None))
    assert pricer(reported).cost_usd is not None
    assert pricer(reported).cost_usd == Decimal("0.25")
    assert not pricer(reported).estimated
    mystery = {"model": "mystery", "input_tokens": 10, "output_tokens": 5}
    unknown = pricer(as_record(("001-a", 0, "ExecutionEvent", mystery, None)))
    assert (unknown.cost_usd, unknown.unpriced_reason, unknown.unknown_model) == (
        None,
        "unknown_model",
        "mystery",
    )


@settings(max_examples=600, deadline=None)
@given(st.lists(events, min_size=1, max_size=8))
def test_the_lean_price_is_the_full_price_of_every_event(batch: list[tuple[Any, ...]]) -> None:
    """``EventPricer.cost`` (the lean path) gives the cost figures of ``EventPricer()`` exactly.

    Random events of every kind (reported, estimated at each tier, unpriced for
    each reason, several models, odd fields, not execution events), one pricer
    for the whole batch: the lean path keeps no state from one event to the next.
    """
    pricer = EventPricer(PRICING)
    for event in batch:
        record = as_record(event)
        lean = pricer.cost(record)
        full = pricer(record)
        assert lean == (full.cost_usd, full.estimated, full.unpriced_reason, full.unknown_model)
        assert str(lean.cost_usd) == str(full.cost_usd)  # the same exact amount, digit for digit


def test_the_lean_price_prices_a_long_input_at_its_tier() -> None:
    """A one-request event above the tiered threshold costs the tier's rates, lean or not."""
    pricer = EventPricer(PRICING)
    small = {"model": "tiered", "input_tokens": 10, "output_tokens": 0, "num_turns": 1}
    large = small | {"input_tokens": 200_000}
    for payload in (small, large):
        record = as_record(("001-a", 0, "ExecutionEvent", payload, None))
        assert pricer.cost(record).cost_usd == pricer(record).cost_usd
    prices = [
        pricer.cost(as_record(("001-a", 0, "ExecutionEvent", p, None))).cost_usd
        for p in (small, large)
    ]
    # 10 tokens at $1/M; 200,000 tokens above the 50-token threshold at the tier's $2/M.
    assert prices == [Decimal("0.00001"), Decimal("0.4")]
