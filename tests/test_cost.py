"""The cost fold: reported vs estimated vs unpriced costs, grouping, and exact money."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from helpers import (
    TEST_RATES,
    other,
    pricing_for_tests,
    run_event,
    write_foreign,
    write_project,
)
from spec_kitty_telemetry import EVENTS_FILENAME
from spec_kitty_telemetry._rates import ModelRates
from spec_kitty_telemetry.cost import cost_report, cost_summary, project_cost_report
from spec_kitty_telemetry.errors import QueryError
from spec_kitty_telemetry.pricing import Pricing
from spec_kitty_telemetry.query import EventFilter, iter_project_records


def test_reported_cost_is_used_as_is_and_explicit_zero_is_not_estimated():
    """A reported cost wins over tokens; a reported 0.0 stays $0 and is not re-estimated."""
    events = [
        run_event(
            agent="codex",
            model="test-model",
            input_tokens=10_000,
            output_tokens=1_000,
            cost_usd=0.5,
        ),
        run_event(
            agent="codex",
            model="test-model",
            input_tokens=10_000,
            output_tokens=1_000,
            cost_usd=0.0,
        ),
    ]
    [codex] = cost_summary(events, pricing=pricing_for_tests())
    assert codex.reported_cost_usd == Decimal("0.5")
    assert codex.estimated_cost_usd == 0
    assert codex.estimated_event_count == 0
    assert codex.unpriced_event_count == 0
    assert codex.total_cost_usd == Decimal("0.5")
    assert (codex.input_tokens, codex.output_tokens) == (20_000, 2_000)


def test_missing_cost_is_estimated_with_cache_reads_and_writes_at_their_own_rates():
    """input_tokens is the total: 5,000 uncached at $2, 4,000 read at $0.2, 1,000 written at $2.5.

    Cache reads and writes are priced at their own rates, not the input rate.
    """
    event = run_event(
        model="test-model",
        input_tokens=10_000,
        cache_read_tokens=4_000,
        cache_write_tokens=1_000,
        output_tokens=2_000,
    )
    [claude] = cost_summary([event], pricing=pricing_for_tests())
    # (5,000 x 2 + 4,000 x 0.2 + 1,000 x 2.5 + 2,000 x 10) / 1M = 33,300 / 1M
    assert claude.estimated_cost_usd == Decimal("0.0333")
    assert claude.estimated_event_count == 1
    assert (claude.cache_read_tokens, claude.cache_write_tokens) == (4_000, 1_000)


def test_unknown_tokens_leave_the_event_unpriced_not_free():
    """No cost and no input/output counts: the cost is unknown, so it is counted as unpriced."""
    events = [
        run_event(model="test-model", input_tokens=None, output_tokens=None),
        run_event(model="test-model", input_tokens=1_000, output_tokens=None),
        run_event(model="test-model", input_tokens=1_000_000, output_tokens=0),
    ]
    [claude] = cost_summary(events, pricing=pricing_for_tests())
    assert claude.event_count == 3
    assert claude.unpriced_event_count == 2
    assert claude.unknown_models == {}
    assert claude.input_tokens == 1_001_000  # known counts still add up
    assert claude.total_cost_usd == Decimal(2)  # only the priceable event: 1M x $2


def test_unknown_model_is_unpriced_and_named_never_zero():
    """A model no layer prices makes its events unpriced, listed by canonical name.

    An event naming no model is unpriced for that reason, not listed as a model.
    """
    events = [
        run_event(agent="gemini", model="Mystery-9", input_tokens=1_000, output_tokens=10),
        run_event(agent="gemini", model="mystery-9", input_tokens=1_000, output_tokens=10),
        run_event(agent="gemini", model=None, input_tokens=1_000, output_tokens=10),
        run_event(agent="gemini", model="test-model", input_tokens=1_000, output_tokens=100),
    ]
    report = cost_report(events, pricing=pricing_for_tests())
    [gemini] = report.summaries
    assert gemini.unpriced_event_count == 3
    assert gemini.unknown_models == {"mystery-9": 2}
    assert gemini.unpriced_reasons == {"unknown_model": 2, "no_model": 1}
    assert gemini.total_cost_usd == Decimal("0.003")  # (1,000 x 2 + 100 x 10) / 1M
    assert report.total.unknown_models == {"mystery-9": 2}
    assert report.total.unpriced_reasons == {"unknown_model": 2, "no_model": 1}


def test_project_overrides_beat_the_shipped_table(tmp_path: Path):
    """A project rate for claude-sonnet-4-5 replaces the shipped $3/$15."""
    write_project(
        tmp_path, run_event(model="claude-sonnet-4.5", input_tokens=100_000, output_tokens=0)
    )
    (tmp_path / ".kittify").mkdir()
    (tmp_path / ".kittify" / "telemetry.yaml").write_text(
        "pricing:\n  models:\n    claude-sonnet-4-5: {input: 1.5, output: 7.5}\n"
    )
    report = project_cost_report(tmp_path)
    assert report.total.estimated_cost_usd == Decimal("0.15")  # 100,000 x $1.5
    (tmp_path / ".kittify" / "telemetry.yaml").unlink()
    assert project_cost_report(tmp_path).total.estimated_cost_usd == Decimal("0.3")  # x $3


def test_long_context_rates_apply_only_to_a_single_request_above_200k():
    """Sonnet 4.5's $6/$22.50 tier applies to one request above 200,000 input tokens.

    An agent run of several requests (or of unknown size) sums its input over
    all of them, so its total says nothing of any one request: it is priced at
    base rates and counted, so the report can say surcharges were not estimated.
    """
    pricing = Pricing(catalogue=False)
    sonnet = {"model": "claude-sonnet-4-5", "input_tokens": 250_000, "output_tokens": 1_000}
    events = [
        run_event(**sonnet, num_turns=1),  # 250,000 x 6 + 1,000 x 22.5 = 1,522,500
        run_event(**sonnet, num_turns=12),  # 250,000 x 3 + 1,000 x 15 = 765,000
        run_event(**sonnet),  # size unknown: 765,000
        run_event(**{**sonnet, "input_tokens": 200_000}, num_turns=1),  # at the threshold: 615,000
        run_event(  # one turn, two models: several requests, base rates: 765,000 + 1,000 x 1
            model="claude-sonnet-4-5",
            input_tokens=251_000,
            output_tokens=1_000,
            num_turns=1,
            models={
                "claude-sonnet-4-5": {"input_tokens": 250_000, "output_tokens": 1_000},
                "claude-haiku-4-5": {"input_tokens": 1_000, "output_tokens": 0},
            },
        ),
    ]
    for group_by in ("agent", "model"):
        report = cost_report(events, group_by, pricing=pricing)
        assert report.total.estimated_cost_usd == Decimal("4.4335"), group_by
        assert report.total.long_context_unknown_event_count == 3, group_by


def test_spellings_of_one_model_form_one_row():
    """--group-by model uses canonical names: dots, prefixes, dates and aliases merge."""
    events = [
        run_event(model="claude-sonnet-4.5", input_tokens=100_000, output_tokens=0),
        run_event(
            model="anthropic/claude-sonnet-4-5-20250929", input_tokens=100_000, output_tokens=0
        ),
        run_event(model="sonnet", input_tokens=100_000, output_tokens=0),
        run_event(model="gpt-5", input_tokens=100_000, output_tokens=0),
    ]
    rows = cost_summary(events, "model", pricing=Pricing(catalogue=False))
    assert [(r.group_key, r.event_count, r.total_cost_usd) for r in rows] == [
        ("claude-sonnet-4-5", 3, Decimal("0.9")),  # 3 x 100,000 x $3
        ("gpt-5", 1, Decimal("0.125")),  # 100,000 x $1.25
    ]


def test_per_model_breakdown_prices_each_model_and_splits_model_rows():
    """An event's `models` breakdown: rows per model; other groupings total the priced shares."""
    cheap = ModelRates(Decimal(1), Decimal(1), Decimal(1), Decimal(1))
    pricing = pricing_for_tests(**{"cheap-model": cheap})
    event = run_event(
        agent="claude",
        model="test-model",
        input_tokens=3_000,
        output_tokens=300,
        models={
            "test-model": {"input_tokens": 1_000, "output_tokens": 100},
            "cheap-model": {"input_tokens": 2_000, "output_tokens": 200, "cost_usd": None},
        },
    )
    by_model = cost_report([event], "model", pricing=pricing)
    assert [
        (r.group_key, r.event_count, r.input_tokens, r.estimated_cost_usd)
        for r in by_model.summaries
    ] == [
        ("test-model", 1, 1_000, Decimal("0.003")),  # 1,000 x 2 + 100 x 10
        ("cheap-model", 1, 2_000, Decimal("0.0022")),  # 2,200 x 1
    ]
    assert by_model.total.event_count == 1
    assert by_model.total.input_tokens == 3_000
    assert by_model.total.total_cost_usd == Decimal("0.0052")
    [by_agent] = cost_summary([event], "agent", pricing=pricing)
    assert by_agent.total_cost_usd == Decimal("0.0052")  # not 3,300 tokens at test-model rates


