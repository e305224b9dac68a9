"""What an emit did: the stored record, or why nothing was stored, and what went wrong on the way.

The emitters never raise (telemetry must not break its host), so a caller
that wants to say why an event was lost — the CLI's ``--json`` ``error``, a
hook that retries — needs the reason as a value. Warnings come from deep
inside the write (a broken config, a clock file that is a symlink, an index
not saved), far from the emitter's frame; rather than thread a list through
every layer, or have the caller listen to the logging module, each such place
calls :func:`warn`, which adds the message to the collection of the emit in
progress (a context variable, so threads and asyncio tasks each keep their
own) or, when nobody collects, logs it as before. :func:`emit_with_result`
runs one emit and returns an :class:`EmitResult`: the caller that asked for
the messages as values gets them once, not also on its stderr through
logging's last-resort handler.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, ParamSpec, Protocol

__all__ = ["Collection", "EmitResult", "collecting", "emit_with_result", "fail", "stored", "warn"]

_P = ParamSpec("_P")


@dataclass(frozen=True)
class EmitResult:
    """The outcome of one emit: what was written, or why not.

    ``record`` is the stored record (as written to the log), None when nothing
    was stored; ``problem`` then says why. ``warnings`` are what went wrong
    without stopping the recording (a broken config, a clock file not saved),
    in the order they happened; each was also logged.
    """

    record: dict[str, Any] | None
    problem: str | None = None
    warnings: tuple[str, ...] = ()

    @property
    def recorded(self) -> bool:
        """True when the event is in the log."""
        return self.record is not None


@dataclass
class Collection:
    """What the emits inside a :func:`collecting` block did.

    ``records`` are the records stored (in order; also in their stores as
    usual), ``warnings`` what went wrong on the way, ``problem`` why the last
    emit that stored nothing did not.
    """

    warnings: list[str] = field(default_factory=list)
    problem: str | None = None
    records: list[dict[str, Any]] = field(default_factory=list)
    _outer: Collection | None = field(default=None, repr=False)

    def result(self, record: dict[str, Any] | None) -> EmitResult:
        """Return the :class:`EmitResult` of an emit that returned ``record``."""
        problem = None if record is not None else self.problem or "the event was not stored"
        return EmitResult(record, problem, tuple(self.warnings))


_CURRENT: ContextVar[Collection | None] = ContextVar("spec_kitty_telemetry_emit", default=None)


@contextmanager
def collecting() -> Iterator[Collection]:
    """Gather the warnings of every emit step run inside the block, instead of logging them.

    For a caller that does more than one step before it emits (reads the
    project's node id, then records) and wants all their warnings as values.
    """
    collection = Collection(_outer=_CURRENT.get())
    token = _CURRENT.set(collection)
    try:
        yield collection
    finally:
        _CURRENT.reset(token)


class _Logger(Protocol):
    """What ``warn`` and ``fail`` need of a logger (``logging.Logger`` or ``_log.LazyLogger``)."""

    def warning(self, message: str, /, *args: Any) -> None: ...


def warn(logger: _Logger, message: str) -> None:
    """Add ``message`` to the current emit's warnings; log it when no emit collects."""
    collection = _CURRENT.get()
    if collection is None:
        logger.warning("%s", message)
    else:
        collection.warnings.append(message)


def fail(logger: _Logger, message: str) -> None:
    """Say why the current emit stored nothing (its ``problem``); log it when none collects."""
    collection = _CURRENT.get()
    if collection is None:
        logger.warning("%s", message)
    else:
        collection.problem = message


def stored(record: dict[str, Any]) -> None:
    """Note that ``record`` was stored, in every collection open around this emit."""
    collection = _CURRENT.get()
    while collection is not None:
        collection.records.append(record)
        collection = collection._outer


def emit_with_result(
    emitter: Callable[_P, dict[str, Any] | None], *args: _P.args, **kwargs: _P.kwargs
) -> EmitResult:
    """Call ``emitter`` (any emitter returning the stored record or None); return what it did.

    For example ``emit_with_result(emit_execution_record, folder, "001-login", "WP01",
    "claude", "implementer", input_tokens=1200)``. Never raises, as the emitter
    does not; the warnings and the reason for a lost event come back in the
    result instead of being logged.
    """
    with collecting() as collection:
        record = emitter(*args, **kwargs)
    return collection.result(record)
