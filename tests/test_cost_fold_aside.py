"""Events of several models (a ``models`` breakdown): the shares decide how they are priced.

Another tool may write only per-model figures, or partial event figures. The
shares decide how the event is priced, by the rules a one-model event
follows: a share with its own reported cost is priced by it, an invalid
share's counts are unusable (so the event's total is unknown, and the event
is unpriced as ``invalid_tokens``, the reason that names what it reported),
and a share that reported nothing is ``no_usage``. Only invalid event counts
that no complete shares stand in for make the event ``invalid_tokens`` by
themselves. Each rule runs in the event-level grouping (``agent``) and by
model, through ``cost_report``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from spec_kitty_telemetry._rates import ModelRates, RateTier
from spec_kitty_telemetry.cost import cost_report
from spec_kitty_telemetry.pricing import Pricing

#: $1 in / $2 out per million tokens.
CHEAP = ModelRates(Decimal(1), Decimal(2), Decimal(1), Decimal(1), source="test")
#: $3 in / $6 out per million tokens.
DEAR = ModelRates(Decimal(3), Decimal(6), Decimal(3), Decimal(3), source="test")
#: $1 / $2 per million tokens, and $10 / $20 for a request above 100 input tokens.
TIERED = ModelRates(
    Decimal(1),
    Decimal(2),
    Decimal(1),
    Decimal(1),
    tiers=(RateTier(100, Decimal(10), Decimal(20), Decimal(10), Decimal(10)),),
    source="test",
)
PRICING = Pricing(shipped={"cheap": CHEAP, "dear": DEAR, "tiered": TIERED}, catalogue=False)


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


def test_invalid_event_counts_give_way_to_complete_per_model_counts():
    """An event whose own input is -1, with complete valid shares, is priced from the shares.

    An invalid count is dropped, as if unreported; the shares' counts then are
    the event's (1M input of ``cheap`` at $1, 1M output of ``dear`` at $6).
    """
    events = [
        record(
            input_tokens=-1,
            output_tokens=5,
            models={
                "cheap": {"input_tokens": 1_000_000, "output_tokens": 0},
                "dear": {"input_tokens": 0, "output_tokens": 1_000_000},
            },
        )
    ]
    row = cost_report(events, "agent", pricing=PRICING).summaries[0]
    assert row.unpriced_event_count == 0
    assert row.estimated_cost_usd == Decimal(7)
    assert (row.input_tokens, row.output_tokens) == (1_000_000, 1_000_000)


@pytest.mark.parametrize("group_by", ["agent", "model"])
def test_invalid_event_counts_or_an_incomplete_share_leave_the_event_unpriced(group_by: str):
    """Input -1 of the event itself, and a share that is not complete: ``invalid_tokens``.

    The invalid count is dropped, and the shares cannot stand in for the
    event's counts (one has no output). With the event's input valid but
    alone, the same incomplete share makes it ``no_usage``.
    """
    shares = {"cheap": {"input_tokens": 10, "output_tokens": 1}, "dear": {"input_tokens": 5}}
    events = [
        record("bad", input_tokens=-1, output_tokens=1, models=shares),
        record("partial", input_tokens=15, models=shares),
    ]
    report = cost_report(events, group_by, pricing=PRICING)
    assert report.total.unpriced_reasons == {"invalid_tokens": 1, "no_usage": 1}
    if group_by == "agent":
        reasons = {row.group_key: row.unpriced_reasons for row in report.summaries}
        assert reasons == {"bad": {"invalid_tokens": 1}, "partial": {"no_usage": 1}}


@pytest.mark.parametrize("group_by", ["agent", "model"])
def test_cache_write_counts_of_a_multi_model_event_stay_cache_writes(group_by: str):
    """Each share's four counts land in their own columns: cache writes are not cache reads."""
    events = [
        record(
            cost_usd=0.5,
            models={
                "cheap": {"input_tokens": 10, "output_tokens": 2, "cache_write_tokens": 7},
                "dear": {"input_tokens": 20, "output_tokens": 4, "cache_read_tokens": 3},
            },
        )
    ]
    total = cost_report(events, group_by, pricing=PRICING).total
    counts = (total.input_tokens, total.output_tokens, total.cache_read_tokens)
    assert (*counts, total.cache_write_tokens) == (30, 6, 3, 7)
    assert total.reported_cost_usd == Decimal("0.5")


@pytest.mark.parametrize("group_by", ["agent", "model"])
@pytest.mark.parametrize(
    ("cost", "invalid", "reported", "estimated"), [(-1, 1, 0, 1), (0.5, 0, 0.5, 0)]
)
def test_a_bad_cost_of_a_multi_model_event_is_counted_and_ignored(
    group_by: str, cost: float, invalid: int, reported: float, estimated: int
):
    """Cost -1 is not an amount: counted as invalid and estimated from the shares; $0.5 is not."""
    shares = {
        "cheap": {"input_tokens": 1_000_000, "output_tokens": 0},
        "dear": {"input_tokens": 0, "output_tokens": 0},
    }
    total = cost_report([record(cost_usd=cost, models=shares)], group_by, pricing=PRICING).total
    assert total.invalid_cost_event_count == invalid
    assert total.reported_cost_usd == Decimal(str(reported))
    assert total.estimated_cost_usd == estimated
    assert total.estimated_event_count == estimated


