"""Pricing rules at their edges: free models, tier thresholds, the footnote's source names,
alias resolution and the spellings only a cloud platform uses."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from spec_kitty_telemetry import _catalogue
from spec_kitty_telemetry._model_names import AGENT_ALIASES
from spec_kitty_telemetry._rates import ModelRates, RateTier
from spec_kitty_telemetry.cost import cost_report
from spec_kitty_telemetry.errors import PricingError
from spec_kitty_telemetry.pricing import (
    Pricing,
    canonical_model_name,
    load_aliases,
    load_pricing,
    price_sources,
    shipped_table,
)


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test gets its own catalogue cache."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def write_config(root: Path, text: str) -> Path:
    path = root / ".kittify" / "telemetry.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_a_free_model_is_priced_at_zero_not_left_unpriced(tmp_path: Path):
    """A $0 rate (a local model) is a price: its runs cost $0 and count as estimated."""
    write_config(tmp_path, "pricing:\n  models:\n    local-llm: {input: 0, output: 0.0}\n")
    pricing = load_pricing(tmp_path, catalogue=False)
    rates = pricing.rates("local-llm")
    assert rates is not None
    assert (rates.input, rates.output, rates.cache_read, rates.cache_write) == (0, 0, 0, 0)
    record = {
        "event_type": "ExecutionEvent",
        "aggregate_id": "001-alpha",
        "timestamp": "2025-11-03T10:00:00+00:00",
        "payload": {"agent": "a", "model": "local-llm", "input_tokens": 10, "output_tokens": 1},
    }
    total = cost_report([record], pricing=pricing).total
    assert (total.estimated_event_count, total.unpriced_event_count) == (1, 0)
    assert total.total_cost_usd == 0
    assert total.cost_known


@pytest.mark.parametrize("rate", ["-0.01", "-1e-9", "inf", "'1,5'", "true", "[1]"])
def test_a_rate_below_zero_or_not_a_number_is_an_error_naming_the_key(tmp_path: Path, rate: str):
    """Only finite numbers >= 0 are rates; anything else names the file and the rate's key."""
    path = write_config(tmp_path, f"pricing:\n  models:\n    x: {{input: 1, output: {rate}}}\n")
    with pytest.raises(PricingError) as caught:
        load_pricing(tmp_path)
    assert str(caught.value).startswith(f"{path}: pricing.models.x.output: rate must be a number")


def test_rates_may_be_numeric_strings_and_floats_keep_their_decimal_value(tmp_path: Path):
    """'3.75' and 0.3 are read as exactly 3.75 and 0.3, not as binary floats."""
    write_config(
        tmp_path, "pricing:\n  models:\n    x: {input: ' 0.3 ', output: 3.75, cache_read: 0.1}\n"
    )
    rates = load_pricing(tmp_path, catalogue=False).rates("x")
    assert rates is not None
    assert (rates.input, rates.output, rates.cache_read) == (
        Decimal("0.3"),
        Decimal("3.75"),
        Decimal("0.1"),
    )
    assert rates.cache_write == Decimal("0.3")  # defaults to the input rate


def test_a_long_context_tier_applies_above_its_threshold_only(tmp_path: Path):
    """above_input_tokens: 0 is allowed; a request of exactly the threshold pays base rates."""
    write_config(
        tmp_path,
        "pricing:\n  models:\n"
        "    x: {input: 1, output: 2,\n"
        "        long_context: {above_input_tokens: 100, input: 10, output: 20}}\n"
        "    y: {input: 1, output: 1,\n"
        "        long_context: {above_input_tokens: 0, input: 5, output: 5}}\n",
    )
    pricing = load_pricing(tmp_path, catalogue=False)
    x = pricing.rates("x")
    assert x is not None
    [tier] = x.tiers
    assert tier == RateTier(100, Decimal(10), Decimal(20), Decimal(10), Decimal(10))
    assert (x.tier_for(100), x.tier_for(101)) == (0, 1)
    assert pricing.estimate("x", 100, 10) == Decimal("0.00012")
    assert pricing.estimate("x", 101, 10) == Decimal("0.00121")
    y = pricing.rates("y")
    assert y is not None
    assert (y.tier_for(0), y.tier_for(1)) == (0, 1)


