"""Cold-start wall time of ``spec-kitty agent telemetry emit`` next to ``python -c pass``.

Usage: python bench/emit_cold_start.py [--runs 40]

Templates run ``emit`` once per workflow phase, so its start-up is paid every
time. Each run is a real subprocess of the installed console script, in a
project that is a git checkout with a ``.kittify/telemetry.yaml`` (so the
YAML reader and the environment capture are paid too). The two commands are
interleaved so machine noise hits both alike; medians are printed with their
ratio. The target is under 12x.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from _commands import console_script, wall_time

TARGET_RATIO = 12.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        (project / "kitty-specs" / "001-bench").mkdir(parents=True)
        (project / ".kittify").mkdir()
        (project / ".kittify" / "telemetry.yaml").write_text("node_id: bench\n")
        if shutil.which("git"):
            subprocess.run(["git", "init", "-q", str(project)], check=True)
        emit = [
            console_script(), "agent", "telemetry", "emit", "--feature", "001-bench",
            "--role", "implementer", "--agent", "claude", "--model", "claude-sonnet-4-5",
            "--wp-id", "WP01", "--input-tokens", "48210", "--output-tokens", "3120",
            "--cost-usd", "0.19", "--duration-ms", "95400",
        ]  # fmt: skip
        bare = [sys.executable, "-c", "pass"]
        for _ in range(3):  # warm the OS file cache for both
            wall_time(bare, project)
            wall_time(emit, project)
        bare_times, emit_times = [], []
        for _ in range(args.runs):
            bare_times.append(wall_time(bare, project))
            emit_times.append(wall_time(emit, project))
        events = len((project / "kitty-specs" / "001-bench" / "execution.events.jsonl")
                     .read_text().splitlines())  # fmt: skip

    bare_ms = statistics.median(bare_times) * 1000
    emit_ms = statistics.median(emit_times) * 1000
    ratio = emit_ms / bare_ms
    print(f"runs: {args.runs} each, interleaved; events written: {events}")
    print(f"python -c pass                  median {bare_ms:7.1f} ms")
    print(f"spec-kitty agent telemetry emit median {emit_ms:7.1f} ms")
    verdict = "within" if ratio < TARGET_RATIO else "OVER"
    print(f"ratio {ratio:.1f}x ({verdict} the {TARGET_RATIO:g}x target)")


if __name__ == "__main__":
    main()
