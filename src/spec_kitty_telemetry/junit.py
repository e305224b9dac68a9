"""Test results of a run, read from the JUnit XML reports it wrote.

JUnit XML is what test runners of every language can write (pytest
``--junitxml``, Maven Surefire, Gradle, Jest's and Go's junit reporters,
PHPUnit...): a ``<testsuites>`` or ``<testsuite>`` root, ``<testcase>``
elements, and a ``<failure>``, ``<error>`` or ``<skipped>`` child on the cases
that did not pass. Each case is counted once: error over failure over
skipped, passed when it has none of them. A suite that lists no cases (some
producers write only totals) counts from its ``tests``/``failures``/
``errors``/``skipped`` attributes instead.

Only reports written during the run are read (modified at or after its start,
to the second): a report left by an earlier run would credit this run with
results it did not produce. A report that is missing, stale or malformed makes
the run's tests unknown — a part of the figures would understate failures —
and says why in a warning; it never stops the run from being recorded.
"""

from __future__ import annotations

import glob
import os
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from .outputs import TESTS_KEY
from .usage import is_count

__all__ = [
    "MAX_REPORT_BYTES",
    "TESTS_ERROR_KEY",
    "TESTS_KEY",
    "JUnitError",
    "TestCounts",
    "parse_junit",
    "read_junit_reports",
]

#: Payload key saying why the tests are unknown.
TESTS_ERROR_KEY: Final = "tests_error"
#: Largest report read; a bigger file is treated as malformed rather than held in memory.
MAX_REPORT_BYTES: Final = 64 * 1024 * 1024

_FIELDS: Final = ("passed", "failed", "skipped", "errors")


class JUnitError(ValueError):
    """A JUnit report that cannot be read (missing, stale, too large, not JUnit XML)."""


@dataclass(frozen=True)
class TestCounts:
    """How many test cases passed, failed, were skipped and errored in a run."""

    __test__ = False  # not a pytest test class, despite the name

    passed: int = 0
    failed: int = 0
    skipped: int = 0
    errors: int = 0

    def __post_init__(self) -> None:
        for name in _FIELDS:
            if not is_count(getattr(self, name)):
                value = getattr(self, name)
                raise ValueError(f"tests.{name}: expected a whole number >= 0, got {value!r}")

    @classmethod
    def of(cls, figures: TestCounts | Mapping[str, Any]) -> TestCounts:
        """Return ``figures`` as TestCounts; a mapping needs the four counts (ValueError if not)."""
        if isinstance(figures, TestCounts):
            return figures
        if not isinstance(figures, Mapping):
            raise ValueError(f"tests: expected a mapping of {', '.join(_FIELDS)}, got {figures!r}")
        unknown = sorted(set(figures) - set(_FIELDS))
        if unknown:
            raise ValueError(f"tests: unknown field {unknown[0]!r} (expected {', '.join(_FIELDS)})")
        return cls(**{name: figures.get(name, 0) for name in _FIELDS})

    def __add__(self, other: TestCounts) -> TestCounts:
        """Sum two reports' figures."""
        return TestCounts(*(getattr(self, n) + getattr(other, n) for n in _FIELDS))

    @property
    def total(self) -> int:
        """Every test case counted."""
        return self.passed + self.failed + self.skipped + self.errors

    def to_dict(self) -> dict[str, int]:
        """Return the figures as stored in ``payload["tests"]``."""
        return {name: getattr(self, name) for name in _FIELDS}