def test_only_execution_events_count():
    """PhaseTransition and other event types are not agent runs and cost nothing."""
    events = [
        other(phase="implement"),
        run_event(model="test-model", input_tokens=1_000, output_tokens=0, cost_usd=1.0),
    ]
    report = cost_report(events, pricing=pricing_for_tests())
    assert report.total.event_count == 1
    assert report.total.total_cost_usd == 1


def test_ten_thousand_dimes_add_up_exactly():
    """Money is summed exactly: 10,000 reported $0.10 costs make $1,000.00, not 999.9999999998."""
    records = [
        {
            "event_type": "ExecutionEvent",
            "aggregate_id": "f",
            "timestamp": "2025-11-03T00:00:00+00:00",
            "payload": {"agent": "a", "cost_usd": 0.1},
        }
        for _ in range(10_000)
    ]
    assert sum(0.1 for _ in range(10_000)) != 1000  # floats would drift
    [summary] = cost_summary(records, pricing=pricing_for_tests())
    assert summary.reported_cost_usd == Decimal(1000)


def test_groups_are_sorted_by_cost_then_name_and_missing_values_group_as_none():
    """Highest cost first; equal costs by name; events without a wp fall in (none)."""
    events = [
        run_event(wp_id="WP02", model="test-model", input_tokens=0, output_tokens=0, cost_usd=1.0),
        run_event(wp_id="WP01", model="test-model", input_tokens=0, output_tokens=0, cost_usd=1.0),
        run_event(wp_id=None, model="test-model", input_tokens=0, output_tokens=0, cost_usd=3.0),
    ]
    rows = cost_summary(events, "wp", pricing=pricing_for_tests())
    assert [r.group_key for r in rows] == ["(none)", "WP01", "WP02"]