@pytest.mark.parametrize("threshold", ["-1", "1.5", "true", "'100'"])
def test_a_tier_threshold_must_be_a_whole_number_from_zero(tmp_path: Path, threshold: str):
    """A negative, fractional, boolean or quoted threshold is an error naming its key."""
    path = write_config(
        tmp_path,
        "pricing:\n  models:\n"
        f"    x: {{input: 1, output: 2, long_context: {{above_input_tokens: {threshold},"
        " input: 2, output: 4}}\n",
    )
    with pytest.raises(PricingError) as caught:
        load_pricing(tmp_path)
    assert str(caught.value).startswith(
        f"{path}: pricing.models.x.long_context.above_input_tokens: must be a whole number >= 0"
    )


def test_with_several_tiers_the_highest_one_exceeded_applies():
    """Tiers ascend; a request pays the last tier whose threshold its input exceeds."""
    rates = ModelRates(
        Decimal(1),
        Decimal(1),
        Decimal(1),
        Decimal(1),
        tiers=(
            RateTier(10, Decimal(2), Decimal(2), Decimal(2), Decimal(2)),
            RateTier(20, Decimal(3), Decimal(3), Decimal(3), Decimal(3)),
        ),
    )
    assert [rates.tier_for(n) for n in (10, 11, 20, 21)] == [0, 1, 1, 2]
    assert rates.cost(21, 0) == Decimal(63) / 1_000_000
    assert rates.cost(21, 0, tier=1) == Decimal(42) / 1_000_000
    assert rates.cost(21, 0, tier=0) == Decimal(21) / 1_000_000


def test_cache_tokens_are_taken_out_of_the_input_and_priced_at_their_own_rates():
    """Uncached input = input - cache reads - cache writes; each part at its rate."""
    rates = ModelRates(Decimal(1), Decimal(100), Decimal("0.5"), Decimal(3))
    assert rates.cost(1_000, 10, 600, 300) == (
        Decimal(100) * 1 + Decimal(600) * Decimal("0.5") + Decimal(300) * 3 + 10 * 100
    ) / Decimal(1_000_000)


def test_the_footnote_names_each_price_layer_once_in_layer_order():
    """Project, shipped, catalogue: in that order, each named once, the model id dropped."""
    catalogue = _catalogue.catalogue_name()
    sources = [
        f"{catalogue} (anthropic claude-3-7-sonnet)",
        "shipped",
        f"{catalogue} (openai gpt-4o)",
        "project (/repo/.kittify/telemetry.yaml)",
        "test",
        "",
        "shipped",
    ]
    assert price_sources(sources) == [
        "project rates in /repo/.kittify/telemetry.yaml",
        f"shipped table of {shipped_table().last_updated}",
        catalogue,
        "test",
    ]
    assert price_sources(["project (unclosed"]) == ["project (unclosed"]
    assert price_sources(["custom (x)"]) == ["custom (x)"]
    assert price_sources([f"{catalogue} (m)", "aardvark"]) == [catalogue, "aardvark"]
    assert price_sources([]) == []


def test_a_report_names_the_catalogue_and_the_shipped_table_it_used():
    """The footnote of a report lists the layers behind its estimates, catalogue by version."""
    records = [
        {
            "event_type": "ExecutionEvent",
            "aggregate_id": "001-alpha",
            "timestamp": "2025-11-03T10:00:00+00:00",
            "payload": {"agent": "a", "model": model, "input_tokens": 10, "output_tokens": 1},
        }
        for model in ("claude-3-7-sonnet", "claude-sonnet-4-5")
    ]
    report = cost_report(records, pricing=Pricing())
    assert report.price_sources == [
        f"shipped table of {shipped_table().last_updated}",
        _catalogue.catalogue_name(),
    ]


