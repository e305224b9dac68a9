"""Prints MEGABYTES of output (lines and one giant line) before a Claude json result.

Usage: huge.py MEGABYTES
"""

import json
import sys

megabytes = int(sys.argv[1])
out = sys.stdout.buffer
line = b'{"type": "assistant", "text": "' + b"x" * 1000 + b'"}\n'
written = 0
while written < megabytes * 1024 * 1024 // 2:
    out.write(line)
    written += len(line)
# one line far longer than any line the wrapper keeps
chunk = b"y" * (1024 * 1024)
for _ in range(megabytes // 2):
    out.write(chunk)
out.write(b"\n")
result = {
    "type": "result",
    "subtype": "success",
    "is_error": False,
    "num_turns": 1,
    "total_cost_usd": 0.5,
    "usage": {
        "input_tokens": 10,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 90,
        "output_tokens": 7,
    },
}
out.write(json.dumps(result).encode() + b"\n")
out.flush()
