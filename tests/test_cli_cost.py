"""The `cost` and `events` commands: exact output, JSON schema, filters and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from helpers import other, run_event, spec_kitty, write_foreign, write_project
from spec_kitty_telemetry.cli import app
from spec_kitty_telemetry.testing import make_event

runner = CliRunner()

COST_TABLE = """\

 agent    events     input   output   cache read   cache write       cost
 ────────────────────────────────────────────────────────────────────────
 codex         1    50,000    2,000            -             -      $0.25
 claude        2   120,000    4,000      100,000             -    ~$0.15*
 gemini        1    10,000    1,000            -             -   unknown*

 TOTAL         4   180,000    7,000      100,000             -    ~$0.40*

~ includes costs estimated from token counts for 1 event, at rates from: shipped table of \
2025-11-20 (to override, set pricing: in .kittify/telemetry.yaml).
* 2 events could not be priced and are not in the costs:
    mystery-9: 1 event (no price known)
    1 event reported no cost, and not both input and output tokens
- no event of the row reported this count.
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """Two features: a cached Sonnet run (estimated), a reported Codex cost, an unknown
    model, a run that reported nothing, and a non-execution event."""
    return write_project(
        tmp_path,
        run_event(
            "001-alpha",
            when="2025-11-03T09:00:00",
            agent="claude",
            model="claude-sonnet-4.5",
            input_tokens=120_000,
            cache_read_tokens=100_000,
            output_tokens=4_000,
        ),
        run_event(
            "001-alpha",
            when="2025-11-03T10:00:00",
            agent="codex",
            model="gpt-5-codex",
            input_tokens=50_000,
            output_tokens=2_000,
            cost_usd=0.25,
        ),
        run_event(
            "002-beta",
            when="2025-11-04T11:00:00",
            agent="gemini",
            model="mystery-9",
            input_tokens=10_000,
            output_tokens=1_000,
        ),
        run_event(
            "002-beta",
            when="2025-11-04T12:00:00",
            agent="claude",
            model="opus",
            input_tokens=None,
            output_tokens=None,
            success=False,
            error="timeout",
        ),
        other("002-beta", phase="review"),
    )


def _invoke(*args: str, env: dict[str, str] | None = None):
    return runner.invoke(app, list(args), env=env)


def _text(output: str) -> str:
    """Output without the spaces Rich pads table lines with."""
    return "\n".join(line.rstrip() for line in output.split("\n"))


def test_cost_table_is_exact(project: Path):
    """The claude row is 20,000 x $3 + 100,000 x $0.30 + 4,000 x $15 = $0.15, estimated."""
    result = _invoke("agent", "telemetry", "cost", "--repo", str(project))
    assert result.exit_code == 0, result.output
    assert _text(result.stdout) == COST_TABLE


def test_telemetry_without_a_subcommand_runs_cost(project: Path, monkeypatch: pytest.MonkeyPatch):
    """`spec-kitty agent telemetry` alone prints the cost report of the project it is run in."""
    monkeypatch.chdir(project / "kitty-specs" / "001-alpha")
    result = _invoke("agent", "telemetry")
    assert result.exit_code == 0, result.output
    assert _text(result.stdout) == COST_TABLE


