"""The plain-text table of ``cli/_table_text``: byte for byte what Rich prints, or None."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, strategies as st
from rich.console import Console

from helpers import run_event, write_project
from spec_kitty_telemetry.cli import _cost_command
from spec_kitty_telemetry.cli._fast import run_cost_fast
from spec_kitty_telemetry.cli._format import Column, Grid
from spec_kitty_telemetry.cli._table_text import PIPE_WIDTH, plain_text, plain_width

#: Mostly what reports hold, plus what Rich would change: markup, emoji codes, tabs, Unicode.
_TEXT = st.text(st.sampled_from([*"ab z09$~,.-*()/", ":", "[", "]", "\t", "é", "日"]), max_size=12)


def _rich(grid: Grid, notes: list[str], width: int) -> str:
    """What ``cost`` printed through Rich before: the table, then each note, to a pipe."""
    buffer = io.StringIO()
    out = Console(file=buffer, highlight=False, width=width, color_system="auto")
    out.print(grid.table())
    for note in notes:
        out.print(note, soft_wrap=True, markup=False)
    return buffer.getvalue()


#: Only what Rich prints unchanged.
_PLAIN = st.text(st.sampled_from([*"ab z09$~,.-*()/:"]), min_size=1, max_size=12).filter(
    lambda text: (
        "::" not in text
        and not text.endswith(" ")
        and not any(" " not in p for p in text.split(":")[1:-1])
    )
)


@st.composite
def _grids(draw: st.DrawFn, text: st.SearchStrategy[str] = _TEXT) -> Grid:
    kinds = draw(st.lists(st.sampled_from(["number", "fixed", "name"]), min_size=1, max_size=5))
    columns = [Column(draw(text), kind) for kind in kinds]  # type: ignore[arg-type]
    row = st.lists(text, min_size=len(kinds), max_size=len(kinds))
    rows = draw(st.lists(row, max_size=4))
    return Grid(columns, rows, draw(st.none() | row))


@given(_grids(), st.lists(_TEXT, max_size=3), st.integers(min_value=10, max_value=120))
def test_plain_text_is_what_rich_prints_or_none(grid: Grid, notes: list[str], width: int):
    """For any grid, notes and width: the plain text equals Rich's output, or is None."""
    text = plain_text(grid, notes, width)
    if text is not None:
        assert text == _rich(grid, notes, width)


@given(_grids(_PLAIN), st.lists(_PLAIN, max_size=3))
def test_plain_cells_that_fit_are_drawn_as_rich_draws_them(grid: Grid, notes: list[str]):
    """Plain text in a table that fits: never left to Rich, and Rich's exact bytes."""
    text = plain_text(grid, notes, PIPE_WIDTH)
    assert text is not None
    assert text == _rich(grid, notes, PIPE_WIDTH)


def test_a_report_table_that_fits_is_drawn_without_rich():
    """Plain cells that fit: text (not None), and Rich's exact bytes, trailing spaces included."""
    grid = Grid(
        [Column("agent", "name"), Column("events"), Column("cost")],
        [["claude", "2", "~$0.15*"], ["codex", "1", "$0.25"]],
        ["TOTAL", "3", "~$0.40*"],
    )
    notes = ["~ includes costs estimated: see pricing: in .kittify/telemetry.yaml.", "    x"]
    text = plain_text(grid, notes, 80)
    assert text is not None
    assert text == _rich(grid, notes, 80)
    assert text.splitlines()[1] == " agent    events      cost "


@pytest.mark.parametrize(
    ("grid", "notes", "width"),
    [
        (Grid([Column("name", "name")], [["a-very-long-feature-name"]]), [], 12),  # must fold
        (Grid([Column("name", "name")], [["[bold]x"]]), [], 80),  # markup
        (Grid([Column("name", "name")], [["x"]]), ["model :smile: unknown"], 80),  # emoji
        (Grid([Column("name", "name")], [["café"]]), [], 80),  # not ASCII
        (Grid([Column("name", "name")], [["a\tb"]]), [], 80),  # a tab Rich expands
    ],
)
def test_what_rich_could_print_differently_is_left_to_rich(grid: Grid, notes: list[str], width):
    """Folding, markup, emoji codes, non-ASCII and control characters: None, Rich draws it."""
    assert plain_text(grid, notes, width) is None


