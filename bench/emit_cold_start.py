"""Cold-start wall time of ``emit`` through both console scripts, next to ``python -c pass``.

Usage: python bench/emit_cold_start.py [--runs 40]

Templates run ``emit`` once per workflow phase, so its start-up is paid every
time. Each run is a real subprocess of the installed console script, in a
project that is a git checkout with a ``.kittify/telemetry.yaml`` (so the
YAML reader and the environment capture are paid too). The two commands are
interleaved so machine noise hits all alike; medians are printed with their
ratios. ``spec-kitty-telemetry emit`` is this package's own script;
``spec-kitty agent telemetry emit`` is the one that hands every other command
to spec-kitty (it recognises ``agent telemetry`` before looking anything up).
The target is under 12x.
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
        options = [
            "--feature", "001-bench",
            "--role", "implementer", "--agent", "claude", "--model", "claude-sonnet-4-5",
            "--wp-id", "WP01", "--input-tokens", "48210", "--output-tokens", "3120",
            "--cost-usd", "0.19", "--duration-ms", "95400",
        ]  # fmt: skip
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "spec-kitty-telemetry emit": [console_script("spec-kitty-telemetry"), "emit"],
            "spec-kitty agent telemetry emit": [console_script(), "agent", "telemetry", "emit"],
        }
        commands = {name: [*cmd, *options] if "emit" in name else cmd
                    for name, cmd in commands.items()}  # fmt: skip
        for _ in range(3):  # warm the OS file cache for all
            for command in commands.values():
                wall_time(command, project)
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.runs):
            for name, command in commands.items():
                times[name].append(wall_time(command, project))
        events = len((project / "kitty-specs" / "001-bench" / "execution.events.jsonl")
                     .read_text().splitlines())  # fmt: skip

    print(f"runs: {args.runs} each, interleaved; events written: {events}")
    medians = {name: statistics.median(values) * 1000 for name, values in times.items()}
    bare_ms = medians["python -c pass"]
    for name, ms in medians.items():
        if name == "python -c pass":
            print(f"{name:32} median {ms:7.1f} ms")
            continue
        ratio = ms / bare_ms
        verdict = "within" if ratio < TARGET_RATIO else "OVER"
        print(
            f"{name:32} median {ms:7.1f} ms  {ratio:4.1f}x ({verdict} the {TARGET_RATIO:g}x target)"
        )


if __name__ == "__main__":
    main()
