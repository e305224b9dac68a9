"""Usage extraction from each agent CLI's output format."""

from __future__ import annotations

import json
import subprocess

import pytest

from helpers import agent
from spec_kitty_telemetry.agent_usage import (
    AgentUsage,
    ModelUsage,
    UsageCollector,
    parse_agent_output,
)


def output_of(*command: str) -> bytes:
    return subprocess.run(list(command), capture_output=True, check=False).stdout


SONNET = "claude-sonnet-4-5-20250929"
HAIKU = "claude-haiku-4-5-20251001"
#: The ``session_id`` the fake Claude Code prints in its result.
FAKE_SESSION = "5f0c9e43-0000-4000-8000-000000000000"
SONNET_USAGE = ModelUsage(
    input_tokens=25120,  # 120 uncached + 20000 cache read + 5000 cache write
    output_tokens=900,
    cache_read_tokens=20000,
    cache_write_tokens=5000,
    cost_usd=0.1134,
)


def test_claude_json_input_tokens_include_cache_reads_and_writes() -> None:
    """Anthropic's uncached input_tokens become our total: uncached + cache read + cache write."""
    usage = parse_agent_output(output_of(*agent("claude", "-p", "hi", "--output-format", "json")))
    assert usage == AgentUsage(
        agent="claude",
        model=SONNET,
        input_tokens=25120,
        output_tokens=900,
        cache_read_tokens=20000,
        cache_write_tokens=5000,
        reasoning_tokens=None,
        cost_usd=0.1134,
        models={SONNET: SONNET_USAGE},
        agent_error=None,
        num_turns=4,
        session_id=FAKE_SESSION,
    )


def test_claude_multi_model_totals_sum_models_and_cost_is_the_reported_total() -> None:
    """Background models: totals sum modelUsage, the costlier model is main, cost as reported."""
    out = output_of(*agent("claude", "--output-format", "json", "--fake-multi-model"))
    usage = parse_agent_output(out)
    assert usage is not None
    assert usage.model == SONNET
    assert usage.input_tokens == 25120 + 800
    assert usage.output_tokens == 950
    assert usage.cache_read_tokens == 20000
    assert usage.cache_write_tokens == 5000
    assert usage.cost_usd == 0.1145
    assert usage.models_payload() == {
        SONNET: SONNET_USAGE.to_dict(),
        HAIKU: {
            "input_tokens": 800,
            "output_tokens": 50,
            "cache_read_tokens": 0,
            "cache_write_tokens": 0,
            "reasoning_tokens": None,
            "cost_usd": 0.0011,
        },
    }


def test_claude_stream_json_reads_the_final_result_line() -> None:
    """stream-json: the last ``type: result`` line gives usage; assistant lines are not summed."""
    out = output_of(*agent("claude", "--output-format", "stream-json"))
    assert len(out.splitlines()) == 3
    usage = parse_agent_output(out)
    assert usage is not None
    assert (usage.input_tokens, usage.output_tokens, usage.cost_usd) == (25120, 900, 0.1134)
    assert usage.model == SONNET


def test_claude_without_model_usage_falls_back_to_usage_block_and_init_model() -> None:
    """Without modelUsage, totals come from ``usage`` and the model from the init line."""
    out = output_of(
        *agent("claude", "--output-format", "stream-json", "--fake-no-model-usage", "--model", "m1")
    )
    usage = parse_agent_output(out)
    assert usage is not None
    assert usage.model == "m1"
    assert usage.models == {}
    assert usage.models_payload() is None
    assert (usage.input_tokens, usage.cache_read_tokens, usage.cache_write_tokens) == (
        25120,
        20000,
        5000,
    )
    assert usage.cost_usd == 0.1134


def test_claude_pretty_printed_json_is_read_as_one_document() -> None:
    """An indented (multi-line) json result is still found."""
    out = output_of(*agent("claude", "--output-format", "json", "--fake-pretty"))
    assert len(out.splitlines()) > 10
    usage = parse_agent_output(out)
    assert usage is not None
    assert usage.input_tokens == 25120