@pytest.mark.parametrize(
    ("environ", "width"),
    [
        ({}, PIPE_WIDTH),
        ({"COLUMNS": "72"}, 72),
        ({"COLUMNS": " 72"}, None),  # Rich would not read it: its own rule decides
        ({"COLUMNS": "wide"}, PIPE_WIDTH),
        ({"FORCE_COLOR": "1"}, None),
        ({"FORCE_COLOR": ""}, PIPE_WIDTH),
        ({"TTY_COMPATIBLE": "1"}, None),
        ({"TTY_COMPATIBLE": "0", "FORCE_COLOR": "1"}, PIPE_WIDTH),
        ({"NO_COLOR": "1", "COLUMNS": "90"}, 90),
    ],
)
def test_plain_width_is_rich_s_width_of_a_pipe(
    environ: dict[str, str], width: int | None, monkeypatch: pytest.MonkeyPatch
):
    """A pipe without forced colour: COLUMNS (as Rich reads it) or the pipe width; else None."""
    for name in ("COLUMNS", "FORCE_COLOR", "TTY_COMPATIBLE", "NO_COLOR"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    assert plain_width() == width


def test_a_terminal_is_left_to_rich(monkeypatch: pytest.MonkeyPatch):
    """stdout a TTY (and no FORCE_COLOR or TTY_COMPATIBLE): None, Rich sizes and colours it."""

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    for name in ("COLUMNS", "FORCE_COLOR", "TTY_COMPATIBLE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sys, "stdout", Terminal())
    assert plain_width() is None


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A failure, an unknown model, a multi-word feature and estimated and reported costs."""
    return write_project(
        tmp_path / "project",
        run_event("001-alpha", agent="claude", model="claude-sonnet-4.5", input_tokens=120_000,
                  output_tokens=4_000, cache_read_tokens=9_000, lines_added=40),
        run_event("001-alpha", agent="codex", model="gpt-5-codex", cost_usd=0.25, success=False,
                  when="2025-11-04T08:00:00"),
        run_event("002-a-much-longer-feature-name", agent="gemini", model="mystery-9",
                  input_tokens=10_000, output_tokens=1_000, wp_id="WP02"),
    )  # fmt: skip


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--compact"],
        ["-g", "day"],
        ["-g", "feature-wp", "--breakdown", "model"],
        ["-g", "model", "--per", "line,test,wp"],
        ["--sort", "name", "--reverse"],
    ],
)
@pytest.mark.parametrize("columns", [None, "120", "60", "44", "20"])
def test_cost_tables_are_rich_s_tables(
    project: Path,
    args: list[str],
    columns: str | None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
):
    """Every cost layout, wide to folded: the plain route prints what the Rich route prints."""
    monkeypatch.chdir(project)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)
    assert run_cost_fast(args) == 0
    plain = capsys.readouterr()
    monkeypatch.setattr(_cost_command, "plain_width", lambda: None)
    assert run_cost_fast(args) == 0
    assert capsys.readouterr() == plain


def test_a_piped_cost_table_imports_no_rich(project: Path):
    """``spec-kitty-telemetry cost`` to a pipe: a table is printed and Rich is never imported."""
    probe = (
        "import sys\n"
        "from spec_kitty_telemetry.cli._fast import run_cost_fast\n"
        "code = run_cost_fast([])\n"
        "print(code, 'rich' in sys.modules, file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=project,
        env={"PATH": "/usr/bin:/bin", "XDG_CACHE_HOME": str(project / ".cache")},
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stderr.splitlines()[-1] == "0 False"
    assert " TOTAL " in done.stdout
