"""Tags in the cost report: ``--tag`` filters and ``--group-by tag:KEY`` rows, from the cells."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers import pricing_for_tests, run_event, spec_kitty, write_foreign, write_project
from spec_kitty_telemetry.cost import cost_report, project_cost_report
from spec_kitty_telemetry.errors import QueryError
from spec_kitty_telemetry.projection import fold_log
from spec_kitty_telemetry.query import EventFilter

PRICING = pricing_for_tests()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """Four runs: two tagged environment=ci (one also operator=ana), one local, one untagged."""
    return write_project(
        tmp_path,
        run_event(cost_usd=1.0, tags={"environment": "ci", "operator": "ana"}),
        run_event(cost_usd=2.0, tags={"environment": "ci"}, agent="codex"),
        run_event(cost_usd=4.0, tags={"environment": "local"}),
        run_event(cost_usd=8.0),
    )


def _rows(report_dict: dict) -> dict[str, tuple[int, float]]:  # type: ignore[type-arg]
    return {
        row["group_key"]: (row["event_count"], row["total_cost_usd"])
        for row in report_dict["summaries"]
    }


def test_group_by_tag_gives_a_row_per_value_and_none_for_runs_without_it(project: Path) -> None:
    """tag:environment rows are ci, local and (none) (the untagged run); they add up to TOTAL."""
    report = project_cost_report(project, group_by="tag:environment", pricing=PRICING)
    assert _rows(report.to_dict()) == {"ci": (2, 3.0), "local": (1, 4.0), "(none)": (1, 8.0)}
    assert report.total.event_count == 4
    assert report.to_dict()["group_by"] == "tag:environment"


def test_a_tag_as_breakdown_splits_rows_by_its_value(project: Path) -> None:
    """--breakdown tag:operator splits the claude row into ana and (none)."""
    report = project_cost_report(
        project, group_by="agent", breakdown="tag:operator", pricing=PRICING
    )
    claude = next(s for s in report.summaries if s.group_key == "claude")
    assert claude.breakdown is not None
    parts = {part.group_key: float(part.total_cost_usd) for part in claude.breakdown}
    assert parts == {"ana": 1.0, "(none)": 12.0}


def test_a_tag_filter_is_answered_from_the_cells_not_by_scanning_the_records(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--tag reports come from the projection's cells: the record scan is never called."""
    import spec_kitty_telemetry.query as query

    def no_scan(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the records were scanned")

    monkeypatch.setattr(query, "iter_feature_records", no_scan)
    filtered = project_cost_report(
        project, EventFilter(tags={"environment": "ci"}), group_by="agent", pricing=PRICING
    )
    assert _rows(filtered.to_dict()) == {"codex": (1, 2.0), "claude": (1, 1.0)}
    both = project_cost_report(
        project,
        EventFilter(tags={"environment": "ci", "operator": "ana"}),
        group_by="tag:environment",
        pricing=PRICING,
    )
    assert _rows(both.to_dict()) == {"ci": (1, 1.0)}


def test_tags_in_any_order_are_one_cell(tmp_path: Path) -> None:
    """{a, b} and {b, a} are the same tags: one cell, one row."""
    log = write_foreign(
        tmp_path,
        "001-alpha",
        {"agent": "claude", "cost_usd": 1.0, "tags": {"a": "1", "b": "2"}},
        {"agent": "claude", "cost_usd": 1.0, "tags": {"b": "2", "a": "1"}},
    )
    fold = fold_log(log, lambda _model: ())
    assert len(fold.fold.cells) == 1
    assert next(iter(fold.fold.cells))[-1] == (("a", "1"), ("b", "2"))


def test_odd_hand_written_tags_are_kept_aside_and_read_as_written(tmp_path: Path) -> None:
    """Tags that are not a mapping of strings are kept aside; filters and rows read them as is."""
    project = tmp_path
    log = write_foreign(
        tmp_path,
        "001-alpha",
        {"agent": "claude", "cost_usd": 1.0, "tags": {"environment": 7}},
        {"agent": "claude", "cost_usd": 2.0, "tags": "ci"},
        {"agent": "claude", "cost_usd": 4.0, "tags": {"environment": "ci"}},
    )
    assert len(fold_log(log, lambda _model: ()).fold.aside) == 2
    report = project_cost_report(project, group_by="tag:environment", pricing=PRICING)
    assert _rows(report.to_dict()) == {"ci": (1, 4.0), "(none)": (2, 3.0)}
    only_ci = project_cost_report(project, EventFilter(tags={"environment": "ci"}), pricing=PRICING)
    assert only_ci.total.event_count == 1


def test_a_bad_tag_group_names_the_parameter() -> None:
    """tag:KEY with a key the tag rule refuses is a QueryError naming group_by / breakdown."""
    with pytest.raises(QueryError) as raised:
        cost_report([], "tag:9lives")
    assert raised.value.parameter == "group_by"
    with pytest.raises(QueryError) as raised:
        cost_report([], "agent", breakdown="tag:a b")
    assert raised.value.parameter == "breakdown"


def test_cost_group_by_tag_on_the_command_line(project: Path) -> None:
    """`cost --group-by tag:environment --json`: one row per value, the untagged one (none)."""
    done = spec_kitty(
        "agent", "telemetry", "cost", "--group-by", "tag:environment", "--json", cwd=project
    )
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert _rows(document) == {"ci": (2, 3.0), "local": (1, 4.0), "(none)": (1, 8.0)}
    table = spec_kitty(
        "agent", "telemetry", "cost", "--group-by", "tag:environment", cwd=project, columns=80
    )
    assert table.returncode == 0, table.stderr
    assert "tag:environment" in table.stdout.decode()
