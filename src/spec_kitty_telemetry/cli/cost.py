"""The ``cost`` command: what agents cost, grouped.

This module declares the typer command (its options come from the table in
``cli/_options.py``); what the command does is ``cli/_cost_command.run_cost``,
which the console scripts' fast route runs too, without typer.
"""

from __future__ import annotations

from typing import Annotated

import typer

from . import _options
from ._cost_command import DEFAULT_GROUP, DEFAULT_ZONE, run_cost
from ._reports import (
    AgentOption,
    CompactOption,
    FeatureOption,
    JsonOption,
    ModelOption,
    RepoOption,
    RoleOption,
    SinceOption,
    SuccessOption,
    TagOption,
    UntilOption,
    WpOption,
    typer_option,
)

__all__ = ["cost", "register"]


def cost(
    feature: FeatureOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    wp: WpOption = None,
    agent: AgentOption = None,
    model: ModelOption = None,
    role: RoleOption = None,
    success: SuccessOption = None,
    tag: TagOption = None,
    group_by: Annotated[str, typer_option(_options.GROUP_BY)] = DEFAULT_GROUP,
    breakdown: Annotated[str | None, typer_option(_options.BREAKDOWN)] = None,
    timezone: Annotated[str, typer_option(_options.TIMEZONE)] = DEFAULT_ZONE,
    sort: Annotated[str | None, typer_option(_options.SORT)] = None,
    reverse: Annotated[bool, typer_option(_options.REVERSE)] = False,
    per: Annotated[str | None, typer_option(_options.PER)] = None,
    as_json: JsonOption = False,
    as_csv: Annotated[bool, typer_option(_options.CSV)] = False,
    compact: CompactOption = False,
    repo: RepoOption = None,
) -> None:
    """Report what coding agents cost, from every feature's execution events.

    Costs the agents reported are shown as they are; costs estimated from
    token counts and model prices are marked ~. Events whose cost cannot be
    known (no cost, and no tokens or no price for the model) are left out of
    the totals and listed under the table. Amounts are in cents, rounded so
    that the rows add up to TOTAL. Filters match as in ``events``.

    Examples:
      spec-kitty agent telemetry cost

      spec-kitty agent telemetry cost --group-by model --since 2025-11-01

      spec-kitty agent telemetry cost --group-by month --breakdown model

      spec-kitty agent telemetry cost --agent claude --failure --group-by feature-wp

      spec-kitty agent telemetry cost --group-by day --timezone Europe/Paris --json

      spec-kitty agent telemetry cost --group-by tag:environment --breakdown agent

      spec-kitty agent telemetry cost --group-by wp --per line,test,wp

    """
    run_cost(
        feature=feature,
        since=since,
        until=until,
        wp=wp,
        agent=agent,
        model=model,
        role=role,
        success=success,
        tag=tag,
        group_by=group_by,
        breakdown=breakdown,
        timezone=timezone,
        sort=sort,
        reverse=reverse,
        per=per,
        as_json=as_json,
        as_csv=as_csv,
        compact=compact,
        repo=repo,
    )


def register(group: typer.Typer) -> None:
    """Add the ``cost`` command to the ``telemetry`` command group."""
    from ._command import Command

    group.command("cost", cls=Command)(cost)
