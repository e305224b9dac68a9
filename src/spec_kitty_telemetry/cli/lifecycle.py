"""``transition`` and ``timeline``: record a phase change, and show a feature's phases.

``timeline`` also shows each work package's lane history from spec-kitty's
own ``status.events.jsonl`` (read by ``sources.status_log.lane_report``,
never written) when the feature has one: our phases say what ran and what
it cost, spec-kitty's lanes where the work stood and for how long.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Final

import typer

from .._json_output import logged, print_document
from ..errors import InvalidOptionError, StoreError
from ._format import Column, Grid, choose, console, count, money

if TYPE_CHECKING:
    from ..lifecycle import PhaseSpan
    from ..sources.status_log import LaneReport

__all__ = ["register"]

FeatureOption = Annotated[
    str,
    typer.Option(
        "--feature", metavar="NAME", help="Feature slug, e.g. 001-login.", show_default=False
    ),
]
JsonOption = Annotated[
    bool, typer.Option("--json", help="Print one JSON document instead of text.")
]


def transition(
    feature: FeatureOption,
    to_phase: Annotated[
        str,
        typer.Option("--to", metavar="PHASE", help="The phase entered.", show_default=False),
    ],
    from_phase: Annotated[
        str | None,
        typer.Option("--from", metavar="PHASE", help="The phase left (omit for the first)."),
    ] = None,
    wp: Annotated[
        str | None,
        typer.Option(
            "--wp",
            "--wp-id",
            metavar="WP",
            help="The work package that moved; omit for the feature.",
        ),
    ] = None,
    actor: Annotated[str | None, typer.Option(metavar="NAME", help="Who or what moved it.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Record that a feature or work package moved from one phase to the next.

    Invalid input exits 2 and writes nothing; a failure to write is a warning
    and exit 0, as for emit. Empty --from, --wp and --actor values mean none.
    A --from that is not the phase open in the log, or a feature folder that
    does not exist yet, is recorded with a warning.

    Examples:
      spec-kitty agent telemetry transition --feature 001-login --from plan --to implement

      spec-kitty agent telemetry transition --feature 001-login --wp WP01 --to doing

    """
    from .._cli_warnings import new_folder_warning, print_warning
    from .._emit_result import emit_with_result
    from ..lifecycle import emit_transition, transition_payload
    from ..project import feature_dir_for

    from_phase, wp, actor = from_phase or None, wp or None, actor or None  # "" from templates
    transition_payload(from_phase, to_phase, wp_id=wp, actor=actor)  # raises on bad input
    feature_dir = feature_dir_for(feature)
    existed = feature_dir.is_dir()
    if existed and from_phase is not None:
        _warn_if_not_open(feature_dir, from_phase, wp)
    result = emit_with_result(
        emit_transition, feature_dir, feature_dir.name, from_phase, to_phase, wp_id=wp, actor=actor
    )
    for message in result.warnings:
        print_warning(message)
    record = result.record
    if record is None:
        print_warning(result.problem or "the PhaseTransition event could not be stored")
        if as_json:
            print_document({"result": "error", "error": result.problem})
        return
    if not existed:
        print_warning(new_folder_warning(feature_dir))
    if as_json:
        print_document({"result": "ok", "event": logged(record)})
    else:
        moved = f"{from_phase or 'start'} -> {to_phase}"
        typer.echo(f"Recorded PhaseTransition {record['event_id']} ({moved})")


def _warn_if_not_open(feature_dir: Path, from_phase: str, wp: str | None) -> None:
    """Warn when ``--from`` is not the phase the log has open (recorded anyway)."""
    from .._cli_warnings import print_warning
    from ..lifecycle import open_phase
    from ..query import iter_feature_records

    try:
        current = open_phase(iter_feature_records(feature_dir), wp)
    except Exception:  # noqa: BLE001 - a check for the user's benefit; never stops recording
        return
    if current is not None and current != from_phase:
        lane = f"work package {wp}" if wp else f"feature {feature_dir.name}"
        print_warning(
            f"--from {from_phase!r}, but the open phase of {lane} is {current!r} "
            "(recorded as given)"
        )


