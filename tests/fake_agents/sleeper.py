"""Prints "ready", then sleeps until a signal ends it (default handlers)."""

import sys
import time

print("ready", flush=True)
time.sleep(60)
sys.exit(0)