def test_a_project_without_pricing_uses_the_agents_aliases(tmp_path: Path):
    """No pricing section: aliases are the agent CLIs' own, and rates the shipped table's."""
    assert load_aliases(None) == dict(AGENT_ALIASES)
    assert load_aliases(tmp_path) == dict(AGENT_ALIASES)
    write_config(tmp_path, "node_id: x\n")
    assert load_aliases(tmp_path) == dict(AGENT_ALIASES)
    pricing = load_pricing(tmp_path, catalogue=False)
    assert pricing.rates("sonnet") == shipped_table().models["claude-sonnet-4-5"]
    assert pricing.overrides == {}


def test_project_aliases_resolve_to_their_final_model(tmp_path: Path):
    """A project's chain of aliases resolves fully; the agents' aliases stay unless replaced."""
    write_config(
        tmp_path,
        "pricing:\n  aliases:\n    big: opus\n    opus: claude-opus-4-1\n    Fast: haiku\n",
    )
    aliases = load_aliases(tmp_path)
    assert aliases["big"] == "claude-opus-4-1"
    assert aliases["opus"] == "claude-opus-4-1"
    assert aliases["fast"] == "claude-haiku-4-5"
    assert aliases["sonnet"] == "claude-sonnet-4-5"


@pytest.mark.parametrize(
    "section", ["pricing:\n  aliases: [a]\n", "pricing:\n  aliases:\n    a: 3\n"]
)
def test_malformed_aliases_are_errors_naming_the_file(tmp_path: Path, section: str):
    """Aliases must be a mapping of names to names; the error names the file and key."""
    path = write_config(tmp_path, section)
    with pytest.raises(PricingError) as caught:
        load_aliases(tmp_path)
    assert str(caught.value).startswith(f"{path}: pricing.aliases")


def test_a_pricing_layer_is_asked_once_per_model_and_misses_are_remembered():
    """Rates are cached per canonical name, unknown models included (every spelling at once)."""
    pricing = Pricing(shipped={}, catalogue=False)
    assert pricing.rates("mystery-9") is None
    pricing.shipped["mystery-9"] = ModelRates(Decimal(1), Decimal(1), Decimal(1), Decimal(1))
    assert pricing.rates("Mystery-9") is None  # the miss was remembered for the model
    cheap_cache = ModelRates(Decimal(1), Decimal(2), Decimal("0.5"), Decimal(4))
    fresh = Pricing(shipped={"m": cheap_cache}, catalogue=False)
    assert fresh.estimate("M", 1_000_000, 0) == Decimal(1)  # no cache tokens unless given
    assert fresh.estimate("M", 1_000_000, 0, 1_000_000) == Decimal("0.5")
    assert fresh.estimate("M", 1_000_000, 0, 0, 1_000_000) == Decimal(4)
    assert fresh.estimate("mystery-9", 1, 1) is None


def test_overrides_win_over_the_shipped_table_and_the_catalogue_is_optional():
    """The first layer that knows a model answers; without the catalogue, unknowns are None."""
    own = ModelRates(Decimal(9), Decimal(9), Decimal(9), Decimal(9), source="mine")
    pricing = Pricing({"claude-sonnet-4-5": own}, catalogue=False)
    assert pricing.rates("sonnet") == own
    assert pricing.rates("claude-haiku-4-5") == shipped_table().models["claude-haiku-4-5"]
    assert pricing.rates("claude-3-7-sonnet") is None
    assert Pricing().rates("claude-3-7-sonnet") is not None


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("claude-sonnet-4-0", "claude-sonnet-4"),
        ("claude-opus-4-0", "claude-opus-4"),
        ("anthropic.claude-3-haiku-20240307-v1", "claude-3-haiku"),
        ("eu.anthropic.claude-sonnet-4-5:0", "claude-sonnet-4-5"),
        ("deepseek-r1:7", "deepseek-r1:7"),  # no cloud prefix: the suffix is the name's
        ("-latest", "-latest"),  # nothing but the suffix: left as it is
        ("gpt-4o@2024-05-13@x", "gpt-4o"),
        ("a/b/claude-3.5-haiku", "claude-3-5-haiku"),
    ],
)
def test_platform_spellings_and_edge_cases_of_model_names(raw: str, canonical: str):
    """Cloud platforms' version suffixes go only after their prefix; odd names stay intact."""
    assert canonical_model_name(raw) == canonical


