"""The usage model (usage.py): one definition of the figures, held by every writer and reader."""

from __future__ import annotations

import ast
import json
from dataclasses import fields
from pathlib import Path

import pytest

from helpers import agent, log_records, spec_kitty
from spec_kitty_telemetry.integration import InvocationResult, record_invocation

FEATURE = "001-login"
pytestmark = pytest.mark.usefixtures("feature_folder")
SRC = Path(__file__).resolve().parents[1] / "src" / "spec_kitty_telemetry"


def payloads(project: Path) -> list[dict]:
    return [record["payload"] for record in log_records(project / "kitty-specs" / FEATURE)]


def test_record_invocation_keeps_the_run_when_the_cost_is_beyond_the_bound(project: Path) -> None:
    """A cost of 2e9 goes (with a usage_error note); the invocation and its tokens are recorded."""
    result = InvocationResult(
        agent="claude", role="implementer", input_tokens=10, output_tokens=2, cost_usd=2e9
    )
    record = record_invocation(project / "kitty-specs" / FEATURE, FEATURE, result)
    assert record is not None
    [payload] = payloads(project)
    assert (payload["cost_usd"], payload["input_tokens"], payload["output_tokens"]) == (None, 10, 2)
    assert payload["usage_error"] == (
        "cost_usd 2000000000.0 is not a finite amount from 0 to under 1e+09: dropped"
    )
    assert result.cost_usd == 2e9  # the caller's result is left as it was


def test_run_keeps_a_claude_invocation_that_reports_an_absurd_cost(project: Path) -> None:
    """Claude's total_cost_usd of 5e9: dropped with a note, the run recorded at its models' cost."""
    command = agent("claude", "-p", "x", "--output-format", "json", "--fake-total-cost", "5e9")
    done = spec_kitty(
        "agent",
        "telemetry",
        "run",
        "--feature",
        FEATURE,
        "--role",
        "implementer",
        "--",
        *command,
        cwd=project,
    )
    assert done.returncode == 0, done.stderr
    [payload] = payloads(project)
    assert payload["agent"] == "claude"
    assert payload["input_tokens"] == 25120
    assert payload["cost_usd"] == 0.1134  # modelUsage's own costUSD, not the garbage total
    assert payload["usage_error"] == (
        "total_cost_usd 5000000000.0 is not a finite amount from 0 to under 1e+09: dropped"
    )


def _emit_cost(project: Path, cost: str):
    return spec_kitty(
        "agent",
        "telemetry",
        "emit",
        "--feature",
        FEATURE,
        "--role",
        "reviewer",
        "--agent",
        "claude",
        "--cost-usd",
        cost,
        "--json",
        cwd=project,
    )


def _cost_report(project: Path) -> dict:
    done = spec_kitty("agent", "telemetry", "cost", "--json", "--repo", str(project), cwd=project)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["total"]


def test_emit_and_cost_agree_on_the_cost_bound(project: Path) -> None:
    """The bound is exclusive for both: emit refuses 1e9 and cost flags it; just under is money.

    The 1e9 line is written as another tool would write it, since emit refuses it.
    """
    refused = _emit_cost(project, "1e9")
    assert refused.returncode == 2
    assert refused.stderr.decode() == (
        "Error: argument --cost-usd: expected an amount from 0 to under 1e+09, got '1e9'\n"
    )
    assert payloads(project) == []
    just_under = 999_999_999.5
    accepted = _emit_cost(project, repr(just_under))
    assert accepted.returncode == 0, accepted.stderr
    total = _cost_report(project)
    assert total["reported_cost_usd"] == just_under
    assert total["invalid_cost_event_count"] == 0
    log = project / "kitty-specs" / FEATURE / "execution.events.jsonl"
    record = json.loads(log.read_text().splitlines()[0])
    record["payload"]["cost_usd"] = 1e9
    record["event_id"] = "01M8SVQ30Y527QFR0EJ8603GAZ"
    with log.open("a") as out:
        out.write(json.dumps(record, sort_keys=True) + "\n")
    total = _cost_report(project)
    assert total["reported_cost_usd"] == just_under
    assert total["invalid_cost_event_count"] == 1


