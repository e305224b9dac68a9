"""Reports people can read anywhere (issue 8): widths, sums, order, formats, errors, JSON.

Tables are rendered by the real command in a subprocess with ``COLUMNS`` set,
over this repository's own ``kitty-specs/`` logs (the README's examples), and
the numbers are read back out of the text and compared with ``--json``.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import shutil
import struct
import subprocess
import termios
from decimal import Decimal
from pathlib import Path

import pytest

from helpers import SPEC_KITTY, run_event, spec_kitty, write_project
from spec_kitty_telemetry.cli._format import count, money
from spec_kitty_telemetry.cost import GROUP_BYS

REPO = Path(__file__).resolve().parent.parent
WIDTHS = (60, 80, 120)
_UNITS = {"k": 10**3, "M": 10**6, "B": 10**9, "T": 10**12}


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of this repository's kitty-specs/ logs (so no test writes to the repo)."""
    root = tmp_path_factory.mktemp("example")
    shutil.copytree(REPO / "kitty-specs", root / "kitty-specs")
    return root


def _telemetry(*args: str, cwd: Path, columns: int | None = None) -> str:
    """Run the command, piped (``COLUMNS`` set when ``columns`` is), and return its stdout."""
    done = spec_kitty("agent", "telemetry", *args, cwd=cwd, columns=columns)
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout.decode()


