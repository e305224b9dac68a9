"""The cost fold's exact rules: which event gets long-context rates, explicit $0, the bounds
of believable counts and costs, and which row gets a rounding micro-dollar.

Each rule runs through both folds (``agent`` rows take the hand-written fast path,
``model`` rows the general one), so the two cannot drift apart unnoticed.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from spec_kitty_telemetry import _catalogue
from spec_kitty_telemetry._rates import ModelRates, RateTier
from spec_kitty_telemetry.cost import cost_report
from spec_kitty_telemetry.pricing import Pricing
from spec_kitty_telemetry.usage import MAX_COST_USD as MAX_REPORTED_COST_USD

FOLDS = ("agent", "model")
_INT64_MAX = 2**63 - 1


def record(agent: str = "a", **payload: Any) -> dict[str, Any]:
    """A stored ExecutionEvent record of ``agent`` (what the fold reads from a log)."""
    return {
        "event_type": "ExecutionEvent",
        "aggregate_id": "001-alpha",
        "timestamp": "2025-11-03T10:00:00+00:00",
        "payload": {"agent": agent, "role": "implementer", **payload},
    }


#: $1 / $2 per million tokens, and $10 / $20 for a request above 100 input tokens.
TIERED = ModelRates(
    input=Decimal(1),
    output=Decimal(2),
    cache_read=Decimal(1),
    cache_write=Decimal(1),
    tiers=(RateTier(100, Decimal(10), Decimal(20), Decimal(10), Decimal(10)),),
    source="test",
)
#: $0.1 per million tokens: a handful of tokens costs a fraction of a micro-dollar.
TENTH = ModelRates(Decimal("0.1"), Decimal("0.1"), Decimal("0.1"), Decimal("0.1"), source="test")


def pricing(**models: ModelRates) -> Pricing:
    return Pricing(shipped=models, catalogue=False)


@pytest.mark.parametrize("group_by", FOLDS)
def test_long_context_rates_go_to_the_single_request_not_the_many(group_by: str):
    """One turn above the threshold pays tier rates; twelve turns with other counts pay base.

    The two events have different token counts, so giving the tier to the wrong
    one changes the total: 1,000 in x $10 + 10 out x $20 = $0.0102 for the
    single request, 2,000 x $1 + 10 x $2 = $0.00202 for the twelve turns.
    """
    events = [
        record("one", model="tiered", input_tokens=1_000, output_tokens=10, num_turns=1),
        record("many", model="tiered", input_tokens=2_000, output_tokens=10, num_turns=12),
    ]
    report = cost_report(events, group_by, pricing=pricing(tiered=TIERED))
    assert report.total.estimated_cost_usd == Decimal("0.0102") + Decimal("0.00202")
    assert report.total.long_context_unknown_event_count == 1
    if group_by == "agent":
        rows = {row.group_key: row for row in report.summaries}
        assert rows["one"].estimated_cost_usd == Decimal("0.0102")
        assert rows["one"].long_context_unknown_event_count == 0
        assert rows["many"].estimated_cost_usd == Decimal("0.00202")
        assert rows["many"].long_context_unknown_event_count == 1


@pytest.mark.parametrize("group_by", FOLDS)
def test_a_single_request_at_or_below_the_threshold_pays_base_rates(group_by: str):
    """The tier is for input *above* its threshold: 100 tokens pay base rates, 101 the tier."""
    events = [
        record("at", model="tiered", input_tokens=100, output_tokens=0, num_turns=1),
        record("above", model="tiered", input_tokens=101, output_tokens=0, num_turns=1),
        record("many", model="tiered", input_tokens=100, output_tokens=0, num_turns=2),
    ]
    report = cost_report(events, group_by, pricing=pricing(tiered=TIERED))
    assert report.total.estimated_cost_usd == Decimal("0.0001") * 2 + Decimal("0.00101")
    assert report.total.long_context_unknown_event_count == 0  # 100 is not above 100


@pytest.mark.parametrize("group_by", FOLDS)
def test_an_explicit_zero_cost_is_used_as_is(group_by: str):
    """A reported $0 (0.0 or 0) is a cost: the event is priced at $0, not estimated from tokens."""
    events = [
        record(model="tiered", input_tokens=1_000, output_tokens=1_000, cost_usd=0.0),
        record(model="tiered", input_tokens=1_000, output_tokens=1_000, cost_usd=0),
    ]
    total = cost_report(events, group_by, pricing=pricing(tiered=TIERED)).total
    assert total.total_cost_usd == 0
    assert total.cost_known
    assert (total.estimated_event_count, total.invalid_cost_event_count) == (0, 0)
    assert total.unpriced_event_count == 0


@pytest.mark.parametrize("group_by", FOLDS)
def test_reported_costs_are_believed_up_to_just_below_one_billion(group_by: str):
    """$1e9 is the first unbelievable cost: just below it counts, $1e9 exactly is invalid."""
    below = 999_999_999.875  # exactly representable, so the sum is exact too
    assert below < MAX_REPORTED_COST_USD
    events = [
        record(model="tiered", input_tokens=1_000, output_tokens=0, cost_usd=below),
        record(model="tiered", input_tokens=1_000, output_tokens=0, cost_usd=1e9),
    ]
    total = cost_report(events, group_by, pricing=pricing(tiered=TIERED)).total
    assert total.reported_cost_usd == Decimal("999999999.875")
    assert total.invalid_cost_event_count == 1
    assert total.estimated_cost_usd == Decimal("0.001")  # the $1e9 one, from its tokens


@pytest.mark.parametrize("group_by", FOLDS)
def test_small_and_large_reported_costs_keep_every_digit(group_by: str):
    """Costs below and above $100,000 are summed in 1e-10 USD without float drift."""
    costs = [0.1, 0.2, 99_999.9999999999, 100_000.0000000001, 123_456_789.0123]
    events = [record(str(i), cost_usd=cost) for i, cost in enumerate(costs)]
    total = cost_report(events, group_by, pricing=pricing()).total
    assert total.reported_cost_usd == sum(Decimal(repr(c)) for c in costs)


@pytest.mark.parametrize("group_by", FOLDS)
def test_token_counts_up_to_the_largest_64_bit_integer_are_valid(group_by: str):
    """2**63-1 tokens is a valid count (priced and summed); 2**63 makes the event invalid."""
    events = [
        record("big", model="flat", input_tokens=_INT64_MAX, output_tokens=_INT64_MAX),
        record("big", model="flat", input_tokens=0, output_tokens=0, cache_read_tokens=None),
        record(
            "big",
            model="flat",
            input_tokens=_INT64_MAX,
            output_tokens=0,
            cache_read_tokens=_INT64_MAX,
            cache_write_tokens=0,
        ),
        record("bad", model="flat", input_tokens=2**63, output_tokens=0),
        record("bad", model="flat", input_tokens=1, output_tokens=2**63),
        record("bad", model="flat", input_tokens=2**63, output_tokens=0, cache_read_tokens=2**63),
        record("bad", model="flat", input_tokens=2**63, output_tokens=0, cache_write_tokens=2**63),
    ]
    flat = ModelRates(Decimal(1), Decimal(1), Decimal(1), Decimal(1), source="test")
    report = cost_report(events, group_by, pricing=pricing(flat=flat))
    total = report.total
    assert (total.input_tokens, total.output_tokens) == (2 * _INT64_MAX, _INT64_MAX)
    assert total.cache_read_tokens == _INT64_MAX
    assert total.unpriced_reasons == {"invalid_tokens": 4}
    assert total.estimated_cost_usd == Decimal(3 * _INT64_MAX) / 1_000_000


@pytest.mark.parametrize("group_by", FOLDS)
def test_cache_counts_may_equal_the_input_but_not_exceed_it(group_by: str):
    """Cache reads plus writes equal to input_tokens are valid; one token more is not."""
    events = [
        record(
            model="flat",
            input_tokens=10,
            output_tokens=0,
            cache_read_tokens=6,
            cache_write_tokens=4,
        ),
        record(
            model="flat",
            input_tokens=10,
            output_tokens=0,
            cache_read_tokens=7,
            cache_write_tokens=4,
        ),
    ]
    flat = ModelRates(Decimal(1), Decimal(1), Decimal(1), Decimal(1), source="test")
    total = cost_report(events, group_by, pricing=pricing(flat=flat)).total
    assert (total.input_tokens, total.cache_read_tokens, total.cache_write_tokens) == (10, 6, 4)
    assert total.unpriced_reasons == {"invalid_tokens": 1}


@pytest.mark.parametrize("group_by", FOLDS)
def test_reported_token_fields_are_those_some_event_reported(group_by: str):
    """A token column no event reported is null in JSON, one any event reported is a number."""
    events = [
        record(model="flat", input_tokens=10, output_tokens=1),
        record(model="flat", input_tokens=10, output_tokens=1, cache_write_tokens=2),
    ]
    flat = ModelRates(Decimal(1), Decimal(1), Decimal(1), Decimal(1), source="test")
    data = cost_report(events, group_by, pricing=pricing(flat=flat)).to_dict()
    for row in [*data["summaries"], data["total"]]:
        assert row["input_tokens"] == 20
        assert row["output_tokens"] == 2
        assert row["cache_read_tokens"] is None
        assert row["cache_write_tokens"] == 2


def test_the_rounding_micro_dollar_goes_to_the_row_that_lost_most():
    """Largest remainder: $0.0000034 and $0.0000007 round to 3 and 1 micro-dollars.

    Rounded down they show $0.000003 and $0; the total, $0.0000041, shows
    $0.000004, so one micro-dollar is left over. It goes to the row that lost
    0.7 micro-dollars to rounding, not to the larger row that lost 0.4.
    """
    events = [
        record("big", model="tenth", input_tokens=34, output_tokens=0),
        record("small", model="tenth", input_tokens=7, output_tokens=0),
        record("big", cost_usd=0.0000034),
        record("small", cost_usd=0.0000007),
    ]
    data = cost_report(events, "agent", pricing=pricing(tenth=TENTH)).to_dict()
    rows = {row["group_key"]: row for row in data["summaries"]}
    for name in ("estimated_cost_usd", "reported_cost_usd"):
        assert (rows["big"][name], rows["small"][name]) == (0.000003, 0.000001), name
        assert data["total"][name] == 0.000004, name
    assert (rows["big"]["total_cost_usd"], rows["small"]["total_cost_usd"]) == (0.000006, 0.000002)
    assert data["total"]["total_cost_usd"] == 0.000008


def test_rounding_adds_nothing_when_the_rows_already_sum_to_the_total():
    """Rows that lose nothing to rounding are shown as they are: no micro-dollar is added."""
    events = [record("a", cost_usd=0.000002), record("b", cost_usd=0.000001)]
    data = cost_report(events, "agent", pricing=pricing()).to_dict()
    assert [row["reported_cost_usd"] for row in data["summaries"]] == [0.000002, 0.000001]
    assert data["total"]["reported_cost_usd"] == 0.000003


def test_the_footnote_names_the_catalogue_without_the_model_id():
    """Estimates priced by genai-prices name the catalogue and its version, nothing else."""
    events = [record(model="claude-3-7-sonnet", input_tokens=1_000, output_tokens=100)]
    report = cost_report(events, "agent", pricing=Pricing(shipped={}))
    assert report.total.estimated_cost_usd == Decimal("0.0045")
    assert report.price_sources == [_catalogue.catalogue_name()]
    assert report.to_dict()["price_sources"] == [_catalogue.catalogue_name()]


FLAT = ModelRates(Decimal(1), Decimal(1), Decimal(1), Decimal(1), source="test")
FREE = ModelRates(Decimal(0), Decimal(0), Decimal(0), Decimal(0), source="test")


def rows_of(report: Any) -> dict[str, Any]:
    return {row.group_key: row for row in report.summaries}


@pytest.mark.parametrize("group_by", FOLDS)
def test_half_known_usage_is_unpriced_for_lack_of_usage(group_by: str):
    """Input without output, or output without input, cannot be estimated: no_usage."""
    events = [
        record(model="flat", input_tokens=1_000),
        record(model="flat", output_tokens=1_000),
        record(model="flat", input_tokens=0, output_tokens=0),
    ]
    total = cost_report(events, group_by, pricing=pricing(flat=FLAT)).total
    assert total.unpriced_reasons == {"no_usage": 2}
    assert total.estimated_event_count == 1


@pytest.mark.parametrize("group_by", FOLDS)
@pytest.mark.parametrize("bad", [1.5, True, "3", -1])
def test_a_cache_count_that_is_not_a_whole_number_makes_the_event_invalid(group_by: str, bad):
    """Cache counts are held to the same rule as input and output: whole numbers >= 0."""
    events = [
        record(model="flat", input_tokens=10, output_tokens=1, cache_read_tokens=bad),
        record(model="flat", input_tokens=10, output_tokens=1, cache_write_tokens=bad),
    ]
    total = cost_report(events, group_by, pricing=pricing(flat=FLAT)).total
    assert total.unpriced_reasons == {"invalid_tokens": 2}
    assert (total.input_tokens, total.cache_read_tokens, total.cache_write_tokens) == (0, 0, 0)


@pytest.mark.parametrize("group_by", FOLDS)
def test_a_token_column_is_reported_only_if_an_event_reported_it(group_by: str):
    """Cache or output counts alone do not make the input column known (and so on)."""
    events = [record(model="flat", output_tokens=5, cache_read_tokens=3, cache_write_tokens=2)]
    data = cost_report(events, group_by, pricing=pricing(flat=FLAT)).to_dict()
    for row in [*data["summaries"], data["total"]]:
        assert row["input_tokens"] is None
        assert (row["output_tokens"], row["cache_read_tokens"], row["cache_write_tokens"]) == (
            5,
            3,
            2,
        )


def test_a_missing_or_blank_group_value_is_the_none_group():
    """An agent that is empty, blank in type or not a string groups as (none)."""
    events = [record(""), record(3), record(None), record("real")]  # type: ignore[arg-type]
    report = cost_report(events, "agent", pricing=pricing())
    assert {row.group_key: row.event_count for row in report.summaries} == {"(none)": 3, "real": 1}


@pytest.mark.parametrize("group_by", FOLDS)
@pytest.mark.parametrize("model", [["flat"], 3, "", "  "])
def test_a_model_that_is_not_a_name_leaves_the_event_unpriced_for_no_model(group_by: str, model):
    """A list, a number or a blank string is no model: the event is unpriced (no_model)."""
    events = [record(model=model, input_tokens=10, output_tokens=1)]
    total = cost_report(events, group_by, pricing=pricing(flat=FLAT)).total
    assert total.unpriced_reasons == {"no_model": 1}


@pytest.mark.parametrize("group_by", FOLDS)
@pytest.mark.parametrize("models", [["flat"], "flat", {}, []])
def test_a_models_field_that_is_no_breakdown_is_ignored(group_by: str, models: object):
    """Only a non-empty mapping is a per-model breakdown; anything else prices the event alone."""
    events = [record(model="flat", input_tokens=1_000, output_tokens=0, models=models)]
    total = cost_report(events, group_by, pricing=pricing(flat=FLAT)).total
    assert (total.estimated_event_count, total.estimated_cost_usd) == (1, Decimal("0.001"))


@pytest.mark.parametrize("group_by", FOLDS)
def test_one_turn_of_one_model_in_a_breakdown_still_gets_its_tier(group_by: str):
    """A breakdown naming a single model of a one-turn run is still one request."""
    events = [
        record(
            model="tiered",
            input_tokens=1_000,
            output_tokens=10,
            num_turns=1,
            models={"tiered": {"input_tokens": 1_000, "output_tokens": 10}},
        )
    ]
    total = cost_report(events, group_by, pricing=pricing(tiered=TIERED)).total
    assert total.estimated_cost_usd == Decimal("0.0102")
    assert total.long_context_unknown_event_count == 0


@pytest.mark.parametrize("group_by", FOLDS)
def test_the_events_own_counts_win_over_its_breakdown(group_by: str):
    """When the event reports its totals, the per-model counts do not replace them."""
    events = [
        record(
            model="flat",
            input_tokens=1_000,
            output_tokens=10,
            models={"flat": {"input_tokens": 500, "output_tokens": 5}},
        )
    ]
    total = cost_report(events, group_by, pricing=pricing(flat=FLAT)).total
    if group_by == "agent":
        assert (total.input_tokens, total.output_tokens) == (1_000, 10)
    assert total.event_count == 1


@pytest.mark.parametrize("group_by", FOLDS)
def test_only_every_share_knowing_a_count_makes_it_known(group_by: str):
    """With per-model counts only, a cache count one share omitted is unknown for the event."""
    events = [
        record(
            model="flat",
            models={
                "flat": {"input_tokens": 10, "output_tokens": 1, "cache_read_tokens": 4},
                "other": {"input_tokens": 20, "output_tokens": 2},
            },
        )
    ]
    data = cost_report(events, group_by, pricing=pricing(flat=FLAT, other=FLAT)).to_dict()
    total = data["total"]
    assert (total["input_tokens"], total["output_tokens"]) == (30, 3)
    if group_by == "agent":
        assert total["cache_read_tokens"] is None
    else:
        rows = {row["group_key"]: row for row in data["summaries"]}
        assert rows["flat"]["cache_read_tokens"] == 4
        assert rows["other"]["cache_read_tokens"] is None
        assert rows["other"]["input_tokens"] == 20


@pytest.mark.parametrize("group_by", FOLDS)
def test_an_invalid_cost_inside_a_breakdown_is_counted(group_by: str):
    """A share reporting a cost that is no amount makes the event count as an invalid cost."""
    events = [
        record(
            model="flat",
            input_tokens=30,
            output_tokens=3,
            models={
                "flat": {"input_tokens": 10, "output_tokens": 1, "cost_usd": -1},
                "other": {"input_tokens": 20, "output_tokens": 2, "cost_usd": 0.5},
            },
        ),
        record(model="flat", input_tokens=1, output_tokens=1, models={"flat": {"cost_usd": None}}),
    ]
    total = cost_report(events, group_by, pricing=pricing(flat=FLAT, other=FLAT)).total
    assert total.invalid_cost_event_count == 1


@pytest.mark.parametrize("group_by", FOLDS)
@pytest.mark.parametrize(
    ("share", "reason"),
    [
        ({"input_tokens": -1, "output_tokens": 1}, "invalid_tokens"),
        ({"input_tokens": 5}, "no_usage"),
    ],
)
def test_a_share_that_cannot_be_estimated_leaves_the_event_unpriced(group_by, share, reason):
    """Without a reported cost, one share without usable counts makes the whole event unpriced."""
    events = [
        record(
            model="flat",
            input_tokens=15,
            output_tokens=2,
            models={"flat": {"input_tokens": 10, "output_tokens": 1}, "other": share},
        )
    ]
    total = cost_report(events, group_by, pricing=pricing(flat=FLAT, other=FLAT)).total
    assert total.unpriced_reasons == {reason: 1}
    assert total.estimated_cost_usd == 0


@pytest.mark.parametrize("group_by", FOLDS)
def test_a_share_without_a_model_name_is_unpriced_for_no_model(group_by: str):
    """A breakdown key that is blank names no model."""
    events = [
        record(
            model="flat",
            input_tokens=15,
            output_tokens=2,
            models={
                "flat": {"input_tokens": 10, "output_tokens": 1},
                " ": {"input_tokens": 5, "output_tokens": 1},
            },
        )
    ]
    total = cost_report(events, group_by, pricing=pricing(flat=FLAT)).total
    assert total.unpriced_reasons == {"no_model": 1}


@pytest.mark.parametrize("group_by", FOLDS)
def test_a_share_with_its_own_cost_needs_no_known_model(group_by: str):
    """A share of an unknown model that reports its own cost is priced by that cost."""
    events = [
        record(
            model="flat",
            input_tokens=1_000_010,
            output_tokens=0,
            models={
                "mystery-9": {"input_tokens": 10, "output_tokens": 0, "cost_usd": 0.05},
                "flat": {"input_tokens": 1_000_000, "output_tokens": 0},
            },
        )
    ]
    total = cost_report(events, group_by, pricing=pricing(flat=FLAT)).total
    assert total.unpriced_event_count == 0
    assert total.total_cost_usd == Decimal("1.05")


def _split_rows(models: dict[str, Any], cost: float = 1.0, **rates: ModelRates) -> dict[str, Any]:
    event = record(model="x", input_tokens=1, output_tokens=1, cost_usd=cost, models=models)
    return rows_of(cost_report([event], "model", pricing=pricing(**rates)))


def test_a_reported_cost_is_split_by_own_costs_and_estimates_together():
    """One share reports $0.3, the other is estimated at $0.1: the event's $1 splits 3 : 1."""
    rows = _split_rows(
        {
            "flat": {"input_tokens": 100_000, "output_tokens": 0},  # $0.1 at $1 per million
            "mystery-9": {"input_tokens": 1, "output_tokens": 0, "cost_usd": 0.3},
        },
        flat=FLAT,
    )
    assert rows["mystery-9"].reported_cost_usd == Decimal("0.75")
    assert rows["flat"].reported_cost_usd == Decimal("0.25")
    assert rows["flat"].split_cost_event_count == 1


