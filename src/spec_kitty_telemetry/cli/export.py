"""``export``: events as CSV or JSONL (a file or stdout), or to an OpenTelemetry endpoint.

The work is the library's (:mod:`spec_kitty_telemetry.exports`); this module
selects the events and picks the writer.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from .._json_output import print_document
from ._project import report_root
from ._reports import (
    AgentOption,
    FeatureOption,
    JsonOption,
    ModelOption,
    RepoOption,
    RoleOption,
    SinceOption,
    SuccessOption,
    UntilOption,
    WpOption,
    event_filter,
    hint_unmatched_features,
)

__all__ = ["register"]


def export(
    feature: FeatureOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    wp: WpOption = None,
    agent: AgentOption = None,
    model: ModelOption = None,
    role: RoleOption = None,
    success: SuccessOption = None,
    output_format: Annotated[
        str,
        typer.Option("--format", metavar="FORMAT", help="csv (one row per event) or jsonl."),
    ] = "csv",
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", metavar="FILE", help="Write here instead of stdout."),
    ] = None,
    otlp: Annotated[
        str | None,
        typer.Option(
            "--otlp",
            metavar="URL",
            help="Send the events as OTLP/HTTP JSON log records to this collector "
            "(http://host:4318 means http://host:4318/v1/logs).",
        ),
    ] = None,
    otlp_header: Annotated[
        list[str] | None,
        typer.Option(
            "--otlp-header", metavar="NAME=VALUE", help="A header for the collector; repeatable."
        ),
    ] = None,
    flush: Annotated[
        bool,
        typer.Option(
            "--flush",
            help="Send every webhook delivery still in the spool now (stuck ones too) and "
            "say what is left.",
        ),
    ] = False,
    timeout: Annotated[
        float, typer.Option(min=0.1, metavar="SECONDS", help="Network timeout per request.")
    ] = 10.0,
    as_json: JsonOption = False,
    repo: RepoOption = None,
) -> None:
    """Export events: CSV for a spreadsheet, JSONL as logged, or OTLP to an observability stack.

    Events come in causal order. CSV columns are stable (see the README);
    text a spreadsheet would evaluate is prefixed with '.

    Examples:
      spec-kitty agent telemetry export -o runs.csv --since 2025-11-01

      spec-kitty agent telemetry export --format jsonl --agent claude

      spec-kitty agent telemetry export --otlp http://localhost:4318 --since 2025-11-10

      spec-kitty agent telemetry export --flush

    """
    from ..errors import InvalidOptionError
    from ..exports import export_otlp, write_events_csv, write_events_jsonl
    from ..pricing import load_pricing
    from ..query import query_project_events

    if flush:
        _flush(repo, as_json)
        return
    if output_format not in ("csv", "jsonl"):
        raise InvalidOptionError(f"--format {output_format!r}: choose csv or jsonl")
    headers = dict(_header(text) for text in otlp_header or [])
    root, is_project = report_root(repo)
    filters = event_filter(
        root,
        feature=feature,
        since=since,
        until=until,
        wp_id=wp,
        agent=agent,
        model=model,
        role=role,
        success=success,
    )
    events = query_project_events(root, filters)
    if is_project:
        hint_unmatched_features(root, feature)
    pricing = load_pricing(root)
    if otlp is not None:
        result = export_otlp(events, otlp, pricing, headers=headers, timeout=timeout)
        if as_json:
            print_document(result.to_dict())
        else:
            typer.echo(f"Sent {result.records:,} events in {result.requests:,} requests to {otlp}")
        return
    out = sys.stdout if output is None else output.open("w", encoding="utf-8", newline="")
    try:
        if output_format == "csv":
            written = write_events_csv(events, out, pricing)
        else:
            written = write_events_jsonl(events, out)
    finally:
        if out is not sys.stdout:
            out.close()
    if output is not None:
        typer.echo(f"Wrote {written:,} events to {output}", err=True)


def _flush(repo: Path | None, as_json: bool) -> None:
    from ..exports import flush_webhooks

    root, _ = report_root(repo)
    result = flush_webhooks(root)
    if as_json:
        print_document(result.to_dict())
    else:
        typer.echo(
            f"Delivered {len(result.delivered):,} webhook deliveries; "
            f"{len(result.left):,} still pending."
        )
        for delivery in result.left:
            typer.echo(
                f"  {delivery.key} to {delivery.url}: {delivery.attempts} attempts, "
                f"last error: {delivery.last_error}"
            )
    if result.left:
        raise typer.Exit(1)


def _header(text: str) -> tuple[str, str]:
    from ..errors import InvalidOptionError

    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise InvalidOptionError(f"--otlp-header {text!r}: expected NAME=VALUE")
    return name.strip(), value


def register(group: typer.Typer) -> None:
    """Add the ``export`` command to the ``telemetry`` command group."""
    from ._command import Command

    group.command("export", cls=Command)(export)
