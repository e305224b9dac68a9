"""The emitter: Lamport stamping against the log, and fire-and-forget failure handling."""

from __future__ import annotations

import json
import logging
import os
import stat
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest

from helpers import lock_held_by_another_process
from spec_kitty_telemetry import (
    EVENTS_FILENAME,
    Event,
    SimpleJsonStore,
    emit_event,
    emit_execution_event,
    emit_execution_record,
)
from spec_kitty_telemetry.project import CLOCK_FILENAME
from spec_kitty_telemetry.store import StoreHead
from spec_kitty_telemetry.testing import make_event, read_feature_log


def _emit(feature_dir: Path, **kwargs: object) -> Event | None:
    return emit_execution_event(
        feature_dir, "001-feature", "WP01", "claude", "implementer", **kwargs
    )  # type: ignore[arg-type]


def test_emit_creates_the_log_and_returns_the_stored_event(tmp_path: Path):
    """The first emit creates the feature folder, the log and the clock; the event is on disk."""
    feature = tmp_path / "kitty-specs" / "001-feature"
    event = _emit(feature, model="claude-sonnet-4.5", input_tokens=1200, output_tokens=80)
    assert event is not None
    assert event.event_type == "ExecutionEvent"
    assert event.aggregate_id == "001-feature"
    assert event.lamport_clock == 1
    assert event.payload["input_tokens"] == 1200
    assert event.payload["cache_read_tokens"] is None
    assert event.payload["duration_ms"] is None  # not given: unknown, not 0
    assert (feature / EVENTS_FILENAME).read_text() == event.to_json() + "\n"
    assert json.loads((feature / CLOCK_FILENAME).read_text()) == {"lamport_clock": 1}


def test_successive_emits_increase_clock_and_id(tmp_path: Path):
    """Each emit stamps a larger Lamport clock and a larger ULID than the one before."""
    events = [_emit(tmp_path) for _ in range(5)]
    assert [e.lamport_clock for e in events if e] == [1, 2, 3, 4, 5]
    ids = [e.event_id for e in events if e]
    assert ids == sorted(ids)
    assert read_feature_log(tmp_path) == events


def test_record_variant_returns_the_stored_mapping(tmp_path: Path):
    """emit_execution_record returns exactly what the log line holds."""
    record = emit_execution_record(
        tmp_path, "001-feature", "WP02", "codex", "reviewer", cost_usd=0, custom={"k": "v"}
    )
    assert record is not None
    assert json.loads((tmp_path / EVENTS_FILENAME).read_text()) == record
    assert record["payload"]["cost_usd"] == 0.0
    assert record["payload"]["custom"] == {"k": "v"}


def test_causation_id_is_stored_in_canonical_form(tmp_path: Path):
    """A causation id given in lowercase is stored as the canonical ULID."""
    cause = _emit(tmp_path)
    assert cause is not None
    effect = _emit(tmp_path, causation_id=cause.event_id.lower())
    assert effect is not None
    assert effect.causation_id == cause.event_id


def test_new_event_sorts_after_lines_a_merge_brought_in(tmp_path: Path):
    """Foreign lines with higher clocks (another node, via git) are passed by the next emit."""
    _emit(tmp_path)
    foreign = [make_event(lamport_clock=n, node_id="laptop-b") for n in (40, 97)]
    with (tmp_path / EVENTS_FILENAME).open("a") as handle:
        handle.writelines(e.to_json() + "\n" for e in foreign)
    event = _emit(tmp_path)
    assert event is not None
    assert event.lamport_clock == 98
    assert read_feature_log(tmp_path)[-1] == event


@pytest.mark.parametrize("damage", ["delete", "corrupt", "empty"])
def test_lost_clock_file_recovers_from_the_log(tmp_path: Path, damage: str):
    """With the clock file deleted or corrupt, the next event still sorts after all others."""
    for _ in range(3):
        _emit(tmp_path)
    clock = tmp_path / CLOCK_FILENAME
    if damage == "delete":
        clock.unlink()
    else:
        clock.write_text("" if damage == "empty" else "{not json")
    event = _emit(tmp_path)
    assert event is not None
    assert event.lamport_clock == 4
    assert read_feature_log(tmp_path)[-1] == event