def test_cost_json_is_the_documented_object_and_nothing_else(project: Path):
    """--json prints one JSON object: group_by, summaries, total, prices_last_updated."""
    result = _invoke("agent", "telemetry", "cost", "--repo", str(project), "--json", "-g", "model")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert list(report) == [
        "group_by",
        "summaries",
        "total",
        "prices_last_updated",
        "price_sources",
    ]
    assert report["group_by"] == "model"
    # Groups whose cost nobody knows say null, never 0.0; their unreported counts too.
    assert [
        (s["group_key"], s["total_cost_usd"], s["input_tokens"]) for s in report["summaries"]
    ] == [
        ("gpt-5-codex", 0.25, 50_000),
        ("claude-sonnet-4-5", 0.15, 120_000),
        ("claude-opus-4-5", None, None),
        ("mystery-9", None, 10_000),
    ]
    assert report["summaries"][2]["reported_cost_usd"] is None
    assert report["summaries"][2]["estimated_cost_usd"] is None
    assert report["total"] == {
        "group_key": "TOTAL",
        "group_by": "model",
        "event_count": 4,
        "input_tokens": 180_000,
        "output_tokens": 7_000,
        "cache_read_tokens": 100_000,
        "cache_write_tokens": None,  # no event reported cache writes
        "reported_cost_usd": 0.25,
        "estimated_cost_usd": 0.15,
        "total_cost_usd": 0.4,
        "estimated_event_count": 1,
        "unpriced_event_count": 2,
        "unknown_models": {"mystery-9": 1},
        "unpriced_reasons": {"no_usage": 1, "unknown_model": 1},
        "invalid_cost_event_count": 0,
        "long_context_unknown_event_count": 0,
        "cache_write_1h_at_5m_rate_tokens": 0,
        "split_cost_event_count": 0,
        "runs_with_changes": 0,
        "lines_changed": None,
        "runs_with_tests": 0,
        "tests_passed": None,
        "failures_by_category": {"(none)": 1},  # a failed run that recorded no category
        "completed_work_packages": 0,
        "cost_per_line_changed_usd": None,
        "cost_per_passing_test_usd": None,
        "cost_per_completed_wp_usd": None,
    }
    assert report["prices_last_updated"] == "2025-11-20"
    assert report["price_sources"] == ["shipped table of 2025-11-20"]


def test_empty_project_says_so_and_succeeds(tmp_path: Path):
    """No events: one line, exit 0; --json still prints the object, with zero totals."""
    (tmp_path / "kitty-specs").mkdir()
    result = _invoke("agent", "telemetry", "cost", "--repo", str(tmp_path))
    assert (result.exit_code, result.output) == (0, "No execution events found.\n")
    result = _invoke("agent", "telemetry", "cost", "--repo", str(tmp_path), "--json")
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert report["summaries"] == []
    assert report["total"]["event_count"] == 0


def test_feature_glob_and_repeats(project: Path):
    """--feature takes globs and repeats; only the selected features are reported."""
    by_feature = ("agent", "telemetry", "cost", "--repo", str(project), "-g", "feature", "--json")
    result = _invoke(*by_feature, "--feature", "002-*")
    assert [s["group_key"] for s in json.loads(result.stdout)["summaries"]] == ["002-beta"]
    result = _invoke(*by_feature, "-f", "001-alpha", "-f", "002-beta")
    assert [s["group_key"] for s in json.loads(result.stdout)["summaries"]] == [
        "001-alpha",
        "002-beta",
    ]
    result = _invoke("agent", "telemetry", "cost", "--repo", str(project), "-f", "9*")
    assert (result.exit_code, result.stdout) == (0, "No execution events found.\n")


@pytest.mark.parametrize("command", ["cost", "events"])
def test_a_feature_pattern_matching_no_folder_gets_a_hint(project: Path, command: str):
    """A --feature pattern matching no folder says so on stderr; the empty result still exits 0."""
    result = _invoke("agent", "telemetry", command, "--repo", str(project), "-f", "9*", "-f", "00*")
    assert result.exit_code == 0
    assert result.stderr == (
        f"Note: --feature '9*' matches no feature folder with events under "
        f"{project / 'kitty-specs'}\n"
    )