def _on_terminal(*args: str, cwd: Path, columns: int) -> str:
    """Run the command with stdout on a pseudo-terminal ``columns`` wide; return what it shows.

    A terminal, not ``COLUMNS``: the width a user's terminal reports is what
    the tables must fit (NO_COLOR keeps escape codes out of the text).
    """
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    process = subprocess.Popen(
        [*SPEC_KITTY, "agent", "telemetry", *args],
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=slave,
        stderr=subprocess.PIPE,
        env={**env, "NO_COLOR": "1", "TERM": "dumb"},
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr.decode()
    return b"".join(chunks).decode().replace("\r\n", "\n")


def _count_matches(text: str, expected: int | None) -> bool:
    """Whether a shown count is ``expected``: exact, or rounded as ``1.3M`` to its last digit."""
    if text == "-":
        return expected is None
    if expected is None:
        return False
    if text[-1] in _UNITS:
        number, unit = Decimal(text[:-1].replace(",", "")), _UNITS[text[-1]]
        exponent = number.as_tuple().exponent
        assert isinstance(exponent, int)
        half_step = Decimal(unit) * Decimal(10) ** exponent / 2
        return abs(number * unit - expected) <= half_step
    return int(text.replace(",", "")) == expected


def _amount(text: str) -> Decimal | None:
    """The USD amount a cost cell shows (None for unknown*); <$0.01 reads as 0."""
    if text.startswith("unknown"):
        return None
    if "<$0.01" in text:
        return Decimal(0)
    found = re.fullmatch(r"~?\$([\d,]+\.\d\d)\*?", text)
    assert found, f"not an amount: {text!r}"
    return Decimal(found[1].replace(",", ""))


def _table_rows(text: str, numbers: int) -> list[list[str]]:
    """The last ``numbers`` cells of each table line that holds a row's numbers.

    Numbers never wrap, so a row's numbers are all on its first line; the
    lines a folded name continues on hold no number.
    """
    rows = []
    for line in text.splitlines():
        cells = line.split()
        tail = cells[-numbers:]
        if len(cells) > numbers and all(
            re.fullmatch(r"[~$<\d.,kMBT*-]+|unknown\*", c) for c in tail
        ):
            rows.append(tail)
    return rows


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("group_by", GROUP_BYS)
def test_cost_table_cuts_no_digit_and_rows_add_up(example: Path, group_by: str, width: int):
    """At 60, 80, 120 columns each count and amount reads back as in --json; rows sum to TOTAL."""
    report = json.loads(_telemetry("cost", "-g", group_by, "--json", cwd=example))
    text = _on_terminal("cost", "-g", group_by, cwd=example, columns=width)
    header = next(line for line in text.splitlines() if "events" in line and "cost" in line)
    fields = ["event_count"]
    fields += [
        name
        for name, label in (
            ("input_tokens", "input"),
            ("output_tokens", "output"),
            ("cache_read_tokens", "cache read"),
            ("cache_write_tokens", "cache write"),
        )
        if label in header
    ]
    rows = _table_rows(text, len(fields) + 1)
    expected = [*report["summaries"], report["total"]]
    assert len(rows) == len(expected), text
    shown = []
    for cells, summary in zip(rows, expected, strict=True):
        for cell, name in zip(cells, fields, strict=False):
            assert _count_matches(cell, summary[name]), (cell, name, summary[name], text)
        amount = _amount(cells[-1])
        if summary["total_cost_usd"] is None:
            assert amount is None
        else:
            assert amount is not None
            assert abs(amount - Decimal(str(summary["total_cost_usd"]))) < Decimal("0.01")
        shown.append(amount or Decimal(0))
    assert sum(shown[:-1], Decimal(0)) == shown[-1], text


def test_readme_first_example_rows_add_up_to_total(example: Path):
    """The README's first report (by agent, piped): $8.79 + $1.28 + $0.87 = TOTAL $10.94."""
    text = _telemetry("cost", cwd=example)
    rows = _table_rows(text, 6)
    amounts = [_amount(cells[-1]) or Decimal(0) for cells in rows]
    assert amounts[-1] == Decimal("10.94")
    assert sum(amounts[:-1], Decimal(0)) == amounts[-1]


def test_piped_tables_follow_columns(example: Path):
    """Piped, a table is as wide as it needs, unless COLUMNS says how wide to be."""
    wide = _telemetry("cost", "-g", "model", cwd=example)
    assert " cache read " in wide
    narrow = _telemetry("cost", "-g", "model", cwd=example, columns=80)
    assert " cache read " not in narrow.split("\n\n")[0]
    assert " 1,342,565 " in narrow  # claude-sonnet-4-5's input, whole


def test_cost_compact_rounds_counts_and_drops_cache_columns(example: Path):
    """--compact at any width: no cache columns, counts as 1.3M, and a line saying so."""
    text = _telemetry("cost", "-g", "model", "--compact", cwd=example, columns=200)
    header = next(line for line in text.splitlines() if " events " in line)
    assert "cache" not in header
    assert "1.3M" in text  # claude-sonnet-4-5: 1,342,565 input tokens
    assert "Counts rounded: k = thousand, M = million." in text


@pytest.mark.parametrize("width", WIDTHS)
def test_events_table_cuts_no_digit(example: Path, width: int):
    """`events` at 60, 80, 120 columns: each row's input, output and cost read back from --json."""
    found = json.loads(_telemetry("events", "--agent", "claude", "--json", cwd=example))["events"]
    text = _on_terminal("events", "--agent", "claude", cwd=example, columns=width)
    rows = _table_rows(text.replace(" yes", "").replace(" no", ""), 3)
    assert len(rows) == len(found), text
    for cells, event in zip(rows, found, strict=True):
        assert _count_matches(cells[0], event["payload"]["input_tokens"]), (cells, text)
        assert _count_matches(cells[1], event["payload"]["output_tokens"]), (cells, text)
        reported = event["payload"]["cost_usd"]
        amount = _amount(cells[2])
        assert amount is not None
        if reported is not None:
            assert not cells[2].startswith("~")
            assert abs(amount - Decimal(str(reported))) <= Decimal("0.005")
        else:
            assert cells[2].startswith("~")  # estimated, as the cost report estimates it


def test_events_cost_column_shows_estimates_with_a_tilde(tmp_path: Path):
    """An event without a reported cost shows its estimate (~$0.15, Sonnet list prices)."""
    write_project(
        tmp_path,
        run_event(
            agent="claude",
            model="claude-sonnet-4.5",
            input_tokens=120_000,
            cache_read_tokens=100_000,
            output_tokens=4_000,
        ),
    )
    text = _telemetry("events", "--repo", str(tmp_path), cwd=tmp_path)
    assert " ~$0.15 " in text
    assert "~ estimated from token counts" in text


@pytest.mark.parametrize("width", WIDTHS)
def test_timeline_table_cuts_no_digit(example: Path, width: int):
    """`timeline` at 60, 80, 120 columns: tokens and cost per phase read back from --json."""
    feature = "002-cost-report"
    phases = json.loads(_telemetry("timeline", "--feature", feature, "--json", cwd=example))
    text = _on_terminal("timeline", "--feature", feature, cwd=example, columns=width)
    rows = _table_rows(text, 3)
    assert len(rows) == len(phases["phases"]), text
    for cells, phase in zip(rows, phases["phases"], strict=True):
        assert _count_matches(cells[0], phase["input_tokens"]), (cells, text)
        assert _count_matches(cells[1], phase["output_tokens"]), (cells, text)
        amount = _amount(cells[2])
        assert amount is not None
        assert abs(amount - Decimal(str(phase["cost_usd"]))) <= Decimal("0.005")
        assert cells[2].startswith("~") == bool(phase["estimated_invocations"])
    assert "2025-11-10" in text  # start times carry their year


def test_timeline_formats_money_and_counts_like_cost(tmp_path: Path):
    """A phase of 1,000,000 input tokens shows `1,000,000` and `~$3.15`, not 1000000 / 3.1500."""
    write_project(
        tmp_path,
        run_event(
            "001-big",
            agent="codex",
            model="gpt-5-codex",
            input_tokens=1_000_000,
            output_tokens=190_000,
        ),
    )
    text = _telemetry("timeline", "--feature", "001-big", cwd=tmp_path)
    assert " 1,000,000 " in text
    assert " ~$3.15 " in text  # 1M x $1.25 + 190k x $10 per million


def test_timeline_glob_prints_one_timeline_per_feature(example: Path):
    """--feature '00*': each matching feature's timeline; --json lists them; no match: exit 2."""
    text = _telemetry("timeline", "--feature", "00*", cwd=example)
    assert [line for line in text.splitlines() if line.startswith("Timeline of")] == [
        "Timeline of 001-event-store-foundation",
        "Timeline of 002-cost-report",
        "Timeline of 003-orchestrator-integration",
    ]
    document = json.loads(_telemetry("timeline", "--feature", "00[2]*", "--json", cwd=example))
    assert [t["feature"] for t in document["timelines"]] == ["002-cost-report"]
    done = spec_kitty("agent", "telemetry", "timeline", "--feature", "9*", cwd=example)
    assert done.returncode == 2
    assert done.stderr.decode() == (
        f"Error: --feature '9*' matches no feature folder with events under "
        f"{example / 'kitty-specs'} (features: 001-event-store-foundation, 002-cost-report, "
        "003-orchestrator-integration)\n"
    )


def test_day_grouping_is_chronological(example: Path):
    """--group-by day lists days oldest first, in the table and in --json."""
    report = json.loads(_telemetry("cost", "-g", "day", "--json", cwd=example))
    days = [summary["group_key"] for summary in report["summaries"]]
    assert days == sorted(days)
    assert days != [
        s["group_key"] for s in sorted(report["summaries"], key=lambda s: -s["total_cost_usd"])
    ]
    text = _telemetry("cost", "-g", "day", cwd=example)
    assert [line.split()[0] for line in text.splitlines() if line.startswith(" 2025-")] == days


@pytest.mark.parametrize("command", ["cost", "events", "timeline", "doctor"])
def test_outside_a_project_every_read_command_notes_it_and_reports_nothing(
    tmp_path: Path, command: str
):
    """Outside a project: one Note line naming where it looked, an empty report, exit 0."""
    args = ("timeline", "--feature", "001-x") if command == "timeline" else (command,)
    for extra in ((), ("--json",)):
        done = spec_kitty("agent", "telemetry", *args, *extra, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert done.stderr.decode() == (
            "Note: no spec-kitty project (a folder with kitty-specs/ or .kittify/) at or above "
            f"{tmp_path.resolve()}: nothing to report\n"
        )
        if extra:
            json.loads(done.stdout)  # one document, empty


@pytest.mark.parametrize("command", ["cost", "events", "timeline", "doctor"])
def test_a_repo_that_does_not_exist_is_an_error(tmp_path: Path, command: str):
    """--repo naming no directory: one Error line, exit 2, for every read command."""
    args = ("timeline", "--feature", "001-x") if command == "timeline" else (command,)
    done = spec_kitty("agent", "telemetry", *args, "--repo", str(tmp_path / "nope"), cwd=tmp_path)
    assert (done.returncode, done.stdout) == (2, b"")
    assert done.stderr.decode() == f"Error: --repo: not a directory: {tmp_path / 'nope'}\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("cost", "--grup-by", "model"),
            "Error: no such option --grup-by (did you mean --group-by?)",
        ),
        (("cots",), "Error: no such command 'cots' (did you mean 'cost'?)"),
        (("cost", "--since"), "Error: option '--since' requires an argument."),
        (("timeline",), "Error: missing option '--feature'."),
        (("--bogus",), "Error: no such option --bogus"),
        (
            ("emit", "--feature", "001-x", "--role", "implementer", "--agent", "x",
             "--input-token", "5"),
            "Error: unrecognized arguments: --input-token 5",
        ),
    ],
)  # fmt: skip
def test_usage_errors_are_one_line_and_exit_2(tmp_path: Path, args: tuple[str, ...], message: str):
    """A mistyped option, command or value: one line on stderr, exit 2, no Rich box."""
    (tmp_path / "kitty-specs").mkdir()
    for prefix in (("agent", "telemetry"),):
        done = spec_kitty(*prefix, *args, cwd=tmp_path)
        assert (done.returncode, done.stdout, done.stderr.decode()) == (2, b"", message + "\n")
    assert not (tmp_path / "kitty-specs" / "001-x").exists()  # emit wrote nothing


