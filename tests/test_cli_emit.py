"""``spec-kitty agent telemetry emit``: the typer-free fast path and the typer route."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from helpers import log_records, spec_kitty
from spec_kitty_telemetry.cli import app

FEATURE = "002-export"
pytestmark = pytest.mark.usefixtures("feature_folder")


def emit(project: Path, *args: str):
    return spec_kitty("agent", "telemetry", "emit", "--feature", FEATURE, *args, cwd=project)


def feature_log(project: Path) -> list[dict]:
    return log_records(project / "kitty-specs" / FEATURE)


FULL = (
    "--role", "implementer", "--agent", "claude", "--model", "claude-sonnet-4-5",
    "--wp-id", "WP02", "--input-tokens", "48210", "--output-tokens", "3120",
    "--cache-read-tokens", "40000", "--cache-write-tokens", "2000",
    "--reasoning-tokens", "100", "--cost-usd", "0.19", "--duration-ms", "95400",
)  # fmt: skip


def test_emit_records_every_given_field(project: Path) -> None:
    """Every flag lands in the payload under its field name; the line names the log."""
    done = emit(project, *FULL)
    assert done.returncode == 0, done.stderr
    [record] = feature_log(project)
    assert done.stdout.decode() == (
        f"Recorded ExecutionEvent {record['event_id']} in "
        f"kitty-specs/{FEATURE}/execution.events.jsonl\n"
    )
    assert done.stderr == b""
    assert record["aggregate_id"] == FEATURE
    assert record["node_id"] == "cli"
    payload = {k: v for k, v in record["payload"].items() if k != "environment"}
    assert payload == {
        "wp_id": "WP02",
        "agent": "claude",
        "role": "implementer",
        "model": "claude-sonnet-4-5",
        "input_tokens": 48210,
        "output_tokens": 3120,
        "cache_read_tokens": 40000,
        "cache_write_tokens": 2000,
        "reasoning_tokens": 100,
        "cost_usd": 0.19,
        "duration_ms": 95400,
        "success": True,
        "error": None,
        "exit_code": None,
    }


def test_missing_optional_fields_are_stored_as_null(project: Path) -> None:
    """Only the required flags: every token count, cost, duration, model and wp stay null, not 0."""
    done = emit(project, "--role", "reviewer", "--agent", "codex", "--failure", "--error", "bad")
    assert done.returncode == 0, done.stderr
    [record] = feature_log(project)
    payload = record["payload"]
    for name in (
        "wp_id", "model", "input_tokens", "output_tokens", "cache_read_tokens",
        "cache_write_tokens", "reasoning_tokens", "cost_usd", "exit_code", "duration_ms",
    ):  # fmt: skip
        assert payload[name] is None, name
    assert (payload["success"], payload["error"]) == (False, "bad")


def test_empty_strings_from_templates_are_stored_as_null(project: Path) -> None:
    """``--wp-id "" --model "" --error ""``: null, not empty strings; success stays true."""
    done = emit(
        project, "--role", "planner", "--agent", "claude", "--wp-id", "", "--model", "",
        "--error", "", "--success",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    payload = feature_log(project)[0]["payload"]
    assert (payload["wp_id"], payload["model"], payload["error"]) == (None, None, None)
    assert payload["success"] is True


def test_error_alone_means_failure(project: Path) -> None:
    """``--error`` without --success or --failure records success false."""
    assert emit(project, "--role", "planner", "--agent", "c", "--error", "oops").returncode == 0
    payload = feature_log(project)[0]["payload"]
    assert (payload["success"], payload["error"]) == (False, "oops")


def test_feature_with_spaces_uses_the_folder_name_as_aggregate_id(project: Path) -> None:
    """``--feature " 002-export "`` writes to the folder 002-export under the same id."""
    done = spec_kitty(
        "agent", "telemetry", "emit", "--feature", f"  {FEATURE} ", "--role", "planner",
        "--agent", "c", cwd=project,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stderr == b""
    [record] = feature_log(project)
    assert record["aggregate_id"] == FEATURE
    assert done.stdout.decode().endswith(f" in kitty-specs/{FEATURE}/execution.events.jsonl\n")


def test_emit_into_a_new_feature_folder_records_and_warns(project: Path) -> None:
    """A feature folder that does not exist yet: created, recorded, one Warning line; exit 0."""
    done = spec_kitty(
        "agent", "telemetry", "emit", "--feature", "003-tpyo", "--role", "planner",
        "--agent", "c", cwd=project,
    )  # fmt: skip
    assert done.returncode == 0
    assert done.stderr.decode() == "Warning: created new feature folder kitty-specs/003-tpyo\n"
    assert len(log_records(project / "kitty-specs" / "003-tpyo")) == 1


def test_json_output_is_the_stored_record(project: Path) -> None:
    """``--json`` prints {"result": "ok", "event": <the record exactly as stored>}."""
    done = emit(project, *FULL, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"result": "ok", "event": feature_log(project)[0]}


def test_node_id_comes_from_the_project_config(project: Path) -> None:
    """``.kittify/telemetry.yaml``'s node_id names the writer of the event."""
    (project / ".kittify").mkdir()
    (project / ".kittify" / "telemetry.yaml").write_text("node_id: laptop-7\n")
    assert emit(project, "--role", "planner", "--agent", "claude").returncode == 0
    assert feature_log(project)[0]["node_id"] == "laptop-7"


