"""Prints output no parser understands (text, broken and unrelated JSON); --fake-exit N."""

import argparse
import sys

parser = argparse.ArgumentParser()
parser.add_argument("--fake-exit", type=int, default=0)
args = parser.parse_args()

sys.stdout.write("Thinking...\n")
sys.stdout.write('{"type": "result", "usage": {"input_tokens": 5\n')  # cut off
sys.stdout.write('{"type": "result", "subtype": "success"}\n')  # a result without usage
sys.stdout.write("[1, 2, 3]\n")
sys.stdout.write('{"stats": "not a mapping", "type": 7}\n')
sys.stdout.buffer.write(b"\xff\xfe binary \x00 bytes\n")
sys.stdout.write("no newline at the end")
sys.stdout.flush()
sys.exit(args.fake_exit)
