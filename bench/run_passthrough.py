"""Wall time of ``spec-kitty agent telemetry run`` around a chatty agent, next to running it bare.

Usage: python bench/run_passthrough.py [--megabytes 81] [--runs 3]

An agent that prints a lot of short lines (progress, logs) makes the wrapper
copy and scan every byte on its way through. The agent here is a small Python
program printing MEGABYTES of short text lines and then a Claude Code json
result; both commands send their output to /dev/null. The runs are
interleaved so machine noise hits both alike; medians and their ratio are
printed, and the wrapped run's event is checked to hold the result's tokens.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

from _commands import console_script, wall_time

AGENT = """\
import json, sys
out = sys.stdout.buffer
line = b"[step] compiling module, 12 files left\\n"
block = line * (65536 // len(line))
for _ in range({megabytes} * 1024 * 1024 // len(block)):
    out.write(block)
result = {{"type": "result", "subtype": "success", "is_error": False, "num_turns": 1,
          "total_cost_usd": 0.5, "usage": {{"input_tokens": 10, "output_tokens": 7,
          "cache_read_input_tokens": 90, "cache_creation_input_tokens": 0}}}}
out.write(json.dumps(result).encode() + b"\\n")
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=81)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        (project / "kitty-specs" / "001-bench").mkdir(parents=True)
        script = project / "chatty_agent.py"
        script.write_text(AGENT.format(megabytes=args.megabytes))
        bare = [sys.executable, str(script)]
        wrapped = [
            console_script(), "agent", "telemetry", "run", "--feature", "001-bench",
            "--role", "implementer", "--agent", "claude", "--", *bare,
        ]  # fmt: skip
        silent = [*wrapped[: wrapped.index("--") + 1], sys.executable, "-c", "pass"]
        wall_time(bare, project)  # warm the OS file cache
        bare_times, wrapped_times, silent_times = [], [], []
        for _ in range(args.runs):
            bare_times.append(wall_time(bare, project))
            wrapped_times.append(wall_time(wrapped, project))
            silent_times.append(wall_time(silent, project))
        log = project / "kitty-specs" / "001-bench" / "execution.events.jsonl"
        payloads = [json.loads(line)["payload"] for line in log.read_text().splitlines()]

    chatty = [p for p in payloads if p["input_tokens"] is not None]
    assert len(chatty) == args.runs, payloads
    assert all(p["input_tokens"] == 100 and p["output_tokens"] == 7 for p in chatty), payloads
    bare_s = statistics.median(bare_times)
    wrapped_s = statistics.median(wrapped_times)
    silent_s = statistics.median(silent_times)
    print(f"{args.megabytes} MiB of short lines, {args.runs} interleaved runs each")
    print(f"agent alone                median {bare_s:6.2f} s")
    print(f"agent through run          median {wrapped_s:6.2f} s")
    print(f"silent agent through run   median {silent_s:6.2f} s (the wrapper's start-up)")
    print(
        f"ratio {wrapped_s / bare_s:.2f}x; over the start-up: "
        f"{wrapped_s - silent_s - bare_s:+.2f} s for copying and scanning; usage read every run"
    )


if __name__ == "__main__":
    main()
