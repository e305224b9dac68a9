"""``transition`` and ``timeline``: record a phase change, and show a feature's phases."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ..errors import StoreError

if TYPE_CHECKING:
    from ..lifecycle import PhaseSpan

__all__ = ["register"]

FeatureOption = Annotated[
    str, typer.Option("--feature", help="Feature slug, e.g. 001-login.", show_default=False)
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def transition(
    feature: FeatureOption,
    to_phase: Annotated[str, typer.Option("--to", help="The phase entered.", show_default=False)],
    from_phase: Annotated[
        str | None, typer.Option("--from", help="The phase left (omit for the first).")
    ] = None,
    wp: Annotated[
        str | None,
        typer.Option("--wp", "--wp-id", help="The work package that moved; omit for the feature."),
    ] = None,
    actor: Annotated[str | None, typer.Option(help="Who or what moved it.")] = None,
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
    from .._cli_warnings import CapturedWarnings, new_folder_warning, print_warning
    from ..integration import feature_dir_for
    from ..lifecycle import emit_transition, transition_payload

    from_phase, wp, actor = from_phase or None, wp or None, actor or None  # "" from templates
    transition_payload(from_phase, to_phase, wp_id=wp, actor=actor)  # raises on bad input
    feature_dir = feature_dir_for(feature)
    existed = feature_dir.is_dir()
    if existed and from_phase is not None:
        _warn_if_not_open(feature_dir, from_phase, wp)
    with CapturedWarnings() as warnings:
        record = emit_transition(
            feature_dir, feature_dir.name, from_phase, to_phase, wp_id=wp, actor=actor
        )
    warnings.print_all()
    if record is None:
        if as_json:
            reason = warnings.reason("the PhaseTransition event could not be stored")
            typer.echo(json.dumps({"result": "error", "error": reason}))
        return
    if not existed:
        print_warning(new_folder_warning(feature_dir))
    if as_json:
        typer.echo(json.dumps({"result": "ok", "event": record}, sort_keys=True))
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
    feature: FeatureOption,
    repo: Annotated[
        Path | None,
        typer.Option(help="Project root (default: the nearest one above the current folder)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Show a feature's phases in causal order: when each ran, its invocations, tokens, cost.

    Feature phases have no WP; work package phases name theirs. An invocation
    counts in the open feature phase and in its work package's open phase.

    Examples:
      spec-kitty agent telemetry timeline --feature 001-login

      spec-kitty agent telemetry timeline --feature 001-login --json

    """
    from ..integration import feature_dir_for
    from ..lifecycle import feature_timeline

    feature_dir = feature_dir_for(feature, repo)
    if not (feature_dir / "execution.events.jsonl").is_file() and not feature_dir.is_dir():
        raise StoreError(f"no feature {feature!r}: {feature_dir} does not exist")
    spans = feature_timeline(feature_dir)
    if as_json:
        phases = [s.to_dict() for s in spans]
        typer.echo(json.dumps({"feature": feature_dir.name, "phases": phases}))
        return
    _print_table(feature_dir.name, spans)


def _print_table(feature: str, spans: list[PhaseSpan]) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not spans:
        console.print(f"No events for {feature}.")
        return
    unpriced = any(span.unpriced_invocations for span in spans)
    skewed = any(span.clock_skew for span in spans)
    table = Table(
        title=f"Timeline of {feature}",
        caption="Times in UTC."
        + (" * = some invocations could not be priced (not in USD)." if unpriced else "")
        + (" skew = ends before it starts: the writers' clocks disagree." if skewed else ""),
        box=box.SIMPLE_HEAD,
        collapse_padding=True,
        show_edge=False,
    )
    for column in ("Phase", "WP", "Start", "End", "Took"):
        table.add_column(column, no_wrap=True)
    for column in ("Runs", "In tok", "Out tok", "USD"):
        table.add_column(column, justify="right", no_wrap=True)
    for span in spans:
        cost = "unknown" if span.cost_usd is None else f"{span.cost_usd:.4f}"
        if span.unpriced_invocations:
            cost += "*"
        runs = str(span.invocations)
        if span.failed_invocations:
            runs += f" ({span.failed_invocations}✗)"
        table.add_row(
            span.phase or "(unphased)",
            span.wp_id or "",
            f"{span.started_at:%m-%d %H:%M}",
            _end(span),
            "skew" if span.clock_skew else _duration(span.duration_seconds),
            runs,
            _tokens(span.input_tokens),
            _tokens(span.output_tokens),
            cost,
        )
    console.print(table)


def _end(span: PhaseSpan) -> str:
    if span.ended_at is None:
        return "open"
    same_day = span.ended_at.date() == span.started_at.date()
    return f"{span.ended_at:%H:%M}" if same_day else f"{span.ended_at:%m-%d %H:%M}"


def _tokens(count: int) -> str:
    if count >= 1_000_000:
        return f"{count / 1_000_000:.1f}M"
    if count >= 10_000:
        return f"{count / 1000:.0f}k"
    return f"{count:,}"


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
    app.command("transition")(transition)
    app.command("timeline")(timeline)