def test_an_event_kept_aside_for_its_key_is_priced_as_the_one_model_event_it_is():
    """An agent that is a list sends an event aside; it is still priced by its ``model``.

    Its ``models`` is a non-empty list, which is no breakdown: the event is one
    model's, 1M input of ``dear`` ($3), in that model's row.
    """
    events = [
        record(
            agent=["x"],  # type: ignore[arg-type]
            model="dear",
            models=["dear"],
            input_tokens=1_000_000,
            output_tokens=0,
        )
    ]
    report = cost_report(events, "model", pricing=PRICING)
    assert [(row.group_key, row.estimated_cost_usd) for row in report.summaries] == [
        ("dear", Decimal(3))
    ]
    assert report.total.estimated_event_count == 1


@pytest.mark.parametrize("turns", [True, 1.0, "1", 2])
def test_only_an_integer_one_turn_makes_a_multi_model_share_one_request(turns: Any):
    """``num_turns`` of True, 1.0 or "1" is not the integer 1: the share pays base rates.

    A one-model breakdown of 1,000 input tokens of ``tiered`` (tier above 100)
    pays $1 per million at base rates and counts as long context not
    estimated; with ``num_turns`` 1 it would pay $10.
    """
    events = [
        record(num_turns=turns, models={"tiered": {"input_tokens": 1_000, "output_tokens": 0}})
    ]
    total = cost_report(events, "agent", pricing=PRICING).total
    assert total.estimated_cost_usd == Decimal("0.001")
    assert total.long_context_unknown_event_count == 1


@pytest.mark.parametrize(("tokens_in", "untiered"), [(100, 0), (101, 1)])
def test_shares_of_several_requests_are_long_context_only_above_the_threshold(
    tokens_in: int, untiered: int
):
    """Two models, so several requests: a share of exactly 100 input tokens is within base rates.

    Only input above the tier's 100 tokens makes the surcharge unknown.
    """
    events = [
        record(
            num_turns=1,
            models={
                "tiered": {"input_tokens": tokens_in, "output_tokens": 0},
                "cheap": {"input_tokens": 1, "output_tokens": 0},
            },
        )
    ]
    total = cost_report(events, "agent", pricing=PRICING).total
    assert total.long_context_unknown_event_count == untiered
    assert total.estimated_cost_usd == Decimal(tokens_in + 1) / 1_000_000


def test_shares_of_models_without_tiers_are_never_long_context():
    """Models with no long-context tier cannot be over one: no share is counted as such."""
    events = [
        record(
            models={
                "cheap": {"input_tokens": 900_000, "output_tokens": 0},
                "dear": {"input_tokens": 900_000, "output_tokens": 0},
            }
        )
    ]
    total = cost_report(events, "agent", pricing=PRICING).total
    assert total.long_context_unknown_event_count == 0
    assert total.estimated_event_count == 1
    assert total.estimated_cost_usd == Decimal("3.6")


def test_a_split_reported_cost_adds_up_to_the_event_cost_in_model_rows():
    """$0.0000025001 split 1:6 (the shares' estimates): the parts add up to exactly that cost.

    The split rounds each part down to 1e-10 USD (3,571 and 21,429 units) and
    gives the remainder to the heavier share, so TOTAL by model is the TOTAL
    by agent ($0.000003 once settled to micro-dollars), never a unit short.
    """
    events = [
        record(
            cost_usd=0.0000025001,
            models={
                "cheap": {"input_tokens": 1, "output_tokens": 0},
                "dear": {"input_tokens": 2, "output_tokens": 0},
            },
        )
    ]
    totals = {
        group_by: cost_report(events, group_by, pricing=PRICING).total.reported_cost_usd
        for group_by in ("agent", "model")
    }
    assert totals == {"agent": Decimal("0.000003"), "model": Decimal("0.000003")}


@pytest.mark.parametrize("group_by", ["agent", "model"])
def test_complete_shares_price_an_event_whose_own_counts_are_incomplete(group_by: str):
    """An event that reports only its total input, with complete shares, is priced by them.

    Each model's counts are known, so each share is estimated ($1 + $6); the
    event's own counts being partial says nothing about its cost. It used to
    be unpriced as ``no_usage``, which it is not: its shares report both.
    """
    events = [
        record(
            input_tokens=1_000_000,
            models={
                "cheap": {"input_tokens": 1_000_000, "output_tokens": 0},
                "dear": {"input_tokens": 0, "output_tokens": 1_000_000},
            },
        )
    ]
    total = cost_report(events, group_by, pricing=PRICING).total
    assert total.unpriced_event_count == 0
    assert total.estimated_cost_usd == Decimal(7)
    assert total.estimated_event_count == 1


def test_an_event_kept_aside_for_its_key_without_input_is_unpriced_as_no_usage():
    """A list agent sends a one-model event aside; with output but no input it is ``no_usage``."""
    events = [record(agent=["x"], model="dear", output_tokens=10)]  # type: ignore[arg-type]
    total = cost_report(events, "agent", pricing=PRICING).total
    assert total.unpriced_reasons == {"no_usage": 1}
