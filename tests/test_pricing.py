"""Pricing: model-name normalisation, the three layers, and validation of rate tables."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from spec_kitty_telemetry import _catalogue
from spec_kitty_telemetry.errors import PricingError, TelemetryError
from spec_kitty_telemetry.pricing import Pricing, canonical_model_name, load_pricing, shipped_table


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test gets its own catalogue cache, so it asks genai-prices itself."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("claude-sonnet-4-5", "claude-sonnet-4-5"),
        ("claude-sonnet-4.5", "claude-sonnet-4-5"),
        ("Claude-Sonnet-4.5", "claude-sonnet-4-5"),
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
        ("anthropic/claude-sonnet-4-5", "claude-sonnet-4-5"),
        ("openrouter/anthropic/claude-sonnet-4.5", "claude-sonnet-4-5"),
        ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5"),
        ("claude-3-5-sonnet@20240620", "claude-3-5-sonnet"),
        ("claude-3.5-haiku", "claude-3-5-haiku"),
        ("sonnet", "claude-sonnet-4-5"),
        ("opus", "claude-opus-4-5"),  # Claude Code's alias since Opus 4.5 (2025-11-24)
        ("sonnet[1m]", "claude-sonnet-4-5"),  # Claude Code's 1M-context marker
        ("anthropic:claude-sonnet-4.5", "claude-sonnet-4-5"),
        ("claude-3-7-sonnet-latest", "claude-3-7-sonnet"),
        ("us.anthropic.claude-opus-4-1-20250805-v1:0", "claude-opus-4-1"),
        ("bedrock/anthropic.claude-3-5-haiku-20241022-v1:0", "claude-3-5-haiku"),
        ("haiku", "claude-haiku-4-5"),
        ("claude-opus-4-0", "claude-opus-4"),
        ("gpt-4.1", "gpt-4.1"),  # other vendors keep their dots
        ("openai/gpt-4.1-2025-04-14", "gpt-4.1"),
        ("models/gemini-2.5-pro", "gemini-2.5-pro"),
        ("  GPT-5-Codex ", "gpt-5-codex"),
    ],
)
def test_canonical_model_names(raw: str, canonical: str):
    """Every spelling an agent may report maps to one canonical name."""
    assert canonical_model_name(raw) == canonical


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("deepseek-v3", "deepseek-v3"),
        ("deepseek-v2", "deepseek-v2"),
        ("qwen2.5-coder:32", "qwen2.5-coder:32"),
        ("ollama/llama3:70", "llama3:70"),
        ("mistral-large-v2", "mistral-large-v2"),
        ("qwen3:8b", "qwen3:8b"),
    ],
)
def test_version_suffixes_that_belong_to_the_name_stay(raw: str, canonical: str):
    """Only Bedrock's -v1:0, or a suffix after a cloud prefix, is dropped; model versions stay."""
    assert canonical_model_name(raw) == canonical
    assert canonical_model_name("deepseek-v3") != canonical_model_name("deepseek-v2")


def test_shipped_table_has_a_date_and_cache_aware_rates():
    """The shipped table is dated, and lists cache rates apart from input rates."""
    table = shipped_table()
    assert isinstance(table.last_updated, date)
    sonnet = table.models["claude-sonnet-4-5"]
    assert (sonnet.input, sonnet.output, sonnet.cache_read, sonnet.cache_write) == (
        Decimal(3),
        Decimal(15),
        Decimal("0.3"),
        Decimal("3.75"),
    )
    assert sonnet.tiers[0].above_input_tokens == 200_000
    # A vendor without cache-write pricing bills cache writes as input.
    assert table.models["gpt-5"].cache_write == table.models["gpt-5"].input


