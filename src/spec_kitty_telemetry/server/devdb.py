"""A throwaway PostgreSQL in a temporary folder, from the server binaries installed here.

``serve --dev`` uses it to try the team server with one command, and the tests
use it to run the store and the server against a real PostgreSQL instead of a
mock. The cluster is made by ``initdb`` in a fresh folder, listens on
127.0.0.1 (and a unix socket in its folder) with ``trust`` authentication, and
is deleted by :meth:`TemporaryPostgres.close`.

PostgreSQL refuses to run as root, and CI runs as root: then the folder is
handed to an unprivileged account (``nobody`` unless told otherwise) and every
server binary is run as that account through ``runuser``.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Final

from ..errors import StoreError

__all__ = ["TemporaryPostgres", "find_server_binaries", "free_port"]

#: Where Debian's postgresql-NN packages put the server binaries.
_DEBIAN_GLOB: Final = "/usr/lib/postgresql/*/bin"
_SUPERUSER: Final = "postgres"


def find_server_binaries() -> Path:
    """Return the folder holding ``initdb`` and ``postgres``; raise StoreError if none is installed.

    The newest Debian-packaged version wins; otherwise ``initdb`` on PATH.
    """
    candidates = sorted(
        (Path(p) for p in glob.glob(_DEBIAN_GLOB) if (Path(p) / "initdb").is_file()),
        key=lambda p: _version_key(p.parent.name),
    )
    if candidates:
        return candidates[-1]
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).parent
    raise StoreError(
        "no PostgreSQL server binaries found (initdb in /usr/lib/postgresql/*/bin or on PATH); "
        "install them, e.g. apt-get install postgresql-15"
    )


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in name.split(".") if part.isdigit())


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class TemporaryPostgres:
    """One PostgreSQL cluster in a temporary folder: :meth:`start`, :meth:`stop`, :meth:`close`.

    It can be stopped and started again on the same data (the fault tests
    restart it under load). ``fast`` turns off fsync and synchronous commit:
    right for tests and trying things out, never for data anyone keeps.
    """

    def __init__(
        self, *, port: int | None = None, fast: bool = True, run_as: str = "nobody"
    ) -> None:
        self.bin = find_server_binaries()
        self.port = port if port is not None else free_port()
        self.fast = fast
        self._run_as = run_as if os.geteuid() == 0 else None
        self.root = Path(tempfile.mkdtemp(prefix="skt-pg-"))
        self.data = self.root / "data"
        self.socket_dir = self.root / "socket"
        self.socket_dir.mkdir()
        if self._run_as is not None:
            shutil.chown(self.root, self._run_as)
            shutil.chown(self.socket_dir, self._run_as)
            os.chmod(self.root, 0o755)  # the unprivileged server must reach its folders
        self._process: subprocess.Popen[bytes] | None = None
        self._log = self.root / "postgres.log"
        self._initdb()

    def _command(self, *args: str) -> list[str]:
        if self._run_as is None:
            return list(args)
        return ["runuser", "-u", self._run_as, "--", *args]

    def _initdb(self) -> None:
        done = subprocess.run(
            self._command(
                str(self.bin / "initdb"),
                "-D",
                str(self.data),
                "-U",
                _SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ),
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            self.close()
            raise StoreError(f"initdb failed ({done.returncode}): {done.stderr.strip()}")

    @property
    def running(self) -> bool:
        """Whether the server process is up (it may still be starting)."""
        return self._process is not None and self._process.poll() is None

    @property
    def url(self) -> str:
        """Return the libpq URL of the cluster's ``postgres`` database over TCP."""
        return self.url_for("postgres")

    def url_for(self, database: str) -> str:
        """Return the libpq URL of ``database`` on this cluster."""
        return f"postgresql://{_SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def start(self, timeout: float = 30.0) -> None:
        """Start the server and wait until it accepts connections (StoreError if it does not)."""
        if self._process is not None and self._process.poll() is None:
            return
        settings = ["-c", "listen_addresses=127.0.0.1", "-c", "max_connections=200"]
        if self.fast:
            settings += ["-c", "fsync=off", "-c", "synchronous_commit=off"]
        settings += ["-c", "full_page_writes=off"] if self.fast else []
        log = self._log.open("ab")
        try:
            self._process = subprocess.Popen(
                self._command(
                    str(self.bin / "postgres"),
                    "-D",
                    str(self.data),
                    "-p",
                    str(self.port),
                    "-k",
                    str(self.socket_dir),
                    *settings,
                ),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            log.close()
        self._wait_ready(timeout)

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                raise StoreError(f"postgres exited at start: {self._tail_of_log()}")
            ready = subprocess.run(
                [str(self.bin / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), "-q"],
                check=False,
            )
            if ready.returncode == 0:
                return
            time.sleep(0.1)
        raise StoreError(f"postgres did not accept connections in {timeout:g}s")

    def _tail_of_log(self) -> str:
        try:
            return self._log.read_text(errors="replace").strip().splitlines()[-1]
        except (OSError, IndexError):
            return "no log"

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the server (a fast shutdown: sessions are ended), keeping its data."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        subprocess.run(
            self._command(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "stop"),
            capture_output=True,
            check=False,
        )
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def close(self) -> None:
        """Stop the server and delete its folder."""
        with contextlib.suppress(Exception):
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> TemporaryPostgres:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