def test_emit_works_from_a_subdirectory_of_the_project(project: Path) -> None:
    """The log is found from the project root, wherever inside the project emit runs."""
    inner = project / "src" / "deep"
    inner.mkdir(parents=True)
    done = spec_kitty(
        "agent", "telemetry", "emit", "--feature", FEATURE, "--role", "merger", "--agent", "x",
        cwd=inner,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert len(feature_log(project)) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("--role", "implementer", "--agent", "claude", "--input-tokens", "-5"),
            "Error: argument --input-tokens: expected a whole number >= 0, got '-5'\n",
        ),
        (
            ("--role", "boss", "--agent", "claude"),
            "Error: argument --role: invalid choice: 'boss' (choose from 'specifier', "
            "'planner', 'implementer', 'reviewer', 'merger')\n",
        ),
        (
            ("--role", "implementer", "--agent", "claude", "--cost-usd", "-0.5"),
            "Error: argument --cost-usd: expected an amount from 0 to under 1e+09, got '-0.5'\n",
        ),
        (
            ("--role", "implementer", "--agent", "claude", "--cost-usd", "nan"),
            "Error: argument --cost-usd: expected an amount from 0 to under 1e+09, got 'nan'\n",
        ),
        (
            ("--role", "implementer", "--agent", "claude", "--output-tokens", "1.5"),
            "Error: argument --output-tokens: expected a whole number >= 0, got '1.5'\n",
        ),
        (
            ("--role", "implementer"),
            "Error: the following arguments are required: --agent\n",
        ),
        (
            ("--role", "implementer", "--agent", "c", "--success", "--failure"),
            "Error: argument --failure: not allowed with argument --success\n",
        ),
        (
            (
                "--role",
                "implementer",
                "--agent",
                "c",
                "--input-tokens",
                "10",
                "--cache-read-tokens",
                "20",
            ),
            "Error: cache_read_tokens + cache_write_tokens (20) exceed input_tokens (10); "
            "input_tokens must be the total input, cache included\n",
        ),
        (
            ("--role", "implementer", "--agent", "  "),
            "Error: agent: must be a non-empty string, got '  '\n",
        ),
        (
            ("--role", "implementer", "--agent", "c", "--bogus"),
            "Error: unrecognized arguments: --bogus\n",
        ),
        (
            ("--role", "implementer", "--agent", "c", "--input-tokens", str(2**63)),
            f"Error: argument --input-tokens: expected a whole number below 2**63, got '{2**63}'\n",
        ),
        (
            ("--role", "implementer", "--agent", "c", "--duration-ms", "1" + "0" * 30),
            "Error: argument --duration-ms: expected a whole number below 2**63, "
            f"got '{'1' + '0' * 30}'\n",
        ),
        (
            ("--role", "implementer", "--agent", "c", "--success", "--error", "boom"),
            "Error: argument --error: not allowed with argument --success\n",
        ),
        (
            ("--role", "implementer", "--agent", ""),
            "Error: agent: must be a non-empty string, got ''\n",
        ),
    ],
)
def test_invalid_input_exits_2_with_one_line_and_writes_nothing(
    project: Path, args: tuple[str, ...], message: str
) -> None:
    """Bad input: exactly one ``Error:`` line on stderr naming the flag, exit 2, no log line."""
    done = emit(project, *args)
    assert done.returncode == 2
    assert done.stderr.decode() == message
    assert done.stdout == b""
    assert feature_log(project) == []