@pytest.mark.parametrize(
    ("bounds", "events"),
    [
        (("--since", "2025-11-04"), 2),
        (("--until", "2025-11-03"), 2),  # the whole day
        (("--until", "20251103"), 2),  # the whole day, in ISO basic form too
        (("--since", "20251104", "--until", "20251104"), 2),
        (("--until", "2025-11-03T09:00:00"), 1),  # inclusive
        (("--since", "2025-11-03T10:00:00Z", "--until", "2025-11-04T11:00:00+00:00"), 2),
    ],
)
def test_since_and_until(project: Path, bounds: tuple[str, ...], events: int):
    """--since/--until take ISO dates or datetimes and are inclusive."""
    result = _invoke("agent", "telemetry", "cost", "--repo", str(project), "--json", *bounds)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["total"]["event_count"] == events


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("--since", "yesterday"),
            "Error: --since: not an ISO 8601 date or datetime: 'yesterday' "
            "(expected e.g. 2025-11-03 or 2025-11-03T14:00:00Z)\n",
        ),
        (
            ("--since", "2025-11-05", "--until", "2025-11-04T23:00:00"),
            "Error: --since: 2025-11-05 is later than the until bound 2025-11-04T23:00:00: no "
            "event can match (both bounds are inclusive; a date means its whole day)\n",
        ),
        (
            ("--group-by", "colour"),
            "Error: --group-by: unknown group 'colour' "
            "(choose from agent, model, feature, role, wp, feature-wp, day, week, month "
            "or tag:KEY)\n",
        ),
        (
            ("--group-by", "tag:1st"),
            "Error: --group-by: group 'tag:1st': tag key '1st' must start with a letter and "
            "hold only letters, digits, _ . -\n",
        ),
        (
            ("--breakdown", "tag:"),
            "Error: --breakdown: group 'tag:': tag key '' must start with a letter and "
            "hold only letters, digits, _ . -\n",
        ),
    ],
)
def test_bad_options_exit_2_with_one_line(project: Path, args: tuple[str, ...], message: str):
    """A bad date or group is one line on stderr, exit code 2, nothing on stdout."""
    result = _invoke("agent", "telemetry", "cost", "--repo", str(project), *args)
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", message)


def test_bad_pricing_overrides_exit_2_naming_file_and_key(project: Path):
    """A negative rate in .kittify/telemetry.yaml stops the report with the file and key."""
    config = project / ".kittify" / "telemetry.yaml"
    config.parent.mkdir()
    config.write_text("pricing:\n  models:\n    claude-sonnet-4-5: {input: -3, output: 15}\n")
    result = _invoke("agent", "telemetry", "cost", "--repo", str(project))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"Error: {config}: pricing.models.claude-sonnet-4-5.input: rate must be a number >= 0 "
        "(USD per million tokens), got -3\n"
    )


def test_missing_repo_exits_2(tmp_path: Path):
    """--repo pointing nowhere is an error, not an empty report."""
    result = _invoke("agent", "telemetry", "cost", "--repo", str(tmp_path / "nope"))
    assert (result.exit_code, result.stderr) == (
        2,
        f"Error: --repo: not a directory: {tmp_path / 'nope'}\n",
    )


def test_no_color_and_pipes_get_plain_text(project: Path):
    """Piped output and NO_COLOR have no escape codes; FORCE_COLOR alone shows they exist."""
    args = ("agent", "telemetry", "cost", "--repo", str(project))
    assert "\x1b[" not in _invoke(*args).stdout
    forced = _invoke(*args, env={"FORCE_COLOR": "1"})
    assert "\x1b[1m" in forced.stdout
    plain = _invoke(*args, env={"FORCE_COLOR": "1", "NO_COLOR": "1"})
    assert "\x1b[" not in plain.stdout
    assert _text(plain.stdout) == COST_TABLE


def test_events_table_and_filters(project: Path):
    """`events` lists matching events in causal order; --failure keeps failed runs."""
    result = _invoke("agent", "telemetry", "events", "--repo", str(project), "--failure")
    assert result.exit_code == 0, result.output
    assert _text(result.stdout) == (
        "\n"
        " time (UTC)            feature    wp     type             agent    role          model"
        "   input   output   cost   ok\n"
        " " + "─" * 114 + "\n"
        " 2025-11-04 12:00:00   002-beta   WP01   ExecutionEvent   claude   implementer   opus"
        "                            no\n"
        "\n"
    )


def test_events_jsonl_lines_are_the_stored_events(project: Path):
    """--jsonl prints one stored event per line, exactly as in the log (--reverse: log order)."""
    log = (project / "kitty-specs" / "001-alpha" / "execution.events.jsonl").read_text()
    result = _invoke(
        "agent", "telemetry", "events", "--repo", str(project), "--jsonl", "-f", "001-alpha",
        "--reverse",
    )  # fmt: skip
    assert result.exit_code == 0
    assert result.stdout == log