def timeline(
    feature: Annotated[
        str,
        typer.Option(
            "--feature",
            metavar="NAME",
            help="Feature folder name (001-login), or a glob ('00*'): one timeline per "
            "matching feature.",
            show_default=False,
        ),
    ],
    repo: Annotated[
        Path | None,
        typer.Option(
            metavar="PATH",
            help="Project root (default: the nearest one above the current folder).",
        ),
    ] = None,
    as_json: JsonOption = False,
    compact: Annotated[
        bool,
        typer.Option(
            "--compact",
            help="The narrow table: fewer columns, counts rounded (1.3M). Chosen by itself "
            "when the full table does not fit the terminal.",
        ),
    ] = False,
) -> None:
    """Show a feature's phases in causal order: when each ran, its invocations, tokens, cost.

    Feature phases have no WP; work package phases name theirs. An invocation
    counts in the open feature phase and in its work package's open phase.
    When the feature has spec-kitty's status.events.jsonl, each work
    package's lane history follows: the lanes in order with the time spent
    in each, review rounds, rejections, cycle and blocked time (as `lanes`
    reports them). A glob prints one timeline per matching feature with
    events; with --json, a glob gives {"timelines": [...]} (even for one
    match) and a name gives that feature's {"feature": ..., "phases": [...],
    "lanes": ...}, "lanes" being null without a status log.

    Examples:
      spec-kitty agent telemetry timeline --feature 001-login

      spec-kitty agent telemetry timeline --feature '00*' --json

    """
    from ..lifecycle import feature_timeline
    from ..project import feature_dir_for
    from ._project import report_root

    root, is_project = report_root(repo)
    pattern = any(mark in feature for mark in "*?[")
    if not is_project:
        feature_dirs: list[Path] = []
    elif pattern:
        feature_dirs = _matching_features(root, feature)
    else:
        feature_dirs = [feature_dir_for(feature, root)]
        if not feature_dirs[0].is_dir():
            raise StoreError(f"no feature {feature!r}: {feature_dirs[0]} does not exist")
    timelines = [(path.name, feature_timeline(path), _lanes(path)) for path in feature_dirs]
    for _name, _spans, lanes in timelines:
        for log in lanes.logs if lanes is not None else ():
            for problem in log.malformed:  # named as `lanes` names them, on stderr
                typer.echo(f"Warning: {problem.describe()}", err=True)
    if as_json:
        documents = [
            {
                "feature": name,
                "phases": [s.to_dict() for s in spans],
                "lanes": None if lanes is None else _lanes_document(lanes),
            }
            for name, spans, lanes in timelines
        ]
        if pattern:
            print_document({"timelines": documents})
        else:
            print_document(
                documents[0]
                if documents
                else {"feature": feature.strip(), "phases": [], "lanes": None}
            )
        return
    if not timelines:
        typer.echo(f"No events for {feature.strip()}.")
    for index, (name, spans, lanes) in enumerate(timelines):
        if index:
            typer.echo("")
        if spans or lanes is None:
            _print_table(name, spans, compact)
        if lanes is not None:
            if spans:
                typer.echo("")
            _print_lanes(name, lanes)


def _lanes(feature_dir: Path) -> LaneReport | None:
    """Return the feature's lane report from spec-kitty's status log (None without one)."""
    from ..sources.status_log import STATUS_FILENAME, lane_report

    if not (feature_dir / STATUS_FILENAME).is_file():
        return None
    return lane_report(feature_dir)


def _lanes_document(report: LaneReport) -> dict[str, object]:
    """Return the ``lanes`` part of ``timeline --json``: the lane report, less its feature."""
    document = report.to_dict()
    del document["feature"]
    return document


def _print_lanes(feature: str, report: LaneReport) -> None:
    """Print each work package's lanes, one line per stay, then the feature's figures.

    Plain lines, not a table: a work package's history is as long as its
    moves, and a stay still open reads "open" rather than a duration that
    grows while one reads it.
    """
    from ..sources.status_log import STATUS_FILENAME

    out = console()
    out.print(f"Lane history of {feature} ({STATUS_FILENAME})", markup=False)
    if not report.work_packages:
        out.print("  no lane transitions", markup=False)
    for wp, flow in report.work_packages.items():
        facts = [
            _plural(flow.review_rounds, "review round"),
            _plural(flow.rejections, "rejection"),
        ]
        if flow.cycle_seconds is not None:
            facts.append(f"cycle {_duration(flow.cycle_seconds)}")
        blocked = sum(x.seconds for x in flow.spans if x.lane == "blocked" and x.end is not None)
        if blocked:  # stays that ended; one still open reads "open" below
            facts.append(f"blocked {_duration(blocked)}")
        out.print(
            f"{wp}  now {flow.lane}, started by {flow.started_by.display}: {', '.join(facts)}",
            markup=False,
            soft_wrap=True,
        )
        for span, move in zip(flow.spans, flow.transitions, strict=True):
            took = "open" if span.end is None else _duration(span.seconds)
            forced = "  (forced)" if move.force else ""
            out.print(
                f"  {span.start:%Y-%m-%d %H:%M}  {span.lane:<12} {took:>7}{forced}",
                markup=False,
            )
    stats = report.stats
    rate = stats.first_pass_rate
    summary = [
        f"done {stats.done} of {stats.work_packages}",
        "first pass " + ("n/a" if rate is None else f"{stats.first_pass} ({rate:.0%})"),
        f"rework cycles {stats.rework_cycles}",
    ]
    if stats.cycle_p50_seconds is not None and stats.cycle_p95_seconds is not None:
        summary.append(
            f"cycle p50 {_duration(stats.cycle_p50_seconds)}, "
            f"p95 {_duration(stats.cycle_p95_seconds)}"
        )
    out.print("; ".join(summary) + ".", markup=False, soft_wrap=True)
    skipped = sum(sum(log.skipped.values()) for log in report.logs)
    if skipped:
        out.print(f"{skipped} records that are not lane moves skipped.", markup=False)


