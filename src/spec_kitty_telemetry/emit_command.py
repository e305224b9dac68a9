"""``spec-kitty agent telemetry emit``: its options, parsing and output, without typer.

Slash-command templates run ``emit`` at the end of every phase, so its start-up
time is paid over and over. This module is the one definition of the command
and needs only argparse and the pydantic-free emit path; the console script
(``spec_kitty_telemetry.__main__``) runs it directly, and the typer app lists
it (``cli/emit.py``) and hands it its arguments, so both routes behave alike.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final, NoReturn, TextIO

from ._cli_warnings import new_folder_warning, print_error, print_warning
from ._emit_result import collecting
from ._records import execution_payload
from .emit import emit_execution_record
from .errors import InvalidOptionError, TelemetryError
from .integration import ROLES
from .project import EVENTS_FILENAME, feature_dir_for, node_id_for
from .tags import TAGS_KEY, default_tags, merge_tags, parse_tag_options
from .usage import MAX_COST_USD, USAGE_FIELDS, is_cost, is_count

__all__ = ["PROG", "SUMMARY", "build_parser", "main"]

PROG: Final = "spec-kitty agent telemetry emit"
#: The one-line help shown in ``spec-kitty agent telemetry --help``.
SUMMARY: Final = "Record one agent invocation (for templates that call it after each phase)."

_DESCRIPTION = f"""\
{SUMMARY}

Appends one ExecutionEvent to kitty-specs/<feature>/execution.events.jsonl
(creating the folder, with a warning, if it does not exist yet). Options left
out are stored as null (unknown), never as 0; so are empty --model, --wp-id
and --error values, as templates produce them. Token counts follow one
convention: --input-tokens is the TOTAL input, cache reads and writes
included; --cache-read-tokens and --cache-write-tokens are parts of it, and
--reasoning-tokens is part of --output-tokens. --error implies --failure.

Exit codes: 0 when recorded, and also when recording failed for a reason other
than the input (a read-only directory...): a warning is printed and the phase
goes on. 2 for invalid input, in which case nothing is written."""

_EPILOG = """\
examples:
  {prog} --feature 001-login --role implementer \\
      --agent claude --model claude-sonnet-4-5 --wp-id WP01 \\
      --input-tokens 48210 --output-tokens 3120 --cost-usd 0.19 --duration-ms 95400
  {prog} --feature 001-login --role reviewer \\
      --agent codex --failure --error "tests failed" --json
  {prog} --feature 001-login --role implementer --agent claude \\
      --tag environment=ci --tag operator=ana"""


class _Parser(argparse.ArgumentParser):
    """An argparse parser whose errors are TelemetryErrors, reported like every command's."""

    def error(self, message: str) -> NoReturn:
        raise InvalidOptionError(message)


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}")
    if not is_count(value):
        raise argparse.ArgumentTypeError(f"expected a whole number below 2**63, got {text!r}")
    return value