def test_day_groups_use_the_utc_date(tmp_path: Path):
    """A record stamped 01:00 at +02:00 belongs to the previous UTC day."""
    log = tmp_path / "kitty-specs" / "001-alpha" / EVENTS_FILENAME
    write_project(tmp_path, run_event(when="2025-11-03T10:00:00", cost_usd=1.0, model="test-model"))
    record = {
        "aggregate_id": "001-alpha",
        "causation_id": None,
        "event_id": "01JA0000000000000000000000",
        "event_type": "ExecutionEvent",
        "lamport_clock": 7,
        "node_id": "other-tool",
        "payload": {"agent": "claude", "role": "implementer", "cost_usd": 2.0},
        "timestamp": "2025-11-03T01:00:00+02:00",
    }
    with log.open("a") as handle:
        handle.write(json.dumps(record) + "\n")
    rows = cost_summary(iter_project_records(tmp_path), "day", pricing=pricing_for_tests())
    assert [(r.group_key, r.total_cost_usd) for r in rows] == [
        ("2025-11-02", Decimal(2)),
        ("2025-11-03", Decimal(1)),
    ]


@pytest.mark.parametrize(
    ("group_by", "keys"),
    [
        ("agent", ["claude", "codex"]),
        ("feature", ["001-alpha", "002-beta"]),
        ("role", ["implementer", "reviewer"]),
    ],
)
def test_group_by_fields(group_by: str, keys: list[str]):
    """agent, feature and role group on the event's own fields."""
    events = [
        run_event("001-alpha", agent="claude", role="implementer", cost_usd=2.0),
        run_event("002-beta", agent="codex", role="reviewer", cost_usd=1.0),
    ]
    assert [
        r.group_key for r in cost_summary(events, group_by, pricing=pricing_for_tests())
    ] == keys


