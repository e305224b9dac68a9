"""Hooks an orchestrator calls around each agent invocation.

An orchestrator that already knows what an invocation did builds an
:class:`InvocationResult` and calls :func:`record_invocation`. One that would
rather not time things itself wraps the invocation in :func:`track_invocation`
(a context manager and a decorator). Both are fire-and-forget like the
emitter underneath: a problem recording the event is logged as a warning and
never raised into the orchestrator.
"""

from __future__ import annotations

import functools
import inspect
import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from contextlib import suppress
from contextvars import ContextVar, Token
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, ParamSpec, TypeVar, cast

from ._emit_result import fail, warn
from .emit import emit_execution_record
from .project import node_id_for
from .tags import TAGS_KEY, default_tags, lenient_tags, merge_tags
from .usage import (
    USAGE_ERROR_KEY,
    USAGE_FIELDS,
    Usage,
    is_count,
    lenient,
    problems as usage_problems,
)

if TYPE_CHECKING:
    from .agent_usage import AgentUsage
    from .changes import ChangeCapture, RunChanges
    from .junit import TestCounts

__all__ = [
    "ROLES",
    "InvocationResult",
    "current_invocation",
    "record_invocation",
    "track_invocation",
]

logger = logging.getLogger(__name__)

#: The roles an agent plays in a spec-kitty workflow; the CLI accepts only these.
ROLES: Final = ("specifier", "planner", "implementer", "reviewer", "merger")

_INT64_MAX: Final = 2**63 - 1

P = ParamSpec("P")
R = TypeVar("R")

_current: ContextVar[InvocationResult | None] = ContextVar("current_invocation", default=None)


@dataclass
class InvocationResult:
    """What one agent invocation did; everything but ``agent`` and ``role`` is optional.

    Token counts follow the package convention (None = not reported;
    ``input_tokens`` includes cache reads and writes). ``models`` is the
    per-model breakdown when several models served the invocation, keyed by
    model name (see :meth:`AgentUsage.models_payload
    <spec_kitty_telemetry.agent_usage.AgentUsage.models_payload>`). ``extra``
    is stored in the event payload as given. The usage attributes are those of
    :class:`~spec_kitty_telemetry.usage.Usage` (:attr:`usage` reads them as one),
    judged by its rules when recorded. ``changes`` is what the invocation
    changed in its git work tree (:class:`~spec_kitty_telemetry.changes.ChangeCapture`
    fills it in); None means not captured. ``tests`` holds the invocation's
    test figures, a :class:`~spec_kitty_telemetry.junit.TestCounts` or a mapping
    of ``passed``/``failed``/``skipped``/``errors``; None means unknown.
    ``error_category`` says why a failed invocation failed; left None, it is
    decided when recorded (:mod:`spec_kitty_telemetry.failure_kinds`).
    ``tags`` are free-form labels (:mod:`spec_kitty_telemetry.tags`), stored
    over the project's default tags; an empty value removes a default one.
    """

    agent: str
    role: str
    wp_id: str | None = None
    model: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read_tokens: int | None = None
    cache_write_tokens: int | None = None
    reasoning_tokens: int | None = None
    cost_usd: float | None = None
    duration_seconds: float | None = None
    success: bool = True
    exit_code: int | None = None
    error: str | None = None
    models: dict[str, dict[str, Any]] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    changes: RunChanges | None = None
    tests: TestCounts | Mapping[str, Any] | None = None
    error_category: str | None = None
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def usage(self) -> Usage:
        """The usage figures as one :class:`~spec_kitty_telemetry.usage.Usage`, unchecked."""
        return Usage.of(self)

    def apply_usage(self, usage: AgentUsage) -> None:
        """Take what the agent reported about itself; fields it did not report are kept.

        The agent's model name replaces one set beforehand (it is the exact
        name pricing needs, where an orchestrator often holds an alias). If
        the agent's own result says the run failed, ``success`` becomes False
        and ``error`` says why. Figures that break the token convention (cache
        above input, reasoning above output) are dropped and the reason kept in
        ``extra["usage_error"]``, with the figures the parser already dropped
        (``usage.usage_error``), so the invocation is still recorded.
        """
        if usage.model is not None:
            self.model = usage.model
        for name in USAGE_FIELDS:
            value = getattr(usage, name)
            if value is not None:
                setattr(self, name, value)
        if usage.usage_error:
            _add_notes(self, [usage.usage_error])
        models = usage.models_payload()
        if models is not None:
            self.models = models
        if usage.num_turns is not None:
            self.extra["num_turns"] = usage.num_turns
        if usage.session_id is not None:
            self.extra["session_id"] = usage.session_id
        if usage.agent_error is not None:
            self.success = False
            self.error = usage.agent_error
        _drop_unusable_figures(self)


