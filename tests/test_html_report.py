"""``report html`` (issue 12): one self-contained page, checked in a real headless Chromium.

The page is written by the real command from a real project; Chromium
(Debian's ``chromium`` package, installed by ``.ci/run``) loads it from disk,
and the test reads the DOM it built, its console, and a screenshot.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from helpers import other, run_event, spec_kitty, write_project

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Chromium is not installed (Debian: apt-get install chromium; .ci/run installs it)",
)
REPO = Path(__file__).resolve().parent.parent
HOSTILE = "<img src=x onerror=alert(1)>"


class _Dom(HTMLParser):
    """Elements of a page as (tag, attributes, ancestors' data-chart), in document order."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str], str | None]] = []
        self._charts: list[str | None] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        chart = self._charts[-1] if self._charts else None
        self.elements.append((tag, values, chart))
        if tag == "svg":
            self._charts.append(values.get("data-chart"))

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg" and self._charts:
            self._charts.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def marks(self, chart: str) -> list[tuple[str, dict[str, str]]]:
        return [
            (tag, attrs)
            for tag, attrs, inside in self.elements
            if inside == chart and "mark" in attrs.get("class", "").split()
        ]


def _chromium(*args: str, page: Path) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    return subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=0",
            f"--user-data-dir={page.parent / 'chrome'}",
            *args,
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def _console_errors(stderr: str) -> list[str]:
    """Lines where the page's console reported an error (uncaught exception, CSP, bad markup)."""
    return [
        line
        for line in stderr.splitlines()
        if "CONSOLE" in line and ("Uncaught" in line or ":ERROR:" in line or "Refused" in line)
    ]


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The report of a two-feature project, one model name hostile HTML."""
    root = tmp_path_factory.mktemp("html")
    write_project(
        root,
        other("001-alpha", from_phase=None, to_phase="implement", wp_id="WP01"),
        run_event(
            "001-alpha",
            when="2025-11-03T10:00:00",
            agent="claude",
            model="opus",
            cost_usd=1.0,
            duration_ms=60_000,
        ),
        run_event(
            "001-alpha",
            when="2025-11-03T12:00:00",
            agent="codex",
            model=HOSTILE,
            cost_usd=0.5,
            duration_ms=90_000,
            success=False,
        ),
        run_event(
            "002-beta",
            when="2025-11-04T09:00:00",
            agent="claude",
            model="opus",
            cost_usd=2.0,
            duration_ms=30_000,
        ),
    )
    done = spec_kitty("agent", "telemetry", "report", "html", "-o", "report.html", cwd=root)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode().strip() == "Wrote report.html"
    return root / "report.html"


def test_page_is_self_contained(page: Path) -> None:
    """No script, no external URL: the page loads nothing, and names are escaped."""
    text = page.read_text()
    assert "<script" not in text
    assert not re.search(r'(src|href)="(https?:)?//', text)
    assert HOSTILE not in text
    assert "&lt;img src=x onerror=alert(1)&gt;" in text


@needs_chromium
def test_chromium_draws_every_chart_without_console_errors(page: Path) -> None:
    """Chromium's DOM holds each chart with its marks; nothing on the console; no injected img."""
    done = _chromium("--dump-dom", page=page)
    assert done.returncode == 0, done.stderr
    assert _console_errors(done.stderr) == []
    dom = _Dom()
    dom.feed(done.stdout)
    charts = [attrs["data-chart"] for tag, attrs, _ in dom.elements if tag == "svg"]
    assert charts == [
        "cost-per-day",
        "cost-by-feature",
        "cost-by-agent",
        "success-rate",
        "p95-duration",
        "timeline-001-alpha",
        "timeline-002-beta",
    ]
    # two days: 11-03 has opus and the hostile model, 11-04 opus: three stacked pieces
    assert len(dom.marks("cost-per-day")) == 3
    assert len(dom.marks("cost-by-feature")) == 2
    assert len(dom.marks("cost-by-agent")) == 2
    assert len(dom.marks("success-rate")) == 2
    assert len(dom.marks("p95-duration")) == 2
    assert len(dom.marks("timeline-001-alpha")) == 1
    assert len(dom.marks("timeline-002-beta")) == 1  # runs before any phase: one span
    assert not any(tag == "img" for tag, _, _ in dom.elements)
    assert "$3.50" in "".join(dom.text)  # the total tile


@needs_chromium
def test_console_check_catches_an_error(tmp_path: Path) -> None:
    """The console check is not blind: a page whose script throws is caught."""
    broken = tmp_path / "broken.html"
    broken.write_text("<!DOCTYPE html><html><body><script>throw new Error('boom')</script>")
    done = _chromium("--dump-dom", page=broken)
    assert any("boom" in line for line in _console_errors(done.stderr))


@needs_chromium
def test_screenshot(page: Path) -> None:
    """Chromium renders the page to a PNG of the asked size.

    With README_IMAGE=1 it also renders the report of this repository's
    example logs into the README's image, docs/report-html.png.
    """
    shot = page.parent / "report.png"
    done = _chromium(
        f"--screenshot={shot}", "--window-size=860,1700", "--hide-scrollbars", page=page
    )
    assert done.returncode == 0, done.stderr
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", data[16:24]) == (860, 1700)
    if os.environ.get("README_IMAGE") == "1":
        example = page.parent / "example"
        shutil.copytree(REPO / "kitty-specs", example / "kitty-specs")
        spec_kitty("agent", "telemetry", "report", "html", "-o", "report.html", cwd=example)
        image = REPO / "docs" / "report-html.png"
        image.parent.mkdir(exist_ok=True)
        done = _chromium(
            f"--screenshot={image}",
            "--window-size=860,2200",
            "--hide-scrollbars",
            page=example / "report.html",
        )
        assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(
    ("cost_usd", "shown"),
    [(0.125, "$0.13"), (0.004, "<$0.01"), (1234.5, "$1,234.50")],
)
def test_page_writes_money_as_the_tables_do(tmp_path: Path, cost_usd: float, shown: str) -> None:
    """The page's total is written by the tables' money rule: cents half up, ``<$0.01``, commas."""
    write_project(
        tmp_path,
        run_event("001-alpha", when="2025-11-03T10:00:00", cost_usd=cost_usd, duration_ms=1_000),
    )
    done = spec_kitty("agent", "telemetry", "report", "html", "-o", "report.html", cwd=tmp_path)
    assert done.returncode == 0, done.stderr.decode()
    dom = _Dom()
    dom.feed((tmp_path / "report.html").read_text(encoding="utf-8"))
    texts = [text.strip() for text in dom.text]
    assert shown in texts
    assert "$0.12" not in texts
