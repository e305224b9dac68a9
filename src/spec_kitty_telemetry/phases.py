"""Where an invocation's time goes: named phases recorded into its event (``phases``).

Inside :func:`~spec_kitty_telemetry.integration.track_invocation`, ``with
track_phase("context_loading"):`` (or ``@track_phase("validation")`` on a
function, ``async def`` included) adds the block's wall time to the tracked
invocation's ``phases``: phase name → milliseconds, in the order the phases
first ran; a phase run twice adds up. The log writes every object's keys
sorted (the line format spec-kitty shares), so an object could not keep that
order: ``phases`` is a list, ``[{"name": "context_loading", "ms": 812.4}, ...]``.
Outside a tracked invocation it records nothing and never fails the code it wraps.

A command wrapped by ``spec-kitty agent telemetry run`` marks phases from the
outside, as it has no Python handle: the wrapper names a file in the
environment variable :data:`PHASE_FILE_ENV`, and each line appended to it,
``<unix time in seconds> <name>``, starts a phase that lasts until the next
mark (or the command's end). A file rather than a line on the agent's output:
any process below the agent (a hook, a script) can append to it whatever the
agent does with its own output, and nothing the agent prints is ever taken
for a mark. ``spec-kitty agent telemetry phase NAME`` writes such a line, and
so does ``echo "$(date +%s.%N) NAME" >> "$SPEC_KITTY_TELEMETRY_PHASE_FILE"``.
"""

from __future__ import annotations

import functools
import inspect
import os
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Final, ParamSpec, TypeVar, cast

from .errors import InvalidOptionError
from .integration import current_invocation

__all__ = [
    "PHASES_KEY",
    "PHASE_FILE_ENV",
    "add_phase",
    "check_phase_name",
    "mark_phase",
    "phases_from_markers",
    "track_phase",
]

#: The payload key holding the phases, and the environment variable naming the marks file.
PHASES_KEY: Final = "phases"
PHASE_FILE_ENV: Final = "SPEC_KITTY_TELEMETRY_PHASE_FILE"
#: Milliseconds are kept to the microsecond: phases can be shorter than 1 ms.
_DIGITS: Final = 3

P = ParamSpec("P")
R = TypeVar("R")


def check_phase_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip() or any(c in name for c in "\r\n"):
        raise InvalidOptionError(
            f"phase name {name!r}: expected a non-empty name on one line", parameter="phase"
        )
    return name.strip()


Phases = list[dict[str, Any]]


def add_phase(phases: Phases, name: str, ms: float) -> None:
    """Add ``ms`` to phase ``name`` (appended when new, so order is first-run order)."""
    for entry in phases:
        if entry.get("name") == name and isinstance(entry.get("ms"), int | float):
            entry["ms"] = round(entry["ms"] + ms, _DIGITS)
            return
    phases.append({"name": name, "ms": round(ms, _DIGITS)})


def _record(name: str, elapsed_ns: int) -> None:
    """Add a timed phase to the invocation tracked now, if there is one."""
    result = current_invocation()
    if result is None:
        return
    phases = result.extra.get(PHASES_KEY)
    if not isinstance(phases, list):
        phases = result.extra[PHASES_KEY] = []
    add_phase(phases, name, elapsed_ns / 1e6)


class track_phase:  # a class named like a function: used as `with track_phase("x")`
    """Time a block, or each call of a function, as one phase of the tracked invocation."""

    __slots__ = ("_started", "name")

    def __init__(self, name: str) -> None:
        self.name = check_phase_name(name)
        self._started = 0

    def __enter__(self) -> track_phase:
        self._started = time.perf_counter_ns()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        _record(self.name, time.perf_counter_ns() - self._started)

    def __call__(self, func: Callable[P, R]) -> Callable[P, R]:
        """Time every call of ``func`` (awaited to the end for ``async def``) as this phase.

        Each call is timed on its own (no instance state is shared), so calls
        may overlap in threads and tasks.
        """
        name = self.name
        clock = time.perf_counter_ns
        if inspect.iscoroutinefunction(func):
            coroutine_function = cast(Callable[P, Awaitable[Any]], func)

            @functools.wraps(func)
            async def timed_coroutine(*args: P.args, **kwargs: P.kwargs) -> Any:
                started = clock()
                try:
                    return await coroutine_function(*args, **kwargs)
                finally:
                    _record(name, clock() - started)

            return cast(Callable[P, R], timed_coroutine)

        @functools.wraps(func)
        def timed(*args: P.args, **kwargs: P.kwargs) -> R:
            started = clock()
            try:
                return func(*args, **kwargs)
            finally:
                _record(name, clock() - started)

        return timed


def mark_phase(name: str, *, environ: Mapping[str, str] | None = None) -> Path:
    """Start phase ``name`` of the wrapped run now, by a line in its marks file; return the file.

    Raises InvalidOptionError when no ``run`` wrapper named a marks file.
    """
    name = check_phase_name(name)
    target = (os.environ if environ is None else environ).get(PHASE_FILE_ENV)
    if not target:
        raise InvalidOptionError(
            f"{PHASE_FILE_ENV} is not set: phases are marked inside "
            "`spec-kitty agent telemetry run -- <agent>`"
        )
    path = Path(target)
    with path.open("a", encoding="utf-8") as marks:
        marks.write(f"{time.time():.6f} {name}\n")
    return path


def phases_from_markers(
    text: str, *, started: float, ended: float, first: str | None = None
) -> Phases:
    """Turn marks (``<unix time> <name>`` lines) into phases of a run from ``started`` to ``ended``.

    ``first`` names the phase the run starts in (``run --phase``), which lasts
    until the first mark. Lines that are not marks are skipped; a mark outside
    the run is clamped into it; marks are taken in time order.
    """
    marks: list[tuple[float, str]] = []
    for line in text.splitlines():
        stamp, _, name = line.strip().partition(" ")
        try:
            moment = float(stamp)
        except ValueError:
            continue
        if name.strip() and moment == moment:  # not NaN
            marks.append((min(max(moment, started), ended), name.strip()))
    marks.sort(key=lambda mark: mark[0])
    if first is not None:
        marks.insert(0, (started, first))
    phases: Phases = []
    if not marks:
        return phases
    for (moment, name), following in zip(marks, [*marks[1:], (ended, "")], strict=True):
        add_phase(phases, name, (following[0] - moment) * 1000)
    return phases


def main(name: str) -> int:
    """Mark phase ``name`` for ``spec-kitty agent telemetry phase NAME``; the exit code.

    The command line's fast path (no typer import), so the mark's time is
    when the agent asked for it, not after the CLI's start-up.
    """
    import sys

    from ._cli_warnings import print_error
    from .errors import TelemetryError

    try:
        mark_phase(name)
    except TelemetryError as exc:
        print_error(exc)
        return 2
    except OSError as exc:
        print(f"Error: cannot write the phase mark: {exc}", file=sys.stderr)
        return 2
    return 0
