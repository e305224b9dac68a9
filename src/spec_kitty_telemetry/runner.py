"""Run one agent command, pass its output through, and record what it did.

The library side of ``spec-kitty agent telemetry run``. The command's stdin
and stderr are its own (inherited); its stdout goes through a pipe that is
copied to ours chunk by chunk as it arrives while
:class:`~spec_kitty_telemetry.agent_usage.UsageCollector` reads usage out of
it with bounded memory. The wrapper exits with the command's exit code:
telemetry never changes the outcome.
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final

from ._emit_result import EmitResult, emit_with_result
from .agent_usage import AgentUsage, UsageCollector
from .changes import ChangeCapture
from .errors import InvalidOptionError
from .integration import InvocationResult, record_invocation

__all__ = [
    "AGENT_PROGRAMS",
    "COMMAND_NOT_EXECUTABLE",
    "COMMAND_NOT_FOUND",
    "COMMAND_NOT_STARTED",
    "RunOutcome",
    "agent_program",
    "model_from_command",
    "run_agent",
]

#: Exit code when the command is not found (the shell's convention).
COMMAND_NOT_FOUND: Final = 127
#: Exit code when the command exists but cannot be executed: a directory, no
#: execute permission, not a program (the shell's convention).
COMMAND_NOT_EXECUTABLE: Final = 126
#: Former name of :data:`COMMAND_NOT_FOUND`.
COMMAND_NOT_STARTED: Final = COMMAND_NOT_FOUND

#: Agent CLIs whose ``-m``/``--model`` option names the model, by program name.
AGENT_PROGRAMS: Final = frozenset(
    {
        "aider",
        "amp",
        "claude",
        "claude-code",
        "codex",
        "copilot",
        "crush",
        "cursor-agent",
        "gemini",
        "goose",
        "kimi",
        "opencode",
        "qwen",
    }
)
#: Programs that run another one named by their first argument (``npx @openai/codex``).
_LAUNCHERS: Final = frozenset({"node", "npx", "bunx", "pnpx", "bun", "deno", "uvx", "uv", "pipx"})
#: Subcommands of launchers that come before the program (``uv run``, ``pnpm dlx``).
_LAUNCHER_VERBS: Final = frozenset({"run", "dlx", "exec", "x"})
_SCRIPT_SUFFIXES: Final = (
    *(".py", ".js", ".mjs", ".cjs", ".ts", ".sh"),
    *(".exe", ".cmd", ".bat", ".ps1"),
)

_CHUNK = 64 * 1024


@dataclass(frozen=True)
class RunOutcome:
    """How a wrapped command ended and what was recorded about it.

    ``exit_code`` is what the wrapper should exit with: the command's own
    code, 128 + N when signal N killed it, 127 when it was not found, 126
    when it exists but cannot be executed. ``recording`` says what was
    recorded (the stored event, or why not, and the warnings on the way);
    None when recording was not asked for.
    """

    exit_code: int
    started: bool
    result: InvocationResult
    usage: AgentUsage | None
    recording: EmitResult | None
    #: What could not be read about the run (a JUnit report missing or malformed...).
    warnings: tuple[str, ...] = ()

    @property
    def record(self) -> dict[str, Any] | None:
        """The stored event, None when it was not recorded (or not asked for)."""
        return None if self.recording is None else self.recording.record


def run_agent(
    command: Sequence[str],
    *,
    feature_dir: str | Path | None,
    feature_slug: str,
    role: str,
    wp_id: str | None = None,
    agent: str | None = None,
    model: str | None = None,
    node_id: str | None = None,
    output: IO[bytes] | None = None,
    capture_changes: bool | str | Path = False,
    junit: Sequence[str] = (),
    tags: Mapping[str, str] | None = None,
    phase: str | None = None,
) -> RunOutcome:
    """Run ``command``, copy its stdout to ``output`` (our stdout), record one ExecutionEvent.

    The event's agent is ``agent``, else the one whose output format was
    recognised, else the program's name; its model is the one the agent
    reported, else ``model``, else the command's own ``-m``/``--model``.
    ``success`` is True only when the command exited 0 and its own result did
    not report an error. With ``feature_dir`` None the command is run and
    measured but nothing is recorded (the caller could not say where to).
    With ``capture_changes`` (True: the working directory's git work tree,
    or a path inside the tree to watch) the event also records what the run
    changed there (:mod:`spec_kitty_telemetry.changes`); a command that cannot
    be started changed nothing and records no changes. ``junit`` names the
    JUnit XML reports (paths or globs) the run writes; their figures are
    recorded as ``tests`` (unknown, with a warning in the outcome, when one is
    missing, stale or malformed: :mod:`spec_kitty_telemetry.junit`).
    ``tags`` are stored over the project's default tags
    (:mod:`spec_kitty_telemetry.tags`).
    Raises InvalidOptionError for an empty command; every failure of the
    command itself is an outcome, not an exception. ``phase`` names the phase
    the command starts in; marks the command writes to the file named by
    ``phases.PHASE_FILE_ENV`` start the next ones (see :mod:`.phases`).
    """
    if not command:
        raise InvalidOptionError("no command to run: give it after --, e.g. -- claude -p '...'")
    argv = list(command)
    _flush_stdio()
    write = _writer_to(output)
    collector = UsageCollector()
    capture = None
    if capture_changes is not False:
        capture = ChangeCapture(None if capture_changes is True else capture_changes)
        capture.start()  # before the clock starts: the agent's time is its own
    marks = _PhaseMarks(phase)
    started_at = time.monotonic()
    started_wall = time.time()
    try:
        process = subprocess.Popen(argv, stdout=subprocess.PIPE, bufsize=0, env=marks.env())
    except OSError as exc:
        if capture is not None:
            capture.close()
        reason = exc.strerror or str(exc)
        code = COMMAND_NOT_FOUND if exc.errno == errno.ENOENT else COMMAND_NOT_EXECUTABLE
        result = InvocationResult(
            agent=agent or Path(argv[0]).name or argv[0],
            role=role,
            wp_id=wp_id,
            model=model or model_from_command(argv),
            duration_seconds=time.monotonic() - started_at,
            success=False,
            exit_code=code,
            error=f"cannot start {argv[0]!r}: {reason}",
            tags=dict(tags or {}),
        )
        marks.collect(result)
        record = _record(feature_dir, feature_slug, result, node_id)
        return RunOutcome(code, False, result, None, record)

    with _signals_forwarded_to(process):
        _pump(process, write, collector.feed)
        returncode = process.wait()
    duration = time.monotonic() - started_at
    changes = capture.finish() if capture is not None else None

    usage = collector.result()
    exit_code = returncode if returncode >= 0 else 128 - returncode
    result = InvocationResult(
        agent=agent or (usage.agent if usage else None) or Path(argv[0]).name or argv[0],
        role=role,
        wp_id=wp_id,
        model=model or model_from_command(argv),
        duration_seconds=duration,
        exit_code=exit_code,
        success=returncode == 0,
        changes=changes,
        tags=dict(tags or {}),
    )
    if usage is not None:
        result.apply_usage(usage)
    if returncode != 0 and result.error is None:
        result.error = _failure(returncode)
    warnings: list[str] = []
    if junit:
        from .junit import TESTS_ERROR_KEY, TESTS_KEY, read_junit_reports

        result.tests, warnings = read_junit_reports(junit, since=started_wall)
        if result.tests is None:  # asked for but unknown: null, and why
            result.extra.update({TESTS_KEY: None, TESTS_ERROR_KEY: "; ".join(warnings)})
    marks.collect(result)
    record = _record(feature_dir, feature_slug, result, node_id)
    return RunOutcome(exit_code, True, result, usage, record, tuple(warnings))


class _PhaseMarks:
    """The marks file of one wrapped run, and the phases read back from it (see :mod:`.phases`)."""

    def __init__(self, first: str | None) -> None:
        import tempfile

        fd, name = tempfile.mkstemp(prefix="spec-kitty-phases-", suffix=".txt")
        os.close(fd)
        self.path = Path(name)
        self.first = first
        self.started = time.time()

    def env(self) -> dict[str, str]:
        from .phases import PHASE_FILE_ENV

        return {**os.environ, PHASE_FILE_ENV: str(self.path)}

    def collect(self, result: InvocationResult) -> None:
        """Put the run's phases (if any were named) into ``result``; remove the file."""
        from .phases import PHASES_KEY, phases_from_markers

        try:
            text = self.path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            text = ""
        self.path.unlink(missing_ok=True)
        phases = phases_from_markers(
            text, started=self.started, ended=time.time(), first=self.first
        )
        if phases:
            result.extra[PHASES_KEY] = phases