def test_a_reported_cost_over_free_models_is_split_by_tokens():
    """Estimates of $0 say nothing of the shares' sizes: input plus output tokens decide."""
    rows = _split_rows(
        {
            "free": {"input_tokens": 100, "output_tokens": 0},
            "gratis": {"input_tokens": 100, "output_tokens": 200},
        },
        free=FREE,
        gratis=FREE,
    )
    assert rows["free"].reported_cost_usd == Decimal("0.25")
    assert rows["gratis"].reported_cost_usd == Decimal("0.75")


def test_token_weights_count_input_and_output_alike():
    """100 in + 300 out weighs as much as 300 in + 100 out."""
    rows = _split_rows(
        {
            "mystery-9": {"input_tokens": 100, "output_tokens": 300, "cache_read_tokens": 0},
            "mystery-8": {"input_tokens": 300, "output_tokens": 100, "cache_read_tokens": 0},
        }
    )
    assert (
        rows["mystery-9"].reported_cost_usd == rows["mystery-8"].reported_cost_usd == Decimal("0.5")
    )


def test_a_cost_over_shares_of_no_size_goes_to_the_unattributed_row():
    """Shares with zero tokens and no rates give no way to split: the cost is unattributed."""
    rows = _split_rows(
        {
            "mystery-9": {"input_tokens": 0, "output_tokens": 0},
            "mystery-8": {"input_tokens": 0, "output_tokens": 0},
        }
    )
    assert rows["(unattributed)"].reported_cost_usd == Decimal(1)
    assert rows["(unattributed)"].event_count == 1
    assert rows["mystery-9"].reported_cost_usd == 0