@pytest.mark.parametrize(
    ("flags", "error"),
    [
        (["--fake-subtype", "error_max_turns"], "error_max_turns"),
        (["--fake-subtype", "error_during_execution", "--fake-is-error"], "error_during_execution"),
        (["--fake-is-error"], "is_error: Done: boom"),
    ],
)
def test_claude_error_results_are_agent_errors(flags: list[str], error: str) -> None:
    """An error subtype (even with is_error false) or is_error true marks the run failed."""
    out = output_of(*agent("claude", "-p", "boom", "--output-format", "json", *flags))
    usage = parse_agent_output(out)
    assert usage is not None
    assert usage.agent_error == error
    assert usage.input_tokens == 25120  # usage is still recorded


def test_codex_sums_turns_with_cached_and_reasoning_inside_totals() -> None:
    """Codex turn.completed usage is summed over turns; cache and reasoning are parts of totals."""
    usage = parse_agent_output(output_of(*agent("codex", "exec", "--json", "--fake-turns", "3")))
    assert usage == AgentUsage(
        agent="codex",
        model=None,
        input_tokens=60000,
        output_tokens=3000,
        cache_read_tokens=24000,
        cache_write_tokens=None,
        reasoning_tokens=1200,
        cost_usd=None,
        num_turns=None,  # not recorded for Codex: one turn spans many model requests
        session_id="0199a213-81c0-7800-8aa1-bbab2a035a53",  # the thread.started line's id
    )


def test_codex_failed_turn_is_an_agent_error() -> None:
    """A turn.failed line marks the run failed with its message."""
    usage = parse_agent_output(output_of(*agent("codex", "exec", "--json", "--fake-fail")))
    assert usage is not None
    assert usage.agent_error == "turn.failed: stream disconnected"
    assert usage.input_tokens == 30000


def test_gemini_cached_is_inside_prompt_and_thoughts_bill_as_output() -> None:
    """Gemini: input = prompt (cached inside it); output = candidates + thoughts."""
    out = output_of(*agent("gemini", "-p", "hi", "--output-format", "json"))
    usage = parse_agent_output(out)
    assert usage is not None
    assert usage.agent == "gemini"
    assert usage.model == "gemini-2.5-pro"
    assert usage.models_payload() == {
        "gemini-2.5-pro": {
            "input_tokens": 30000,
            "output_tokens": 2000,
            "cache_read_tokens": 12000,
            "cache_write_tokens": None,
            "reasoning_tokens": 800,
            "cost_usd": None,
        },
        "gemini-2.5-flash-lite": {
            "input_tokens": 2000,
            "output_tokens": 40,
            "cache_read_tokens": 0,
            "cache_write_tokens": None,
            "reasoning_tokens": 0,
            "cost_usd": None,
        },
    }
    assert (usage.input_tokens, usage.output_tokens, usage.reasoning_tokens) == (32000, 2040, 800)
    assert usage.cache_read_tokens == 12000
    assert usage.cache_write_tokens is None
    assert usage.cost_usd is None


def test_gemini_error_document_is_an_agent_error() -> None:
    """Gemini's ``{"error": {...}}`` output marks the run failed with its message."""
    doc = {"error": {"type": "ApiError", "message": "quota exceeded", "code": 429}}
    usage = parse_agent_output(json.dumps(doc, indent=2))
    assert usage == AgentUsage(agent="gemini", agent_error="quota exceeded")


def test_garbage_output_yields_no_usage() -> None:
    """Text, truncated JSON, results without usage and binary bytes give None, not an error."""
    assert parse_agent_output(output_of(*agent("garbage"))) is None
    assert parse_agent_output(b"") is None
    assert parse_agent_output("plain text\n") is None