def _record(
    feature_dir: str | Path | None, slug: str, result: InvocationResult, node_id: str | None
) -> EmitResult | None:
    if feature_dir is None:
        return None
    return emit_with_result(record_invocation, feature_dir, slug, result, node_id=node_id)


def agent_program(argv: Sequence[str]) -> tuple[str, int] | None:
    """Return the known agent CLI a command runs and the index of its name, or None.

    The program is the command's first word, or for a launcher (``node``,
    ``npx``, ``uv run``, ``python``...) the script or package it runs, matched
    by base name without extension or version: ``/usr/bin/claude``,
    ``npx -y @openai/codex@latest`` and ``python codex.py`` run an agent;
    ``python3 -m json.tool`` and ``git commit`` do not.
    """
    index = 0
    while index < len(argv):
        name = _program_name(argv[index])
        if name in AGENT_PROGRAMS:
            return name, index
        if index > 0 or not (name in _LAUNCHERS or name.startswith("python")):
            return None
        index += 1  # the launcher's program: its first argument that is not an option
        while index < len(argv) and (
            argv[index].startswith("-") or _program_name(argv[index]) in _LAUNCHER_VERBS
        ):
            if argv[index] in ("-m", "-c"):  # python -m module / -c code: not a script
                return None
            index += 1
    return None


