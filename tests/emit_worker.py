"""A real emitting process for the multi-process tests.

Usage: python emit_worker.py FEATURE_DIR COUNT NODE_ID [--forever]
Emits COUNT execution events (or until killed, with --forever) and prints
each stored event id on its own line, flushed, as soon as emit returns.
"""

from __future__ import annotations

import sys

from spec_kitty_telemetry.emit import emit_execution_record


def main() -> int:
    feature_dir, count, node_id = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    forever = "--forever" in sys.argv[4:]
    n = 0
    while forever or n < count:
        n += 1
        record = emit_execution_record(
            feature_dir,
            "001-concurrency",
            f"WP{n % 7:02d}",
            "claude",
            "implementer",
            input_tokens=n,
            output_tokens=1,
            node_id=node_id,
            # These tests are about losing and interleaving nothing; on a loaded
            # 2-core machine eight writers can wait longer than the default 2 s.
            lock_timeout=60.0,
        )
        if record is None:
            return 1
        sys.stdout.write(record["event_id"] + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