def _plural(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _matching_features(root: Path, pattern: str) -> list[Path]:
    """Return the feature folders with a log matching ``pattern``; an error if none."""
    from ..query import SPECS_DIRNAME, EventFilter, feature_logs

    logs = feature_logs(root, EventFilter(feature=(pattern.strip(),)))
    if not logs:
        known = ", ".join(log.parent.name for log in feature_logs(root)) or "none"
        raise InvalidOptionError(
            f"--feature {pattern!r} matches no feature folder with events under "
            f"{root / SPECS_DIRNAME} (features: {known})"
        )
    return [log.parent for log in logs]


#: The timeline's layouts, widest first: (columns kept, counts rounded). Level 1
#: drops End and lets the start time wrap under its date; 3 merges phase and wp
#: and drops Took.
_TIMELINE_LAYOUTS: Final = (
    (("phase", "wp", "start", "end", "took"), False),
    (("phase", "wp", "when", "took"), False),
    (("phase", "wp", "when", "took"), True),
    (("phase wp", "when"), True),
)


def _timeline_grid(spans: list[PhaseSpan], level: int) -> Grid:
    kept, compact = _TIMELINE_LAYOUTS[level]
    headers = {
        "phase": Column("phase", "name"),
        "wp": Column("wp", "fixed"),
        "phase wp": Column("phase wp", "name"),
        "start": Column("start (UTC)", "fixed"),
        "when": Column("start (UTC)", "name"),
        "end": Column("end", "fixed"),
        "took": Column("took", "fixed"),
    }
    columns = [
        *(headers[name] for name in kept),
        Column("runs"),
        Column("input"),
        Column("output"),
        Column("cost"),
    ]
    rows = []
    for span in spans:
        runs = count(span.invocations)
        if span.failed_invocations:
            runs += f" ({count(span.failed_invocations)}✗)"
        phase = span.phase or "(unphased)"
        fields = {
            "phase": phase,
            "wp": span.wp_id or "",
            "phase wp": f"{phase} {span.wp_id}" if span.wp_id else phase,
            "start": f"{span.started_at:%Y-%m-%d %H:%M}",
            "when": f"{span.started_at:%Y-%m-%d %H:%M}",
            "end": _end(span),
            "took": "skew" if span.clock_skew else _duration(span.duration_seconds),
        }
        rows.append(
            [
                *(fields[name] for name in kept),
                runs,
                count(span.input_tokens, compact=compact),
                count(span.output_tokens, compact=compact),
                money(
                    span.cost_usd,
                    estimated=bool(span.estimated_invocations),
                    unpriced=bool(span.unpriced_invocations),
                ),
            ]
        )
    grid = Grid(columns, rows)
    if level:
        left_out = "End and Took columns" if "took" not in kept else "End column"
        grid.note = f"{left_out} left out to fit (--json has every field)."
    if compact:
        grid.note += " Counts rounded: k = thousand, M = million."
    return grid


def _print_table(feature: str, spans: list[PhaseSpan], compact: bool) -> None:
    out = console()
    if not spans:
        out.print(f"No events for {feature}.", markup=False)
        return
    levels = range(2, len(_TIMELINE_LAYOUTS)) if compact else range(len(_TIMELINE_LAYOUTS))
    grid = choose([_timeline_grid(spans, level) for level in levels], out.width)
    notes = []
    if any(span.estimated_invocations for span in spans):
        notes.append("~ includes costs estimated from token counts.")
    if any(span.unpriced_invocations for span in spans):
        notes.append("* some invocations could not be priced and are not in the cost.")
    if any(span.clock_skew for span in spans):
        notes.append("skew = ends before it starts: the writers' clocks disagree.")
    if grid.note:
        notes.append(grid.note)
    out.print(f"Timeline of {feature}", markup=False)
    out.print(grid.table())
    for note in notes:
        out.print(note, soft_wrap=True, markup=False)


def _end(span: PhaseSpan) -> str:
    if span.ended_at is None:
        return "open"
    same_day = span.ended_at.date() == span.started_at.date()
    return f"{span.ended_at:%H:%M}" if same_day else f"{span.ended_at:%Y-%m-%d %H:%M}"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{seconds:.1f}s"


def register(app: typer.Typer) -> None:
    """Add ``transition`` and ``timeline`` to the ``telemetry`` command group."""
    from ._command import Command

    app.command("transition", cls=Command)(transition)
    app.command("timeline", cls=Command)(timeline)