def model_from_command(argv: Sequence[str]) -> str | None:
    """Return the model an agent command names with ``-m X``, ``--model X`` or ``--model=X``.

    Only for known agent CLIs (see :func:`agent_program`): elsewhere ``-m``
    means something else (``git commit -m``, ``python -m``). Nothing after
    ``--`` is read.
    """
    found = agent_program(argv)
    if found is None:
        return None
    start = found[1] + 1
    for index, arg in enumerate(argv[start:], start=start):
        if arg == "--":
            break
        if arg in ("-m", "--model") and index + 1 < len(argv):
            return argv[index + 1] or None
        if arg.startswith("--model="):
            return arg.removeprefix("--model=") or None
    return None


def _program_name(word: str) -> str:
    """``/opt/bin/Codex.EXE`` -> ``codex``; ``@openai/codex@0.46`` -> ``codex``."""
    name = word.replace("\\", "/").rsplit("/", 1)[-1].lower()
    if "@" in name[1:]:
        name = name[: name.index("@", 1)]
    for suffix in _SCRIPT_SUFFIXES:
        if name.endswith(suffix):
            return name.removesuffix(suffix)
    return name


def _pump(
    process: subprocess.Popen[bytes],
    write: Callable[[bytes], None],
    parse: Callable[[bytes], None],
) -> None:
    """Copy the child's stdout with ``write`` as it arrives, parsing each chunk on the way."""
    assert process.stdout is not None
    source = process.stdout.fileno()
    try:
        while True:
            chunk = os.read(source, _CHUNK)
            if not chunk:
                return
            try:
                write(chunk)
            except OSError:
                # Our reader went away (`run ... | head`) or our stdout is unusable.
                # Closing our end gives the agent the same broken pipe it would
                # have met unwrapped; we still wait for it and record the run.
                return
            parse(chunk)
    finally:
        process.stdout.close()


def _writer_to(output: IO[bytes] | None) -> Callable[[bytes], None]:
    """Return a function writing straight through to ``output`` (default: fd 1, unbuffered).

    Writing to the file descriptor leaves nothing in Python's buffers, so a
    reader that goes away cannot cause a second error when the wrapper exits.
    """
    if output is not None:

        def write_stream(chunk: bytes) -> None:
            output.write(chunk)
            output.flush()

        return write_stream

    def write_fd(chunk: bytes) -> None:
        view = memoryview(chunk)
        while view:
            view = view[os.write(1, view) :]

    return write_fd


def _failure(returncode: int) -> str:
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"killed by {name}"
    return f"exit code {returncode}"


def _flush_stdio() -> None:
    """Put anything we printed before the agent's output, not after it."""
    for stream in (sys.stdout, sys.stderr):
        with suppress(OSError, ValueError):
            stream.flush()


@contextmanager
def _signals_forwarded_to(process: subprocess.Popen[bytes]) -> Iterator[None]:
    """While the agent runs, let it handle Ctrl-C and pass termination requests on.

    Ctrl-C reaches the whole foreground process group, the agent included, so
    the wrapper ignores it and waits to report how the agent ended (as shells
    do). SIGTERM and SIGHUP sent to the wrapper alone are forwarded.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def forward(signum: int, _frame: object) -> None:
        with suppress(OSError):
            process.send_signal(signum)

    wanted: dict[int, Any] = {signal.SIGINT: signal.SIG_IGN, signal.SIGTERM: forward}
    if hasattr(signal, "SIGHUP"):
        wanted[signal.SIGHUP] = forward
    previous = {signum: signal.signal(signum, handler) for signum, handler in wanted.items()}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