def test_counts_of_the_wrong_kind_are_unknown_not_zero() -> None:
    """A negative, fractional or string count is stored as None (unknown)."""
    result = {
        "type": "result",
        "subtype": "success",
        "usage": {
            "input_tokens": -1,
            "cache_read_input_tokens": 3,
            "cache_creation_input_tokens": 0,
            "output_tokens": "12",
        },
        "total_cost_usd": -2,
    }
    usage = parse_agent_output(json.dumps(result))
    assert usage is not None
    assert (usage.input_tokens, usage.output_tokens, usage.cache_read_tokens) == (None, None, 3)
    assert usage.cost_usd is None


def test_collector_finds_usage_however_the_output_is_chunked() -> None:
    """Splitting the output at every byte boundary gives the same result as reading it whole."""
    out = output_of(*agent("codex", "exec", "--json"))
    whole = parse_agent_output(out)
    for size in (1, 7, 64, 4096):
        collector = UsageCollector()
        for start in range(0, len(out), size):
            collector.feed(out[start : start + size])
        assert collector.result() == whole


def test_collector_memory_stays_bounded_on_huge_output() -> None:
    """100 MiB of lines and a 20 MiB line never make the collector hold more than its limits."""
    collector = UsageCollector(max_line_bytes=1 << 20, max_document_bytes=1 << 20)
    line = b'{"type": "assistant", "text": "' + b"x" * 4000 + b'"}\n'
    peak = 0
    for _ in range(100 * 1024 * 1024 // len(line)):
        collector.feed(line)
        peak = max(peak, collector.buffered_bytes)
    giant = b"y" * (1 << 16)
    for _ in range(20 * 16):
        collector.feed(giant)
        peak = max(peak, collector.buffered_bytes)
    collector.feed(b"\n")
    result = {"type": "result", "subtype": "success", "usage": {"output_tokens": 5}}
    collector.feed(json.dumps(result).encode() + b"\n")
    assert peak <= 1 << 20
    usage = collector.result()
    assert usage is not None
    assert usage.output_tokens == 5
    assert usage.input_tokens is None


def test_last_line_without_newline_counts() -> None:
    """A result printed without a trailing newline is still read."""
    result = {"type": "result", "subtype": "success", "usage": {"output_tokens": 9}}
    usage = parse_agent_output(json.dumps(result))
    assert usage is not None
    assert usage.output_tokens == 9


def test_codex_reconnect_errors_followed_by_a_completed_turn_are_not_failures() -> None:
    """``error`` lines such as "Reconnecting... 1/5" are transient when a turn completes later."""
    out = output_of(*agent("codex", "exec", "--json", "--fake-reconnects", "3"))
    assert out.count(b'"type": "error"') == 3
    usage = parse_agent_output(out)
    assert usage is not None
    assert usage.agent_error is None
    assert (usage.input_tokens, usage.num_turns) == (30000, None)  # a Codex turn is many requests


def test_codex_error_line_not_followed_by_a_completed_turn_fails_the_run() -> None:
    """An ``error`` line after the last completed turn means the run did not recover."""
    out = output_of(*agent("codex", "exec", "--json", "--fake-error-last"))
    usage = parse_agent_output(out)
    assert usage is not None
    assert usage.agent_error == "error: stream disconnected before completion"
    assert usage.input_tokens == 30000


def test_codex_failed_turn_stays_a_failure_even_after_reconnects() -> None:
    """``turn.failed`` fails the run whatever transient errors came before it."""
    out = output_of(*agent("codex", "exec", "--json", "--fake-reconnects", "1", "--fake-fail"))
    usage = parse_agent_output(out)
    assert usage is not None
    assert usage.agent_error == "turn.failed: stream disconnected"


@pytest.mark.parametrize("pretty", [False, True])
def test_claude_verbose_json_array_takes_the_last_result_and_the_init_model(pretty: bool) -> None:
    """``--output-format json --verbose`` prints an array of messages; the result is read."""
    flags = ["--fake-no-model-usage", "--model", "claude-opus-4-1"]
    if pretty:
        flags.append("--fake-pretty")
    out = output_of(*agent("claude", "-p", "hi", "--output-format", "json", "--verbose", *flags))
    assert out.lstrip().startswith(b"[")
    usage = parse_agent_output(out)
    assert usage == AgentUsage(
        agent="claude",
        model="claude-opus-4-1",
        input_tokens=25120,
        output_tokens=900,
        cache_read_tokens=20000,
        cache_write_tokens=5000,
        cost_usd=0.1134,
        num_turns=4,
        session_id=FAKE_SESSION,
    )


def test_claude_json_array_with_two_results_takes_the_last() -> None:
    """Of several ``type: result`` elements in the array, the last one is the run's result."""
    first = {"type": "result", "subtype": "success", "usage": {"output_tokens": 1}}
    last = {"type": "result", "subtype": "success", "usage": {"output_tokens": 2}}
    usage = parse_agent_output(json.dumps([first, {"type": "assistant"}, last]))
    assert usage is not None
    assert usage.output_tokens == 2


def chatty_output() -> bytes:
    """Many short lines without markers, then a stream-json result at the end."""
    noise = b"".join(b"progress line %d\n" % i for i in range(5000))
    result = {"type": "result", "subtype": "success", "usage": {"output_tokens": 42}}
    return noise + json.dumps(result).encode() + b"\nbye\n"


def test_chatty_output_finds_the_result_wherever_chunks_split_the_marker() -> None:
    """A ``"type"`` marker split across two chunks (or the line's end in the next) is still read."""
    out = chatty_output()
    marker = out.index(b'"type"')
    for cut in range(marker - 8, marker + 8):
        collector = UsageCollector()
        for start in range(0, cut, 4096):
            collector.feed(out[start : min(start + 4096, cut)])
        collector.feed(out[cut:])
        usage = collector.result()
        assert usage is not None, cut
        assert usage.output_tokens == 42


def test_chatty_output_chunked_any_way_gives_the_same_usage() -> None:
    """Chunk sizes from 1 byte to 64 KiB all give the same result as reading the output whole."""
    out = chatty_output()
    whole = parse_agent_output(out)
    assert whole is not None
    for size in (1, 5, 6, 7, 13, 4096, 65536):
        collector = UsageCollector()
        for start in range(0, len(out), size):
            collector.feed(out[start : start + size])
        assert collector.result() == whole, size


def test_a_marked_line_ending_in_a_chunk_without_markers_is_still_parsed() -> None:
    """The marker sits in the pending line; the chunk that ends the line has no marker itself."""
    result = json.dumps({"type": "result", "subtype": "success", "usage": {"output_tokens": 3}})
    head, tail = result[:-3], result[-3:]
    collector = UsageCollector()
    collector.feed(b"noise\n" + head.encode())
    collector.feed(tail.encode() + b"\nmore noise\n" * 100)
    collector.feed(b"x" * 10)  # an unfinished last line without markers
    usage = collector.result()
    assert usage is not None
    assert usage.output_tokens == 3


# -- counts an agent reported are never lost to absent parts (issue 7, item 1) -------


@pytest.mark.parametrize(
    ("flags", "model"),
    [
        (["--output-format", "json"], HAIKU),
        (["--output-format", "json", "--fake-no-model-usage"], None),  # nothing names it
        (["--output-format", "stream-json"], HAIKU),
        (["--output-format", "stream-json", "--fake-no-model-usage"], HAIKU),
        (["--output-format", "json", "--verbose"], HAIKU),
        (["--output-format", "json", "--verbose", "--fake-no-model-usage", "--fake-pretty"], HAIKU),
    ],
)
def test_claude_usage_without_cache_fields_keeps_the_input_count(
    flags: list[str], model: str | None
) -> None:
    """Absent cache fields mean no cache tokens: input is the reported count, cache counts 0."""
    out = output_of(*agent("claude", "--model", HAIKU, "--fake-no-cache-fields", *flags))
    assert b"cache" not in out  # the agent's output really has no cache fields
    usage = parse_agent_output(out)
    assert usage is not None
    assert (usage.input_tokens, usage.output_tokens) == (1000, 200)
    assert (usage.cache_read_tokens, usage.cache_write_tokens) == (0, 0)
    assert usage.model == model
    for figures in usage.models.values():
        assert (figures.input_tokens, figures.output_tokens) == (1000, 200)
        assert (figures.cache_read_tokens, figures.cache_write_tokens) == (0, 0)


def test_claude_one_cache_field_absent_counts_as_zero_of_that_kind() -> None:
    """Only cache reads reported: input = uncached + reads, cache writes 0."""
    result = {
        "type": "result",
        "usage": {"input_tokens": 10, "cache_read_input_tokens": 90, "output_tokens": 5},
    }
    usage = parse_agent_output(json.dumps(result))
    assert usage is not None
    assert (usage.input_tokens, usage.cache_read_tokens, usage.cache_write_tokens) == (100, 90, 0)


def test_claude_without_an_input_count_leaves_input_unknown_but_keeps_cache_counts() -> None:
    """No ``input_tokens`` at all: the total input is unknown; the reported cache reads stay."""
    result = {"type": "result", "usage": {"cache_read_input_tokens": 90, "output_tokens": 5}}
    usage = parse_agent_output(json.dumps(result))
    assert usage is not None
    assert (usage.input_tokens, usage.cache_read_tokens, usage.cache_write_tokens) == (None, 90, 0)
    assert usage.output_tokens == 5


def test_codex_turns_without_cached_or_reasoning_counts_keep_their_totals() -> None:
    """Codex turns reporting only input and output: totals summed, cached and reasoning 0."""
    out = output_of(*agent("codex", "exec", "--json", "--fake-no-cache-fields"))
    assert b"cached" not in out
    usage = parse_agent_output(out)
    assert usage is not None
    assert (usage.input_tokens, usage.output_tokens) == (30000, 1500)
    assert (usage.cache_read_tokens, usage.reasoning_tokens) == (0, 0)


def test_codex_turn_missing_parts_does_not_blank_the_parts_other_turns_reported() -> None:
    """One turn reports cached and reasoning counts, the next does not: both sums are kept."""
    full = {"input_tokens": 100, "cached_input_tokens": 40, "output_tokens": 10,
            "reasoning_output_tokens": 4}  # fmt: skip
    bare = {"input_tokens": 50, "output_tokens": 5}
    lines = [json.dumps({"type": "turn.completed", "usage": u}) for u in (full, bare)]
    usage = parse_agent_output("\n".join(lines))
    assert usage is not None
    assert (usage.input_tokens, usage.cache_read_tokens) == (150, 40)
    assert (usage.output_tokens, usage.reasoning_tokens) == (15, 4)


def test_gemini_tool_use_prompt_tokens_are_input_beside_the_prompt() -> None:
    """Gemini's ``tool`` count (tool results given back as input, outside ``prompt``) is input."""
    out = output_of(
        *agent("gemini", "-p", "hi", "--output-format", "json", "--fake-tool-tokens", "650")
    )
    usage = parse_agent_output(out)
    assert usage is not None
    assert usage.models_payload()["gemini-2.5-pro"]["input_tokens"] == 30000 + 650
    assert usage.input_tokens == 30000 + 650 + 2000
    assert usage.cache_read_tokens == 12000  # still a part of the prompt, unchanged


def test_gemini_tokens_without_cached_or_thoughts_keep_prompt_and_candidates() -> None:
    """Gemini models reporting only prompt and candidates: input and output kept, parts 0."""
    out = output_of(*agent("gemini", "--output-format", "json", "--fake-minimal-tokens"))
    assert b"thoughts" not in out
    assert b"cached" not in out
    usage = parse_agent_output(out)
    assert usage is not None
    assert (usage.input_tokens, usage.output_tokens) == (32000, 1240)
    assert (usage.cache_read_tokens, usage.reasoning_tokens) == (0, 0)
    assert usage.models["gemini-2.5-pro"] == ModelUsage(
        input_tokens=30000, output_tokens=1200, cache_read_tokens=0, reasoning_tokens=0
    )