def test_unknown_group_is_an_error_naming_the_choices():
    """An unknown --group-by value raises QueryError listing the valid groups."""
    with pytest.raises(
        QueryError, match=r"unknown group 'colour' \(choose from agent, model, feature"
    ):
        cost_summary([], "colour")


def test_project_report_streams_records_and_applies_filters(tmp_path: Path):
    """The project report reads every feature's log and honours the feature filter."""
    write_project(
        tmp_path,
        run_event("001-alpha", cost_usd=1.0, model="test-model"),
        run_event("002-beta", cost_usd=2.0, model="test-model"),
        run_event("002-beta", cost_usd=4.0, model="test-model"),
    )
    report = project_cost_report(
        tmp_path, EventFilter(feature="002-*"), "feature", pricing=pricing_for_tests()
    )
    assert [(r.group_key, r.event_count, r.total_cost_usd) for r in report.summaries] == [
        ("002-beta", 2, Decimal(6))
    ]


def test_summary_to_dict_has_a_stable_schema():
    """to_dict keys and value types are the documented --json schema."""
    event = run_event(
        model="test-model", input_tokens=10_000, output_tokens=2_000, cache_read_tokens=4_000
    )
    [summary] = cost_summary([event], pricing=pricing_for_tests())
    assert summary.to_dict() == {
        "group_key": "claude",
        "group_by": "agent",
        "event_count": 1,
        "input_tokens": 10_000,
        "output_tokens": 2_000,
        "cache_read_tokens": 4_000,
        "cache_write_tokens": None,  # no event reported it
        "reported_cost_usd": 0.0,
        "estimated_cost_usd": 0.0328,  # 6,000 x 2 + 4,000 x 0.2 + 2,000 x 10
        "total_cost_usd": 0.0328,
        "estimated_event_count": 1,
        "unpriced_event_count": 0,
        "unknown_models": {},
        "unpriced_reasons": {},
        "invalid_cost_event_count": 0,
        "long_context_unknown_event_count": 0,
        "cache_write_1h_at_5m_rate_tokens": 0,
        "split_cost_event_count": 0,
        "runs_with_changes": 0,
        "lines_changed": None,  # no event recorded its changes: unknown, not 0
        "runs_with_tests": 0,
        "tests_passed": None,
        "failures_by_category": {},
        "completed_work_packages": 0,
        "cost_per_line_changed_usd": None,
        "cost_per_passing_test_usd": None,
        "cost_per_completed_wp_usd": None,
    }
    assert TEST_RATES.cost(10_000, 2_000, 4_000) == Decimal("0.0328")


def _mixed_project(root: Path) -> Path:
    events = []
    for feature in ("001-alpha", "002-beta", "003-gamma"):
        events += [
            run_event(
                feature,
                agent="claude",
                model="claude-sonnet-4.5",
                input_tokens=300_000,
                cache_read_tokens=100_000,
                cache_write_tokens=5_000,
                output_tokens=2_000,
            ),
            run_event(
                feature,
                agent="claude",
                model="sonnet",
                input_tokens=1_000,
                output_tokens=10,
                cost_usd=0.25,
            ),
            run_event(
                feature,
                agent="codex",
                model="gpt-5-codex",
                input_tokens=40_000,
                cache_read_tokens=30_000,
                output_tokens=4_000,
            ),
            run_event(feature, agent="copilot", model=None),
            run_event(feature, agent="gemini", model="mystery-9", input_tokens=5, output_tokens=5),
            run_event(
                feature,
                agent="claude",
                model="claude-opus-4-1",
                input_tokens=3_000,
                output_tokens=300,
                models={
                    "claude-opus-4-1": {"input_tokens": 1_000, "output_tokens": 100},
                    "claude-haiku-4-5": {"input_tokens": 2_000, "output_tokens": 200},
                },
            ),
            other(feature),
        ]
    return write_project(root, *events)