def test_clock_never_goes_backwards(tmp_path: Path):
    """A clock file ahead of the log keeps its value: clocks only move forward."""
    _emit(tmp_path)
    (tmp_path / CLOCK_FILENAME).write_text('{"lamport_clock": 500}')
    event = _emit(tmp_path)
    assert event is not None
    assert event.lamport_clock == 501


def test_generic_emit_event_writes_any_event_type(tmp_path: Path):
    """emit_event appends an event of any type under the same clock."""
    _emit(tmp_path)
    event = emit_event(tmp_path, "001-feature", "PhaseTransition", {"to_phase": "review"})
    assert event is not None
    assert (event.event_type, event.lamport_clock) == ("PhaseTransition", 2)


@pytest.mark.parametrize(
    "bad",
    [
        {"input_tokens": -5},
        {"output_tokens": "many"},
        {"cost_usd": float("inf")},
        {"success": "yes"},
        {"causation_id": "not-an-id"},
        {"node_id": ""},
        {"unserialisable": object()},
    ],
)
def test_invalid_arguments_warn_once_and_write_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, bad: dict[str, object]
):
    """Bad arguments never raise: one warning naming the problem, None, and no line written."""
    with caplog.at_level(logging.WARNING):
        assert _emit(tmp_path, **bad) is None
    assert len(caplog.records) == 1
    assert "not recorded" in caplog.text
    assert not (tmp_path / EVENTS_FILENAME).exists() or not (tmp_path / EVENTS_FILENAME).read_text()


