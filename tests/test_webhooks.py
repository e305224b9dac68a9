"""Webhooks (issue 12): a durable spool, a detached sender, retries, signatures, no loss.

Every test runs the real ``emit`` command in a subprocess against a project
whose ``.kittify/telemetry.yaml`` points at a real HTTP server on loopback
that is slow, down, or fails its first requests. Senders the tests start are
stopped by pid at the end of each test.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers import SPEC_KITTY, spec_kitty
from http_receiver import Receiver
from spec_kitty_telemetry.config import CONFIG_PATH
from spec_kitty_telemetry.errors import ConfigError
from spec_kitty_telemetry.exports.spool import Spool, backoff_seconds
from spec_kitty_telemetry.exports.webhook_config import load_webhooks

SECRET = "s3cret-for-tests"


def _configure(root: Path, url: str, **extra: object) -> None:
    lines = ["exports:", "  webhooks:", f"    - url: {url}", "      secret_env: HOOK_SECRET"]
    lines += [f"      {key}: {json.dumps(value)}" for key, value in extra.items()]
    (root / CONFIG_PATH).parent.mkdir(parents=True, exist_ok=True)
    (root / CONFIG_PATH).write_text("\n".join(lines) + "\n")


def _env() -> dict[str, str]:
    return {**os.environ, "HOOK_SECRET": SECRET}


def _emit(root: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    done = subprocess.run(
        [
            *SPEC_KITTY,
            "agent",
            "telemetry",
            "emit",
            "--feature",
            "001-alpha",
            "--role",
            "implementer",
            "--agent",
            "claude",
            "--cost-usd",
            "0.5",
            "--json",
            *args,
        ],
        cwd=root,
        env=_env(),
        capture_output=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr.decode()
    return done


def _event_id(done: subprocess.CompletedProcess[bytes]) -> str:
    return str(json.loads(done.stdout)["event"]["event_id"])


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    """A project folder; any sender left running at the end is stopped by its pid."""
    (tmp_path / "kitty-specs" / "001-alpha").mkdir(parents=True)
    yield tmp_path
    pid = Spool(tmp_path).sender_pid()
    if pid is not None and _is_our_sender(pid, tmp_path):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)


def _is_our_sender(pid: int, root: Path) -> bool:
    """Whether ``pid`` is still the sender this test started for ``root`` (not a reused pid)."""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"spec_kitty_telemetry.exports.sender" in command and str(root).encode() in command


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A real HTTP endpoint on loopback."""
    server = Receiver().start()
    yield server
    server.stop()