def test_rates_and_the_shipped_table_cannot_be_changed_by_a_caller():
    """Rates are shared by every report of a process (cached), so they are immutable."""
    rates = shipped_table().models["claude-sonnet-4-5"]
    with pytest.raises(AttributeError):
        rates.input = Decimal(0)  # type: ignore[misc]
    with pytest.raises(AttributeError):
        shipped_table().last_updated = None  # type: ignore[misc,assignment]
    tier = RateTier(1, Decimal(1), Decimal(1), Decimal(1), Decimal(1))
    with pytest.raises(AttributeError):
        tier.input = Decimal(0)  # type: ignore[misc]


def test_the_catalogue_is_the_default_last_layer(tmp_path: Path):
    """load_pricing and Pricing consult genai-prices unless told not to."""
    assert load_pricing(tmp_path).rates("claude-3-7-sonnet") is not None
    assert load_pricing().rates("claude-3-7-sonnet") is not None
    assert load_pricing(tmp_path, catalogue=False).rates("claude-3-7-sonnet") is None


def test_a_cycle_in_aliases_given_in_python_names_the_aliases_setting():
    """Pricing(aliases=...) with a loop raises PricingError under 'pricing.aliases'."""
    with pytest.raises(
        PricingError, match=r"^pricing\.aliases: aliases form a cycle: a -> b -> a$"
    ):
        Pricing(aliases={"a": "b", "b": "a"}, catalogue=False)


@pytest.mark.parametrize("key", ["''", "'  '", "3"])
def test_a_model_key_must_be_a_non_empty_name(tmp_path: Path, key: str):
    """An empty, blank or numeric model key in pricing.models is an error naming it."""
    path = write_config(tmp_path, f"pricing:\n  models:\n    {key}: {{input: 1, output: 1}}\n")
    with pytest.raises(PricingError) as caught:
        load_pricing(tmp_path)
    assert str(caught.value).startswith(f"{path}: pricing.models.")
    assert str(caught.value).endswith(": model name must be a non-empty string")


def test_an_absent_rate_table_is_an_empty_one():
    """No models: section (None) parses to no rates, and no aliases section to no aliases."""
    from spec_kitty_telemetry._rates import parse_aliases, parse_rate_table

    assert parse_rate_table(None, "where", "source") == {}
    assert parse_aliases(None, "where") == {}


@pytest.mark.parametrize(
    "text",
    ["models: {}\n", "last_updated: soon\nmodels: {}\n", "- 1\n", "last_updated: [2025-01-01\n"],
)
def test_a_damaged_shipped_table_is_an_error_naming_it(tmp_path: Path, text: str):
    """A shipped table without a date (or not YAML) stops pricing with one line naming the file."""
    import shutil
    import subprocess
    import sys

    import spec_kitty_telemetry

    package = tmp_path / "spec_kitty_telemetry"
    shutil.copytree(Path(spec_kitty_telemetry.__file__).parent, package)
    (package / "_pricing.yaml").write_text(text)
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from spec_kitty_telemetry.pricing import shipped_table\nshipped_table()",
        ],
        env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    [error] = [
        line
        for line in result.stderr.splitlines()
        if line.startswith("spec_kitty_telemetry.errors.PricingError: ")
    ]
    assert f"{package / '_pricing.yaml'}: " in error
    assert "expected last_updated (a date) and models" in error or "cannot read" in error
