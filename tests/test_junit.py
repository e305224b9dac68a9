"""Test figures from JUnit XML: real pytest reports, other producers' shapes, bad reports."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import log_records, new_project, spec_kitty
from spec_kitty_telemetry import track_invocation
from spec_kitty_telemetry.junit import JUnitError, TestCounts, parse_junit, read_junit_reports

FEATURE = "001-login"

#: A suite with two passes, a failure, a skip, an expected failure and a fixture error.
SUITE = """
import pytest

@pytest.fixture
def broken():
    raise RuntimeError("fixture broke")

def test_one(): assert 1
def test_two(): assert 2
def test_fails(): assert 1 == 2
@pytest.mark.skip(reason="later")
def test_skipped(): pass
@pytest.mark.xfail(reason="known")
def test_xfail(): assert 0
def test_errors(broken): pass
"""
EXPECTED = {"passed": 2, "failed": 1, "skipped": 2, "errors": 1}


def project(tmp_path: Path) -> Path:
    """A spec-kitty project whose feature folder exists."""
    root = new_project(tmp_path / "project")
    (root / "kitty-specs" / FEATURE).mkdir()
    return root


def write_suite(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "test_sample.py").write_text(SUITE)
    return folder


def pytest_command(suite: Path, report: Path) -> list[str]:
    return [
        sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
        str(suite), f"--junitxml={report}",
    ]  # fmt: skip


def test_a_real_pytest_report_is_counted_case_by_case(tmp_path: Path) -> None:
    """pytest --junitxml: passes, failures, skips (xfail too) and errors are told apart."""
    suite = write_suite(tmp_path / "suite")
    report = tmp_path / "report.xml"
    done = subprocess.run(pytest_command(suite, report), capture_output=True, check=False)
    assert done.returncode == 1, done.stdout
    assert parse_junit(report).to_dict() == EXPECTED


def test_run_junit_records_the_tests_of_a_real_pytest_run(tmp_path: Path) -> None:
    """``run --junit GLOB -- pytest ...`` stores the report's figures; the exit code is pytest's."""
    root = project(tmp_path)
    suite = write_suite(root / "suite")
    done = spec_kitty(
        *("agent", "telemetry", "run", "--feature", FEATURE, "--role", "implementer"),
        *("--no-changes", "--junit", "reports/*.xml", "--"),
        *pytest_command(suite, root / "reports" / "junit.xml"),
        cwd=root,
    )
    assert done.returncode == 1, done.stderr
    assert b"Warning" not in done.stderr
    payload = log_records(root / "kitty-specs" / FEATURE)[0]["payload"]
    assert payload["tests"] == EXPECTED
    assert "tests_error" not in payload


def test_a_report_older_than_the_run_is_not_read(tmp_path: Path) -> None:
    """A stale report (from an earlier run) leaves tests unknown, with a warning naming it."""
    root = project(tmp_path)
    old = root / "old.xml"
    old.write_text('<testsuite tests="1"><testcase name="a"/></testsuite>')
    past = time.time() - 3600
    os.utime(old, (past, past))
    done = spec_kitty(
        *("agent", "telemetry", "run", "--feature", FEATURE, "--role", "implementer"),
        *("--no-changes", "--junit", "old.xml", "--", sys.executable, "-c", "pass"),
        cwd=root,
    )
    assert done.returncode == 0, done.stderr
    assert b"Warning: JUnit report 'old.xml':" in done.stderr
    assert b"predates the run" in done.stderr
    payload = log_records(root / "kitty-specs" / FEATURE)[0]["payload"]
    assert payload["tests"] is None
    assert "predates the run" in payload["tests_error"]


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("<testsuite><testcase name='a'>", "not well-formed XML"),
        ("<html><body/></html>", "not a JUnit report (root element <html>"),
        ("", "not well-formed XML"),
        ('<testsuite tests="x"/>', "is not a whole number"),
        ('<testsuite tests="1" failures="3"/>', "totals do not add up"),
    ],
)
def test_a_malformed_report_is_a_warning_and_tests_unknown(
    tmp_path: Path, content: str, problem: str
) -> None:
    """A report that is not JUnit XML: the run is still recorded, tests None, the reason kept."""
    root = project(tmp_path)
    command = f"open('bad.xml', 'w').write({content!r})"
    done = spec_kitty(
        *("agent", "telemetry", "run", "--feature", FEATURE, "--role", "implementer"),
        *("--no-changes", "--junit", "bad.xml", "--", sys.executable, "-c", command),
        cwd=root,
    )
    assert done.returncode == 0, done.stderr
    assert problem.encode() in done.stderr
    assert done.stderr.count(b"\n") == 1  # one warning line
    payload = log_records(root / "kitty-specs" / FEATURE)[0]["payload"]
    assert payload["tests"] is None
    assert problem in payload["tests_error"]
    assert payload["success"] is True


def test_a_missing_report_is_a_warning_and_tests_unknown(tmp_path: Path) -> None:
    """A --junit path the run never wrote: tests unknown, a warning says no such file."""
    tests, problems = read_junit_reports(["nothing/*.xml"], since=time.time(), cwd=tmp_path)
    assert tests is None
    assert problems == ["JUnit report 'nothing/*.xml': no such file"]


def test_several_reports_and_globs_are_summed_once_each(tmp_path: Path) -> None:
    """Every report a glob or path names is counted, a file named twice only once."""
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "one.xml").write_text(
        '<testsuite><testcase name="x"/><testcase name="y"><failure/></testcase></testsuite>'
    )
    (tmp_path / "a" / "deep").mkdir()
    (tmp_path / "a" / "deep" / "two.xml").write_text(
        '<testsuite><testcase name="z"><skipped/></testcase></testsuite>'
    )
    tests, problems = read_junit_reports(["a/**/*.xml", "a/one.xml"], cwd=tmp_path)
    assert problems == []
    assert tests == TestCounts(passed=1, failed=1, skipped=1, errors=0)


def test_other_producers_shapes_are_understood(tmp_path: Path) -> None:
    """Nested suites (Jest), Surefire's <skipped/>, namespaced tags, a totals-only suite (Go)."""
    report = tmp_path / "mixed.xml"
    report.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<testsuites name="jest tests" tests="4" failures="1">\n'
        '  <testsuite name="outer">\n'
        '    <testsuite name="inner">\n'
        '      <testcase classname="a" name="adds"/>\n'
        '      <testcase classname="a" name="breaks"><failure message="x">trace</failure>'
        "</testcase>\n"
        "    </testsuite>\n"
        '    <testcase name="later"><skipped message="todo"/></testcase>\n'
        "  </testsuite>\n"
        '  <testsuite name="go-summary" tests="5" failures="1" errors="1" skipped="1"/>\n'
        '  <x:testsuite xmlns:x="urn:example"><x:testcase name="ns"><x:error/></x:testcase>'
        "</x:testsuite>\n"
        "</testsuites>\n"
    )
    assert parse_junit(report) == TestCounts(passed=1 + 2, failed=1 + 1, skipped=1 + 1, errors=2)