def test_emit_accepts_every_stored_figure_cost_counts_and_refuses_what_cost_flags(
    project: Path,
) -> None:
    """Reasoning above output: emit refuses it, and cost flags such a line from another tool."""
    bad = spec_kitty(
        "agent",
        "telemetry",
        "emit",
        "--feature",
        FEATURE,
        "--role",
        "reviewer",
        "--agent",
        "codex",
        "--model",
        "gpt-5-codex",
        "--input-tokens",
        "10",
        "--output-tokens",
        "5",
        "--reasoning-tokens",
        "9",
        cwd=project,
    )
    assert bad.returncode == 2
    assert "reasoning_tokens (9) exceed output_tokens (5)" in bad.stderr.decode()
    good = spec_kitty(
        "agent",
        "telemetry",
        "emit",
        "--feature",
        FEATURE,
        "--role",
        "reviewer",
        "--agent",
        "codex",
        "--model",
        "gpt-5-codex",
        "--input-tokens",
        "10",
        "--output-tokens",
        "9",
        "--reasoning-tokens",
        "9",
        cwd=project,
    )
    assert good.returncode == 0, good.stderr
    assert _cost_report(project)["unpriced_reasons"] == {}
    log = project / "kitty-specs" / FEATURE / "execution.events.jsonl"
    record = json.loads(log.read_text().splitlines()[0])
    record["payload"]["reasoning_tokens"] = 10
    record["event_id"] = "01M8SVQ30Y527QFR0EJ8603GAZ"
    with log.open("a") as out:
        out.write(json.dumps(record, sort_keys=True) + "\n")
    assert _cost_report(project)["unpriced_reasons"] == {"invalid_tokens": 1}


def test_a_claude_figure_that_is_not_a_count_is_noted_when_recorded(project: Path) -> None:
    """A negative cost and a string count from Claude: None, and usage_error names both."""
    from spec_kitty_telemetry.agent_usage import parse_agent_output

    usage = parse_agent_output(
        '{"type":"result","subtype":"success","total_cost_usd":-2,'
        '"usage":{"input_tokens":5,"output_tokens":"12"}}'
    )
    assert usage is not None
    assert (usage.input_tokens, usage.output_tokens, usage.cost_usd) == (5, None, None)
    result = InvocationResult(agent="claude", role="implementer")
    result.apply_usage(usage)
    assert record_invocation(project / "kitty-specs" / FEATURE, FEATURE, result) is not None
    [payload] = payloads(project)
    assert payload["usage_error"] == (
        "total_cost_usd -2 is not a finite amount from 0 to under 1e+09: dropped; "
        "usage.output_tokens '12' is not a whole number in 0..2**63-1: dropped"
    )


# Our field names as string literals outside usage.py, and why each is not a second definition.
_ALLOWED = {
    # Claude's usage block and Codex's turn usage use these words as their own keys.
    "agent_usage.py": {"input_tokens", "output_tokens"},
    # The same keys in Claude Code's session lines and Codex's rollout token counts.
    "sources/claude_code.py": {"input_tokens", "output_tokens"},
    "sources/codex.py": {"input_tokens", "output_tokens"},
    # The timeline's JSON columns: a report's keys, filled from the cost fold's totals.
    "lifecycle.py": {"input_tokens", "output_tokens", "cost_usd"},
    # Claude Code's OpenTelemetry api_request attributes are named with these words.
    "server/otlp.py": {"input_tokens", "output_tokens", "cache_read_tokens", "cost_usd"},
}


def test_usage_field_names_are_declared_in_one_module() -> None:
    """No module but usage.py spells a usage field name as a string (the grep check, by AST)."""
    from spec_kitty_telemetry.usage import USAGE_FIELDS

    found: dict[str, set[str]] = {}
    for path in sorted(SRC.rglob("*.py")):
        relative = path.relative_to(SRC).as_posix()
        if relative == "usage.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(), relative)):
            if isinstance(node, ast.Constant) and node.value in USAGE_FIELDS:
                found.setdefault(relative, set()).add(node.value)
    assert found == _ALLOWED