def test_a_single_share_takes_the_whole_cost_whatever_its_counts():
    """A breakdown of one model credits that model with the event's cost, not as a split."""
    rows = _split_rows({"mystery-9": {}}, cost=0.7)
    assert set(rows) == {"mystery-9"}
    assert rows["mystery-9"].reported_cost_usd == Decimal("0.7")
    assert rows["mystery-9"].split_cost_event_count == 0


def test_the_rounding_remainder_of_a_split_goes_to_the_heaviest_share():
    """$0.000001 split 1 : 2 cannot be shown in micro-dollars: the heavier share takes it."""
    rows = _split_rows(
        {
            "mystery-9": {"input_tokens": 1, "output_tokens": 0},
            "mystery-8": {"input_tokens": 2, "output_tokens": 0},
        },
        cost=1e-6,
    )
    assert rows["mystery-8"].reported_cost_usd == Decimal("0.000001")
    assert rows["mystery-9"].reported_cost_usd == 0
    assert rows["mystery-8"].split_cost_event_count == 1
    assert rows["mystery-9"].split_cost_event_count == 1  # it holds a third, under a micro-dollar


def test_split_counts_add_up_in_the_total():
    """TOTAL counts the rows' shares of split events."""
    event = record(
        model="x",
        input_tokens=3,
        output_tokens=0,
        cost_usd=0.3,
        models={
            "mystery-9": {"input_tokens": 1, "output_tokens": 0},
            "mystery-8": {"input_tokens": 2, "output_tokens": 0},
        },
    )
    report = cost_report([event], "model", pricing=pricing())
    assert report.total.split_cost_event_count == 2
    assert report.total.event_count == 1