def test_shipped_table_agrees_with_the_catalogue():
    """Where both list a model, shipped rates equal genai-prices' (a typo guard).

    The one known difference: the catalogue lacks Sonnet 4's long-context tier.
    """
    for name, shipped in shipped_table().models.items():
        catalogued = _catalogue.lookup(name)
        assert catalogued is not None, name
        assert (shipped.input, shipped.output, shipped.cache_read, shipped.cache_write) == (
            catalogued.input,
            catalogued.output,
            catalogued.cache_read,
            catalogued.cache_write,
        ), name
        if name != "claude-sonnet-4":
            assert [t.above_input_tokens for t in shipped.tiers] == [
                t.above_input_tokens for t in catalogued.tiers
            ], name


def test_catalogue_prices_models_the_shipped_table_lacks():
    """claude-3-7-sonnet is not shipped; the genai-prices layer prices it, and says so."""
    pricing = Pricing()
    rates = pricing.rates("claude-3.7-sonnet")
    assert rates is not None
    assert (rates.input, rates.output) == (Decimal(3), Decimal(15))
    assert rates.source.startswith(f"{_catalogue.catalogue_name()} (")
    assert _catalogue.catalogue_name().startswith("genai-prices 0.2.")  # the pinned minor
    assert pricing.estimate("claude-3-7-sonnet", 1_000, 100) == Decimal("0.0045")


def test_catalogue_tiers_become_rate_tiers():
    """The adapter carries the catalogue's long-context tier over (Sonnet 4.5: $6 above 200k)."""
    rates = _catalogue.lookup("claude-sonnet-4-5")
    assert rates is not None
    [tier] = rates.tiers
    assert (tier.above_input_tokens, tier.input, tier.output) == (200_000, 6, Decimal("22.5"))
    assert rates.cost(200_001, 0) == Decimal("1.200006")


def test_unknown_model_has_no_rates():
    """A model no layer knows gets None, never zero rates."""
    pricing = Pricing()
    assert pricing.rates("mystery-model-9000") is None
    assert pricing.estimate("mystery-model-9000", 1_000, 1_000) is None
    assert Pricing(catalogue=False).rates("claude-3-7-sonnet") is None


def _write_config(root: Path, text: str) -> Path:
    path = root / ".kittify" / "telemetry.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_overrides_win_and_add_models_and_aliases(tmp_path: Path):
    """Project rates replace shipped ones, price private models, and define aliases."""
    _write_config(
        tmp_path,
        "node_id: laptop\n"
        "pricing:\n"
        "  models:\n"
        "    claude-sonnet-4.5: {input: 2, output: '10', cache_read: 0.2}\n"
        "    in-house-llm: {input: 0.5, output: 1.5}\n"
        "  aliases:\n"
        "    big: claude-opus-4-1\n",
    )
    pricing = load_pricing(tmp_path)
    sonnet = pricing.rates("sonnet")
    assert sonnet is not None
    assert (sonnet.input, sonnet.output, sonnet.cache_read, sonnet.cache_write) == (
        Decimal(2),
        Decimal(10),
        Decimal("0.2"),
        Decimal(2),  # cache writes default to the input rate
    )
    assert sonnet.source.startswith("project (")
    assert pricing.estimate("in-house-llm", 1_000_000, 1_000_000) == Decimal(2)
    assert pricing.canonical("big") == "claude-opus-4-1"
    assert pricing.rates("claude-opus-4-1") is not None


def test_missing_overrides_file_is_fine(tmp_path: Path):
    """A project without .kittify/telemetry.yaml uses the shipped table."""
    assert (
        load_pricing(tmp_path).rates("claude-sonnet-4-5")
        == shipped_table().models["claude-sonnet-4-5"]
    )


