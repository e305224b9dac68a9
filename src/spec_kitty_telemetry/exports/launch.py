"""Start the detached webhook sender; kept apart so the emitter imports no HTTP client."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

__all__ = ["start_sender"]


def start_sender(root: str | Path) -> subprocess.Popen[bytes]:
    """Start a sender for the project in its own session, and return without waiting for it.

    No pipes and no terminal are shared with the caller, so the caller can
    exit at once and the sender outlives it. A caller that lives on (an
    orchestrator recording through the hooks) would keep each finished sender
    as a zombie until its next subprocess call, so a daemon thread waits for
    it: the thread dies with a short-lived caller, whose sender init adopts.
    """
    process = subprocess.Popen(
        [sys.executable, "-m", "spec_kitty_telemetry.exports.sender", str(root)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        close_fds=True,
        start_new_session=True,
    )
    threading.Thread(target=process.wait, name="webhook-sender-reaper", daemon=True).start()
    return process
