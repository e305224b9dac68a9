"""Copies stdin to stdout byte for byte, writes a line to stderr, then exits.

Usage: passthrough.py [EXIT_CODE] [--kill-self]
"""

import os
import signal
import sys

data = sys.stdin.buffer.read()
sys.stdout.buffer.write(data)
sys.stdout.buffer.flush()
sys.stderr.write("passthrough: to stderr\n")
sys.stderr.flush()
if "--kill-self" in sys.argv:
    os.kill(os.getpid(), signal.SIGKILL)
codes = [a for a in sys.argv[1:] if not a.startswith("--")]
sys.exit(int(codes[0]) if codes else 0)
