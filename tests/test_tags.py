"""Tags: ``--tag KEY=VALUE`` on emit and run, ``tags=`` in the hooks, defaults, the filter."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import agent, log_records, spec_kitty
from spec_kitty_telemetry._cli_warnings import error_message
from spec_kitty_telemetry._emit_result import emit_with_result
from spec_kitty_telemetry._records import execution_payload
from spec_kitty_telemetry.emit import emit_execution_record
from spec_kitty_telemetry.errors import ConfigError, InvalidEventError, InvalidOptionError
from spec_kitty_telemetry.ids import new_event_id
from spec_kitty_telemetry.integration import InvocationResult, record_invocation, track_invocation
from spec_kitty_telemetry.query import EventFilter, query_project_events
from spec_kitty_telemetry.tags import (
    MAX_KEY_LENGTH,
    MAX_TAGS,
    MAX_VALUE_LENGTH,
    config_tags,
    lenient_tags,
    merge_tags,
    parse_tag_filter,
    parse_tag_options,
    tag_problems,
)

FEATURE = "004-tags"
pytestmark = pytest.mark.usefixtures("feature_folder")


def configure(project: Path, text: str) -> None:
    (project / ".kittify").mkdir(exist_ok=True)
    (project / ".kittify" / "telemetry.yaml").write_text(text)


def tags_of(project: Path) -> list[object]:
    return [
        r["payload"].get("tags", "absent") for r in log_records(project / "kitty-specs" / FEATURE)
    ]


def emit(project: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return spec_kitty(
        *("agent", "telemetry", "emit", "--feature", FEATURE, "--role", "implementer"),
        *("--agent", "claude", *args),
        cwd=project,
    )


# --- the rule -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tags", "wanted"),
    [
        ({"1env": "x"}, "must start with a letter"),
        ({"my key": "x"}, "must start with a letter"),
        ({"k" * (MAX_KEY_LENGTH + 1): "x"}, f"longer than {MAX_KEY_LENGTH}"),
        ({"env": "x" * (MAX_VALUE_LENGTH + 1)}, f"longer than {MAX_VALUE_LENGTH}"),
        ({"env": ""}, "value is empty"),
        ({"env": "a\nb"}, "control character"),
        ({"env": 3}, "is not a string"),
        ({7: "x"}, "is not a string"),
        ({f"k{i}": "v" for i in range(MAX_TAGS + 1)}, f"at most {MAX_TAGS}"),
        (["env=x"], "must be a mapping"),
    ],
)
def test_the_tag_rule_refuses_each_bad_shape(tags: object, wanted: str) -> None:
    """Key pattern, key/value length, empty or control-character values, count, non-mapping."""
    problems = tag_problems(tags)
    assert len(problems) == 1
    assert wanted in problems[0]
    assert problems[0].startswith("tags: ")


def test_the_tag_rule_accepts_the_bounds_exactly() -> None:
    """The longest key, the longest value and the most tags allowed are all storable."""
    assert tag_problems({"k" * MAX_KEY_LENGTH: "v" * MAX_VALUE_LENGTH}) == []
    assert tag_problems({f"k{i}": "v" for i in range(MAX_TAGS)}) == []
    assert tag_problems({"ci.run-id_2": "über 🚀"}) == []


def test_the_payload_rule_refuses_bad_tags_so_the_strict_emitter_stores_nothing(
    project: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """execution_payload names a bad tag; emit_execution_record then warns and writes nothing."""
    with pytest.raises(InvalidEventError, match="tags: tag key '-x'"):
        execution_payload(agent="a", role="planner", tags={"-x": "1"})
    folder = project / "kitty-specs" / FEATURE
    with caplog.at_level(logging.WARNING):
        assert (
            emit_execution_record(folder, FEATURE, None, "a", "planner", tags={"-x": "1"}) is None
        )
    assert log_records(folder) == []
    assert emit_execution_record(folder, FEATURE, None, "a", "planner", tags={"x": "1"})
    assert tags_of(project) == [{"x": "1"}]


def test_tag_options_parse_and_errors_name_the_flag() -> None:
    """KEY=VALUE pairs, later ones win, '=' inside the value kept; errors say --tag."""
    assert parse_tag_options(["a=1", "b=x=y", "a=2", "c="]) == {"a": "2", "b": "x=y", "c": ""}
    assert parse_tag_options(None) == {}
    for bad, wanted in (("novalue", "expected KEY=VALUE"), ("=v", "expected KEY=VALUE"),
                        ("9=v", "tag key '9' must start with a letter")):  # fmt: skip
        with pytest.raises(InvalidOptionError) as caught:
            parse_tag_options([bad])
        assert error_message(caught.value).startswith(f"--tag: {wanted}")
    with pytest.raises(InvalidOptionError, match=f"more than {MAX_TAGS} tags"):
        parse_tag_options([f"k{i}=v" for i in range(MAX_TAGS + 1)])
    with pytest.raises(InvalidOptionError, match="value is empty"):
        parse_tag_filter(["env="])
    assert parse_tag_filter([]) is None


def test_explicit_tags_win_over_defaults_and_an_empty_value_removes_one() -> None:
    """merge_tags: explicit over default, KEY= drops the default, defaults yield room first."""
    defaults = {"environment": "local", "team": "core"}
    assert merge_tags(defaults, {"environment": "ci", "team": ""}) == {"environment": "ci"}
    assert merge_tags(defaults, {}) == defaults
    many = {f"k{i}": "v" for i in range(MAX_TAGS)}
    merged = merge_tags(defaults, many)
    assert merged == many


def test_lenient_tags_keep_the_good_ones_and_say_why_the_others_went() -> None:
    """The hooks' route: one note per dropped tag, good tags kept, a non-mapping dropped."""
    kept, notes = lenient_tags({"env": "ci", "bad key": "x", "n": 5})
    assert kept == {"env": "ci"}
    assert notes == [
        "tag key 'bad key' must start with a letter and hold only letters, digits, _ . -: dropped",
        "tag 'n': value 5 is not a string: dropped",
    ]
    assert lenient_tags("env=ci")[0] == {}
    assert "expected a mapping" in lenient_tags("env=ci")[1][0]