def test_bad_feature_name_is_rejected(project: Path) -> None:
    """A feature that is a path, not a folder name, is refused before anything is written."""
    done = spec_kitty(
        "agent", "telemetry", "emit", "--feature", "../escape", "--role", "planner",
        "--agent", "c", cwd=project,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.decode() == (
        "Error: --feature: expected a feature folder name like 001-login, got '../escape'\n"
    )


def test_emit_into_a_path_blocked_by_a_file_warns_and_exits_0(project: Path) -> None:
    """Emission failure (the feature folder is a file): warning, exit 0, error JSON, no raise."""
    (project / "kitty-specs" / FEATURE).rmdir()
    (project / "kitty-specs" / FEATURE).write_text("not a folder")
    done = emit(project, "--role", "implementer", "--agent", "claude", "--json")
    assert done.returncode == 0
    reply = json.loads(done.stdout)
    assert reply["result"] == "error"
    assert "not recorded" in reply["error"]
    assert done.stderr.decode().startswith("Warning: telemetry: ExecutionEvent")
    assert b"Traceback" not in done.stderr


def test_emit_help_lists_the_options(project: Path) -> None:
    """``emit --help`` documents every option and shows examples; exit 0."""
    done = emit(project, "--help")
    assert done.returncode == 0
    text = done.stdout.decode()
    for flag in (
        "--feature",
        "--role",
        "--agent",
        "--model",
        "--wp-id",
        "--input-tokens",
        "--output-tokens",
        "--cache-read-tokens",
        "--cache-write-tokens",
        "--cost-usd",
        "--duration-ms",
        "--success",
        "--failure",
        "--error",
        "--json",
    ):
        assert flag in text, flag
    assert "examples:" in text


def test_telemetry_help_lists_emit(project: Path) -> None:
    """``spec-kitty agent telemetry --help`` lists emit (and run) with a one-line summary."""
    done = spec_kitty("agent", "telemetry", "--help", cwd=project)
    assert done.returncode == 0
    text = done.stdout.decode()
    assert "emit" in text
    assert "Record one agent invocation" in text
    assert "run" in text


def test_fast_path_does_not_import_typer_rich_or_pydantic(project: Path) -> None:
    """The console script's emit route loads none of typer, rich, pydantic (start-up cost)."""
    probe = (
        "import sys; sys.argv = ['spec-kitty', 'agent', 'telemetry', 'emit', '--feature', "
        f"'{FEATURE}', '--role', 'planner', '--agent', 'c']\n"
        "from spec_kitty_telemetry.__main__ import main\n"
        "try:\n    main()\nexcept SystemExit as exit:\n    code = exit.code\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('typer', 'rich', 'pydantic',"
        " 'click'))\n"
        "print(code, heavy)\n"
    )
    import subprocess

    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=project, capture_output=True, check=True
    )
    assert done.stdout.decode().splitlines()[-1] == "0 []"
    assert len(feature_log(project)) == 1


def test_typer_route_hands_arguments_to_the_same_implementation(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Invoking emit through the typer app records the same event and rejects the same input."""
    monkeypatch.chdir(project)
    runner = CliRunner()
    ok = runner.invoke(
        app, ["agent", "telemetry", "emit", "--feature", FEATURE, "--role", "planner",
              "--agent", "claude", "--input-tokens", "7", "--json"],
    )  # fmt: skip
    assert ok.exit_code == 0, ok.output
    [record] = feature_log(project)
    assert record["payload"]["input_tokens"] == 7
    bad = runner.invoke(
        app, ["agent", "telemetry", "emit", "--feature", FEATURE, "--role", "x", "--agent", "c"]
    )
    assert bad.exit_code == 2
    assert len(feature_log(project)) == 1


def test_broken_config_is_a_warning_and_the_event_is_still_recorded(project: Path) -> None:
    """A .kittify/telemetry.yaml that is not YAML: warning naming it, exit 0, default node id."""
    (project / ".kittify").mkdir()
    (project / ".kittify" / "telemetry.yaml").write_text("node_id: [unclosed\n")
    done = emit(project, "--role", "planner", "--agent", "claude", "--wp", "WP09")
    assert done.returncode == 0
    stderr = done.stderr.decode()
    assert stderr.startswith("Warning: telemetry: using node_id 'cli': ")
    assert "telemetry.yaml: not valid YAML" in stderr
    [record] = feature_log(project)
    assert record["node_id"] == "cli"
    assert record["payload"]["wp_id"] == "WP09"


def test_emit_after_a_line_at_the_lamport_bound_answers_ok(project: Path) -> None:
    """A merged-in line claiming 2**53-1 does not turn ``emit --json`` into an error."""
    foreign = {"aggregate_id": FEATURE, "causation_id": None,
               "event_id": "01JD0000000000000000000000", "event_type": "ExecutionEvent",
               "lamport_clock": 2**53 - 1, "node_id": "laptop-b", "payload": {},
               "timestamp": "2025-01-01T00:00:00+00:00"}  # fmt: skip
    log = project / "kitty-specs" / FEATURE / "execution.events.jsonl"
    log.write_text(json.dumps(foreign, sort_keys=True) + "\n")
    done = emit(project, "--role", "implementer", "--agent", "claude", "--json")
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["result"] == "ok"
    assert answer["event"]["lamport_clock"] == 2**53 - 1
    assert len(feature_log(project)) == 2
