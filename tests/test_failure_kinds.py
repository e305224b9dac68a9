"""Each failed run gets an error_category, from fake agents' real-shaped output and exit codes."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from helpers import agent, log_records, new_project, spec_kitty
from spec_kitty_telemetry import track_invocation
from spec_kitty_telemetry.errors import ConfigError
from spec_kitty_telemetry.failure_kinds import BUILTIN_RULES, classify_failure, load_rules

FEATURE = "001-login"


def printing(document: dict, exit_code: int) -> list[str]:  # type: ignore[type-arg]
    """A command printing one JSON line (an agent's error shape) and exiting with ``exit_code``."""
    code = f"import sys; print({json.dumps(json.dumps(document))}); sys.exit({exit_code})"
    return [sys.executable, "-c", code]


def project(tmp_path: Path) -> Path:
    root = new_project(tmp_path / "project")
    (root / "kitty-specs" / FEATURE).mkdir()
    return root


def recorded(root: Path, command: list[str], *options: str) -> dict:  # type: ignore[type-arg]
    spec_kitty(
        *("agent", "telemetry", "run", "--feature", FEATURE, "--role", "implementer"),
        *("--no-changes", *options, "--", *command),
        cwd=root,
    )
    return log_records(root / "kitty-specs" / FEATURE)[-1]["payload"]


CASES = {
    "claude_auth": (
        agent("claude", "-p", "Invalid API key · Please run /login", "--output-format", "json",
              "--fake-is-error", "--fake-exit", "1"),
        "auth",
    ),
    "claude_max_turns": (
        agent("claude", "-p", "x", "--output-format", "json", "--fake-subtype", "error_max_turns",
              "--fake-exit", "1"),
        "limit",
    ),
    "claude_overloaded": (
        agent("claude", "-p", 'API Error: 529 {"type":"overloaded_error"}', "--output-format",
              "json", "--fake-is-error", "--fake-exit", "1"),
        "rate_limit",
    ),
    "claude_tool_error": (
        agent("claude", "-p", "x", "--output-format", "json", "--fake-subtype",
              "error_during_execution", "--fake-exit", "1"),
        "tool_error",
    ),
    "codex_network": (agent("codex", "exec", "--json", "--fake-error-last", "go"), "network"),
    "codex_usage_limit": (
        printing({"type": "turn.failed", "error": {"message": "You've hit your usage limit."}}, 1),
        "rate_limit",
    ),
    "gemini_auth_exit_41": (
        printing({"error": {"type": "FatalAuthenticationError", "message": "x", "code": 41}}, 41),
        "auth",  # the agent is recognised as Gemini from its output: exit 41 is its auth failure
    ),
    "gemini_quota": (
        printing({"error": {"type": "ApiError", "message": "RESOURCE_EXHAUSTED", "code": 429}}, 1),
        "rate_limit",
    ),
    "killed_by_sigterm": (
        [sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGTERM)"],
        "cancelled",
    ),
    "gnu_timeout_exit": ([sys.executable, "-c", "raise SystemExit(124)"], "timeout"),
    "not_found": (["no-such-agent-program"], "tool_error"),
    "plain_failure": ([sys.executable, "-c", "raise SystemExit(3)"], "unknown"),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_failure_shape_gets_its_category(tmp_path: Path, name: str) -> None:
    """A failed ``run`` stores error_category beside the raw error it was decided from."""
    command, category = CASES[name]
    payload = recorded(project(tmp_path), command)
    assert payload["success"] is False
    assert payload["error_category"] == category, payload["error"]


def test_a_successful_run_has_no_category(tmp_path: Path) -> None:
    """Only failed runs carry error_category."""
    payload = recorded(project(tmp_path), [sys.executable, "-c", "pass"])
    assert "error_category" not in payload


def test_failing_tests_make_a_test_failure(tmp_path: Path) -> None:
    """A run whose JUnit report has failures is a test_failure, whatever its exit code says."""
    root = project(tmp_path)
    report = "<testsuite><testcase name='a'><failure/></testcase></testsuite>"
    command = [sys.executable, "-c", f"open('r.xml','w').write({report!r}); raise SystemExit(1)"]
    payload = recorded(root, command, "--junit", "r.xml")
    assert payload["error_category"] == "test_failure"


def test_gemini_exit_codes_are_read_for_gemini_only() -> None:
    """Exit code 41 is Gemini CLI's authentication failure; for another agent it means nothing."""
    assert classify_failure(exit_code=41, error="x", agent="gemini") == "auth"
    assert classify_failure(exit_code=53, error="x", agent="gemini") == "limit"
    assert classify_failure(exit_code=41, error="x", agent="codex") == "unknown"


def test_a_project_rule_comes_before_the_built_in_ones(tmp_path: Path) -> None:
    """``error_categories:`` in telemetry.yaml adds categories and wins over the table."""
    root = project(tmp_path)
    (root / ".kittify").mkdir()
    (root / ".kittify" / "telemetry.yaml").write_text(
        "error_categories:\n"
        "  - category: quota\n"
        "    match: 'usage limit'\n"
        "  - category: flaky_infra\n"
        "    exit_codes: [3]\n"
    )
    message = {"message": "You've hit your usage limit"}
    limit = printing({"type": "turn.failed", "error": message}, 1)
    assert recorded(root, limit)["error_category"] == "quota"
    assert recorded(root, [sys.executable, "-c", "raise SystemExit(3)"])["error_category"] == (
        "flaky_infra"
    )


def test_a_broken_rule_set_warns_and_the_built_in_table_decides(tmp_path: Path) -> None:
    """A bad ``error_categories:`` section never loses the event: built-in rules, one warning."""
    root = project(tmp_path)
    (root / ".kittify").mkdir()
    (root / ".kittify" / "telemetry.yaml").write_text(
        "error_categories:\n  - category: x\n    match: '('\n"
    )
    feature_dir = root / "kitty-specs" / FEATURE
    with track_invocation(feature_dir, FEATURE, agent="claude", role="implementer") as result:
        result.success = False
        result.error = "HTTP 429 Too Many Requests"
    assert log_records(feature_dir)[0]["payload"]["error_category"] == "rate_limit"


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ("nope", "error_categories: expected a list of rules, got str"),
        ([{"category": "Bad Name", "match": "x"}], "error_categories[0].category: expected"),
        ([{"category": "x", "match": "("}], "error_categories[0].match: not a valid regular"),
        ([{"category": "x"}], "error_categories[0]: give at least one of match"),
        ([{"category": "x", "exit_codes": ["1"]}], "error_categories[0].exit_codes: expected"),
        ([{"category": "x", "match": "a", "when": 1}], "error_categories[0].when: unknown key"),
    ],
)
def test_rule_sections_are_validated_naming_file_and_key(section: object, message: str) -> None:
    """Every mistake in the section is a ConfigError naming the file and the key."""
    with pytest.raises(ConfigError) as raised:
        load_rules(section, ".kittify/telemetry.yaml")
    assert str(raised.value).startswith(".kittify/telemetry.yaml: ")
    assert message in str(raised.value)


def test_no_section_means_the_built_in_table() -> None:
    """Without ``error_categories:`` the built-in rules are used as they are."""
    assert load_rules(None) == BUILTIN_RULES
