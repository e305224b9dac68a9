"""The fast route of ``cost``: same output as the typer app, without typer, pydantic or YAML."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from helpers import run_event, write_project
from spec_kitty_telemetry.cli import telemetry_app
from spec_kitty_telemetry.cli._fast import parse_cost, run_cost_fast
from spec_kitty_telemetry.cli._options import COST_OPTIONS


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """Two features, two agents, a failure, a day in two zones, a reported and an estimated cost."""
    return write_project(
        tmp_path / "project",
        run_event(
            "001-alpha",
            when="2025-11-02T23:50:00",
            agent="claude",
            model="claude-sonnet-4.5",
            wp_id="WP01",
            input_tokens=120_000,
            output_tokens=4_000,
        ),
        run_event(
            "001-alpha",
            when="2025-11-03T10:00:00",
            agent="codex",
            model="gpt-5-codex",
            wp_id="WP02",
            cost_usd=0.25,
            success=False,
        ),
        run_event(
            "002-beta",
            when="2025-11-04T08:00:00",
            agent="claude",
            model="sonnet",
            role="reviewer",
            input_tokens=10_000,
            output_tokens=1_000,
        ),
    )


COMMAND_LINES = [
    [],
    ["--json"],
    ["-g", "model", "--json"],
    ["-gday", "--json"],
    ["--group-by=feature-wp", "--json"],
    ["-g", "day", "--timezone", "Europe/Paris", "--json"],
    ["--feature", "001-*", "-f", "002-beta", "--json"],
    ["--failure", "--json"],
    ["--success", "--json"],
    ["--failure", "--success", "--json"],
    ["--agent", "claude", "--role", "reviewer", "--json"],
    ["--model", "sonnet", "--wp", "WP01", "--json"],
    ["--agent=", "--json"],
    ["--since=", "--json"],
    ["--success", "-g", "day"],
    ["--since", "2025-11-03", "--until", "2025-11-03T12:00", "--json"],
    ["--sort", "name", "--reverse"],
    ["-g", "month", "--breakdown", "model", "--json"],
    ["--csv"],
    ["--compact"],
    ["--timezone", "Mars/Olympus"],
    ["--sort", "colour", "--json"],
    ["-g", "agent", "--breakdown", "agent"],
    ["--feature", "999-none", "--json"],
    ["-g=day"],
]


def _typer_route(args: list[str]) -> tuple[int, str, str]:
    result = CliRunner().invoke(telemetry_app, ["cost", *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("args", COMMAND_LINES, ids=lambda args: " ".join(args) or "(none)")
def test_fast_route_prints_what_the_typer_app_prints(
    project: Path, args: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
):
    """Every plain cost command line: same stdout, stderr and exit code by both routes."""
    monkeypatch.chdir(project)
    monkeypatch.setenv("COLUMNS", "120")
    code = run_cost_fast(args)
    fast = capsys.readouterr()
    assert code is not None, "a plain command line takes the fast route"
    out = fast.out.replace("\r\n", "\n")  # CliRunner reads CSV's CRLF line ends as LF
    assert (code, out, fast.err) == _typer_route(args)


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["-h"],
        ["--json=yes"],
        ["--failure=1"],
        ["--agent", "--json"],
        ["--agent"],
        ["-g"],
        ["--group"],
        ["-x"],
        ["extra"],
        ["--"],
        ["--json", "--no-such-option"],
    ],
)
def test_what_the_fast_route_does_not_read_goes_to_typer(args: list[str]):
    """Help, abbreviations, values that look like options, strays: parse_cost declines them."""
    assert parse_cost(args) is None


def test_options_are_read_with_their_kinds():
    """Repeated values collect, the last single value wins, switches set True or False."""
    options = parse_cost(
        ["-f", "a", "--feature=b", "-g", "day", "-gweek", "--failure", "--repo", "x", "--json"]
    )
    assert options == {
        "feature": ["a", "b"],
        "group_by": "week",
        "success": False,
        "repo": Path("x"),
        "as_json": True,
    }


def test_the_option_table_is_the_typer_commands_options():
    """Each option of the typer ``cost`` command has the table's spellings, and no other exists."""
    import typer

    command = typer.main.get_command(telemetry_app).commands["cost"]  # type: ignore[attr-defined]
    typer_options = {
        param.name: (tuple(sorted(param.opts)), tuple(param.secondary_opts))
        for param in command.params
    }
    table = {
        spec.dest: (tuple(sorted(spec.flags)), (spec.off_flag,) if spec.off_flag else ())
        for spec in COST_OPTIONS
    }
    assert typer_options == table