def test_events_json_is_one_document_of_the_stored_events(project: Path):
    """--json prints one object, {"events": [...]}, indented; each event's keys as logged."""
    log = (project / "kitty-specs" / "001-alpha" / "execution.events.jsonl").read_text()
    result = _invoke(
        "agent", "telemetry", "events", "--repo", str(project), "--json", "-f", "001-alpha",
        "--reverse",
    )  # fmt: skip
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert list(document) == ["events"]
    assert [json.dumps(e) for e in document["events"]] == log.splitlines()
    assert result.stdout.startswith('{\n  "events": [\n')
    both = _invoke("agent", "telemetry", "events", "--repo", str(project), "--json", "--jsonl")
    assert (both.exit_code, both.stderr) == (2, "Error: --json and --jsonl: choose one\n")


@pytest.mark.parametrize(
    ("args", "agents"),
    [
        (("--agent", "claude"), ["claude", "claude"]),
        (("--model", "sonnet"), ["claude"]),
        (("--model", "claude-opus-4.5"), ["claude"]),  # Claude Code's opus, since Nov 2025
        (("--model", "claude-opus-4.1"), []),
        (("--wp", "WP01", "--role", "implementer", "--success"), ["gemini", "codex", "claude"]),
        (("--type", "PhaseTransition"), [None]),
        (("--limit", "2"), [None, "claude"]),  # newest first
        (("--since", "2025-11-04T11:30:00"), ["claude"]),
    ],
)
def test_events_json_filters(project: Path, args: tuple[str, ...], agents: list[str | None]):
    """Each `events` filter narrows the JSON Lines output."""
    result = _invoke("agent", "telemetry", "events", "--repo", str(project), "--json", *args)
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)["events"]
    assert [event["payload"].get("agent") for event in found] == agents


def test_events_on_an_empty_project(tmp_path: Path):
    """No events: one line, exit 0."""
    (tmp_path / ".kittify").mkdir()
    result = _invoke("agent", "telemetry", "events", "--repo", str(tmp_path))
    assert (result.exit_code, result.output) == (0, "No events found.\n")


def test_events_model_filter_uses_the_projects_aliases(project: Path):
    """With the project alias `opus: claude-3-opus`, --model claude-3-opus finds opus runs."""
    config = project / ".kittify" / "telemetry.yaml"
    config.parent.mkdir()
    config.write_text("pricing:\n  aliases:\n    opus: claude-3-opus\n")
    args = ("agent", "telemetry", "events", "--repo", str(project), "--jsonl")
    lines = _invoke(*args, "--model", "claude-3-opus").stdout.splitlines()
    assert [json.loads(line)["payload"]["model"] for line in lines] == ["opus"]
    assert _invoke(*args, "--model", "claude-opus-4-5").stdout == ""