@pytest.mark.parametrize("group_by", ["agent", "model", "feature", "role", "wp", "day"])
def test_every_grouping_gives_the_same_totals(tmp_path: Path, group_by: str):
    """The hand-inlined fold (agent, feature...) and the per-model fold agree on the totals."""
    _mixed_project(tmp_path)
    pricing = Pricing(catalogue=False)
    baseline = project_cost_report(tmp_path, group_by="agent", pricing=pricing).total.to_dict()
    total = project_cost_report(tmp_path, group_by=group_by, pricing=pricing).total.to_dict()
    assert {k: v for k, v in total.items() if k != "group_by"} == {
        k: v for k, v in baseline.items() if k != "group_by"
    }
    assert baseline["event_count"] == 18
    assert baseline["unpriced_event_count"] == 6


@pytest.mark.parametrize("group_by", ["agent", "model"])
def test_forked_workers_give_the_same_report(tmp_path: Path, group_by: str):
    """Folding the logs in two worker processes and merging equals folding them here."""
    _mixed_project(tmp_path)
    pricing = Pricing(catalogue=False)
    here = project_cost_report(tmp_path, group_by=group_by, pricing=pricing, workers=1)
    forked = project_cost_report(tmp_path, group_by=group_by, pricing=pricing, workers=2)
    assert forked.to_dict() == here.to_dict()
    assert [s.unknown_models for s in forked.summaries] == [
        s.unknown_models for s in here.summaries
    ]


def test_a_group_nobody_could_price_has_null_costs_in_json():
    """No priced event: cost fields are null (never a silent 0.0); unreported counts are null."""
    event = run_event(agent="copilot", model="mystery-9", input_tokens=None, output_tokens=None)
    [summary] = cost_summary([event], pricing=pricing_for_tests())
    assert not summary.cost_known
    data = summary.to_dict()
    assert [data[k] for k in ("reported_cost_usd", "estimated_cost_usd", "total_cost_usd")] == [
        None,
        None,
        None,
    ]
    assert [data[k] for k in ("input_tokens", "output_tokens", "cache_read_tokens")] == [
        None,
        None,
        None,
    ]
    assert data["unpriced_reasons"] == {"no_usage": 1}


def test_invalid_token_counts_never_reach_the_totals(tmp_path: Path):
    """Counts from other tools must be whole numbers >= 0 with cache within input.

    Otherwise the event adds no tokens, and without a reported cost it is
    unpriced for that reason; a sane reported cost still counts. Before, a
    cache count above the input gave a negative estimate that lowered totals.
    """
    tokens = {"model": "test-model", "output_tokens": 10}
    write_foreign(
        tmp_path,
        "001-alpha",
        {**tokens, "input_tokens": 1_000, "cache_read_tokens": 5_000},  # cache above input
        {**tokens, "input_tokens": -100},
        {**tokens, "input_tokens": 1_000, "cache_write_tokens": 2**63},  # beyond 64 bits
        {"model": "test-model", "input_tokens": 1_000, "output_tokens": True},
        {**tokens, "input_tokens": 1_000.0},
        {**tokens, "input_tokens": 1_000, "cache_read_tokens": 5_000, "cost_usd": 0.5},
        {"model": "test-model", "input_tokens": 10_000, "output_tokens": 1_000},  # 0.03
    )
    for group_by in ("agent", "model", "feature"):
        report = project_cost_report(tmp_path, group_by=group_by, pricing=pricing_for_tests())
        total = report.total
        assert total.event_count == 7
        assert total.unpriced_event_count == 5
        assert total.unpriced_reasons == {"invalid_tokens": 5}
        assert total.unknown_models == {}
        assert total.total_cost_usd == Decimal("0.53")  # 0.5 reported + 0.03 estimated
        assert (total.input_tokens, total.output_tokens, total.cache_read_tokens) == (
            10_000,
            1_000,
            0,
        )


