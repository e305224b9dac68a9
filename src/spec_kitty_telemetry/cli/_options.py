"""The report options as plain data: spellings, value names, help texts and defaults.

Kept free of typer: the typer app declares its options from these
(``cli/_reports.py``, ``cli/cost.py``), and the fast route of ``cost``
(``cli/_fast.py``), which must start without typer and pydantic, reads its
command line with the same spellings. One table, so the two routes cannot
disagree on what a flag is called or what it takes.
"""

from __future__ import annotations

from typing import Final, Literal

__all__ = [
    "AGENT",
    "BREAKDOWN",
    "COMPACT",
    "COST_OPTIONS",
    "CSV",
    "FEATURE",
    "GROUP_BY",
    "JSON",
    "MODEL",
    "PER",
    "REPO",
    "REVERSE",
    "ROLE",
    "SINCE",
    "SORT",
    "SUCCESS",
    "TAG",
    "TIMEZONE",
    "UNTIL",
    "WP",
    "OptionSpec",
]

#: ``value``: takes one value (the last given wins); ``repeat``: a value per use,
#: collected in a list; ``flag``: no value, True when given; ``switch``: a
#: ``--on/--off`` pair, True, False or None when neither is given.
Kind = Literal["value", "repeat", "flag", "switch"]


class OptionSpec:
    """One command-line option: the parameter it sets and how it is spelled.

    A plain class, not a dataclass or NamedTuple: the fast route defines it at
    every start, and those take 25 to 100 times longer to define (``bench/startup.py``).
    """

    __slots__ = ("dest", "flags", "help", "kind", "metavar", "off_flag", "show_default")

    def __init__(
        self,
        dest: str,
        flags: tuple[str, ...],
        kind: Kind = "value",
        *,
        metavar: str | None = None,
        help: str = "",
        show_default: bool = True,
        off_flag: str | None = None,
    ) -> None:
        self.dest = dest
        self.flags = flags
        self.kind = kind
        self.metavar = metavar
        self.help = help
        self.show_default = show_default
        #: For a ``switch``: the spelling that sets False (``--failure``).
        self.off_flag = off_flag

    def __repr__(self) -> str:
        return f"OptionSpec({self.dest!r}, {self.flags!r}, {self.kind!r})"

    @property
    def declaration(self) -> tuple[str, ...]:
        """The spellings as typer declares them (a switch as ``--on/--off``)."""
        if self.kind == "switch":
            return (f"{self.flags[0]}/{self.off_flag}",)
        return self.flags


FEATURE: Final = OptionSpec(
    "feature",
    ("--feature", "-f"),
    "repeat",
    metavar="PATTERN",
    help="Only this feature: a folder name under kitty-specs/ or a glob "
    "('00*-cost-*'). Repeat for several.",
    show_default=False,
)
SINCE: Final = OptionSpec(
    "since",
    ("--since",),
    metavar="DATE",
    help="Only events at or after this ISO 8601 date or datetime (UTC if naive).",
)
UNTIL: Final = OptionSpec(
    "until",
    ("--until",),
    metavar="DATE",
    help="Only events at or before this ISO 8601 date or datetime; a date includes its day.",
)
TAG: Final = OptionSpec(
    "tag",
    ("--tag",),
    "repeat",
    metavar="KEY=VALUE",
    help="Only events carrying this tag (e.g. environment=ci). Repeat: all must match.",
    show_default=False,
)
JSON: Final = OptionSpec(
    "as_json", ("--json",), "flag", help="Print one JSON document instead of a table."
)
COMPACT: Final = OptionSpec(
    "compact",
    ("--compact",),
    "flag",
    help="The narrow table: fewer columns, counts rounded (1.3M). Chosen by itself "
    "when the full table does not fit the terminal.",
)
WP: Final = OptionSpec("wp", ("--wp",), metavar="WP", help="Only this work package (e.g. WP01).")
AGENT: Final = OptionSpec(
    "agent", ("--agent",), metavar="AGENT", help="Only this agent (e.g. claude)."
)
MODEL: Final = OptionSpec(
    "model",
    ("--model",),
    metavar="MODEL",
    help="Only this model, any spelling: 'sonnet' matches claude-sonnet-4.5.",
)
ROLE: Final = OptionSpec(
    "role", ("--role",), metavar="ROLE", help="Only this role (e.g. implementer)."
)
SUCCESS: Final = OptionSpec(
    "success",
    ("--success",),
    "switch",
    help="Only successful, or only failed, runs.",
    show_default=False,
    off_flag="--failure",
)
REPO: Final = OptionSpec(
    "repo",
    ("--repo",),
    metavar="PATH",
    help="Project root (default: the nearest folder above the current one "
    "holding kitty-specs/ or .kittify/).",
    show_default=False,
)
GROUP_BY: Final = OptionSpec(
    "group_by",
    ("--group-by", "-g"),
    metavar="GROUP",
    help="Group by agent, model, feature, role, wp, feature-wp (one row per work "
    "package of a feature), day, week (ISO), month or tag:KEY (one row per value "
    "of the tag KEY, (none) for runs without it).",
)
BREAKDOWN: Final = OptionSpec(
    "breakdown",
    ("--breakdown",),
    metavar="FIELD",
    help="Split each row by a second field (any --group-by value), as indented "
    "sub-rows that add up to their row.",
)
TIMEZONE: Final = OptionSpec(
    "timezone",
    ("--timezone",),
    metavar="ZONE",
    help="Time zone of days, weeks and months, and of --since/--until dates and "
    "naive times: an IANA name (Europe/Paris), UTC or local.",
)
SORT: Final = OptionSpec(
    "sort",
    ("--sort",),
    metavar="ORDER",
    help="Order rows by cost, events, tokens, name or time (first event). "
    "Default: time for day/week/month, else cost.",
    show_default=False,
)
REVERSE: Final = OptionSpec("reverse", ("--reverse",), "flag", help="Reverse the order of rows.")
PER: Final = OptionSpec(
    "per",
    ("--per",),
    metavar="UNITS",
    help="Add cost-per columns, comma-separated: line (per line changed), test (per "
    "passing test), wp (per completed work package). Shown only where known "
    "(— otherwise: some runs did not record it, or there is none). --json always "
    "has them.",
    show_default=False,
)
CSV: Final = OptionSpec(
    "as_csv", ("--csv",), "flag", help="Print CSV: one row per group, then TOTAL."
)

#: Every option of ``cost``, in the order of its help screen.
COST_OPTIONS: Final = (
    FEATURE,
    SINCE,
    UNTIL,
    WP,
    AGENT,
    MODEL,
    ROLE,
    SUCCESS,
    TAG,
    GROUP_BY,
    BREAKDOWN,
    TIMEZONE,
    SORT,
    REVERSE,
    PER,
    JSON,
    CSV,
    COMPACT,
    REPO,
)
