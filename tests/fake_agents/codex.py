"""Prints what ``codex exec --json ...`` prints (JSON Lines, no model, no cost).

Test controls: --fake-turns N, --fake-fail (a failed turn and exit 1),
--fake-fail-once PATH (fail only while PATH does not exist, creating it),
--fake-reconnects N (N transient ``error`` lines before the first turn),
--fake-error-last (an ``error`` line after the last turn, no turn after it; exit 1),
--fake-reasoning-outside (reasoning reported on top of output, breaking our convention),
--fake-no-cache-fields (turn usage with input and output only: no cached or reasoning counts).
"""

import argparse
import json
import sys
from pathlib import Path

parser = argparse.ArgumentParser()
parser.add_argument("command", choices=["exec"])
parser.add_argument("--json", action="store_true")
parser.add_argument("-m", "--model")
parser.add_argument("--fake-turns", type=int, default=2)
parser.add_argument("--fake-fail", action="store_true")
parser.add_argument("--fake-fail-once")
parser.add_argument("--fake-reconnects", type=int, default=0)
parser.add_argument("--fake-error-last", action="store_true")
parser.add_argument("--fake-reasoning-outside", action="store_true")
parser.add_argument("--fake-no-cache-fields", action="store_true")
parser.add_argument("prompt", nargs="?")
args = parser.parse_intermixed_args()


def line(obj):
    print(json.dumps(obj), flush=True)


line({"type": "thread.started", "thread_id": "0199a213-81c0-7800-8aa1-bbab2a035a53"})
for attempt in range(1, args.fake_reconnects + 1):
    line({"type": "error", "message": f"Reconnecting... {attempt}/5"})
for turn in range(args.fake_turns):
    line({"type": "turn.started"})
    line(
        {
            "type": "item.completed",
            "item": {"id": f"item_{turn}", "type": "agent_message", "text": "usage: fine"},
        }
    )
    usage = {
        "input_tokens": 10000 * (turn + 1),
        "cached_input_tokens": 4000 * (turn + 1),
        "output_tokens": 500 * (turn + 1),
        "reasoning_output_tokens": (900 if args.fake_reasoning_outside else 200) * (turn + 1),
    }
    if args.fake_no_cache_fields:
        del usage["cached_input_tokens"], usage["reasoning_output_tokens"]
    line({"type": "turn.completed", "usage": usage})
if args.fake_fail_once and not Path(args.fake_fail_once).exists():
    Path(args.fake_fail_once).write_text("failed once")
    args.fake_fail = True
if args.fake_error_last:
    line({"type": "error", "message": "stream disconnected before completion"})
    sys.exit(1)
if args.fake_fail:
    line({"type": "turn.started"})
    line({"type": "turn.failed", "error": {"message": "stream disconnected"}})
    sys.exit(1)