def _wait_until(predicate: object, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


def test_run_is_delivered_signed_with_its_event_id(project: Path, receiver: Receiver) -> None:
    """A recorded run reaches the endpoint with its id as Idempotency-Key and a valid HMAC."""
    _configure(project, receiver.url + "/hooks")
    event_id = _event_id(_emit(project))
    (request,) = receiver.wait_for(1)
    assert request.path == "/hooks"
    assert request.headers["idempotency-key"] == event_id
    expected = hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    assert request.headers["x-spec-kitty-signature"] == f"sha256={expected}"
    body = json.loads(request.body)
    assert body["kind"] == "run"
    assert body["idempotency_key"] == event_id
    assert body["data"]["run"]["cost_usd"] == 0.5
    assert body["data"]["event"]["event_id"] == event_id
    assert _wait_until(lambda: Spool(project).pending() == [])
    assert Spool(project).is_delivered(load_webhooks(project)[0].target_id, event_id)


def test_agent_exits_before_a_slow_endpoint_answers(project: Path, receiver: Receiver) -> None:
    """emit returns while the endpoint is still sleeping on the request: no network wait."""
    receiver.delay = 8.0
    _configure(project, receiver.url, timeout=30)
    event_id = _event_id(_emit(project))
    assert receiver.accepted() == []  # the reply had not been sent when emit had exited
    (request,) = receiver.wait_for(1, timeout=40)
    assert request.headers["idempotency-key"] == event_id


def test_fails_first_n_then_delivered_once(project: Path, receiver: Receiver) -> None:
    """An endpoint failing its first 3 requests gets the run on a retry, and only once."""
    receiver.fail_first = 3
    _configure(project, receiver.url)
    event_id = _event_id(_emit(project))
    accepted = receiver.wait_for(1, timeout=40)
    assert [r.headers["idempotency-key"] for r in accepted] == [event_id]
    with receiver.lock:
        statuses = [r.status for r in receiver.requests]
    assert statuses == [503, 503, 503, 200]
    gaps = [b.at - a.at for a, b in zip(receiver.requests, receiver.requests[1:], strict=False)]
    assert all(gap >= backoff_seconds(i + 1) * 0.9 for i, gap in enumerate(gaps))
    time.sleep(1.0)
    assert len(receiver.accepted()) == 1  # nothing sent twice


def test_many_runs_none_lost_none_twice(project: Path, receiver: Receiver) -> None:
    """Ten runs recorded back to back (each starting a sender) arrive once each."""
    receiver.fail_first = 2
    _configure(project, receiver.url)
    ids = [_event_id(_emit(project)) for _ in range(10)]
    accepted = receiver.wait_for(10, timeout=60)
    time.sleep(1.0)
    keys = [r.headers["idempotency-key"] for r in receiver.accepted()]
    assert sorted(keys) == sorted(ids)
    assert len(keys) == len(accepted) == 10


def test_endpoint_down_stays_in_spool_doctor_reports_flush_delivers(
    project: Path, receiver: Receiver
) -> None:
    """With the endpoint down, the run stays spooled, doctor names it, --flush delivers it."""
    url = receiver.url
    port = int(url.rsplit(":", 1)[1])
    receiver.stop()
    _configure(project, url, max_attempts=2, timeout=2)
    event_id = _event_id(_emit(project))
    spool = Spool(project)
    assert _wait_until(lambda: [d.key for d in spool.stuck()] == [event_id])
    (stuck,) = spool.stuck()
    assert stuck.attempts == 2
    assert "could not be reached" in (stuck.last_error or "")
    doctor = spec_kitty("agent", "telemetry", "doctor", cwd=project)
    assert doctor.returncode == 1
    assert f"webhook delivery {event_id} to {url} failed 2 times" in doctor.stdout.decode()
    down = subprocess.run(
        [*SPEC_KITTY, "agent", "telemetry", "export", "--flush"],
        cwd=project,
        env=_env(),
        capture_output=True,
        check=False,
    )
    assert down.returncode == 1
    assert (
        down.stdout.decode().splitlines()[0] == "Delivered 0 webhook deliveries; 1 still pending."
    )
    revived = Receiver().start(port)  # the endpoint comes back where it was
    try:
        flushed = subprocess.run(
            [*SPEC_KITTY, "agent", "telemetry", "export", "--flush", "--json"],
            cwd=project,
            env=_env(),
            capture_output=True,
            check=False,
        )
        assert flushed.returncode == 0, flushed.stderr.decode()
        assert json.loads(flushed.stdout) == {"delivered": 1, "failed_attempts": 0, "pending": []}
        assert [r.headers["idempotency-key"] for r in revived.accepted()] == [event_id]
        assert spool.pending() == []
        assert spec_kitty("agent", "telemetry", "doctor", cwd=project).returncode == 0
    finally:
        revived.stop()


def test_no_webhooks_no_spool(project: Path) -> None:
    """A project without exports.webhooks records runs and writes no spool."""
    _emit(project)
    assert not (project / ".kittify" / "webhook-spool").exists()


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("    - url: ftp://x", "exports.webhooks[0].url: expected an http:// or https:// URL"),
        ("    - {url: 'http://x', records: [everything]}", "exports.webhooks[0].records"),
        ("    - {url: 'http://x', timeout: 0}", "exports.webhooks[0].timeout"),
        ("    - {url: 'http://x', secret: abc}", "exports.webhooks[0].secret: unknown key"),
    ],
)
def test_bad_config_names_file_and_key(tmp_path: Path, entry: str, message: str) -> None:
    """A mistake in exports.webhooks is a ConfigError naming the file and the key."""
    (tmp_path / ".kittify").mkdir()
    (tmp_path / CONFIG_PATH).write_text(f"exports:\n  webhooks:\n{entry}\n")
    with pytest.raises(ConfigError) as caught:
        load_webhooks(tmp_path)
    assert str(caught.value).startswith(f"{tmp_path / CONFIG_PATH}: {message}")


def test_bad_config_warns_and_still_records(project: Path) -> None:
    """The emitter records the run and warns once when the webhook config is wrong."""
    (project / ".kittify").mkdir()
    (project / CONFIG_PATH).write_text("exports:\n  webhooks: nope\n")
    done = _emit(project)
    assert "webhook for" in done.stderr.decode()
    assert "expected a list of webhooks" in done.stderr.decode()
    log = project / "kitty-specs" / "001-alpha" / "execution.events.jsonl"
    assert json.loads(log.read_text())["event_id"] == _event_id(done)


def test_backoff_doubles_to_a_cap() -> None:
    """Retry waits double from 0.5 s and stop growing at 60 s."""
    assert [backoff_seconds(n) for n in range(1, 10)] == [
        0.5,
        1.0,
        2.0,
        4.0,
        8.0,
        16.0,
        32.0,
        60.0,
        60.0,
    ]


_HOST = """
import os, sys, time
from spec_kitty_telemetry import emit_execution_record

root = sys.argv[1]
emit_execution_record(
    os.path.join(root, "kitty-specs", "001-alpha"), "001-alpha", None, "claude", "implementer",
    cost_usd=0.5,
)

def children():
    states = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            stat = open(f"/proc/{name}/stat").read()
        except OSError:
            continue
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if int(ppid) == os.getpid():
            states.append(state)
    return states

deadline = time.monotonic() + 30
while time.monotonic() < deadline:
    left = children()
    if not left:
        print("reaped")
        break
    time.sleep(0.05)
else:
    print("left", left)
"""


def test_a_long_lived_host_is_left_no_zombie_sender(project: Path, receiver: Receiver) -> None:
    """A host that records through the hooks and keeps running reaps the sender once it exits."""
    _configure(project, receiver.url + "/hooks")
    done = subprocess.run(
        [sys.executable, "-c", _HOST, str(project)],
        env=_env(),
        capture_output=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr.decode()
    assert len(receiver.wait_for(1)) == 1
    assert done.stdout.decode().strip() == "reaped"