def test_every_usage_type_has_the_fields_of_the_usage_model() -> None:
    """Usage, ExecutionPayload and InvocationResult carry exactly USAGE_FIELDS as usage figures."""
    from spec_kitty_telemetry.agent_usage import AgentUsage, ModelUsage
    from spec_kitty_telemetry.events import ExecutionPayload
    from spec_kitty_telemetry.usage import TOKEN_FIELDS, USAGE_FIELDS, Usage

    assert tuple(field.name for field in fields(Usage)) == USAGE_FIELDS
    assert tuple(field.name for field in fields(ModelUsage)) == USAGE_FIELDS
    assert {field.name for field in fields(AgentUsage)} >= set(USAGE_FIELDS)
    declared = list(ExecutionPayload.model_fields)
    assert [name for name in declared if name.endswith("_tokens")] == list(TOKEN_FIELDS)
    assert "cost_usd" in declared
    result = {field.name for field in fields(InvocationResult)}
    assert {name for name in result if name.endswith("_tokens") or name == "cost_usd"} == set(
        USAGE_FIELDS
    )


@pytest.mark.parametrize(
    ("figures", "dropped"),
    [
        ({"input_tokens": 2**63}, {"input_tokens"}),
        ({"input_tokens": True}, {"input_tokens"}),
        ({"cost_usd": float("nan")}, {"cost_usd"}),
        ({"cost_usd": 1e9}, {"cost_usd"}),
        ({"input_tokens": 3, "cache_write_tokens": 4}, {"input_tokens", "cache_write_tokens"}),
        ({"output_tokens": 1, "reasoning_tokens": 2}, {"output_tokens", "reasoning_tokens"}),
    ],
)
def test_strict_refuses_what_lenient_drops_and_readers_reject(
    figures: dict, dropped: set[str]
) -> None:
    """The three ways of applying the rules agree on every bad figure."""
    from spec_kitty_telemetry.errors import InvalidEventError
    from spec_kitty_telemetry.usage import (
        COST_FIELD,
        TOKEN_FIELDS,
        counts_valid,
        is_cost,
        lenient,
        strict,
    )

    with pytest.raises(InvalidEventError):
        strict(figures)
    kept, notes = lenient(figures)
    assert {name for name, value in kept.to_dict().items() if value is None} >= dropped
    assert all(kept.to_dict()[name] is None for name in dropped)
    assert len(notes) == 1
    if COST_FIELD in dropped:
        assert not is_cost(figures[COST_FIELD])
    else:
        assert not counts_valid(*(figures.get(name) for name in TOKEN_FIELDS))


def test_the_count_rule_takes_the_token_fields_and_decides_every_named_relation() -> None:
    """counts_valid's parameters are TOKEN_FIELDS in order, then the 1-hour cache writes.

    It decides every RELATIONS entry, and that 1-hour writes fit within the
    cache writes, which (unlike the totals of RELATIONS) must be known.
    """
    import inspect

    from spec_kitty_telemetry.usage import (
        CACHE_WRITE_1H_FIELD,
        RELATIONS,
        TOKEN_FIELDS,
        counts_valid,
    )

    assert tuple(inspect.signature(counts_valid).parameters) == (
        *TOKEN_FIELDS,
        CACHE_WRITE_1H_FIELD,
    )
    assert counts_valid(cache_write_tokens=4, cache_write_1h_tokens=4)
    assert not counts_valid(cache_write_tokens=4, cache_write_1h_tokens=5)
    assert not counts_valid(cache_write_1h_tokens=1)
    assert counts_valid(cache_write_1h_tokens=0)
    for relation in RELATIONS:
        fits = {relation.total: 4, **dict.fromkeys(relation.parts, 2)}
        assert counts_valid(**fits)
        assert not counts_valid(**{**fits, relation.parts[0]: 5})
        assert counts_valid(**{**fits, relation.total: None, relation.parts[0]: 5})