def parse_junit(path: str | Path) -> TestCounts:
    """Count the test cases in one JUnit XML report; JUnitError says why it cannot be read."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise JUnitError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if size > MAX_REPORT_BYTES:
        raise JUnitError(f"{path}: larger than {MAX_REPORT_BYTES // (1024 * 1024)} MiB")
    counts = {name: 0 for name in _FIELDS}
    # Per open <testsuite>: how many cases were seen inside it (nested suites included).
    open_suites: list[int] = []
    root_tag: str | None = None
    try:
        for event, element in ET.iterparse(path, events=("start", "end")):
            tag = _local(element.tag)
            if event == "start":
                if root_tag is None:
                    root_tag = tag
                    if tag not in ("testsuites", "testsuite"):
                        raise JUnitError(
                            f"{path}: not a JUnit report (root element <{tag}>, "
                            "expected <testsuites> or <testsuite>)"
                        )
                if tag == "testsuite":
                    open_suites.append(0)
                continue
            if tag == "testcase":
                counts[_outcome(element)] += 1
                open_suites[:] = [seen + 1 for seen in open_suites]
                element.clear()
            elif tag == "testsuite":
                seen = open_suites.pop()
                if seen == 0:
                    totals = _suite_totals(path, element)
                    for name in _FIELDS:
                        counts[name] += totals[name]
                    open_suites[:] = [s + totals["total"] for s in open_suites]
                element.clear()
    except ET.ParseError as exc:
        raise JUnitError(f"{path}: not well-formed XML: {exc}") from None
    except OSError as exc:
        raise JUnitError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if root_tag is None:
        raise JUnitError(f"{path}: empty report")
    return TestCounts(**counts)


def read_junit_reports(
    patterns: Sequence[str], *, since: float | None = None, cwd: str | Path | None = None
) -> tuple[TestCounts | None, list[str]]:
    """Sum the reports ``patterns`` name (paths or globs, ``**`` too); return (counts, problems).

    Relative patterns are taken from ``cwd`` (default: the working
    directory). With ``since`` (seconds since the epoch) a report modified
    before that second is stale. The counts are None, and ``problems`` says
    why, when any pattern matches no fresh report or any report is malformed.
    """
    base = Path(cwd) if cwd is not None else Path.cwd()
    total = TestCounts()
    problems: list[str] = []
    seen: set[Path] = set()
    for pattern in patterns:
        full = pattern if os.path.isabs(pattern) else str(base / pattern)
        matches = sorted(glob.glob(full, recursive=True)) if glob.has_magic(pattern) else [full]
        fresh = []
        stale = False
        for match in matches:
            path = Path(match)
            try:
                modified = path.stat().st_mtime
            except OSError:
                continue
            if since is not None and int(modified) < int(since):
                problems.append(f"JUnit report {pattern!r}: {path} predates the run: not read")
                stale = True
                continue
            fresh.append(path)
        if not fresh and not stale:
            problems.append(f"JUnit report {pattern!r}: no such file")
        for path in fresh:
            if path in seen:
                continue
            seen.add(path)
            try:
                total = total + parse_junit(path)
            except (JUnitError, ValueError) as exc:
                problems.append(f"JUnit report {pattern!r}: {exc}")
    return (None if problems else total), problems


def _local(tag: str) -> str:
    """``{namespace}testcase`` -> ``testcase``: some producers use a namespace."""
    return tag.rsplit("}", 1)[-1]


def _outcome(case: ET.Element) -> str:
    children = {_local(child.tag) for child in case}
    if "error" in children:
        return "errors"
    if "failure" in children:
        return "failed"
    if "skipped" in children:
        return "skipped"
    return "passed"


def _suite_totals(path: Path, suite: ET.Element) -> dict[str, int]:
    """Count a case-less suite from its totals: ``tests`` less failures, errors, skipped pass."""
    figures: dict[str, int] = {}
    for attribute in ("tests", "failures", "errors", "skipped", "disabled"):
        text = suite.get(attribute)
        try:
            figures[attribute] = int(text) if text is not None and text.strip() else 0
        except ValueError:
            raise JUnitError(
                f"{path}: <testsuite {attribute}={text!r}> is not a whole number"
            ) from None
    skipped = figures["skipped"] + figures["disabled"]
    passed = figures["tests"] - figures["failures"] - figures["errors"] - skipped
    if passed < 0 or min(figures.values()) < 0:
        raise JUnitError(f"{path}: <testsuite> totals do not add up: {figures}")
    return {
        "passed": passed,
        "failed": figures["failures"],
        "skipped": skipped,
        "errors": figures["errors"],
        "total": figures["tests"],
    }