def record_invocation(
    feature_dir: str | Path,
    feature_slug: str,
    result: InvocationResult,
    *,
    node_id: str | None = None,
    causation_id: str | None = None,
) -> dict[str, Any] | None:
    """Record ``result`` as an ``ExecutionEvent`` in the feature's log; return the record.

    Never raises. ``duration_seconds`` is stored as whole milliseconds
    (rounded; null when unknown). Reported figures that cannot be stored as
    given (cache tokens above input, reasoning above output, a count beyond
    64 bits, a cost outside the usage rules, a negative or non-finite
    duration) are dropped, and
    ``payload["usage_error"]`` says which and why: the invocation itself,
    its duration, exit code and outcome are always recorded. ``node_id``
    defaults to the project's ``.kittify/telemetry.yaml`` setting. When the
    event cannot be recorded, one warning is logged and None returned.
    """
    try:
        models = None if result.models is None else dict(result.models)
        result = replace(result, extra=dict(result.extra), models=models)  # the caller's stays
        _drop_unusable_figures(result)
        extra = dict(result.extra)
        # node_id_for, called below when node_id is None, warns about a broken file once.
        tags = _tags(feature_dir, result.tags, file_problems=node_id is not None)
        if tags:
            extra[TAGS_KEY] = tags
        if result.models is not None:
            extra["models"] = result.models
        if result.changes is not None:
            extra.update(result.changes.payload_fields())
        tests = None
        if result.tests is not None:
            from .junit import TESTS_KEY, TestCounts

            tests = TestCounts.of(result.tests)
            extra[TESTS_KEY] = tests.to_dict()
        if not result.success:
            extra["error_category"] = result.error_category or _category(
                feature_dir, result, tests_failed=bool(tests and (tests.failed or tests.errors))
            )
        return emit_execution_record(
            feature_dir,
            feature_slug,
            result.wp_id,
            result.agent,
            result.role,
            model=result.model,
            **result.usage.to_dict(),
            duration_ms=_milliseconds(result.duration_seconds),
            success=result.success,
            error=result.error,
            exit_code=result.exit_code,
            node_id=node_id if node_id is not None else node_id_for(feature_dir),
            causation_id=causation_id,
            **extra,
        )
    except Exception as exc:  # noqa: BLE001 - telemetry must not break its host
        agent = getattr(result, "agent", None)
        fail(logger, f"telemetry: invocation of {agent!r} for {feature_slug!r} not recorded: {exc}")
        return None


def _tags(
    feature_dir: str | Path, explicit: Mapping[str, str], *, file_problems: bool
) -> dict[str, str]:
    """Put the explicit tags over the project's defaults (a broken section is a warning)."""
    defaults, problem = default_tags(feature_dir, file_problems=file_problems)
    if problem is not None:
        warn(logger, problem)
    return merge_tags(defaults, explicit)


def _category(feature_dir: str | Path, result: InvocationResult, *, tests_failed: bool) -> str:
    """Decide a failed invocation's category by the project's rules (see failure_kinds)."""
    from .failure_kinds import classify_failure, project_rules

    # A file that is not YAML at all was warned about once already (node id or tags).
    rules, problem = project_rules(feature_dir, file_problems=False)
    if problem is not None:
        warn(logger, problem)
    return classify_failure(
        exit_code=result.exit_code,
        error=result.error,
        agent=result.agent,
        tests_failed=tests_failed,
        rules=rules,
    )