_PROBE = """
import sys
not_run = sys.argv[1]
sys.argv = ["spec-kitty", *sys.argv[2:]]
from spec_kitty_telemetry.__main__ import main
try:
    main()
except SystemExit as exit:
    code = exit.code
heavy = sorted(
    {m.split(".")[0] for m in sys.modules}
    & {"typer", "click", "pydantic", "rich", "yaml", "genai_prices", "logging", "zoneinfo"}
)
print(code, heavy, file=sys.stderr)
ours = {m.removeprefix("spec_kitty_telemetry.") for m in sys.modules}
print(code, sorted(ours & set(not_run.split(","))), file=sys.stderr)
"""
#: What an unfiltered report never runs: a store's writer, index, lock and clock, one-event
#: pricing, or the filters' rules (query).
_NOT_RUN = "jsonl_store,_log_index,_lock,clock,_emit_result,_event_price,_cli_warnings,query"


def _probe(project: Path, cache: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"XDG_CACHE_HOME": str(cache), "PATH": "/usr/bin:/bin", "COLUMNS": "120"}
    return subprocess.run(
        [sys.executable, "-c", _PROBE, _NOT_RUN, *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )


def test_console_script_reports_cost_without_typer_pydantic_or_yaml(project: Path, tmp_path: Path):
    """``spec-kitty agent telemetry cost --json``: once the price table's copy exists, none of
    typer, click, pydantic, rich, yaml, genai_prices, logging or zoneinfo (UTC needs none) is
    imported, and the document is the typer app's."""
    cache = tmp_path / "cache"
    first = _probe(project, cache, "agent", "telemetry", "cost", "--json")
    assert first.stderr.splitlines()[-2] == "0 ['yaml']"  # the first run parses the YAML
    again = _probe(project, cache, "agent", "telemetry", "cost", "--json")
    assert again.stderr.splitlines()[-2:] == ["0 []", "0 []"]
    assert json.loads(again.stdout) == json.loads(first.stdout)
    code, out, _ = _typer_route(["--json", "--repo", str(project)])
    assert (code, json.loads(out)) == (0, json.loads(again.stdout))


@pytest.mark.parametrize("args", [[], ["-g", "day"], ["--compact"], ["--csv"]])
def test_piped_tables_need_neither_rich_nor_the_store_writer(
    project: Path, tmp_path: Path, args: list[str]
):
    """``cost``'s table, by day, compact, or CSV, to a pipe: none of the heavy modules, no
    store writer, index, lock, clock or one-event pricer; and the typer app's output."""
    cache = tmp_path / "cache"
    _probe(project, cache, "agent", "telemetry", "cost", "--json")  # the price table's copy
    done = _probe(project, cache, "agent", "telemetry", "cost", *args)
    assert done.stderr.splitlines()[-2:] == ["0 []", "0 []"]
    code, out, _ = _typer_route([*args, "--repo", str(project)])
    assert (code, out) == (0, done.stdout.replace("\r\n", "\n"))


def test_help_still_goes_through_typer(project: Path, tmp_path: Path):
    """``cost --help`` is typer's help screen (the fast route leaves it alone)."""
    done = _probe(project, tmp_path / "cache", "agent", "telemetry", "cost", "--help")
    assert "--group-by" in done.stdout
    assert "typer" in done.stderr.splitlines()[-2]


_LOADED = """
import sys
sys.argv = ["spec-kitty", *sys.argv[1:]]
from spec_kitty_telemetry.__main__ import main
try:
    main()
except SystemExit as exit:
    code = exit.code
print(code, sorted({"orjson", "dataclasses", "inspect"} & set(sys.modules)), file=sys.stderr)
"""


def _loaded(project: Path, cache: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"XDG_CACHE_HOME": str(cache), "PATH": "/usr/bin:/bin", "COLUMNS": "120"}
    return subprocess.run(
        [sys.executable, "-c", _LOADED, *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )


@pytest.mark.parametrize("args", [["--json"], [], ["-g", "day"], ["-g", "day", "--json"]])
def test_a_warm_report_imports_neither_orjson_nor_dataclasses(
    project: Path, tmp_path: Path, args: list[str]
):
    """A warm ``cost`` (``--json``, the piped table, ``-g day``) on a small project parses no
    log line: it reads its projections and the price table's copy with the stdlib ``json`` and
    defines no dataclass, so neither orjson nor dataclasses/inspect is imported; the output is
    the typer app's."""
    cache = tmp_path / "cache"
    cold = _loaded(project, cache, "agent", "telemetry", "cost", *args)
    assert cold.stderr.splitlines()[-1].startswith("0 ['dataclasses', 'inspect', 'orjson']")
    warm = _loaded(project, cache, "agent", "telemetry", "cost", *args)
    assert warm.stderr.splitlines()[-1] == "0 []"
    assert warm.stdout == cold.stdout
    code, out, _ = _typer_route([*args, "--repo", str(project)])
    assert (code, out) == (0, warm.stdout.replace("\r\n", "\n"))


def test_a_log_that_grew_is_parsed_with_orjson(project: Path, tmp_path: Path):
    """After an append, a warm report's new line is parsed (orjson loaded on first use, the
    line rule unchanged): the report counts the new run, as the typer app does."""
    cache = tmp_path / "cache"
    before = _loaded(project, cache, "agent", "telemetry", "cost", "--json")
    warm = _loaded(project, cache, "agent", "telemetry", "cost", "--json")
    assert warm.stderr.splitlines()[-1] == "0 []"
    write_project(
        project, run_event("002-beta", when="2025-11-05T08:00:00", agent="gemini", cost_usd=1.5)
    )
    after = _loaded(project, cache, "agent", "telemetry", "cost", "--json")
    assert "orjson" in after.stderr.splitlines()[-1]
    counts = {row["group_key"]: row["event_count"] for row in json.loads(after.stdout)["summaries"]}
    assert counts["gemini"] == 1
    assert json.loads(after.stdout)["total"]["event_count"] == (
        json.loads(before.stdout)["total"]["event_count"] + 1
    )
    code, out, _ = _typer_route(["--json", "--repo", str(project)])
    assert (code, json.loads(out)) == (0, json.loads(after.stdout))


def test_a_warm_report_of_a_model_priced_by_the_catalogue_imports_no_orjson(
    project: Path, tmp_path: Path
):
    """A model only genai-prices lists is priced from the catalogue's cached answer on a
    warm report: that small cache file is read with the stdlib ``json`` too, so the report
    still imports neither orjson nor dataclasses, and prices the run as the cold one did."""
    write_project(
        project,
        run_event(
            "002-beta",
            when="2025-11-05T08:00:00",
            agent="codex",
            model="gpt-4o-mini",
            input_tokens=1_000_000,
            output_tokens=1_000,
        ),
    )
    cache = tmp_path / "cache"
    cold = _loaded(project, cache, "agent", "telemetry", "cost", "--json")
    assert (cache / "spec-kitty-telemetry").is_dir()
    warm = _loaded(project, cache, "agent", "telemetry", "cost", "--json")
    assert warm.stderr.splitlines()[-1] == "0 []"
    assert warm.stdout == cold.stdout
    rows = {row["group_key"]: row for row in json.loads(warm.stdout)["summaries"]}
    assert rows["codex"]["estimated_cost_usd"] > 0