def test_reported_costs_that_are_not_amounts_are_counted_and_estimated(tmp_path: Path):
    """A cost of 1e300, -2.5, "1.5" or $1e9 is invalid: counted, then estimated from tokens.

    Without tokens the event is unpriced. (1e300 used to crash the report.)
    """
    usage = {"model": "test-model", "input_tokens": 10_000, "output_tokens": 1_000}  # $0.03
    write_foreign(
        tmp_path,
        "001-alpha",
        {**usage, "cost_usd": 1e300},
        {**usage, "cost_usd": -2.5},
        {**usage, "cost_usd": "1.5"},
        {**usage, "cost_usd": 1e9},
        {**usage, "cost_usd": 999_999_999.5},  # the largest kind of cost still believed
        {"model": "test-model", "cost_usd": 1e300},  # no tokens: unpriced
    )
    report = project_cost_report(tmp_path, pricing=pricing_for_tests())
    total = report.total
    assert total.invalid_cost_event_count == 5
    assert total.estimated_cost_usd == Decimal("0.12")  # 4 x 0.03
    assert total.reported_cost_usd == Decimal("999999999.5")
    assert total.unpriced_reasons == {"no_usage": 1}
    records = [
        {
            "event_type": "ExecutionEvent",
            "aggregate_id": "f",
            "timestamp": "2025-11-03T00:00:00+00:00",
            "payload": {"agent": "a", **usage, "cost_usd": bad},
        }
        for bad in (float("nan"), float("inf"), -0.01, 10**30, True)
    ]
    for group_by in ("agent", "model"):
        total = cost_report(records, group_by, pricing=pricing_for_tests()).total
        assert total.invalid_cost_event_count == 5
        assert total.total_cost_usd == Decimal("0.15")  # 5 x 0.03


def _multi_model_project(root: Path) -> Path:
    """The mixed project plus multi-model events of every kind the model rows must split."""
    _mixed_project(root)
    pair = {
        "claude-sonnet-4-5": {"input_tokens": 100_000, "output_tokens": 1_000},
        "claude-haiku-4-5": {"input_tokens": 30_000, "output_tokens": 3_000},
    }
    events = [
        run_event(  # reported, shares report their own costs
            "002-beta",
            agent="claude",
            role="reviewer",
            wp_id="WP02",
            model="claude-sonnet-4-5",
            input_tokens=130_000,
            output_tokens=4_000,
            cost_usd=1.0,
            models={
                name: {**usage, "cost_usd": cost}
                for (name, usage), cost in zip(pair.items(), (0.3, 0.1), strict=True)
            },
        ),
        run_event(  # reported, shares estimated
            "001-alpha",
            agent="claude",
            model="claude-sonnet-4-5",
            input_tokens=130_000,
            output_tokens=4_000,
            cost_usd=0.5,
            models=pair,
        ),
        run_event(  # reported, one share of an unknown model: split by tokens
            "003-gamma",
            agent="gemini",
            model="gemini-2.5-pro",
            input_tokens=4_000,
            output_tokens=0,
            cost_usd=0.2,
            models={
                "gemini-2.5-pro": {"input_tokens": 1_000, "output_tokens": 0},
                "mystery-9": {"input_tokens": 3_000, "output_tokens": 0},
            },
        ),
        run_event(  # reported, shares without usage: unattributable
            "003-gamma",
            agent="copilot",
            model="gpt-5",
            input_tokens=1_000,
            output_tokens=1_000,
            cost_usd=0.7,
            models={"gpt-5": {}, "gpt-5-mini": {}},
        ),
        run_event(  # not reported, one share unknown: unpriced everywhere
            "001-alpha",
            agent="codex",
            model="gpt-5",
            input_tokens=2_000,
            output_tokens=200,
            models={
                "gpt-5": {"input_tokens": 1_000, "output_tokens": 100},
                "mystery-9": {"input_tokens": 1_000, "output_tokens": 100},
            },
        ),
        run_event(  # not reported, one share reports its own cost
            "002-beta",
            agent="codex",
            model="gpt-5",
            input_tokens=2_000,
            output_tokens=200,
            models={
                "gpt-5": {"input_tokens": 1_000, "output_tokens": 100, "cost_usd": 0.05},
                "gpt-5-mini": {"input_tokens": 1_000, "output_tokens": 100},
            },
        ),
    ]
    return write_project(root, *events)