def _milliseconds(seconds: float | None) -> int | None:
    """Whole milliseconds, or None when unknown (``_drop_unusable_figures`` ran first)."""
    return None if seconds is None else round(seconds * 1000)


def _drop_unusable_figures(result: InvocationResult) -> None:
    """Set to None every figure the event schema would refuse, noting why in ``extra``.

    An agent's report can be wrong (its own counting convention, a bug) and a
    clock can misbehave; losing the whole invocation over one bad figure would
    hide that it ran at all, so only the figures go. Usage figures are judged by
    :func:`spec_kitty_telemetry.usage.lenient`; duration and exit code here.
    """
    kept, notes = lenient(result.usage.to_dict())
    for name in USAGE_FIELDS:
        setattr(result, name, getattr(kept, name))
    seconds = result.duration_seconds
    if seconds is not None and not _is_duration(seconds):
        notes.append(f"duration_seconds {seconds!r} is not a finite time >= 0: dropped")
        result.duration_seconds = None
    code = result.exit_code
    if code is not None and (type(code) is not int or abs(code) > _INT64_MAX):
        notes.append(f"exit_code {code!r} is not a 64-bit whole number: dropped")
        result.exit_code = None
    if TAGS_KEY in result.extra:  # tags given as an extra field: judged as tags, not lost
        given = result.extra.pop(TAGS_KEY)
        result.tags = {**given, **result.tags} if isinstance(given, Mapping) else result.tags
        if not isinstance(given, Mapping):
            notes.append(f"extra tags {given!r} is not a mapping: dropped")
    result.tags, tag_notes = lenient_tags(result.tags)
    notes.extend(tag_notes)
    if result.tests is not None:
        from .junit import TestCounts

        try:
            TestCounts.of(result.tests)
        except ValueError as exc:
            notes.append(f"{exc}: dropped")
            result.tests = None
    if result.models is not None:
        for model, figures in list(result.models.items()):
            problem = _model_problem(figures)
            if problem is not None:
                notes.append(f"models[{model!r}]: {problem}: dropped")
                del result.models[model]
    _add_notes(result, notes)


def _add_notes(result: InvocationResult, notes: list[str]) -> None:
    """Append ``notes`` to the ``usage_error`` already in ``result.extra``, if any."""
    if not notes:
        return
    earlier = result.extra.get(USAGE_ERROR_KEY)
    if isinstance(earlier, str) and earlier:
        notes = [earlier, *notes]
    result.extra[USAGE_ERROR_KEY] = "; ".join(notes)


def _model_problem(figures: object) -> str | None:
    """Say what is wrong with one per-model breakdown entry, or None if it can be stored."""
    if not isinstance(figures, dict):
        return f"expected a mapping of figures, got {type(figures).__name__}"
    found = usage_problems(figures)
    return found[0].what if found else None


def _is_duration(seconds: object) -> bool:
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        return False
    if not math.isfinite(seconds) or seconds < 0:
        return False
    return is_count(round(seconds * 1000))


def current_invocation() -> InvocationResult | None:
    """Return the result of the innermost :func:`track_invocation` block running now, if any.

    Code deep inside a tracked block (or a decorated function) sets usage on it
    without the handle being passed down.
    """
    return _current.get()


#: One open ``track_invocation`` block: its result, start time, how to restore the
#: current one, and the capture of its work tree's changes (None when not asked for).
_OpenBlock = tuple[
    "InvocationResult", float, Token["InvocationResult | None"], "ChangeCapture | None"
]


def _start_capture(where: bool | str | Path) -> ChangeCapture | None:
    """Snapshot the work tree ``where`` names (True: the working directory); None when False."""
    if where is False:
        return None
    from .changes import ChangeCapture

    capture = ChangeCapture(None if where is True else where)
    capture.start()
    return capture