@pytest.mark.parametrize(
    ("section", "message"),
    [
        (
            "pricing:\n  models:\n    claude-x: {input: -1, output: 2}\n",
            "pricing.models.claude-x.input: rate must be a number >= 0 "
            "(USD per million tokens), got -1",
        ),
        (
            "pricing:\n  models:\n    claude-x: {input: cheap, output: 2}\n",
            "pricing.models.claude-x.input: rate must be a number >= 0 "
            "(USD per million tokens), got 'cheap'",
        ),
        (
            "pricing:\n  models:\n    claude-x: {input: .nan, output: 2}\n",
            "pricing.models.claude-x.input: rate must be a number >= 0 "
            "(USD per million tokens), got nan",
        ),
        (
            "pricing:\n  models:\n    claude-x: {input: 1}\n",
            "pricing.models.claude-x.output: missing (USD per million tokens)",
        ),
        (
            "pricing:\n  models:\n    claude-x: {input: 1, output: 2, cached: 1}\n",
            "pricing.models.claude-x: unknown key 'cached' "
            "(expected input, output, cache_read, cache_write, cache_write_1h, long_context)",
        ),
        (
            "pricing:\n  models: [claude-x]\n",
            "pricing.models: expected a mapping of model name to rates",
        ),
        ("pricing: 3\n", "pricing: expected a mapping with models and aliases"),
        ("pricing:\n  model: {}\n", "pricing: unknown key 'model' (expected models, aliases)"),
        (
            "pricing:\n  models:\n"
            "    x: {input: 1, output: 1, long_context: {input: 2, output: 2}}\n",
            "pricing.models.x.long_context.above_input_tokens: must be a whole number >= 0, "
            "got None",
        ),
    ],
)
def test_bad_overrides_name_the_file_and_key(tmp_path: Path, section: str, message: str):
    """Malformed pricing raises PricingError: '<file>: <key path>: <problem>'."""
    path = _write_config(tmp_path, section)
    with pytest.raises(PricingError) as caught:
        load_pricing(tmp_path)
    assert str(caught.value) == f"{path}: {message}"
    assert isinstance(caught.value, TelemetryError)


def test_malformed_yaml_is_one_line_naming_the_file_line_and_column(tmp_path: Path):
    """An overrides file that is not YAML is a one-line TelemetryError: file, line, column."""
    path = _write_config(tmp_path, "node_id: a\npricing:\n  models: x\n    y: 2\n")
    with pytest.raises(TelemetryError) as caught:
        load_pricing(tmp_path)
    # The colon after `    y` (line 4, column 6) cannot start a mapping inside a scalar.
    assert str(caught.value) == (
        f"{path}: not valid YAML at line 4, column 6: mapping values are not allowed here"
    )


def test_overrides_are_read_through_aliases(tmp_path: Path):
    """`sonnet:` in pricing.models sets claude-sonnet-4-5's rates; project aliases chain."""
    _write_config(
        tmp_path,
        "pricing:\n"
        "  models:\n"
        "    sonnet: {input: 1, output: 5}\n"
        "    big: {input: 7, output: 7}\n"
        "  aliases:\n"
        "    big: opus\n"
        "    opus: claude-opus-4-1\n",
    )
    pricing = load_pricing(tmp_path)
    sonnet = pricing.rates("claude-sonnet-4.5")
    assert sonnet is not None
    assert (sonnet.input, sonnet.output) == (1, 5)
    assert pricing.canonical("big") == "claude-opus-4-1"
    opus = pricing.rates("claude-opus-4-1")
    assert opus is not None
    assert opus.input == 7
    assert pricing.rates("claude-opus-4-5") == shipped_table().models["claude-opus-4-5"]


@pytest.mark.parametrize(
    ("section", "message"),
    [
        (
            "pricing:\n  models:\n    sonnet: {input: 1, output: 5}\n"
            "    claude-sonnet-4.5: {input: 2, output: 6}\n",
            "pricing.models: 'sonnet' and 'claude-sonnet-4.5' both name the model "
            "'claude-sonnet-4-5'; keep one",
        ),
        (
            "pricing:\n  aliases:\n    a: b\n    b: c\n    c: a\n",
            "pricing.aliases: aliases form a cycle: a -> b -> c -> a",
        ),
        (
            "pricing:\n  aliases:\n    claude-sonnet-4-5: sonnet\n",
            "pricing.aliases: aliases form a cycle: sonnet -> claude-sonnet-4-5 -> sonnet",
        ),
    ],
)
def test_duplicate_override_keys_and_alias_cycles_are_errors(
    tmp_path: Path, section: str, message: str
):
    """Two keys for one model, or aliases that loop, raise PricingError naming the keys."""
    path = _write_config(tmp_path, section)
    with pytest.raises(PricingError) as caught:
        load_pricing(tmp_path)
    assert str(caught.value) == f"{path}: {message}"