@pytest.mark.parametrize("group_by", ["agent", "model", "feature", "role", "wp", "day"])
def test_rows_add_up_exactly_to_total_in_every_grouping(tmp_path: Path, group_by: str):
    """Costs and token counts of the rows sum exactly to TOTAL, and TOTAL's cost is the same
    whichever the grouping (a multi-model event's cost is split, never dropped or doubled)."""
    _multi_model_project(tmp_path)
    pricing = Pricing(catalogue=False)
    report = project_cost_report(tmp_path, group_by=group_by, pricing=pricing)
    rows, total = report.summaries, report.total
    for name in ("reported_cost_usd", "estimated_cost_usd", "total_cost_usd"):
        assert sum((getattr(r, name) for r in rows), Decimal(0)) == getattr(total, name), name
    for name in ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens"):
        assert sum(getattr(r, name) for r in rows) == getattr(total, name), name
    by_agent = project_cost_report(tmp_path, group_by="agent", pricing=pricing).total
    assert total.total_cost_usd == by_agent.total_cost_usd
    assert (total.event_count, total.unpriced_event_count) == (24, 7)
    assert total.unpriced_event_count == sum(total.unpriced_reasons.values())


def test_model_rows_split_a_reported_event_cost_by_the_shares(tmp_path: Path):
    """An event's reported cost goes to its models in proportion to their own reported costs,
    else their estimates, else their tokens; what cannot be split is an (unattributed) row.
    A multi-model event with an unpriceable share and no reported cost is unpriced in every row."""
    cheap = ModelRates(Decimal(1), Decimal(1), Decimal(1), Decimal(1))
    pricing = pricing_for_tests(**{"cheap-model": cheap})
    events = [
        run_event(  # shares' own costs 0.3 : 0.1 -> 0.75 + 0.25
            model="test-model",
            input_tokens=2_000,
            output_tokens=0,
            cost_usd=1.0,
            models={
                "test-model": {"input_tokens": 1_000, "output_tokens": 0, "cost_usd": 0.3},
                "cheap-model": {"input_tokens": 1_000, "output_tokens": 0, "cost_usd": 0.1},
            },
        ),
        run_event(  # estimates 1,000 x 2 : 1,000 x 1 -> 0.6 x 2/3 = 0.4 and 0.2
            model="test-model",
            input_tokens=2_000,
            output_tokens=0,
            cost_usd=0.6,
            models={
                "test-model": {"input_tokens": 1_000, "output_tokens": 0},
                "cheap-model": {"input_tokens": 1_000, "output_tokens": 0},
            },
        ),
        run_event(  # mystery-9 has no estimate: tokens 1,000 : 3,000 -> 0.05 and 0.15
            model="test-model",
            input_tokens=4_000,
            output_tokens=0,
            cost_usd=0.2,
            models={
                "test-model": {"input_tokens": 1_000, "output_tokens": 0},
                "mystery-9": {"input_tokens": 3_000, "output_tokens": 0},
            },
        ),
        run_event(  # shares say nothing: all 0.7 unattributed
            model="test-model", cost_usd=0.7, models={"test-model": {}, "cheap-model": {}}
        ),
        run_event(  # no reported cost, mystery-9 unpriceable: unpriced in both its rows
            model="test-model",
            input_tokens=2_000,
            output_tokens=0,
            models={
                "test-model": {"input_tokens": 1_000, "output_tokens": 0},
                "mystery-9": {"input_tokens": 1_000, "output_tokens": 0},
            },
        ),
    ]
    report = cost_report(events, "model", pricing=pricing)
    rows = {r.group_key: r for r in report.summaries}
    assert rows["test-model"].total_cost_usd == Decimal("1.2")  # 0.75 + 0.4 + 0.05
    assert rows["cheap-model"].total_cost_usd == Decimal("0.45")  # 0.25 + 0.2
    assert rows["mystery-9"].total_cost_usd == Decimal("0.15")
    assert rows["(unattributed)"].total_cost_usd == Decimal("0.7")
    assert report.total.total_cost_usd == Decimal("2.5")  # 1.0 + 0.6 + 0.2 + 0.7
    assert rows["test-model"].split_cost_event_count == 3
    exact = run_event(  # the shares' own costs make up the event's: no approximation, no ~
        model="test-model",
        input_tokens=2_000,
        output_tokens=0,
        cost_usd=0.4,
        models={
            "test-model": {"input_tokens": 1_000, "output_tokens": 0, "cost_usd": 0.3},
            "cheap-model": {"input_tokens": 1_000, "output_tokens": 0, "cost_usd": 0.1},
        },
    )
    exact_rows = cost_report([exact], "model", pricing=pricing).summaries
    assert [(r.group_key, r.total_cost_usd, r.split_cost_event_count) for r in exact_rows] == [
        ("test-model", Decimal("0.3"), 0),
        ("cheap-model", Decimal("0.1"), 0),
    ]
    assert (rows["test-model"].unpriced_event_count, rows["mystery-9"].unpriced_event_count) == (
        1,
        1,
    )
    assert rows["mystery-9"].unknown_models == {"mystery-9": 1}
    assert report.total.unpriced_event_count == 1
    assert report.total.unknown_models == {"mystery-9": 1}
    [by_agent] = cost_summary(events, "agent", pricing=pricing)
    assert by_agent.total_cost_usd == Decimal("2.5")