def test_invalid_costs_and_counts_from_other_tools_are_reported_not_crashing(tmp_path: Path):
    """A cost of 1e300 and a cache count above the input: exit 0, and the footnotes say so.

    The long Sonnet run (300,000 input, of which 250,000 cache reads; no
    num_turns) is priced at base rates: 50,000 x $3 + 250,000 x $0.30 +
    2,000 x $15 = $0.255, and the footnote says surcharges were not estimated.
    """
    sonnet = {"model": "claude-sonnet-4.5", "output_tokens": 2_000}
    write_foreign(
        tmp_path,
        "001-alpha",
        {**sonnet, "input_tokens": 300_000, "cache_read_tokens": 250_000, "cost_usd": 1e300},
        {**sonnet, "input_tokens": 1_000, "cache_read_tokens": 5_000},
    )
    result = _invoke("agent", "telemetry", "cost", "--repo", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert _text(result.stdout) == (
        "\n"
        " agent   events     input   output   cache read   cache write      cost\n"
        " " + "─" * 70 + "\n"
        " other        2   300,000    2,000      250,000             -   ~$0.26*\n"
        "\n"
        " TOTAL        2   300,000    2,000      250,000             -   ~$0.26*\n"
        "\n"
        "~ includes costs estimated from token counts for 1 event, at rates from: shipped "
        "table of 2025-11-20 (to override, set pricing: in .kittify/telemetry.yaml).\n"
        "  Long-context surcharges are estimated only for single requests: 1 event of several "
        "(or an unknown number of) requests, over a long-context threshold in total, was priced "
        "at base rates.\n"
        "* 1 event could not be priced and is not in the costs:\n"
        "    1 event reported invalid token counts (not whole numbers >= 0, cache counts "
        "above input or reasoning above output)\n"
        "! 1 event reported a cost that is not an amount (negative, not a number, or "
        "$1,000,000,000 or more): ignored, and estimated from tokens where possible.\n"
        "- no event of the row reported this count.\n"
    )
    report = json.loads(
        _invoke("agent", "telemetry", "cost", "--repo", str(tmp_path), "--json").stdout
    )
    assert report["total"]["total_cost_usd"] == 0.255
    assert report["total"]["invalid_cost_event_count"] == 1


def _odd_payload_project(root: Path) -> Path:
    """A log whose payloads hold what the cost fold reads leniently but a printer may choke on."""
    write_foreign(
        root,
        "001-alpha",
        {"success": ["no"], "cost_usd": True, "model": ["x"], "wp_id": {"a": 1}},
        {"input_tokens": 2**64 - 1, "agent": "[/bold]", "model": "[red]m[/red]"},
        {"cost_usd": 1e300, "success": False, "output_tokens": -3},
    )
    log = root / "kitty-specs" / "001-alpha" / "execution.events.jsonl"
    deep = '{"a": ' * 1000 + "1" + "}" * 1000
    record = json.loads(log.read_text().splitlines()[0])
    record |= {"event_id": make_event().event_id, "payload": {"agent": "deep", "deep": "DEEP"}}
    with log.open("a") as handle:
        handle.write(json.dumps(record).replace('"DEEP"', deep) + "\n")
    return log


def test_events_prints_every_event_the_cost_report_counts(tmp_path: Path):
    """A list as success, true as cost, markup, 2**64-1, a 1,000-deep payload: all shown, exit 0."""
    log = _odd_payload_project(tmp_path)
    cost = spec_kitty("agent", "telemetry", "cost", "--json", "--repo", str(tmp_path), cwd=tmp_path)
    assert cost.returncode == 0, cost.stderr
    counted = json.loads(cost.stdout)["total"]["event_count"]
    assert counted == 4

    as_json = spec_kitty(
        "agent", "telemetry", "events", "--jsonl", "--repo", str(tmp_path), cwd=tmp_path
    )
    assert as_json.returncode == 0, as_json.stderr.decode()[-300:]
    printed = as_json.stdout.decode().splitlines()
    stored = {orjson.loads(line)["event_id"]: line for line in log.read_text().splitlines()}
    assert len(printed) == counted
    for line in printed:
        record = orjson.loads(line)
        original = stored[record["event_id"]]
        if record["payload"]["agent"] == "deep":  # written sorted: the same text
            assert line == original
        else:
            assert record == orjson.loads(original)

    table = spec_kitty("agent", "telemetry", "events", "--repo", str(tmp_path), cwd=tmp_path)
    assert table.returncode == 0, table.stderr.decode()[-300:]
    text = table.stdout.decode()
    assert "[/bold]" in text
    assert "[red]m[/red]" in text
    assert f"{2**64 - 1:,}" in text
    assert text.count("001-alpha") == counted

    document = spec_kitty(
        "agent", "telemetry", "events", "--json", "--repo", str(tmp_path), cwd=tmp_path
    )
    assert document.returncode == 0, document.stderr.decode()[-300:]
    events = orjson.loads(document.stdout)["events"]
    assert sorted(e["event_id"] for e in events) == sorted(stored)
    for event in events:
        if event["payload"]["agent"] != "deep":  # too deep for ==; its text is checked above
            assert event == orjson.loads(stored[event["event_id"]])


def test_events_table_leaves_cells_of_the_wrong_type_empty(tmp_path: Path):
    """A list for success, true for a cost, a dict for wp: empty cells, not a crash."""
    write_foreign(tmp_path, "001-alpha", {"success": [1], "cost_usd": True, "wp_id": {"a": 1}})
    result = _invoke("agent", "telemetry", "events", "--repo", str(tmp_path))
    assert result.exit_code == 0, result.output
    row = _text(result.stdout).splitlines()[3]
    assert row == (" 2025-11-03 10:00:00   001-alpha        ExecutionEvent   other   implementer")
