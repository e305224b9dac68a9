"""Claude's 1-hour cache writes cost the 1-hour rate (issue 11): one rule, every reader.

Anthropic bills writes to the 1-hour prompt cache at twice the base input
rate and 5-minute writes at 1.25 times it. An event records all its cache
writes in ``cache_write_tokens`` and the 1-hour part of them in
``cache_write_1h_tokens`` (what the Claude Code importer reads from
``cache_creation.ephemeral_1h_input_tokens``). The dollar figures below are
worked out by hand from the shipped rates of claude-opus-4-5 (per million:
input $5, output $25, cache read $0.50, 5-minute write $6.25, 1-hour write $10).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from helpers import new_project, pricing_for_tests, spec_kitty, write_foreign
from sources_helpers import new_project as new_import_project, stage
from spec_kitty_telemetry import EventPricer
from spec_kitty_telemetry._catalogue import lookup
from spec_kitty_telemetry._records import execution_payload
from spec_kitty_telemetry.cost import cost_report
from spec_kitty_telemetry.errors import InvalidEventError, PricingError
from spec_kitty_telemetry.pricing import Pricing, load_pricing
from spec_kitty_telemetry.sources import import_sessions
from spec_kitty_telemetry.usage import lenient, problems

#: 200,000 uncached, 1,000,000 read, 800,000 written (600,000 of them for an hour), 100,000 out.
OPUS_WITH_HOUR_WRITES: dict[str, Any] = {
    "model": "claude-opus-4-5",
    "input_tokens": 2_000_000,
    "cache_read_tokens": 1_000_000,
    "cache_write_tokens": 800_000,
    "cache_write_1h_tokens": 600_000,
    "output_tokens": 100_000,
}
SHIPPED = Pricing(catalogue=False)


def _record(payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "event_id": "01JD0000000000000000000000",
        "event_type": "ExecutionEvent",
        "aggregate_id": "001-login",
        "timestamp": "2026-11-30T10:00:00+00:00",
        "lamport_clock": 1,
        "node_id": "n",
        "payload": {"agent": "claude", "role": "session", **payload},
    }


def test_one_hour_cache_writes_cost_the_one_hour_rate() -> None:
    """$11.25: 0.2M x $5 + 1M x $0.50 + 0.2M x $6.25 + 0.6M x $10 + 0.1M x $25.

    Priced as 5-minute writes, as before, the same event cost $9.00.
    """
    total = cost_report([_record(OPUS_WITH_HOUR_WRITES)], "feature", pricing=SHIPPED).total
    assert total.total_cost_usd == Decimal("11.25")
    assert total.estimated_event_count == 1
    assert total.cache_write_tokens == 800_000


def test_the_one_event_price_agrees_with_the_report() -> None:
    """``EventPricer`` (analytics' per-run price) counts the same $11.25."""
    price = EventPricer(SHIPPED)(_record(OPUS_WITH_HOUR_WRITES))
    assert price.cost_usd == Decimal("11.25")
    assert price.estimated


def test_the_lean_one_event_price_counts_one_hour_writes_too() -> None:
    """``EventPricer.cost`` (the real-time check's and analytics' lean path) counts $11.25 too."""
    price = EventPricer(SHIPPED).cost(_record(OPUS_WITH_HOUR_WRITES))
    assert price.cost_usd == Decimal("11.25")
    assert price.estimated


def test_long_context_one_hour_writes_pay_the_tier_rate() -> None:
    """A single request of claude-sonnet-4-5 over 200k input pays $12 per 1M 1-hour writes.

    300,000 input: 100,000 uncached x $6, 200,000 written (50,000 for an
    hour) -> 150,000 x $7.50 + 50,000 x $12; 10,000 out x $22.50:
    $0.60 + $1.125 + $0.60 + $0.225 = $2.55.
    """
    payload = {
        "model": "claude-sonnet-4-5",
        "input_tokens": 300_000,
        "cache_write_tokens": 200_000,
        "cache_write_1h_tokens": 50_000,
        "output_tokens": 10_000,
        "num_turns": 1,
    }
    total = cost_report([_record(payload)], "feature", pricing=SHIPPED).total
    assert total.total_cost_usd == Decimal("2.55")


def test_without_a_one_hour_rate_they_cost_the_five_minute_rate() -> None:
    """A table with no ``cache_write_1h`` prices them as 5-minute writes: no guess of 2x input.

    test-model: 10,000 input (5,000 uncached x $2, 1,000 read x $0.2, 4,000
    written x $2.5, 3,000 of them for an hour), 2,000 out x $10:
    $0.01 + $0.0002 + $0.01 + $0.02 = $0.0402.
    """
    payload = {
        "model": "test-model",
        "input_tokens": 10_000,
        "cache_read_tokens": 1_000,
        "cache_write_tokens": 4_000,
        "cache_write_1h_tokens": 3_000,
        "output_tokens": 2_000,
    }
    total = cost_report([_record(payload)], "feature", pricing=pricing_for_tests()).total
    assert total.total_cost_usd == Decimal("0.0402")
    assert total.to_dict()["cache_write_1h_at_5m_rate_tokens"] == 3_000  # said, not hidden
    priced = cost_report([_record(OPUS_WITH_HOUR_WRITES)], "feature", pricing=SHIPPED).total
    assert priced.cache_write_1h_at_5m_rate_tokens == 0


def test_the_cost_table_footnotes_writes_priced_at_the_five_minute_rate(tmp_path: Path) -> None:
    """A model the project prices without ``cache_write_1h``: the table says what that did."""
    root = new_project(tmp_path / "project")
    config = root / ".kittify" / "telemetry.yaml"
    config.parent.mkdir(exist_ok=True)
    config.write_text(
        "pricing:\n  models:\n    house-model: {input: 2, output: 10, cache_write: 2.5}\n"
    )
    write_foreign(root, "001-login", {**OPUS_WITH_HOUR_WRITES, "model": "house-model"})
    done = spec_kitty("agent", "telemetry", "cost", cwd=root, columns=200)
    assert done.returncode == 0, done.stderr.decode()
    assert (
        "600,000 1-hour cache write tokens were priced at the 5-minute write rate: the price "
        "table has no 1-hour rate for their model." in done.stdout.decode()
    )


@pytest.mark.parametrize(
    ("hour", "written"),
    [(900_000, 800_000), (5, None), (-1, 800_000), (True, 800_000), ("600000", 800_000)],
)
def test_a_one_hour_count_that_breaks_the_rule_leaves_the_event_unpriced(
    hour: object, written: object
) -> None:
    """Above the cache writes, without them, or not a count: invalid counts, never a guess."""
    payload = {**OPUS_WITH_HOUR_WRITES, "cache_write_1h_tokens": hour}
    payload["cache_write_tokens"] = written
    total = cost_report([_record(payload)], "feature", pricing=SHIPPED).total
    assert total.unpriced_event_count == 1
    assert total.unpriced_reasons == {"invalid_tokens": 1}
    assert total.total_cost_usd == Decimal(0)


def test_writers_refuse_or_drop_a_one_hour_count_above_the_cache_writes() -> None:
    """``emit``'s rule refuses it, naming both fields; the lenient rule drops both figures."""
    with pytest.raises(InvalidEventError, match=r"cache_write_1h_tokens \(900\) exceeds "):
        execution_payload(
            agent="claude",
            role="session",
            input_tokens=2000,
            cache_write_tokens=800,
            cache_write_1h_tokens=900,
        )
    payload = execution_payload(
        agent="claude",
        role="session",
        input_tokens=2000,
        cache_write_tokens=800,
        cache_write_1h_tokens=600,
    )
    assert (payload["cache_write_tokens"], payload["cache_write_1h_tokens"]) == (800, 600)
    figures = {"input_tokens": 2000, "cache_write_tokens": 800, "cache_write_1h_tokens": 900}
    [problem] = problems(figures)
    assert problem.fields == ("cache_write_tokens", "cache_write_1h_tokens")
    usage, notes = lenient(figures)
    assert (usage.input_tokens, usage.cache_write_tokens) == (2000, None)
    assert notes == [
        "cache_write_1h_tokens (900) exceeds cache_write_tokens (800), which must include "
        "them: cache write counts dropped"
    ]


def test_a_projects_rate_table_takes_a_one_hour_rate_and_names_a_bad_one(tmp_path: Path) -> None:
    """``pricing:`` overrides accept ``cache_write_1h``; a bad one is named by its key path."""
    config = tmp_path / ".kittify" / "telemetry.yaml"
    config.parent.mkdir()
    config.write_text(
        "pricing:\n  models:\n    test-model: {input: 2, output: 10, cache_write_1h: 4}\n"
    )
    rates = load_pricing(tmp_path, catalogue=False).rates("test-model")
    assert rates is not None
    assert rates.cache_write_1h == Decimal(4)
    config.write_text(
        "pricing:\n  models:\n    test-model: {input: 2, output: 10, cache_write_1h: x}\n"
    )
    with pytest.raises(PricingError, match=r"test-model\.cache_write_1h: rate must be a number"):
        load_pricing(tmp_path, catalogue=False)


def test_the_catalogue_gives_anthropics_one_hour_rates() -> None:
    """genai-prices lists ``cache_write_1h_mtok``: 2x input, per long-context tier too."""
    sonnet = lookup("claude-sonnet-4-5")
    assert sonnet is not None
    assert sonnet.cache_write_1h == Decimal(6)
    assert [tier.cache_write_1h for tier in sonnet.tiers] == [Decimal(12)]
    gpt = lookup("gpt-5")
    assert gpt is not None
    assert gpt.cache_write_1h is None


def test_imported_claude_code_hour_writes_are_priced_by_cost(tmp_path: Path) -> None:
    """The fixture's 11:00 response wrote 300 cache tokens, 200 for an hour: `cost` says so.

    claude-opus-4-5, 1,510 input (10 uncached x $5, 1,200 read x $0.50,
    100 5-minute writes x $6.25, 200 1-hour writes x $10), 40 out x $25:
    $0.004275 (the 5-minute rate would make it $0.003525).
    """
    root = new_import_project(tmp_path / "project", "001-login")
    sessions = stage("claude", tmp_path / "claude", root)
    import_sessions("claude-code", root, paths=[sessions], now=datetime(2026, 12, 2, tzinfo=UTC))
    done = spec_kitty(
        "agent",
        "telemetry",
        "cost",
        "--json",
        "--group-by",
        "model",
        "--since",
        "2026-11-30T11:00:00Z",
        "--until",
        "2026-11-30T12:00:00Z",
        cwd=root,
    )
    assert done.returncode == 0, done.stderr.decode()
    report = json.loads(done.stdout)
    [opus] = [row for row in report["summaries"] if row["group_key"] == "claude-opus-4-5"]
    assert opus["cache_write_tokens"] == 300
    assert Decimal(str(opus["estimated_cost_usd"])) == Decimal("0.004275")


def test_a_cli_cost_report_of_a_written_log_uses_the_one_hour_rate(tmp_path: Path) -> None:
    """`cost --json` over a real log holding the $11.25 event reports $11.25."""
    root = new_project(tmp_path / "project")
    write_foreign(root, "001-login", OPUS_WITH_HOUR_WRITES)
    done = spec_kitty("agent", "telemetry", "cost", "--json", cwd=root)
    assert done.returncode == 0, done.stderr.decode()
    assert Decimal(str(json.loads(done.stdout)["total"]["total_cost_usd"])) == Decimal("11.25")