def test_config_section_is_validated_naming_file_and_key(tmp_path: Path) -> None:
    """Strings and whole numbers are taken; other YAML scalars and bad keys name file and key."""
    where = tmp_path / "telemetry.yaml"
    assert config_tags({"environment": "local", "build": 42}, where) == {
        "environment": "local",
        "build": "42",
    }
    assert config_tags(None, where) == {}
    for section, wanted in (
        ({"version": 1.1}, f"{where}: tags.version: expected a string, got 1.1"),
        ({"nightly": True}, f"{where}: tags.nightly: expected a string"),
        ({"bad key": "x"}, f"{where}: tags.bad key: tag key 'bad key' must start"),
        (["environment"], f"{where}: tags: expected a mapping"),
    ):
        with pytest.raises(ConfigError) as caught:
            config_tags(section, where)
        assert str(caught.value).startswith(wanted)


# --- emit -----------------------------------------------------------------------------


def test_emit_records_tags_over_the_projects_defaults(project: Path) -> None:
    """--tag round-trips into payload.tags; config defaults fill in; KEY= removes a default."""
    configure(project, "tags:\n  environment: local\n  team: core\n")
    assert emit(project, "--tag", "environment=ci", "--tag", "operator=ana").returncode == 0
    assert emit(project, "--tag", "team=").returncode == 0
    assert tags_of(project) == [
        {"environment": "ci", "operator": "ana", "team": "core"},
        {"environment": "local"},
    ]


def test_emit_without_any_tag_leaves_the_key_out(project: Path) -> None:
    """No --tag and no defaults: no tags key at all (absent = not given)."""
    assert emit(project).returncode == 0
    assert tags_of(project) == ["absent"]


def test_a_bad_tag_on_emit_is_one_line_exit_2_and_nothing_written(project: Path) -> None:
    """A malformed --tag names the flag on one stderr line, exits 2 and stores nothing."""
    done = emit(project, "--tag", "no-equals-sign")
    assert done.returncode == 2
    assert done.stderr.decode().splitlines() == [
        "Error: --tag: expected KEY=VALUE, got 'no-equals-sign'"
    ]
    assert log_records(project / "kitty-specs" / FEATURE) == []


def test_a_broken_tags_section_is_a_warning_and_emit_still_records(project: Path) -> None:
    """tags: as a list warns (naming file and key) and records with the explicit tags only."""
    configure(project, "tags:\n  - environment\n")
    done = emit(project, "--tag", "operator=ana")
    assert done.returncode == 0
    assert "Warning: telemetry: default tags not used: " in done.stderr.decode()
    assert "telemetry.yaml: tags: expected a mapping" in done.stderr.decode()
    assert tags_of(project) == [{"operator": "ana"}]