def test_unknown_models_in_the_model_total_count_events_once():
    """TOTAL's unknown models count events, whichever rows the events appear in."""
    events = [
        record(
            model="mystery-9",
            input_tokens=2,
            output_tokens=2,
            models={
                "mystery-9": {"input_tokens": 1, "output_tokens": 1},
                "flat": {"input_tokens": 1, "output_tokens": 1},
            },
        ),
        record(model="mystery-9", input_tokens=1, output_tokens=1),
    ]
    total = cost_report(events, "model", pricing=pricing(flat=FLAT)).total
    assert total.unknown_models == {"mystery-9": 2}
    assert total.unpriced_reasons == {"unknown_model": 2}


def test_rows_of_equal_cost_list_priced_ones_before_unpriced_ones():
    """A $0 row that is known sorts before a row nobody could price; names break ties."""
    events = [record("b-unpriced", model="mystery-9"), record("z-free", cost_usd=0.0)]
    report = cost_report(events, "agent", pricing=pricing())
    assert [row.group_key for row in report.summaries] == ["z-free", "b-unpriced"]


def test_the_json_report_names_the_price_table_date():
    """prices_last_updated is the shipped table's date, in ISO form."""
    from spec_kitty_telemetry.pricing import shipped_table

    data = cost_report([record(cost_usd=1.0)], "agent", pricing=pricing()).to_dict()
    assert data["prices_last_updated"] == shipped_table().last_updated.isoformat()


