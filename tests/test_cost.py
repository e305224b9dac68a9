"""The cost fold: reported vs estimated vs unpriced costs, grouping, and exact money."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from cost_fixtures import TEST_RATES, other, pricing_for_tests, run, write_project
from spec_kitty_telemetry import EVENTS_FILENAME
from spec_kitty_telemetry._rates import ModelRates
from spec_kitty_telemetry.cost import cost_report, cost_summary, project_cost_report
from spec_kitty_telemetry.errors import QueryError
from spec_kitty_telemetry.pricing import Pricing
from spec_kitty_telemetry.query import EventFilter, iter_project_records


def test_reported_cost_is_used_as_is_and_explicit_zero_is_not_estimated():
    """A reported cost wins over tokens; a reported 0.0 stays $0 and is not re-estimated."""
    events = [
        run(
            agent="codex",
            model="test-model",
            input_tokens=10_000,
            output_tokens=1_000,
            cost_usd=0.5,
        ),
        run(
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
    event = run(
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
        run(model="test-model", input_tokens=None, output_tokens=None),
        run(model="test-model", input_tokens=1_000, output_tokens=None),
        run(model="test-model", input_tokens=1_000_000, output_tokens=0),
    ]
    [claude] = cost_summary(events, pricing=pricing_for_tests())
    assert claude.event_count == 3
    assert claude.unpriced_event_count == 2
    assert claude.unknown_models == {}
    assert claude.input_tokens == 1_001_000  # known counts still add up
    assert claude.total_cost_usd == Decimal(2)  # only the priceable event: 1M x $2


def test_unknown_model_is_unpriced_and_named_never_zero():
    """A model no layer prices makes its events unpriced, listed by canonical name."""
    events = [
        run(agent="gemini", model="Mystery-9", input_tokens=1_000, output_tokens=10),
        run(agent="gemini", model="mystery-9", input_tokens=1_000, output_tokens=10),
        run(agent="gemini", model=None, input_tokens=1_000, output_tokens=10),
        run(agent="gemini", model="test-model", input_tokens=1_000, output_tokens=100),
    ]
    report = cost_report(events, pricing=pricing_for_tests())
    [gemini] = report.summaries
    assert gemini.unpriced_event_count == 3
    assert gemini.unknown_models == {"mystery-9": 2, "(none)": 1}
    assert gemini.total_cost_usd == Decimal("0.003")  # (1,000 x 2 + 100 x 10) / 1M
    assert report.total.unknown_models == {"mystery-9": 2, "(none)": 1}


def test_project_overrides_beat_the_shipped_table(tmp_path: Path):
    """A project rate for claude-sonnet-4-5 replaces the shipped $3/$15."""
    write_project(tmp_path, run(model="claude-sonnet-4.5", input_tokens=100_000, output_tokens=0))
    (tmp_path / ".kittify").mkdir()
    (tmp_path / ".kittify" / "telemetry.yaml").write_text(
        "pricing:\n  models:\n    claude-sonnet-4-5: {input: 1.5, output: 7.5}\n"
    )
    report = project_cost_report(tmp_path)
    assert report.total.estimated_cost_usd == Decimal("0.15")  # 100,000 x $1.5
    (tmp_path / ".kittify" / "telemetry.yaml").unlink()
    assert project_cost_report(tmp_path).total.estimated_cost_usd == Decimal("0.3")  # x $3


def test_shipped_long_context_rates_apply_above_200k_input_tokens():
    """Sonnet 4.5 above 200,000 input tokens pays $6/$22.50 on all tokens; at 200,000, $3/$15."""
    pricing = Pricing(catalogue=False)
    events = [
        run(model="claude-sonnet-4-5", input_tokens=250_000, output_tokens=1_000),
        run(model="claude-sonnet-4-5", input_tokens=200_000, output_tokens=1_000),
    ]
    [summary] = cost_summary(events, pricing=pricing)
    # (250,000 x 6 + 1,000 x 22.5) + (200,000 x 3 + 1,000 x 15) = 1,522,500 + 615,000
    assert summary.estimated_cost_usd == Decimal("2.1375")


def test_spellings_of_one_model_form_one_row():
    """--group-by model uses canonical names: dots, prefixes, dates and aliases merge."""
    events = [
        run(model="claude-sonnet-4.5", input_tokens=100_000, output_tokens=0),
        run(model="anthropic/claude-sonnet-4-5-20250929", input_tokens=100_000, output_tokens=0),
        run(model="sonnet", input_tokens=100_000, output_tokens=0),
        run(model="gpt-5", input_tokens=100_000, output_tokens=0),
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
    event = run(
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
        run(model="test-model", input_tokens=1_000, output_tokens=0, cost_usd=1.0),
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
        run(wp_id="WP02", model="test-model", input_tokens=0, output_tokens=0, cost_usd=1.0),
        run(wp_id="WP01", model="test-model", input_tokens=0, output_tokens=0, cost_usd=1.0),
        run(wp_id=None, model="test-model", input_tokens=0, output_tokens=0, cost_usd=3.0),
    ]
    rows = cost_summary(events, "wp", pricing=pricing_for_tests())
    assert [r.group_key for r in rows] == ["(none)", "WP01", "WP02"]


def test_day_groups_use_the_utc_date(tmp_path: Path):
    """A record stamped 01:00 at +02:00 belongs to the previous UTC day."""
    log = tmp_path / "kitty-specs" / "001-alpha" / EVENTS_FILENAME
    write_project(tmp_path, run(when="2025-11-03T10:00:00", cost_usd=1.0, model="test-model"))
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
        run("001-alpha", agent="claude", role="implementer", cost_usd=2.0),
        run("002-beta", agent="codex", role="reviewer", cost_usd=1.0),
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
        run("001-alpha", cost_usd=1.0, model="test-model"),
        run("002-beta", cost_usd=2.0, model="test-model"),
        run("002-beta", cost_usd=4.0, model="test-model"),
    )
    report = project_cost_report(
        tmp_path, EventFilter(feature="002-*"), "feature", pricing=pricing_for_tests()
    )
    assert [(r.group_key, r.event_count, r.total_cost_usd) for r in report.summaries] == [
        ("002-beta", 2, Decimal(6))
    ]


def test_summary_to_dict_has_a_stable_schema():
    """to_dict keys and value types are the documented --json schema."""
    event = run(
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
        "cache_write_tokens": 0,
        "reported_cost_usd": 0.0,
        "estimated_cost_usd": 0.0328,  # 6,000 x 2 + 4,000 x 0.2 + 2,000 x 10
        "total_cost_usd": 0.0328,
        "estimated_event_count": 1,
        "unpriced_event_count": 0,
        "unknown_models": {},
    }
    assert TEST_RATES.cost(10_000, 2_000, 4_000) == Decimal("0.0328")


def _mixed_project(root: Path) -> Path:
    events = []
    for feature in ("001-alpha", "002-beta", "003-gamma"):
        events += [
            run(
                feature,
                agent="claude",
                model="claude-sonnet-4.5",
                input_tokens=300_000,
                cache_read_tokens=100_000,
                cache_write_tokens=5_000,
                output_tokens=2_000,
            ),
            run(
                feature,
                agent="claude",
                model="sonnet",
                input_tokens=1_000,
                output_tokens=10,
                cost_usd=0.25,
            ),
            run(
                feature,
                agent="codex",
                model="gpt-5-codex",
                input_tokens=40_000,
                cache_read_tokens=30_000,
                output_tokens=4_000,
            ),
            run(feature, agent="copilot", model=None),
            run(feature, agent="gemini", model="mystery-9", input_tokens=5, output_tokens=5),
            run(
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