def test_emit_with_tags_and_config_stays_off_typer_rich_and_pydantic(project: Path) -> None:
    """The fast path with --tag and a tags: section still imports none of the heavy modules."""
    configure(project, "tags:\n  environment: local\n")
    probe = (
        "import sys; sys.argv = ['spec-kitty', 'agent', 'telemetry', 'emit', '--feature', "
        f"'{FEATURE}', '--role', 'planner', '--agent', 'c', '--tag', 'a=b']\n"
        "from spec_kitty_telemetry.__main__ import main\n"
        "try:\n    main()\nexcept SystemExit as exit:\n    code = exit.code\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('typer', 'rich', 'pydantic',"
        " 'click'))\n"
        "print(code, heavy)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=project, capture_output=True)
    assert done.stdout.decode().splitlines()[-1] == "0 []", done.stderr
    assert tags_of(project) == [{"a": "b", "environment": "local"}]


# --- run ------------------------------------------------------------------------------


def run(project: Path, *options: str) -> subprocess.CompletedProcess[bytes]:
    return spec_kitty(
        *("agent", "telemetry", "run", "--feature", FEATURE, "--role", "implementer"),
        *("--no-changes", *options, "--", *agent("claude", "--output-format", "json")),
        cwd=project,
    )


def test_run_records_its_tags_over_the_defaults(project: Path) -> None:
    """run --tag (repeated) lands in payload.tags beside the config's defaults."""
    configure(project, "tags:\n  environment: local\n")
    done = run(project, "--tag", "operator=ana", "--tag", "ticket=PROJ-12")
    assert done.returncode == 0, done.stderr
    assert tags_of(project) == [{"environment": "local", "operator": "ana", "ticket": "PROJ-12"}]


def test_a_bad_tag_on_run_exits_2_before_the_agent_runs(project: Path) -> None:
    """run --tag '1x=y' is a one-line error naming --tag; the agent never starts."""
    marker = project / "ran"
    done = spec_kitty(
        *("agent", "telemetry", "run", "--feature", FEATURE, "--role", "implementer"),
        *("--tag", "1x=y", "--", sys.executable, "-c", f"open({str(marker)!r}, 'w')"),
        cwd=project,
    )
    assert done.returncode == 2
    lines = done.stderr.decode().strip().splitlines()
    assert lines == [
        "Error: --tag: tag key '1x' must start with a letter and hold only letters, digits, _ . -"
    ]
    assert not marker.exists()
    assert log_records(project / "kitty-specs" / FEATURE) == []


# --- hooks ----------------------------------------------------------------------------


def test_record_invocation_stores_tags_and_drops_bad_ones_with_a_note(project: Path) -> None:
    """Good tags are stored over the defaults; a bad one is dropped, noted, the run recorded."""
    configure(project, "tags:\n  environment: local\n")
    folder = project / "kitty-specs" / FEATURE
    result = InvocationResult(
        agent="claude", role="implementer", tags={"operator": "ana", "bad key": "x"}
    )
    record = record_invocation(folder, FEATURE, result)
    assert record is not None
    payload = record["payload"]
    assert payload["tags"] == {"environment": "local", "operator": "ana"}
    assert payload["usage_error"] == (
        "tag key 'bad key' must start with a letter and hold only letters, digits, _ . -: dropped"
    )
    assert result.tags == {"operator": "ana", "bad key": "x"}  # the caller's object is untouched


def test_tags_given_as_an_extra_field_are_judged_as_tags(project: Path) -> None:
    """extra={'tags': ...} is merged under result.tags and checked, never losing the event."""
    folder = project / "kitty-specs" / FEATURE
    result = InvocationResult(
        agent="claude", role="planner", tags={"a": "1"}, extra={"tags": {"a": "0", "b": "2"}}
    )
    assert record_invocation(folder, FEATURE, result) is not None
    bad = InvocationResult(agent="claude", role="planner", extra={"tags": ["a"]})
    record = record_invocation(folder, FEATURE, bad)
    assert record is not None
    assert "tags" not in record["payload"]
    assert "extra tags ['a'] is not a mapping: dropped" in record["payload"]["usage_error"]
    assert tags_of(project) == [{"a": "1", "b": "2"}, "absent"]


def test_track_invocation_tags_each_block_and_a_broken_section_only_warns(
    project: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """tags= starts every block's result.tags; the block adds more; bad config: warning."""
    configure(project, "tags:\n  environment: [1]\n")
    folder = project / "kitty-specs" / FEATURE
    tracker = track_invocation(folder, FEATURE, agent="claude", role="reviewer", tags={"a": "1"})
    with caplog.at_level(logging.WARNING):
        with tracker as first:
            first.tags["b"] = "2"
        with tracker:
            pass
    assert tags_of(project) == [{"a": "1", "b": "2"}, {"a": "1"}]
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2
    assert "default tags not used" in messages[0]
    assert "tags.environment: expected a string" in messages[0]


# --- reading --------------------------------------------------------------------------


def test_events_filter_by_tag_on_the_library_and_the_command(project: Path) -> None:
    """EventFilter(tags=...) and events --tag keep only events carrying every tag given."""
    assert emit(project, "--tag", "environment=ci", "--tag", "operator=ana").returncode == 0
    assert emit(project, "--tag", "environment=local").returncode == 0
    assert emit(project).returncode == 0
    # A hand-written line whose tags are not a mapping is simply not matched.
    log = project / "kitty-specs" / FEATURE / "execution.events.jsonl"
    odd = json.loads(log.read_text().splitlines()[-1])
    odd["event_id"], odd["lamport_clock"] = new_event_id(), odd["lamport_clock"] + 1
    odd["payload"]["tags"] = "environment=ci"
    with log.open("a") as handle:
        handle.write(json.dumps(odd, sort_keys=True) + "\n")

    def found(**tags: str) -> int:
        return len(query_project_events(project, EventFilter(tags=tags)))

    assert found(environment="ci") == 1
    assert found(environment="ci", operator="ana") == 1
    assert found(environment="ci", operator="bob") == 0
    assert found(environment="CI") == 0  # exact, as written
    assert len(query_project_events(project, EventFilter(tags={}))) == 4
    done = spec_kitty("agent", "telemetry", "events", "--tag", "environment=local", "--json",
                      cwd=project)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode().count('"event_id"') == 1
    assert '"environment": "local"' in done.stdout.decode()
    bad = spec_kitty("agent", "telemetry", "events", "--tag", "environment", cwd=project)
    assert bad.returncode == 2
    assert "--tag: expected KEY=VALUE, got 'environment'" in bad.stderr.decode()


@pytest.mark.parametrize("success", [True, False])
def test_a_config_file_that_is_not_yaml_is_one_warning_per_recording(
    project: Path, success: bool
) -> None:
    """A broken telemetry.yaml warns once, not once per reader (node id, tags, categories)."""
    configure(project, "tags: [unclosed\n")
    folder = project / "kitty-specs" / FEATURE
    result = InvocationResult(agent="claude", role="implementer", success=success, tags={"a": "1"})
    outcome = emit_with_result(record_invocation, folder, FEATURE, result)
    assert outcome.recorded
    assert len(outcome.warnings) == 1, outcome.warnings
    assert "using node_id 'cli'" in outcome.warnings[0]
    explicit = emit_with_result(record_invocation, folder, FEATURE, result, node_id="ci-3")
    assert len(explicit.warnings) == 1, explicit.warnings  # no node_id_for: tags say it
    assert "default tags not used" in explicit.warnings[0]
    assert tags_of(project) == [{"a": "1"}, {"a": "1"}]
    done = emit(project, *(() if success else ("--failure",)))
    assert done.returncode == 0
    assert done.stderr.decode().count("Warning:") == 1


def test_the_cost_report_filters_by_tag_as_events_does(tmp_path):
    """A cost report filtered by tags counts only tagged runs (projection cells keep no tags)."""
    from spec_kitty_telemetry import EventFilter, emit_execution_record, project_cost_report

    feature = tmp_path / "kitty-specs" / "001-a"
    feature.mkdir(parents=True)
    emit_execution_record(feature, "001-a", "WP01", "claude", "implementer", cost_usd=1.5,
                          tags={"environment": "ci"})  # fmt: skip
    emit_execution_record(feature, "001-a", "WP01", "claude", "implementer", cost_usd=2.0)
    everything = project_cost_report(tmp_path)
    assert everything.total.event_count == 2
    tagged = project_cost_report(tmp_path, EventFilter(tags={"environment": "ci"}))
    assert tagged.total.event_count == 1
    assert float(tagged.total.total_cost_usd) == 1.5


def test_cost_tag_counts_only_the_runs_carrying_the_tag(project: Path) -> None:
    """cost --tag KEY=VALUE reports only tagged runs; a malformed --tag is one line, exit 2."""
    assert emit(project, "--tag", "environment=ci", "--cost-usd", "1.25").returncode == 0
    assert emit(project, "--cost-usd", "2.5").returncode == 0
    done = spec_kitty("agent", "telemetry", "cost", "--tag", "environment=ci", "--json",
                      cwd=project)  # fmt: skip
    assert done.returncode == 0, done.stderr
    total = json.loads(done.stdout)["total"]
    assert total["event_count"] == 1
    assert total["total_cost_usd"] == 1.25
    bad = spec_kitty("agent", "telemetry", "cost", "--tag", "=x", cwd=project)
    assert bad.returncode == 2
    assert bad.stderr.decode().count("\n") == 1
    assert bad.stderr.decode().startswith("Error: --tag:")
