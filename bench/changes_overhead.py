"""Wall time that recording a run's git changes adds, in a repository of 10,000 files.

Usage: python bench/changes_overhead.py [--files 10000] [--runs 7] [--baseline REF]

Builds a git repository of FILES small text files (in folders of 100) with one
commit, then times, interleaved so machine noise hits both alike:

* ``spec-kitty agent telemetry run`` around an agent that edits 10 files and
  creates 2, with and without ``--no-changes``: the difference of the medians
  is what capturing changes adds to a run (target: at most 100 ms), in wall
  time and in CPU time of the run and its processes (the figure that holds
  on a loaded machine, where the wall time of each process is inflated);
* the library's ``ChangeCapture`` start + finish alone, on a clean tree and on
  one left dirty before the run (200 files edited, 100 untracked).

With ``--baseline REF`` (a git revision of this repository, e.g. ``main``),
the ``ChangeCapture`` of ``src/spec_kitty_telemetry/changes.py`` at REF is
timed too, interleaved with the current one on the same trees, so a change to
the capture is measured before and after in one run on one machine load.

Each recorded event is checked to hold the changes the agent made.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

from _commands import console_script, wall_time

from spec_kitty_telemetry.changes import ChangeCapture

AGENT = """\
from pathlib import Path
for n in range(10):
    p = Path("d{n:03d}".format(n=n)) / "f{n:05d}.txt".format(n=n * 100)
    p.write_text(p.read_text() + "edited\\n")
Path("new_a.py").write_text("a = 1\\n")
Path("new_b.py").write_text("b = 2\\n")
"""


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def make_repo(root: Path, files: int) -> None:
    for number in range(files):
        folder = root / f"d{number // 100:03d}"
        folder.mkdir(exist_ok=True)
        (folder / f"f{number:05d}.txt").write_text(f"line one of {number}\nline two\n")
    (root / "kitty-specs" / "001-bench").mkdir(parents=True)
    (root / "agent.py").write_text(AGENT)
    git(root, "init", "-q")
    git(root, "config", "user.email", "bench@example.com")
    git(root, "config", "user.name", "Bench")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "bench")
    time.sleep(1.1)  # then refresh the index, as everyday use of git leaves it:
    git(root, "status")  # entries written in the same second as the index are re-read each time


def reset(root: Path) -> None:
    git(root, "checkout", "-q", "--", ".")
    git(root, "clean", "-q", "-fd", "--", ".", ":!kitty-specs")


def child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def baseline_capture(revision: str) -> type[ChangeCapture]:
    """Return the ChangeCapture class of ``changes.py`` as it was at git ``revision``."""
    here = Path(__file__).resolve().parent.parent
    source = subprocess.run(
        ["git", "show", f"{revision}:src/spec_kitty_telemetry/changes.py"],
        cwd=here,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    folder = Path(tempfile.mkdtemp(prefix="bench-baseline-"))
    path = folder / "changes_baseline.py"
    path.write_text(source)
    # Named inside the package, so its relative imports (.environment) resolve.
    spec = importlib.util.spec_from_file_location("spec_kitty_telemetry._bench_baseline", path)
    assert spec is not None
    assert spec.loader is not None
    module: ModuleType = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    found: type[ChangeCapture] = module.ChangeCapture
    return found


def capture_time(
    root: Path, during: list[str], kind: type[ChangeCapture] = ChangeCapture
) -> tuple[float, float]:
    """Wall and CPU seconds of ChangeCapture start + finish around ``during`` (run twice)."""
    cpu_before = child_cpu()
    started = time.perf_counter()
    capture = kind(root)
    capture.start()
    subprocess.run(during, cwd=root, check=True)
    agent_cpu_before = child_cpu()
    agent_started = time.perf_counter()
    subprocess.run(during, cwd=root, check=True)  # timed once more, to subtract the agent
    agent_time = time.perf_counter() - agent_started
    agent_cpu = child_cpu() - agent_cpu_before
    changes = capture.finish()
    assert changes.known, changes.error
    wall = time.perf_counter() - started - 2 * agent_time
    return wall, child_cpu() - cpu_before - 2 * agent_cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument(
        "--baseline", metavar="REF", help="also time changes.py as it was at this git revision"
    )
    args = parser.parse_args()
    kinds: dict[str, type[ChangeCapture]] = {"current": ChangeCapture}
    if args.baseline:
        kinds = {f"at {args.baseline}": baseline_capture(args.baseline), **kinds}

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        make_repo(root, args.files)
        print(f"repository: {args.files} files, built in {time.perf_counter() - started:.1f}s")
        print(f"load average at the start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        base = [
            console_script(), "agent", "telemetry", "run", "--feature", "001-bench",
            "--role", "implementer", "--agent", "claude",
        ]  # fmt: skip
        agent = ["--", sys.executable, "agent.py"]
        log = root / "kitty-specs" / "001-bench" / "execution.events.jsonl"
        wall_time([*base, "--no-changes", *agent], root)  # warm caches
        reset(root)
        without, with_changes = [], []
        cpu_without, cpu_with = [], []
        for _ in range(args.runs):
            cpu = child_cpu()
            without.append(wall_time([*base, "--no-changes", *agent], root))
            cpu_without.append(child_cpu() - cpu)
            reset(root)
            cpu = child_cpu()
            with_changes.append(wall_time([*base, *agent], root))
            cpu_with.append(child_cpu() - cpu)
            last = json.loads(log.read_text().splitlines()[-1])["payload"]["changes"]
            assert (last["files_created"], last["files_modified"]) == (2, 10), last
            reset(root)
        added = statistics.median(with_changes) - statistics.median(without)
        print(f"run --no-changes: median {statistics.median(without) * 1000:7.1f} ms")
        print(f"run (changes):    median {statistics.median(with_changes) * 1000:7.1f} ms")
        print(f"added by capturing changes: {added * 1000:.1f} ms (target <= 100 ms)")
        cpu_off, cpu_on = statistics.median(cpu_without), statistics.median(cpu_with)
        print(
            f"CPU of run and its processes: --no-changes {cpu_off * 1000:.1f} ms, changes"
            f" {cpu_on * 1000:.1f} ms: {(cpu_on - cpu_off) * 1000:.1f} ms added"
            " (wall ~= CPU on an idle machine)"
        )

        touch = [sys.executable, "-c", "pass"]
        edit = [sys.executable, "agent.py"]
        print(compare("clean tree, agent does nothing", root, touch, kinds, args.runs))
        print(compare("clean tree, agent edits 10 and adds 2", root, edit, kinds, args.runs))
        for number in range(0, 200):
            path = root / f"d{number // 100:03d}" / f"f{number:05d}.txt"
            path.write_text(path.read_text() + "dirty\n")
        for number in range(100):
            (root / f"untracked{number}.txt").write_text("u\n")
        print(compare("dirty tree, agent does nothing", root, touch, kinds, args.runs))
        print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


def compare(
    what: str, root: Path, during: list[str], kinds: dict[str, type[ChangeCapture]], runs: int
) -> str:
    """Time each kind of capture ``runs`` times, interleaved; one line per kind."""
    figures: dict[str, list[tuple[float, float]]] = {name: [] for name in kinds}
    for _ in range(runs):
        for name, kind in kinds.items():
            figures[name].append(capture_time(root, during, kind))
    lines = [f"ChangeCapture start+finish, {what}:"]
    for name, found in figures.items():
        wall = statistics.median(f[0] for f in found) * 1000
        cpu = statistics.median(f[1] for f in found) * 1000
        lines.append(f"  {name:>14}: median {wall:6.1f} ms wall, {cpu:6.1f} ms CPU (git)")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