def test_a_case_with_both_an_error_and_a_failure_counts_once_as_an_error(tmp_path: Path) -> None:
    """Each test case is counted once: error over failure over skipped."""
    report = tmp_path / "r.xml"
    report.write_text('<testsuite><testcase name="t"><failure/><error/></testcase></testsuite>')
    assert parse_junit(report) == TestCounts(errors=1)


def test_a_report_that_is_a_folder_is_an_error_with_its_path(tmp_path: Path) -> None:
    """parse_junit raises JUnitError naming the file it could not read."""
    with pytest.raises(JUnitError, match="cannot read"):
        parse_junit(tmp_path)


def test_hooks_accept_test_figures_and_drop_bad_ones(tmp_path: Path) -> None:
    """``result.tests`` is stored; figures that are not counts are dropped, the event kept."""
    feature_dir = project(tmp_path) / "kitty-specs" / FEATURE
    with track_invocation(feature_dir, FEATURE, agent="claude", role="implementer") as result:
        result.tests = {"passed": 7, "failed": 1}
    with track_invocation(feature_dir, FEATURE, agent="claude", role="implementer") as result:
        result.tests = {"passed": -1}
    good, bad = (record["payload"] for record in log_records(feature_dir))
    assert good["tests"] == {"passed": 7, "failed": 1, "skipped": 0, "errors": 0}
    assert "tests" not in bad
    assert "tests.passed: expected a whole number >= 0, got -1: dropped" in bad["usage_error"]
