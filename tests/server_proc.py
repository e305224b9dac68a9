"""Running the real team server for tests: ``serve`` in a subprocess on a loopback port.

Never a mock and never an in-process app: the server is the console script a
user runs, with uvicorn, over a real PostgreSQL (``tests/pg.py``).
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from spec_kitty_telemetry.postgres_store import open_pool
from spec_kitty_telemetry.server.auth import create_token
from spec_kitty_telemetry.server.devdb import free_port

SCRIPT = Path(sys.executable).with_name("spec-kitty-telemetry")
_projects = itertools.count()


def new_token(database_url: str, project: str | None = None) -> str:
    """Issue a token of ``project`` (by default a project no other test uses)."""
    pool = open_pool(database_url, max_size=1)
    try:
        return create_token(pool, project or f"project-{os.getpid()}-{next(_projects)}")
    finally:
        pool.close()


class ServerProcess:
    """One ``spec-kitty-telemetry serve`` process; :meth:`start` again after :meth:`kill`."""

    def __init__(self, database_url: str, log: Path) -> None:
        self.database_url = database_url
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [
                    str(SCRIPT),
                    "serve",
                    "--database-url",
                    self.database_url,
                    "--port",
                    str(self.port),
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"serve exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"serve did not come up: {self.log.read_text()[-2000:]}")

    def kill(self) -> None:
        """SIGKILL the server: no shutdown, no flush, as a crash would."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()


#: Answers a client retries: the server or its database is passing through a restart.
RETRY_STATUSES = frozenset({502, 503, 504})


def post_retrying(
    http: httpx.Client, path: str, body: object, *, give_up: float = 120.0
) -> tuple[httpx.Response, int]:
    """POST ``body`` until the server answers other than a passing failure; (answer, retries).

    What a well-behaved client does (``sync`` does the same): a 503 or a
    broken connection is retried after a short pause, the same body resent.
    """
    deadline = time.monotonic() + give_up
    retries = 0
    while True:
        try:
            answer = http.post(path, json=body)
            if answer.status_code not in RETRY_STATUSES:
                return answer, retries
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{path}: still failing after {give_up:g} s")
        retries += 1
        time.sleep(0.2)