class track_invocation:  # a class named like a function: it is used as `with track_invocation()`
    """Time a block (or each call of a function) and record it as one invocation.

    As a context manager it yields an :class:`InvocationResult` to fill in
    (usage, model, exit code); on exit it sets ``duration_seconds`` to the
    block's wall time and records the event, whether the block succeeded or
    not. An exception leaving the block is recorded (``success=False``,
    ``error="<Type>: <message>"``) and re-raised unchanged. As a decorator,
    each call is tracked separately; the function reaches its result through
    :func:`current_invocation`. Works on ``async def`` functions too.

    With ``capture_changes`` (True: the working directory's git work tree, or
    a path in the tree the agent works in) the block's changes to that tree
    are recorded too (``payload["changes"]``, see :mod:`spec_kitty_telemetry.changes`).
    ``tags`` start each block's ``result.tags`` (a copy: the block may add more).

    Example::

        with track_invocation(feature_dir, "001-login", agent="claude",
                              role="implementer", wp_id="WP01") as result:
            proc = subprocess.run(command, capture_output=True)
            result.exit_code = proc.returncode
            result.success = proc.returncode == 0
    """

    def __init__(
        self,
        feature_dir: str | Path,
        feature_slug: str,
        *,
        agent: str,
        role: str,
        wp_id: str | None = None,
        model: str | None = None,
        node_id: str | None = None,
        causation_id: str | None = None,
        capture_changes: bool | str | Path = False,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        self.feature_dir = feature_dir
        self.feature_slug = feature_slug
        self.agent = agent
        self.role = role
        self.wp_id = wp_id
        self.model = model
        self.node_id = node_id
        self.causation_id = causation_id
        self.capture_changes = capture_changes
        self.tags = dict(tags) if tags is not None else {}
        # Blocks open on this instance, innermost last, kept per context: asyncio
        # tasks (and threads) sharing one instance each see only their own.
        self._active: ContextVar[tuple[_OpenBlock, ...]] = ContextVar(
            "track_invocation_blocks", default=()
        )

    def __enter__(self) -> InvocationResult:
        """Start timing; return the result to fill in."""
        result = InvocationResult(
            agent=self.agent,
            role=self.role,
            wp_id=self.wp_id,
            model=self.model,
            tags=dict(self.tags),
        )
        capture = _start_capture(self.capture_changes)
        block = (result, time.monotonic(), _current.set(result), capture)
        self._active.set((*self._active.get(), block))
        return result

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Record the invocation; never swallows the block's exception."""
        active = self._active.get()
        self._active.set(active[:-1])
        result, started, token, capture = active[-1]
        result.duration_seconds = time.monotonic() - started
        if capture is not None:
            result.changes = capture.finish()
        with suppress(ValueError):  # exited in another context than entered: nothing to restore
            _current.reset(token)
        if exc is not None:
            result.success = False
            message = str(exc)
            name = type(exc).__name__
            result.error = f"{name}: {message}" if message else name
        record_invocation(
            self.feature_dir,
            self.feature_slug,
            result,
            node_id=self.node_id,
            causation_id=self.causation_id,
        )

    def __call__(self, func: Callable[P, R]) -> Callable[P, R]:
        """Track every call of ``func`` as its own invocation."""
        if inspect.iscoroutinefunction(func):
            coroutine_function = cast(Callable[P, Awaitable[Any]], func)

            @functools.wraps(func)
            async def tracked_coroutine(*args: P.args, **kwargs: P.kwargs) -> Any:
                with self._fresh():
                    return await coroutine_function(*args, **kwargs)

            return cast(Callable[P, R], tracked_coroutine)

        @functools.wraps(func)
        def tracked(*args: P.args, **kwargs: P.kwargs) -> R:
            with self._fresh():
                return func(*args, **kwargs)

        return tracked

    def _fresh(self) -> track_invocation:
        return track_invocation(
            self.feature_dir,
            self.feature_slug,
            agent=self.agent,
            role=self.role,
            wp_id=self.wp_id,
            model=self.model,
            node_id=self.node_id,
            causation_id=self.causation_id,
            capture_changes=self.capture_changes,
            tags=self.tags,
        )