def test_feature_dir_that_is_a_file_warns_and_returns_none(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    """A feature path that cannot be a directory is a warning, not an exception."""
    blocker = tmp_path / "blocker"
    blocker.write_text("I am a file")
    with caplog.at_level(logging.WARNING):
        assert _emit(blocker / "001-feature") is None
    assert len(caplog.records) == 1


def _run_emit_script(
    feature: Path, *, preexec: str = "", timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Emit once in a fresh interpreter (so limits and users apply to it alone)."""
    script = textwrap.dedent(
        f"""
        import logging, resource, sys
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
        {preexec}
        from spec_kitty_telemetry import emit_execution_event
        result = emit_execution_event(sys.argv[1], "001-feature", "WP01", "claude", "implementer",
                                      input_tokens=10, output_tokens=2)
        print("RESULT", "none" if result is None else result.lamport_clock)
        """
    )
    return subprocess.run(
        [sys.executable, "-c", script, str(feature)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _make_read_only(paths: list[Path]) -> None:
    """Make files and folders unwritable, even for root (who ignores permission bits)."""
    if os.geteuid() == 0:
        result = subprocess.run(
            ["chattr", "+i", *map(str, paths)], capture_output=True, check=False
        )
        if result.returncode != 0:
            pytest.skip(f"running as root and chattr +i is unavailable: {result.stderr!r}")
    else:
        for path in paths:
            path.chmod(0o555 if path.is_dir() else 0o444)


def _make_writable(paths: list[Path]) -> None:
    if os.geteuid() == 0:
        subprocess.run(["chattr", "-i", *map(str, paths)], capture_output=True, check=False)
    for path in paths:
        path.chmod(0o755 if path.is_dir() else 0o644)


def test_read_only_directory_warns_and_returns_none(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    """In a folder that cannot be written, emit warns once, returns None, and changes nothing."""
    feature = tmp_path / "001-feature"
    _emit(feature)
    before = {p.name: p.read_bytes() for p in feature.iterdir()}
    paths = [*feature.iterdir(), feature]
    _make_read_only(paths)
    try:
        with caplog.at_level(logging.WARNING):
            assert _emit(feature) is None
    finally:
        _make_writable(paths)
    assert len(caplog.records) == 1
    assert "not recorded" in caplog.text
    assert {p.name: p.read_bytes() for p in feature.iterdir()} == before


def test_file_size_limit_warns_and_leaves_no_torn_line(tmp_path: Path):
    """Hitting RLIMIT_FSIZE mid-append is a warning; the log keeps only whole lines."""
    for _ in range(3):
        _emit(tmp_path)
    log = tmp_path / EVENTS_FILENAME
    size = log.stat().st_size
    limit = f"resource.setrlimit(resource.RLIMIT_FSIZE, ({size + 100}, {size + 100}))"
    result = _run_emit_script(tmp_path, preexec=limit)
    assert result.returncode == 0, result.stderr
    assert "RESULT none" in result.stdout
    assert sum(line.startswith("WARNING") for line in result.stderr.splitlines()) == 1
    assert log.stat().st_size == size
    store = SimpleJsonStore(log)
    assert len(store.load_all_events()) == 3
    assert store.last_read is not None
    assert store.last_read.malformed_count == 0
    after = _emit(tmp_path)
    assert after is not None
    assert read_feature_log(tmp_path)[-1] == after


def test_lock_timeout_is_bounded_and_warns(tmp_path: Path, caplog: pytest.LogCaptureFixture):
    """With the log locked by another process, emit gives up after lock_timeout with a warning."""
    _emit(tmp_path)
    lock = SimpleJsonStore(tmp_path / EVENTS_FILENAME).lock_path
    with lock_held_by_another_process(lock):
        with caplog.at_level(logging.WARNING):
            assert _emit(tmp_path, lock_timeout=0.3) is None
        assert len(caplog.records) == 1
        assert "held" in caplog.text


def test_wrong_arguments_are_a_warning_not_an_exception(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    """Even a call Python itself rejects (missing or extra arguments) never raises into the host."""
    with caplog.at_level(logging.WARNING):
        assert emit_execution_event(tmp_path, "001-feature", "WP01", "claude") is None  # type: ignore[call-arg]
        assert emit_execution_record(tmp_path, "f", "WP01", "a", "r", "extra") is None  # type: ignore[misc]
        assert emit_execution_record(tmp_path, "f", "WP01", "a", "r", colour=object) is None
    assert len(caplog.records) == 3
    assert read_feature_log(tmp_path) == []


@pytest.mark.parametrize("timeout", [float("nan"), float("inf"), -1])
def test_a_lock_timeout_that_could_block_forever_is_refused(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, timeout: float
):
    """NaN, infinite or negative lock timeouts are invalid arguments: a warning, no wait."""
    with caplog.at_level(logging.WARNING):
        assert _emit(tmp_path, lock_timeout=timeout) is None
    assert len(caplog.records) == 1
    assert "lock_timeout" in caplog.text


def test_an_unusable_clock_file_does_not_stop_recording(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    """The clock file only caches what the log proves: if it cannot be used, the log decides.

    Something that is not the package's file in its place (here a folder) is
    worth one warning naming it, as every refused write is (spec 006).
    """
    _emit(tmp_path)
    clock = tmp_path / CLOCK_FILENAME
    clock.unlink()
    clock.mkdir()  # neither readable nor replaceable as a file
    with caplog.at_level(logging.WARNING):
        event = _emit(tmp_path)
    assert event is not None
    assert event.lamport_clock == 2
    assert len(caplog.records) == 1
    assert CLOCK_FILENAME in caplog.records[0].getMessage()


def test_clones_extending_a_log_with_a_foreign_uuid_id_make_different_ids(tmp_path: Path):
    """After a UUID-keyed line (far-future as a ULID), two clones' next events still differ."""
    foreign = make_event(event_id="f47ac10b-58cc-4372-a567-0e02b2c3d479", lamport_clock=3)
    ids = []
    for clone in ("alice", "bob"):
        folder = tmp_path / clone
        folder.mkdir()
        (folder / EVENTS_FILENAME).write_text(foreign.to_json() + "\n")
        event = _emit(folder)
        assert event is not None
        assert event.event_id > foreign.event_id
        ids.append(event.event_id)
    assert ids[0] != ids[1]


def test_emitting_after_a_line_with_an_absurd_clock_still_works(tmp_path: Path):
    """One bad line claiming the largest possible clock cannot stop a feature's telemetry."""
    good = make_event(lamport_clock=4)
    absurd = good.to_dict() | {"lamport_clock": 2**63 - 1, "event_id": make_event().event_id}
    (tmp_path / EVENTS_FILENAME).write_text(good.to_json() + "\n" + json.dumps(absurd) + "\n")
    event = _emit(tmp_path)
    assert event is not None
    assert event.lamport_clock == 5


# -- no clock value stops recording (issue 7, items 2 and 3) --------------------------

BOUND = 2**53 - 1  # MAX_LAMPORT_CLOCK: the largest value every JSON reader keeps exact


def _append_lines(feature: Path, *records: dict[str, object]) -> None:
    with (feature / EVENTS_FILENAME).open("a") as handle:
        handle.writelines(json.dumps(r, sort_keys=True) + "\n" for r in records)


def _foreign(lamport: object) -> dict[str, object]:
    """A line another node wrote (or a merge brought in) claiming ``lamport``."""
    return make_event(node_id="laptop-b").to_dict() | {"lamport_clock": lamport}


def test_a_foreign_line_at_the_bound_does_not_stop_recording(tmp_path: Path):
    """After a line claiming 2**53-1, every emit still records, at the bound.

    Events tied at the bound sort by node id, then event id: ours (node
    ``cli``) keep the order they were emitted in, before ``laptop-b``'s.
    """
    _emit(tmp_path)
    _append_lines(tmp_path, _foreign(BOUND))
    events = [_emit(tmp_path) for _ in range(3)]
    assert all(e is not None for e in events)
    assert [e.lamport_clock for e in events if e] == [BOUND] * 3
    ids = [e.event_id for e in events if e]
    assert ids == sorted(ids)
    log = read_feature_log(tmp_path)
    assert log[-4:-1] == events
    assert (log[-1].node_id, log[-1].lamport_clock) == ("laptop-b", BOUND)


def test_lines_above_the_bound_are_never_clock_candidates(tmp_path: Path):
    """Lines claiming 2**53, 2**63 or 10**30 are passed over: the next clock follows the valid 4."""
    _append_lines(tmp_path, _foreign(4), _foreign(BOUND + 1), _foreign(2**63), _foreign(10**30))
    event = _emit(tmp_path)
    assert event is not None
    assert event.lamport_clock == 5


@pytest.mark.parametrize(
    "clock_text",
    [
        f'{{"lamport_clock": {BOUND + 1}}}',  # what the emitter itself left behind before
        f'{{"lamport_clock": {2**63}}}',
        f'{{"lamport_clock": {10**30}}}',
        f'{{"lamport_clock": 1{"0" * 4000}}}',
        f'{{"lamport_clock": 1{"0" * 5000}}}',
        '{"lamport_clock": -5}',
        '{"lamport_clock": 2.5}',
        '["lamport_clock", 9]',
    ],
)
def test_a_clock_file_beyond_the_bound_is_ignored_and_repaired(tmp_path: Path, clock_text: str):
    """A corrupt clock file falls back to the log, and the emit rewrites it; nothing deleted."""
    for _ in range(2):
        _emit(tmp_path)
    clock = tmp_path / CLOCK_FILENAME
    clock.write_text(clock_text)
    first, second = _emit(tmp_path), _emit(tmp_path)
    assert first is not None
    assert second is not None
    assert (first.lamport_clock, second.lamport_clock) == (3, 4)
    assert json.loads(clock.read_text()) == {"lamport_clock": 4}


def test_a_clock_file_at_the_bound_saturates_and_recording_goes_on(tmp_path: Path):
    """A clock file holding 2**53-1 (valid) makes new events 2**53-1, never a failure."""
    _emit(tmp_path)
    (tmp_path / CLOCK_FILENAME).write_text(f'{{"lamport_clock": {BOUND}}}')
    events = [_emit(tmp_path), _emit(tmp_path)]
    assert [e.lamport_clock for e in events if e] == [BOUND, BOUND]


def test_an_index_claiming_a_clock_above_the_bound_is_rebuilt(tmp_path: Path):
    """A log index (valid checksum) holding 2**62 is distrusted: the log is rescanned."""
    from spec_kitty_telemetry import _log_index

    for _ in range(2):
        _emit(tmp_path)
    store = SimpleJsonStore(tmp_path / EVENTS_FILENAME)
    index = _log_index.load(store.index_path)
    assert index is not None
    forged = replace(index, head=StoreHead(2**62, index.head.max_event_id))
    _log_index.save(store.index_path, forged)
    event = _emit(tmp_path)
    assert event is not None
    assert event.lamport_clock == 3


def test_a_fifo_clock_file_does_not_hang_the_emit(tmp_path: Path):
    """A FIFO at the clock's path is corrupt: the emit records promptly instead of blocking."""
    _emit(tmp_path)
    clock = tmp_path / CLOCK_FILENAME
    clock.unlink()
    os.mkfifo(clock)
    result = _run_emit_script(tmp_path, timeout=20)
    assert result.returncode == 0, result.stderr
    assert "RESULT 2" in result.stdout
    assert result.stderr.count("\n") == 1  # one warning: the FIFO is not replaced
    assert CLOCK_FILENAME in result.stderr
    assert stat.S_ISFIFO(clock.lstat().st_mode)


def test_a_clock_symlink_to_dev_zero_does_not_exhaust_memory(tmp_path: Path):
    """A symlink to /dev/zero is not followed: the emit records; no MemoryError."""
    _emit(tmp_path)
    clock = tmp_path / CLOCK_FILENAME
    clock.unlink()
    clock.symlink_to("/dev/zero")
    limit = "resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))"
    result = _run_emit_script(tmp_path, preexec=limit, timeout=20)
    assert result.returncode == 0, result.stderr
    assert "RESULT 2" in result.stdout
    assert result.stderr.count("\n") == 1  # one warning: the link is not written through
    assert "symbolic link" in result.stderr
    assert clock.is_symlink()


def test_a_line_whose_id_is_no_ulid_still_raises_the_next_clock(tmp_path: Path):
    """spec-kitty's fallback ids (``uuid4().hex[:26]``, here starting with f) are no ULIDs.

    Whatever readers make of such a line, its Lamport value is passed by the next emit.
    """
    line = _foreign(50) | {"event_id": "f3b1c9d2e4a5968778695a4b3c"}
    _append_lines(tmp_path, line)
    event = _emit(tmp_path)
    assert event is not None
    assert event.lamport_clock == 51


def test_a_line_after_a_byte_order_mark_mid_file_still_raises_the_next_clock(tmp_path: Path):
    """A BOM in front of a line in mid-file (an editor's doing) hides nothing from the clock."""
    _emit(tmp_path)
    with (tmp_path / EVENTS_FILENAME).open("ab") as handle:
        handle.write(b"\xef\xbb\xbf" + json.dumps(_foreign(70), sort_keys=True).encode() + b"\n")
    event = _emit(tmp_path)
    assert event is not None
    assert event.lamport_clock == 71


def test_emit_over_spec_kittys_clock_file_respects_and_keeps_its_entries(tmp_path: Path):
    """spec-kitty's per-node clock file (``{"cli:WP01": 41}``): our event is 42, its entry follows.

    spec-kitty reads ``obj.get("cli:WP01", 0)`` from the same file: it must
    still find its entry there, now at our value, so its next tick is after us.
    """
    clock = tmp_path / CLOCK_FILENAME
    clock.write_text(json.dumps({"cli:WP01": 41, "cli:WP02": 3}, sort_keys=True))
    event = _emit(tmp_path)
    assert event is not None
    assert event.lamport_clock == 42
    assert json.loads(clock.read_text()) == {"cli:WP01": 42, "cli:WP02": 42, "lamport_clock": 42}