@pytest.mark.parametrize("command", ["", "cost", "events", "timeline", "run", "doctor"])
def test_help_shows_no_python_type_labels(tmp_path: Path, command: str):
    """Help screens name values (DATE, PATTERN), never <bool>, <list[str]> or {command}."""
    text = _telemetry(*([command] if command else []), "--help", cwd=tmp_path, columns=100)
    for label in ("<bool>", "<list[str]>", "<str>", "{command}", "<path>", "<int"):
        assert label not in text, (label, text)


def test_top_level_example_has_data_in_the_example_project(example: Path):
    """The help's first example (`cost --group-by model --since ...`) reports events here."""
    text = _telemetry("--help", cwd=example, columns=200)
    example_line = next(line for line in text.splitlines() if "cost --group-by model" in line)
    args = example_line.split("telemetry", 1)[1].split()
    report = json.loads(_telemetry(*args, "--json", cwd=example))
    assert report["total"]["event_count"] > 0


def test_every_json_is_one_indented_document(tmp_path: Path):
    """cost, events, timeline, doctor, init, emit and transition --json: one 2-space document."""
    (tmp_path / "kitty-specs").mkdir()
    commands = [
        ("emit", "--feature", "001-x", "--role", "implementer", "--agent", "claude", "--json"),
        ("transition", "--feature", "001-x", "--to", "doing", "--json"),
        ("cost", "--json"),
        ("events", "--json"),
        ("timeline", "--feature", "001-x", "--json"),
        ("init", "--json"),
    ]
    for args in commands:
        text = _telemetry(*args, cwd=tmp_path)
        assert text.startswith('{\n  "'), (args, text)
        json.loads(text)
    doctor = spec_kitty("agent", "telemetry", "doctor", "--json", cwd=tmp_path)
    assert doctor.stdout.decode().startswith('{\n  "')
    emitted = json.loads(_telemetry(*commands[0], cwd=tmp_path))["event"]
    assert list(emitted) == sorted(emitted)  # stored events keep the log's sorted keys


@pytest.mark.parametrize(
    ("value", "full", "compact"),
    [
        (9_999, "9,999", "9,999"),
        (12_345, "12,345", "12.3k"),
        (123_456, "123,456", "123k"),
        (999_960, "999,960", "1.0M"),
        (1_342_512, "1,342,512", "1.3M"),
        (2**64 - 1, "18,446,744,073,709,551,615", "18,446,744T"),
    ],
)
def test_count_formatter(value: int, full: str, compact: str):
    """Counts have separators; compact ones keep one decimal below 100 of their unit."""
    assert (count(value), count(value, compact=True)) == (full, compact)


def test_money_formatter():
    """USD with separators, ~ for estimates, * when part is unknown, never $0.00 for unknown."""
    assert money(Decimal("1234.5")) == "$1,234.50"
    assert money(Decimal("0.039"), estimated=True) == "~$0.04"
    assert money(Decimal("3"), unpriced=True) == "$3.00*"
    assert money(None) == "unknown*"
    assert money(Decimal("0.001")) == "<$0.01"
    assert money(Decimal(0), exact=Decimal("0.004")) == "<$0.01"
    assert money(Decimal(0)) == "$0.00"
