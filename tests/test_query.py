"""The query layer: ordering, filters, time bounds, project discovery and the raw record reader."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from helpers import at, other, run_event, write_foreign, write_project
from spec_kitty_telemetry import EVENTS_FILENAME, SimpleJsonStore
from spec_kitty_telemetry.errors import QueryError
from spec_kitty_telemetry.query import (
    EventFilter,
    iter_project_records,
    parse_time_bound,
    query_execution_events,
    query_project_events,
    resolve_repo_root,
)


def test_feature_events_are_sorted_by_lamport_clock_then_node(tmp_path: Path):
    """File order does not matter: (lamport_clock, node_id) decides."""
    events = [
        run_event(lamport=3, node="a"),
        run_event(lamport=1, node="b"),
        run_event(lamport=2, node="b"),
        run_event(lamport=2, node="a"),
    ]
    write_project(tmp_path, *events)
    found = query_execution_events(tmp_path / "kitty-specs" / "001-alpha")
    assert [(e.lamport_clock, e.node_id) for e in found] == [(1, "b"), (2, "a"), (2, "b"), (3, "a")]


def test_project_events_merge_every_feature_in_causal_order(tmp_path: Path):
    """Events of all kitty-specs/*/ logs come back as one causally ordered list."""
    write_project(
        tmp_path,
        run_event("002-beta", lamport=2),
        run_event("001-alpha", lamport=3),
        run_event("001-alpha", lamport=1),
        other("003-gamma"),
    )
    found = query_project_events(tmp_path)
    assert [(e.aggregate_id, e.lamport_clock) for e in found][:3] == [
        ("001-alpha", 1),
        ("002-beta", 2),
        ("001-alpha", 3),
    ]
    assert len(found) == 4


def test_missing_or_empty_directories_give_no_events(tmp_path: Path):
    """No kitty-specs/, an empty one, or a feature folder without a log: empty results."""
    assert query_project_events(tmp_path) == []
    (tmp_path / "kitty-specs" / "001-empty").mkdir(parents=True)
    assert query_project_events(tmp_path) == []
    assert query_execution_events(tmp_path / "kitty-specs" / "001-empty") == []
    assert query_execution_events(tmp_path / "nowhere") == []


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return write_project(
        tmp_path,
        run_event(
            "001-alpha", wp_id="WP01", agent="claude", role="implementer", model="claude-sonnet-4.5"
        ),
        run_event(
            "001-alpha",
            wp_id="WP02",
            agent="codex",
            role="implementer",
            model="gpt-5-codex",
            success=False,
        ),
        run_event("002-beta", wp_id="WP01", agent="claude", role="reviewer", model="opus"),
        run_event(
            "002-beta",
            wp_id="WP01",
            agent="copilot",
            role="implementer",
            model="gpt-4.1",
            models={"gpt-4.1": {}, "claude-sonnet-4-5-20250929": {}},
        ),
        other("002-beta", phase="review"),
    )


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (EventFilter(), ["claude", "codex", "claude", "copilot", None]),
        (EventFilter(event_type="ExecutionEvent"), ["claude", "codex", "claude", "copilot"]),
        (EventFilter(feature="002-beta"), ["claude", "copilot", None]),
        (EventFilter(feature="00?-al*"), ["claude", "codex"]),
        (EventFilter(feature=["001-alpha", "nope"]), ["claude", "codex"]),
        (EventFilter(wp_id="WP01"), ["claude", "claude", "copilot"]),
        (EventFilter(agent="claude"), ["claude", "claude"]),
        (EventFilter(role="reviewer"), ["claude"]),
        (EventFilter(success=False), ["codex"]),
        (EventFilter(model="sonnet"), ["claude", "copilot"]),  # main model or breakdown
        (EventFilter(model="claude-opus-4.5"), ["claude"]),  # opus, as Claude Code has it
        (EventFilter(model="claude-opus-4.1"), []),
        (
            EventFilter(model="claude-opus-4.1", model_aliases={"opus": "claude-opus-4-1"}),
            ["claude"],
        ),
        (EventFilter(wp_id="WP01", role="implementer"), ["claude", "copilot"]),  # AND
        (EventFilter(agent="claude", feature="001-*", role="reviewer"), []),
    ],
)
def test_filters(project: Path, filters: EventFilter, expected: list[str | None]):
    """Each filter field narrows the result; given fields are ANDed."""
    assert [e.payload.get("agent") for e in query_project_events(project, filters)] == expected


def test_feature_filter_skips_other_folders_entirely(
    project: Path, caplog: pytest.LogCaptureFixture
):
    """A feature pattern selects which logs are read: a damaged log elsewhere is never opened."""
    damaged = project / "kitty-specs" / "002-beta" / EVENTS_FILENAME
    with damaged.open("a") as handle:
        handle.write("{torn line\n")
    with caplog.at_level(logging.WARNING):
        found = query_project_events(project, EventFilter(feature="001-alpha"))
        assert len(found) == 2
        assert caplog.records == []
        query_project_events(project)
    assert [r.getMessage() for r in caplog.records] == [f"{damaged}: skipped 1 malformed line (4)"]


@pytest.fixture
def timeline(tmp_path: Path) -> Path:
    return write_project(
        tmp_path,
        run_event(agent="a", when="2025-11-02T23:59:59.999999"),
        run_event(agent="b", when="2025-11-03T00:00:00"),
        run_event(agent="c", when="2025-11-03T12:00:00"),
        run_event(agent="d", when="2025-11-03T23:59:59.999999"),
        run_event(agent="e", when="2025-11-04T00:00:00"),
    )


@pytest.mark.parametrize(
    ("since", "until", "expected"),
    [
        (date(2025, 11, 3), date(2025, 11, 3), "bcd"),  # a date is the whole day, until inclusive
        (date(2025, 11, 3), None, "bcde"),
        (None, date(2025, 11, 2), "a"),
        (datetime(2025, 11, 3, 12), datetime(2025, 11, 3, 12), "c"),  # naive = UTC, inclusive
        (datetime(2025, 11, 3, 13, tzinfo=timezone(timedelta(hours=1))), None, "cde"),
        (None, datetime(2025, 11, 3, 0, 0), "ab"),
    ],
)
def test_since_and_until_bounds(timeline: Path, since, until, expected: str):
    """since/until compare the UTC timestamp; both ends are inclusive."""
    found = query_project_events(timeline, EventFilter(since=since, until=until))
    assert "".join(e.payload["agent"] for e in found) == expected


def test_parse_time_bound_accepts_dates_and_datetimes_and_names_the_flag_on_error():
    """ISO dates and datetimes parse; anything else is a QueryError naming the flag."""
    assert parse_time_bound("2025-11-03") == date(2025, 11, 3)
    assert parse_time_bound("2025-11-03T14:00:00Z") == at("2025-11-03T14:00:00")
    assert parse_time_bound("2025-11-03 14:00") == datetime(2025, 11, 3, 14)
    assert parse_time_bound("20251103") == date(2025, 11, 3)  # basic form: still a whole day
    with pytest.raises(QueryError) as caught:
        parse_time_bound("last tuesday", "--since")
    assert str(caught.value) == (
        "--since: not an ISO 8601 date or datetime: 'last tuesday' "
        "(expected e.g. 2025-11-03 or 2025-11-03T14:00:00Z)"
    )


def test_limit_keeps_the_latest_events_in_causal_order(tmp_path: Path):
    """limit=N returns the N latest events, oldest first."""
    write_project(tmp_path, *(run_event(lamport=n, agent=f"a{n}") for n in (5, 1, 4, 2, 3)))
    found = query_project_events(tmp_path, limit=2)
    assert [e.lamport_clock for e in found] == [4, 5]


def test_records_skip_malformed_lines_and_duplicates_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    """The raw reader yields each valid event once and reports bad lines by number."""
    first, second = run_event(agent="a"), run_event(agent="b")
    write_project(tmp_path, first)
    log = tmp_path / "kitty-specs" / "001-alpha" / EVENTS_FILENAME
    with log.open("a") as handle:
        handle.write("{not json\n")
        handle.write('{"event_id": "01JA0000000000000000000000", "payload": []}\n')
        handle.write("\n")
        handle.write(first.to_json() + "\n")  # a merge duplicate
        handle.write(second.to_json().replace(second.event_id, second.event_id.lower()) + "\n")
        handle.write(second.to_json() + "\n")  # same id, other spelling
    with caplog.at_level(logging.WARNING):
        records = list(iter_project_records(tmp_path))
    assert [r["payload"]["agent"] for r in records] == ["a", "b"]
    assert records[1]["event_id"] == second.event_id  # canonical form
    assert [r.getMessage() for r in caplog.records] == [f"{log}: skipped 2 malformed lines (2, 3)"]
    store = SimpleJsonStore(log)
    assert [e.event_id for e in store.iter_events()] == [first.event_id, second.event_id]
    assert store.last_read is not None
    assert (store.last_read.duplicates, store.last_read.malformed_lines) == (2, [2, 3])


def test_repo_root_is_found_by_walking_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """From a nested folder, the nearest parent with kitty-specs/ or .kittify/ is the project."""
    (tmp_path / "kitty-specs").mkdir()
    nested = tmp_path / "src" / "deep"
    nested.mkdir(parents=True)
    monkeypatch.chdir(nested)
    assert resolve_repo_root() == tmp_path.resolve()
    assert resolve_repo_root(tmp_path / "src") == (tmp_path / "src").resolve()
    with pytest.raises(QueryError, match=r"^repo: not a directory: .*missing") as raised:
        resolve_repo_root(tmp_path / "missing")
    assert raised.value.parameter == "repo"  # the library names its parameter, not a flag


def test_since_after_until_is_an_error_naming_both_bounds():
    """A --since later than --until can match nothing: QueryError, not an empty report."""
    from spec_kitty_telemetry.query import parse_time_range

    assert parse_time_range("2025-11-03", "2025-11-03") == (date(2025, 11, 3), date(2025, 11, 3))
    assert parse_time_range("2025-11-03T23:59:59", "20251103")[1] == date(2025, 11, 3)
    with pytest.raises(QueryError, match=r"^since: 2025-11-04 is later than the until bound 2025"):
        parse_time_range("2025-11-04", "20251103")


def _big_log(root: Path, events: int) -> None:
    """One feature of ``events`` ExecutionEvents, written line by line from one template."""
    first = run_event(lamport=1)
    template = first.to_json()
    log = root / "kitty-specs" / "001-alpha" / EVENTS_FILENAME
    log.parent.mkdir(parents=True)
    with log.open("w") as handle:
        for n in range(1, events + 1):
            line = template.replace('"lamport_clock": 1,', f'"lamport_clock": {n},')
            handle.write(line.replace(first.event_id, first.event_id[:16] + f"{n:010d}") + "\n")


def test_limit_builds_only_the_events_it_returns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """--limit 3 over 2,000 events makes 3 Event objects, not 2,000 (the rest stay records)."""
    from spec_kitty_telemetry.events import Event

    _big_log(tmp_path, 2_000)
    made = []
    for name in ("model_validate", "model_construct"):
        original = getattr(Event, name)

        def counting(*args: object, _original=original, **kwargs: object) -> object:
            made.append(1)
            return _original(*args, **kwargs)

        monkeypatch.setattr(Event, name, counting)
    found = query_project_events(tmp_path, limit=3)
    assert [e.lamport_clock for e in found] == [1_998, 1_999, 2_000]
    assert len(made) == 3


def test_library_errors_name_parameters_and_the_cli_names_flags(tmp_path: Path):
    """`project_cost_report(group_by="colour")` says group_by; the CLI says --group-by."""
    from spec_kitty_telemetry import project_cost_report
    from spec_kitty_telemetry._cli_warnings import error_message

    with pytest.raises(QueryError) as raised:
        project_cost_report(tmp_path, group_by="colour")
    assert raised.value.parameter == "group_by"
    assert str(raised.value).startswith("group_by: unknown group 'colour'")
    assert "--" not in str(raised.value)
    assert error_message(raised.value).startswith("--group-by: unknown group 'colour'")


def test_no_library_module_names_a_flag_or_imports_the_cli():
    """Flags belong to the CLI: no library error names one, no library module imports cli."""
    import ast
    import re

    package = Path(__file__).resolve().parents[1] / "src" / "spec_kitty_telemetry"
    command_line = {"__main__.py", "emit_command.py", "_cli_warnings.py", "_spec_kitty_cli.py"}
    flag = re.compile(r"(?<![\w-])--[a-z][a-z-]+")
    offenders = []
    for path in sorted(package.rglob("*.py")):
        relative = path.relative_to(package)
        if relative.parts[0] == "cli" or path.name in command_line:
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.ImportFrom)
                and node.module
                and (
                    node.module == "cli"
                    or node.module.startswith("cli.")
                    or (node.module or "").startswith("spec_kitty_telemetry.cli")
                )
            ):
                offenders.append(f"{relative}:{node.lineno}: imports {node.module}")
            if isinstance(node, ast.Raise) and node.exc is not None:
                for part in ast.walk(node.exc):
                    text = part.value if isinstance(part, ast.Constant) else None
                    if isinstance(text, str) and flag.search(text):
                        offenders.append(f"{relative}:{node.lineno}: {text!r}")
    assert offenders == []


# -- the project order, --limit and newest_first ------------------------------------------


@pytest.fixture
def skewed(tmp_path: Path) -> Path:
    """Two features whose clocks say nothing about each other, one machine's wall clock wrong.

    001-alpha's clocks are small, 002-beta's large (each log keeps its own
    clock). 001-alpha's third event was stamped by a machine whose clock ran
    a week behind: causally after a1, a2, but timestamped before them.
    """
    return write_project(
        tmp_path,
        run_event("001-alpha", lamport=1, agent="a1", when="2025-11-03T10:00:00"),
        run_event("001-alpha", lamport=2, agent="a2", when="2025-11-10T10:00:00"),
        run_event("001-alpha", lamport=3, agent="a3", when="2025-11-01T10:00:00"),
        run_event("001-alpha", lamport=4, agent="a4", when="2025-11-12T10:00:00"),
        run_event("002-beta", lamport=40, agent="b40", when="2025-11-05T10:00:00"),
        run_event("002-beta", lamport=41, agent="b41", when="2025-11-11T10:00:00"),
        run_event("002-beta", lamport=42, agent="b42", when="2025-11-11T10:00:00", node="z"),
    )


def _agents(events: list) -> list[str]:
    return [e.payload["agent"] for e in events]


def test_project_order_merges_features_by_timestamp_not_by_their_unrelated_clocks(
    tmp_path: Path,
):
    """Across features, events interleave by time; 002-beta's clock 40 is not 'after' clock 2."""
    write_project(
        tmp_path,
        run_event("001-alpha", lamport=1, agent="a1", when="2025-11-03T10:00:00"),
        run_event("001-alpha", lamport=2, agent="a2", when="2025-11-10T10:00:00"),
        run_event("001-alpha", lamport=3, agent="a3", when="2025-11-12T10:00:00"),
        run_event("002-beta", lamport=40, agent="b40", when="2025-11-05T10:00:00"),
        run_event("002-beta", lamport=41, agent="b41", when="2025-11-11T10:00:00+02:00"),
    )
    assert _agents(query_project_events(tmp_path)) == ["a1", "b40", "a2", "b41", "a3"]


def test_project_order_keeps_each_features_causal_order_under_a_wrong_wall_clock(skewed: Path):
    """a3 (stamped a week early) still follows a1 and a2; same-time events go by the causal key.

    The order is built from the newest end, so the early stamp of a3 places
    it, and a1 and a2 before it, ahead of b40 (11-05): a feature's events are
    never shown after an event that causally follows them.
    """
    assert _agents(query_project_events(skewed)) == ["a1", "a2", "a3", "b40", "b41", "b42", "a4"]


def test_newest_first_is_the_same_order_reversed(skewed: Path):
    """newest_first=True returns exactly the oldest-first list backwards."""
    oldest_first = _agents(query_project_events(skewed))
    assert _agents(query_project_events(skewed, newest_first=True)) == oldest_first[::-1]


def test_limit_is_the_newest_n_of_the_full_order(skewed: Path):
    """For every N, limit=N gives the last N of the full order, even around the skewed event."""
    full = _agents(query_project_events(skewed))
    for n in range(len(full) + 2):
        assert _agents(query_project_events(skewed, limit=n)) == full[max(0, len(full) - n) :], n
        newest = _agents(query_project_events(skewed, limit=n, newest_first=True))
        assert newest == full[::-1][:n], n


def test_limit_and_order_apply_after_the_filters(skewed: Path):
    """The newest 2 of a filtered query are the newest 2 of what matched."""
    found = query_project_events(skewed, EventFilter(feature="001-*"), limit=2)
    assert _agents(found) == ["a3", "a4"]


def test_a_negative_limit_is_an_error_naming_it(skewed: Path):
    """limit=-1 is a QueryError on `limit`, not an empty or a surprising list."""
    with pytest.raises(QueryError) as raised:
        query_project_events(skewed, limit=-1)
    assert raised.value.parameter == "limit"


# -- EventFilter: text bounds, case, a project that is not there --------------------------


@pytest.mark.parametrize(
    ("since", "until", "expected"),
    [
        ("2025-11-03", "2025-11-03", "bcd"),  # a date as text: the whole day
        ("20251103", None, "bcde"),
        ("2025-11-03T12:00:00", "2025-11-03T12:00:00Z", "c"),
        ("2025-11-03T13:00:00+01:00", None, "cde"),
        (date(2025, 11, 3), "2025-11-03T00:00:00", "b"),
    ],
)
def test_event_filter_takes_iso_text_bounds(timeline: Path, since, until, expected: str):
    """EventFilter(since="2025-11-03") works as the date does (the CLI's parsing, reused)."""
    found = query_project_events(timeline, EventFilter(since=since, until=until))
    assert "".join(e.payload["agent"] for e in found) == expected


def test_event_filter_text_bounds_read_back_parsed():
    """A text bound is stored as the date or datetime it names, so filters compare equal."""
    assert EventFilter(since="2025-11-10").since == date(2025, 11, 10)
    assert EventFilter(until="2025-11-10T08:00:00Z").until == at("2025-11-10T08:00:00")
    assert EventFilter(since="2025-11-10") == EventFilter(since=date(2025, 11, 10))


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("since", "last tuesday", "since: not an ISO 8601 date or datetime: 'last tuesday'"),
        ("until", 20251110, "until: expected a date, a datetime or ISO 8601 text, got int"),
    ],
)
def test_event_filter_rejects_a_bound_it_cannot_read(field: str, value: object, message: str):
    """Bad text or a number is a QueryError naming the field, raised when the filter is made."""
    with pytest.raises(QueryError) as raised:
        EventFilter(**{field: value})  # type: ignore[arg-type]
    assert raised.value.parameter == field
    assert str(raised.value).startswith(message)


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (EventFilter(agent="CLAUDE"), ["claude", "claude"]),
        (EventFilter(agent="Claude", role="Reviewer"), ["claude"]),
        (EventFilter(role="IMPLEMENTER"), ["claude", "codex", "copilot"]),
        (EventFilter(event_type="executionevent"), ["claude", "codex", "claude", "copilot"]),
        (EventFilter(event_type="phasetransition"), [None]),
        (EventFilter(wp_id="wp01"), []),  # work package ids are the package's own: exact
    ],
)
def test_agent_role_and_type_match_whatever_their_case(
    project: Path, filters: EventFilter, expected: list[str | None]
):
    """--agent Claude finds claude's runs, as --model SONNET finds sonnet's."""
    assert [e.payload.get("agent") for e in query_project_events(project, filters)] == expected


def test_case_insensitive_fields_never_match_a_value_that_is_not_text(tmp_path: Path):
    """An agent of 7 or a role of null in a foreign line matches no agent or role filter."""
    write_foreign(tmp_path, "001-alpha", {"agent": 7, "role": None}, {"agent": "x", "role": "r"})
    assert _agents(query_project_events(tmp_path, EventFilter(agent="7"))) == []
    roles = [e.payload["role"] for e in query_project_events(tmp_path, EventFilter(role="R"))]
    assert roles == ["r"]


@pytest.mark.parametrize("where", ["nowhere", "a-file"])
def test_a_project_path_that_is_no_folder_raises_project_not_found(tmp_path: Path, where: str):
    """query_project_events on a missing path raises, not [] (a typo is not 'no events')."""
    from spec_kitty_telemetry import ProjectNotFoundError, project_cost_report

    (tmp_path / "a-file").write_text("")
    path = tmp_path / where
    for call in (query_project_events, iter_project_records):
        with pytest.raises(ProjectNotFoundError) as raised:
            list(call(path))
        assert raised.value.parameter == "repo_root"
        assert str(raised.value) == f"repo_root: not a folder: {path}"
    if where == "nowhere":  # the cost report reads the same stores (a file fails on its config)
        with pytest.raises(ProjectNotFoundError):
            project_cost_report(path)


# -- which filter matched nothing ---------------------------------------------------------


def test_unmatched_filters_name_the_filter_and_the_known_values(project: Path):
    """--role implementor, a bogus type, an unknown model: each named, with what the log holds."""
    from spec_kitty_telemetry.query import FilterMiss, unmatched_filters

    filters = EventFilter(role="implementor", event_type="Bogus", model="gpt-9", agent="claude")
    assert unmatched_filters(project, filters) == [
        FilterMiss(("event_type",), ("Bogus",), ("ExecutionEvent", "PhaseTransition")),
        FilterMiss(("role",), ("implementor",), ("implementer", "reviewer")),
        FilterMiss(
            ("model",),
            ("gpt-9",),
            ("claude-opus-4-5", "claude-sonnet-4-5", "gpt-4.1", "gpt-5-codex"),
        ),
    ]  # agent claude matches: not listed


def test_unmatched_filters_cover_outcome_work_package_and_time_range(tmp_path: Path):
    """No failed run, no WP09, nothing after 2026: three misses, the range with first and last."""
    from spec_kitty_telemetry.query import unmatched_filters

    write_project(
        tmp_path,
        run_event(wp_id="WP02", when="2025-11-03T10:00:00"),
        run_event(wp_id="WP01", when="2025-11-05T09:30:00+01:00"),
    )
    filters = EventFilter(success=False, wp_id="WP09", since="2026-01-01")
    misses = {
        miss.fields: (miss.values, miss.known) for miss in unmatched_filters(tmp_path, filters)
    }
    assert misses == {
        ("wp_id",): (("WP09",), ("WP01", "WP02")),
        ("success",): ((False,), ("success",)),
        ("since",): (
            (date(2026, 1, 1),),
            ("2025-11-03T10:00:00+00:00", "2025-11-05T08:30:00+00:00"),
        ),
    }
    both = unmatched_filters(tmp_path, EventFilter(since="2025-11-04", until="2025-11-04"))
    assert [(m.fields, m.values) for m in both] == [
        (("since", "until"), (date(2025, 11, 4), date(2025, 11, 4)))
    ]


def test_unmatched_filters_are_empty_when_each_filter_matches_something(project: Path):
    """codex never reviewed, but codex and reviewer both exist: no filter alone is to blame."""
    from spec_kitty_telemetry.query import unmatched_filters

    filters = EventFilter(agent="codex", role="reviewer")
    assert query_project_events(project, filters) == []
    assert unmatched_filters(project, filters) == []


def test_unmatched_filters_look_only_at_the_selected_features(project: Path, tmp_path: Path):
    """Known values come from the features --feature selects; no events there: no miss at all."""
    from spec_kitty_telemetry.query import unmatched_filters

    [miss] = unmatched_filters(project, EventFilter(feature="001-*", role="reviewer"))
    assert (miss.fields, miss.known) == (("role",), ("implementer",))
    assert unmatched_filters(project, EventFilter(feature="009-*", role="reviewer")) == []
    (tmp_path / "empty" / "kitty-specs").mkdir(parents=True)
    assert unmatched_filters(tmp_path / "empty", EventFilter(role="x")) == []
    assert unmatched_filters(project, EventFilter()) == []