@pytest.mark.parametrize("group_by", FOLDS)
def test_valid_or_absent_costs_inside_a_breakdown_are_not_invalid(group_by: str):
    """Shares that report a sane cost, or none, do not make the event an invalid-cost one."""
    events = [
        record(
            model="flat",
            input_tokens=30,
            output_tokens=3,
            models={
                "flat": {"input_tokens": 10, "output_tokens": 1, "cost_usd": 0.5},
                "other": {"input_tokens": 20, "output_tokens": 2},
            },
        )
    ]
    total = cost_report(events, group_by, pricing=pricing(flat=FLAT, other=FLAT)).total
    assert total.invalid_cost_event_count == 0
    assert total.unpriced_event_count == 0


@pytest.mark.parametrize("group_by", FOLDS)
def test_zero_and_the_largest_cache_counts_are_valid(group_by: str):
    """Cache counts of 0, and of 2**63-1 within an input as large, are valid counts."""
    events = [
        record(
            model="flat", input_tokens=5, output_tokens=0, cache_read_tokens=0, cache_write_tokens=0
        ),
        record(
            model="flat",
            input_tokens=_INT64_MAX,
            output_tokens=0,
            cache_read_tokens=0,
            cache_write_tokens=_INT64_MAX,
        ),
    ]
    total = cost_report(events, group_by, pricing=pricing(flat=FLAT)).total
    assert total.unpriced_event_count == 0
    assert (total.cache_read_tokens, total.cache_write_tokens) == (0, _INT64_MAX)