def _money(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an amount in USD, got {text!r}") from None
    if not is_cost(value):
        raise argparse.ArgumentTypeError(
            f"expected an amount from 0 to under {MAX_COST_USD:g}, got {text!r}"
        )
    return value


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    """Return the parser that defines every ``emit`` option; ``prog`` names it in help."""
    parser = _Parser(
        prog=prog,
        description=_DESCRIPTION,
        epilog=_EPILOG.format(prog=prog),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,  # as every other command: --input-token is a typo, not a name
    )
    add = parser.add_argument
    add("--feature", required=True, help="feature slug, e.g. 001-login (its kitty-specs folder)")
    add("--role", required=True, choices=ROLES, help="the role the agent played")
    add("--agent", required=True, help="the agent CLI, e.g. claude, codex, gemini")
    add("--model", help="the model the agent used")
    add("--wp-id", "--wp", dest="wp_id", help="the work package, e.g. WP01")
    for name, what in (
        ("--input-tokens", "total input tokens, cache reads and writes included"),
        ("--output-tokens", "output tokens, reasoning included"),
        ("--cache-read-tokens", "input tokens read from the prompt cache"),
        ("--cache-write-tokens", "input tokens written to the prompt cache"),
        ("--reasoning-tokens", "output tokens spent on reasoning"),
    ):
        add(name, type=_count, metavar="N", help=what)
    add("--cost-usd", type=_money, metavar="USD", help="cost the agent reported")
    add("--duration-ms", type=_count, metavar="MS", help="wall time in milliseconds")
    outcome = parser.add_mutually_exclusive_group()
    outcome.add_argument(
        "--success", dest="success", action="store_true", default=None, help="it succeeded"
    )
    outcome.add_argument("--failure", dest="success", action="store_false", help="it failed")
    add("--error", help="what went wrong (implies --failure; not allowed with --success)")
    add(
        "--tag",
        action="append",
        metavar="KEY=VALUE",
        help="a label to record, e.g. environment=ci (repeatable; over the project's "
        "default tags; KEY= removes a default one)",
    )
    add("--json", action="store_true", help='print {"result": "ok"|"error", ...} as JSON')
    return parser


def main(
    argv: Sequence[str] | None = None, *, stdout: TextIO | None = None, prog: str = PROG
) -> int:
    """Run ``emit`` with ``argv`` (default: ``sys.argv[1:]``); return the exit code.

    ``prog`` is how help and errors spell the command (``spec-kitty-telemetry emit``
    or ``spec-kitty agent telemetry emit``).
    """
    out = stdout if stdout is not None else sys.stdout
    try:
        args = build_parser(prog).parse_args(argv)
        error = args.error or None  # templates pass "" for "nothing went wrong"
        if error is not None and args.success is True:
            raise InvalidOptionError("argument --error: not allowed with argument --success")
        fields: dict[str, Any] = {
            "wp_id": args.wp_id or None,
            "agent": args.agent,
            "role": args.role,
            "model": args.model or None,
            **{name: getattr(args, name) for name in USAGE_FIELDS},
            "duration_ms": args.duration_ms,
            "success": args.success if args.success is not None else error is None,
            "error": error,
            "exit_code": None,
        }
        explicit_tags = parse_tag_options(args.tag)
        execution_payload(**fields)  # invalid input stops here, before anything is written
        feature_dir = feature_dir_for(args.feature)
    except TelemetryError as exc:
        print_error(exc)
        return 2

    existed = feature_dir.is_dir()
    slug = feature_dir.name  # the folder's name, stripped: the aggregate id readers group by
    with collecting() as collection:
        node_id = node_id_for(feature_dir)  # a broken config is a warning, not a lost event
        # So is a broken tags: section (a broken file was just warned about, once).
        defaults, problem = default_tags(feature_dir, file_problems=False)
        if problem is not None:
            collection.warnings.append(problem)
        tags = merge_tags(defaults, explicit_tags)
        if tags:
            fields[TAGS_KEY] = tags
        record = emit_execution_record(feature_dir, slug, node_id=node_id, **fields)
    result = collection.result(record)
    for message in result.warnings:
        print_warning(message)
    if record is None:
        print_warning(result.problem or "the event could not be stored")
        if args.json:
            _print_json(out, {"result": "error", "error": result.problem})
        return 0
    if not existed:
        print_warning(new_folder_warning(feature_dir))
    if args.json:
        _print_json(out, {"result": "ok", "event": record})
    else:
        print(
            f"Recorded {record['event_type']} {record['event_id']} in "
            f"{Path(feature_dir.parent.name) / slug / EVENTS_FILENAME}",
            file=out,
        )
    return 0


def _print_json(out: TextIO, document: dict[str, Any]) -> None:
    from ._json_output import logged, print_document

    if "event" in document:
        document = {**document, "event": logged(document["event"])}
    print_document(document, out)