def test_json_rows_still_add_up_to_the_total_after_rounding() -> None:
    """Rounding to micro-dollars gives the leftovers to the rows that lost most: rows sum to TOTAL.

    Three runs cost $0.0000005 each (5 cache-read tokens of Haiku 4.5 at $0.10 per
    million): rounded one by one they would all show 0 while the total shows $0.000002.
    """
    events = [
        run_event(agent=name, model="haiku", input_tokens=5, output_tokens=0, cache_read_tokens=5)
        for name in ("a", "b", "c")
    ]
    events += [run_event(agent="d", cost_usd=1.545), run_event(agent="e", cost_usd=0.125)]
    report = cost_report(events, "agent", pricing=Pricing(catalogue=False)).to_dict()
    rows, total = report["summaries"], report["total"]
    assert Decimal(str(total["estimated_cost_usd"])) == Decimal("0.000002")
    for name in ("reported_cost_usd", "estimated_cost_usd", "total_cost_usd"):
        assert sum(Decimal(str(row[name])) for row in rows) == Decimal(str(total[name])), name
    assert sorted(Decimal(str(row["estimated_cost_usd"])) for row in rows[2:]) == [
        Decimal(0),
        Decimal("0.000001"),
        Decimal("0.000001"),
    ]


@pytest.mark.parametrize("group_by", ["agent", "model", "feature", "role", "wp", "day"])
def test_per_model_counts_alone_price_the_event(group_by: str) -> None:
    """A log from another tool with only payload["models"] counts: those are the totals.

    Sonnet 4.5: 10,000 x $3 + 1,000 x $15 = $0.045; GPT-5 Codex: 10,000 x $1.25
    + 1,000 x $10 = $0.0225; together $0.0675, in every grouping.
    """
    event = run_event(
        model="claude-sonnet-4-5",
        models={
            "claude-sonnet-4-5": {"input_tokens": 10_000, "output_tokens": 1_000},
            "gpt-5-codex": {"input_tokens": 10_000, "output_tokens": 1_000},
        },
    )
    total = cost_report([event], group_by, pricing=Pricing(catalogue=False)).total
    assert (total.unpriced_event_count, total.estimated_cost_usd) == (0, Decimal("0.0675"))
    assert (total.input_tokens, total.output_tokens) == (20_000, 2_000)
