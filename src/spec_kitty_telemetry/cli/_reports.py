"""Options and cells the report commands share (``cost``, ``events``).

One definition of each option keeps their spelling, help text and parsing the
same in every report: the spellings and texts are the typer-free table of
``cli/_options.py``, declared here as typer options. The filter and the cost
cell they share are in ``cli/_common.py``, re-exported here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from . import _options
from ._common import cost_cell, event_filter, hint_unmatched_features
from ._options import OptionSpec

__all__ = [
    "AgentOption",
    "CompactOption",
    "FeatureOption",
    "JsonOption",
    "ModelOption",
    "RepoOption",
    "RoleOption",
    "SinceOption",
    "SuccessOption",
    "TagOption",
    "UntilOption",
    "WpOption",
    "cost_cell",
    "event_filter",
    "hint_unmatched_features",
    "typer_option",
]


def typer_option(spec: OptionSpec) -> Any:
    """Declare ``spec`` as a typer option (``cli/_options.py`` holds its spelling and help)."""
    return typer.Option(
        *spec.declaration,
        metavar=spec.metavar,
        help=spec.help,
        show_default=spec.show_default,
    )


FeatureOption = Annotated[list[str] | None, typer_option(_options.FEATURE)]
SinceOption = Annotated[str | None, typer_option(_options.SINCE)]
UntilOption = Annotated[str | None, typer_option(_options.UNTIL)]
TagOption = Annotated[list[str] | None, typer_option(_options.TAG)]
JsonOption = Annotated[bool, typer_option(_options.JSON)]
CompactOption = Annotated[bool, typer_option(_options.COMPACT)]
WpOption = Annotated[str | None, typer_option(_options.WP)]
AgentOption = Annotated[str | None, typer_option(_options.AGENT)]
ModelOption = Annotated[str | None, typer_option(_options.MODEL)]
RoleOption = Annotated[str | None, typer_option(_options.ROLE)]
SuccessOption = Annotated[bool | None, typer_option(_options.SUCCESS)]
RepoOption = Annotated[Path | None, typer_option(_options.REPO)]