def test_bad_pricing_does_not_break_reading_the_node_id(tmp_path: Path):
    """The emitter reads node_id from the same file; a bad rate must not stop it."""
    from spec_kitty_telemetry.config import load_config

    _write_config(tmp_path, "node_id: ci\npricing:\n  models:\n    x: {input: -1}\n")
    assert load_config(tmp_path).node_id == "ci"


_LOOKUP_IN_FRESH_PROCESS = """
import json, sys
from spec_kitty_telemetry import _catalogue
rates = _catalogue.lookup("claude-3-7-sonnet")
unlisted = _catalogue.lookup("mystery-model-9000")
print(json.dumps([str(rates.input), str(rates.output), rates.source, unlisted is None,
                  "genai_prices" in sys.modules]))
"""


def _fresh_lookup(cache: Path) -> list[object]:
    env = {"XDG_CACHE_HOME": str(cache), "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-c", _LOOKUP_IN_FRESH_PROCESS],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out)


def test_catalogue_answers_are_cached_so_later_reports_skip_the_import(private_cache: Path):
    """The first process imports genai-prices; the next one answers from the cache file."""
    first = _fresh_lookup(private_cache)
    assert first[:4] == [
        "3",
        "15",
        f"{_catalogue.catalogue_name()} (claude-3-7-sonnet-latest)",
        True,
    ]
    assert first[4] is True  # imported
    second = _fresh_lookup(private_cache)
    assert second == [*first[:4], False]  # same answers, no import
    assert len(list((private_cache / "spec-kitty-telemetry").glob("catalogue-*.json"))) == 1


def test_a_damaged_cache_is_ignored(private_cache: Path):
    """A cache file that is not JSON, or an entry that is not rates, means asking again."""
    _fresh_lookup(private_cache)
    [path] = (private_cache / "spec-kitty-telemetry").glob("catalogue-*.json")
    document = json.loads(path.read_text())
    document["entries"]["claude-3-7-sonnet"] = {"input": "three"}
    path.write_text(json.dumps(document))
    assert _fresh_lookup(private_cache)[:2] == ["3", "15"]
    path.write_text("{torn")
    assert _fresh_lookup(private_cache)[:2] == ["3", "15"]


def test_two_installs_keep_their_own_catalogue_answers(tmp_path: Path, private_cache: Path):
    """Two installed copies (each with its own genai-prices) answering in turn: neither evicts
    the other's cached answers, so the third lookup imports nothing."""
    import shutil

    import genai_prices

    import spec_kitty_telemetry

    installs = []
    for name in ("one", "two"):
        site = tmp_path / name
        for module in (spec_kitty_telemetry, genai_prices):
            source = Path(module.__file__).parent
            shutil.copytree(source, site / source.name, ignore=shutil.ignore_patterns("*.pyc"))
        installs.append(site)

    def lookup(site: Path) -> list[object]:
        env = {"XDG_CACHE_HOME": str(private_cache), "PATH": "/usr/bin:/bin"}
        env["PYTHONPATH"] = f"{site}:{':'.join(p for p in sys.path if 'site-packages' in p)}"
        done = subprocess.run(
            [sys.executable, "-c", _LOOKUP_IN_FRESH_PROCESS],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        return json.loads(done.stdout)

    assert lookup(installs[0])[4] is True
    assert lookup(installs[1])[4] is True
    assert lookup(installs[0])[4] is False
