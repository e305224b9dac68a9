r"""A minimal orchestrator: implement a work package, review it, repeat until approved.

Every agent invocation is wrapped in ``track_invocation`` (timing, outcome,
exceptions) and fed the usage the agent printed (``parse_agent_output``); every
move of the work package is a ``PhaseTransition``. Afterwards
``spec-kitty agent telemetry timeline --feature F`` and ``cost`` show the run.

Usage (from inside a spec-kitty project):

    python examples/orchestrator_loop.py --feature 001-login --wp WP01 \
        --implementer 'claude -p "Implement WP01" --output-format json' \
        --reviewer 'codex exec --json "Review WP01; fail if it is not done"'

The reviewer approves by exiting 0. Exit status: 0 approved, 1 not approved
within --max-rounds (or the implementer failed).
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
from pathlib import Path

from spec_kitty_telemetry import track_invocation
from spec_kitty_telemetry.agent_usage import parse_agent_output
from spec_kitty_telemetry.lifecycle import emit_transition
from spec_kitty_telemetry.project import feature_dir_for
from spec_kitty_telemetry.runner import model_from_command

ACTOR = "orchestrator_loop"


def invoke(command: list[str], *, feature_dir: Path, feature: str, wp: str, role: str) -> bool:
    """Run one agent command, record it, and say whether it succeeded."""
    with track_invocation(
        feature_dir,
        feature,
        agent=Path(command[0]).name,
        role=role,
        wp_id=wp,
        model=model_from_command(command),  # replaced by the model the agent reports, if any
    ) as result:
        done = subprocess.run(command, capture_output=True, check=False)
        result.exit_code = done.returncode
        result.success = done.returncode == 0
        if done.returncode != 0:
            result.error = f"exit code {done.returncode}"
        usage = parse_agent_output(done.stdout)
        if usage is not None:
            result.agent = usage.agent  # the program may be a wrapper (npx, python...)
            result.apply_usage(usage)
    return result.success


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feature", required=True)
    parser.add_argument("--wp", required=True)
    parser.add_argument("--implementer", required=True, help="implementer command line")
    parser.add_argument("--reviewer", required=True, help="reviewer command line")
    parser.add_argument("--max-rounds", type=int, default=3)
    args = parser.parse_args(argv)

    feature_dir = feature_dir_for(args.feature)
    implement, review = shlex.split(args.implementer), shlex.split(args.reviewer)

    def move(from_phase: str, to_phase: str) -> None:
        emit_transition(feature_dir, args.feature, from_phase, to_phase, wp_id=args.wp, actor=ACTOR)
        print(f"{args.wp}: {from_phase} -> {to_phase}")

    move("planned", "doing")
    for _ in range(args.max_rounds):
        if not invoke(implement, feature_dir=feature_dir, feature=args.feature, wp=args.wp,
                      role="implementer"):  # fmt: skip
            move("doing", "blocked")
            return 1
        move("doing", "for_review")
        if invoke(review, feature_dir=feature_dir, feature=args.feature, wp=args.wp,
                  role="reviewer"):  # fmt: skip
            move("for_review", "done")
            return 0
        move("for_review", "doing")
    return 1


if __name__ == "__main__":
    sys.exit(main())
