"""Mutation testing: change the code one small step at a time and see whether a test notices.

Usage::

    .venv/bin/python tools/mutate.py                  # every module in tools/mutation.toml
    .venv/bin/python tools/mutate.py pricing _rates   # some of them
    .venv/bin/python tools/mutate.py cost --sample 40 --seed 1

Each mutant is one change to one module: an arithmetic operator (``+ - * / // %
<< >> | &``), a comparison (``== != < <= > >= is in``), ``and``/``or``, a
removed ``not`` or unary minus, a constant (``0``/``1``, ``True``/``False``,
an integer or float one up or down, a string or bytes emptied) or ``return x``
made ``return None``. Docstrings, annotations, ``__all__``, error messages
(strings inside ``raise`` and logging calls, f-string text) and
``if TYPE_CHECKING:`` blocks are left alone: changing them says nothing about
behaviour.

Coverage's per-test contexts (one run of the suite, without mutants) say which
tests execute each line. A mutant runs first against those of its module's own
tests (``tools/mutation.toml``) that execute its line, or against all of them
when none does in the test process (module-level code, lines only child
processes run); then, before it is called a survivor, against all of its
module's test files and every other test that executes its line. Each run is
a forked pytest, ``-x -q -p no:cacheprovider``, with a timeout (a mutant that
hangs counts as killed). A kill by the other tests (or of a mutant reviewed as
equivalent) counts only if it happens twice and those tests pass without the
mutant: several start processes and wait on locks, and fail now and then on
a loaded machine. Mutants listed
in ``tools/equivalent_mutants.toml`` (reviewed: no test can tell them from the
original) count as equivalent, not as survivors; the kill rate is of the others.

The source tree is never modified: every worker runs in its own temporary
copy of the project, with ``PYTHONPATH`` pointing at the copy's ``src`` so
that processes the tests start import the mutant too. Deleting the copies is
all the clean-up an interrupted run needs, and ``finally`` does it.

Not part of ``.ci/run``: a full run takes tens of minutes on two cores.
"""

from __future__ import annotations

import argparse
import ast
import copy
import json
import os
import random
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "tools" / "mutation.toml"
EQUIVALENTS = ROOT / "tools" / "equivalent_mutants.toml"
PYTEST_ARGS = ["-x", "-q", "-p", "no:cacheprovider"]
# Third-party imports a forked test run would otherwise repeat for every mutant.
WARM_IMPORTS = ("pytest", "hypothesis", "pydantic", "orjson", "yaml", "typer", "rich", "ulid")
COPY_IGNORE = shutil.ignore_patterns(
    ".git", ".venv", "__pycache__", ".hypothesis", ".mypy_cache", ".ruff_cache",
    ".pytest_cache", "*.egg-info", "build", "dist", ".data",
)  # fmt: skip

# ---------------------------------------------------------------------------
# Mutants


@dataclass(frozen=True)
class Mutant:
    """One change to one module, named stably by the line it is on and what it does."""

    module: str
    path: str  # relative to the repository root
    lineno: int
    line: str  # the source line, stripped: part of the key of a reviewed equivalent
    mutation: str  # e.g. "a <= b -> a < b"
    source: str  # the whole mutated module

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.module, self.line, self.mutation)


_BINOPS: dict[type[ast.operator], list[type[ast.operator]]] = {
    ast.Add: [ast.Sub],
    ast.Sub: [ast.Add],
    ast.Mult: [ast.Div],
    ast.Div: [ast.Mult],
    ast.FloorDiv: [ast.Div],
    ast.Mod: [ast.FloorDiv],
    ast.Pow: [ast.Mult],
    ast.LShift: [ast.RShift],
    ast.RShift: [ast.LShift],
    ast.BitOr: [ast.BitAnd],
    ast.BitAnd: [ast.BitOr],
    ast.BitXor: [ast.BitOr],
}
# Each comparison gets its boundary neighbour and its negation.
_CMPOPS: dict[type[ast.cmpop], list[type[ast.cmpop]]] = {
    ast.Eq: [ast.NotEq],
    ast.NotEq: [ast.Eq],
    ast.Lt: [ast.LtE, ast.GtE],
    ast.LtE: [ast.Lt, ast.Gt],
    ast.Gt: [ast.GtE, ast.LtE],
    ast.GtE: [ast.Gt, ast.Lt],
    ast.Is: [ast.IsNot],
    ast.IsNot: [ast.Is],
    ast.In: [ast.NotIn],
    ast.NotIn: [ast.In],
}
_SYMBOLS: dict[type[ast.AST], str] = {
    ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//",
    ast.Mod: "%", ast.Pow: "**", ast.LShift: "<<", ast.RShift: ">>", ast.BitOr: "|",
    ast.BitAnd: "&", ast.BitXor: "^", ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<",
    ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Is: "is", ast.IsNot: "is not",
    ast.In: "in", ast.NotIn: "not in", ast.And: "and", ast.Or: "or",
}  # fmt: skip
_SHORT = 60  # a mutation wider than this is described by its operator alone


def _constant_variants(value: object) -> list[object]:
    if isinstance(value, bool):
        return [not value]
    if isinstance(value, int):
        return [1] if value == 0 else [0, 2] if value == 1 else [value + 1, value - 1]
    if isinstance(value, float):
        return [value + 1.0]
    if isinstance(value, str | bytes) and value:
        return [value[:0]]
    return []


def _skipped_nodes(tree: ast.Module) -> set[int]:
    """Ids of nodes whose subtrees are not mutated (see the module docstring)."""
    skipped: set[int] = set()

    def skip(node: ast.AST | None) -> None:
        if node is not None:
            skipped.update(id(n) for n in ast.walk(node))

    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                skip(body[0])
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            skip(node.returns)
            arguments = node.args
            for arg in [*arguments.args, *arguments.kwonlyargs, *arguments.posonlyargs]:
                skip(arg.annotation)
            for optional in (arguments.vararg, arguments.kwarg):
                if optional is not None:
                    skip(optional.annotation)
        elif isinstance(node, ast.AnnAssign):
            skip(node.annotation)
        elif _left_alone(node):
            skip(node)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            if isinstance(owner, ast.Name) and owner.id in ("logger", "logging", "warnings"):
                skip(node)
    return skipped


def _left_alone(node: ast.AST) -> bool:
    """``__all__``, ``if TYPE_CHECKING:`` blocks, ``raise`` statements and f-strings."""
    if isinstance(node, ast.Assign):
        return any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets)
    if isinstance(node, ast.If):
        return ast.unparse(node.test) == "TYPE_CHECKING"
    return isinstance(node, ast.Raise | ast.JoinedStr)


def _qualnames(tree: ast.Module) -> dict[int, str]:
    """Map each node id to the qualified name of the function or class it is in ("" at top)."""
    names: dict[int, str] = {}

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            inner = prefix
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                inner = f"{prefix}.{child.name}" if prefix else child.name
            names[id(child)] = inner
            visit(child, inner)

    visit(tree, "")
    return names


def _edits(node: ast.AST) -> Iterator[tuple[str, str, Any]]:
    """Yield (old symbol, new symbol, edit) for every mutation of ``node`` itself.

    An edit is a function applied to a copy of the node, or "unwrap" (replace
    the node by its operand).
    """
    if isinstance(node, ast.BinOp | ast.AugAssign):
        for op in _BINOPS.get(type(node.op), []):
            yield _SYMBOLS[type(node.op)], _SYMBOLS[op], lambda n, op=op: setattr(n, "op", op())
    elif isinstance(node, ast.Compare):
        for index, old in enumerate(node.ops):
            for cmp in _CMPOPS.get(type(old), []):

                def edit(n: ast.Compare, index: int = index, cmp: Any = cmp) -> None:
                    n.ops[index] = cmp()

                yield _SYMBOLS[type(old)], _SYMBOLS[cmp], edit
    elif isinstance(node, ast.BoolOp):
        swapped = ast.Or if isinstance(node.op, ast.And) else ast.And
        yield (
            _SYMBOLS[type(node.op)],
            _SYMBOLS[swapped],
            lambda n, swapped=swapped: setattr(n, "op", swapped()),
        )
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not | ast.USub):
        yield ("not" if isinstance(node.op, ast.Not) else "-"), "(removed)", "unwrap"
    elif isinstance(node, ast.Constant):
        for value in _constant_variants(node.value):
            yield repr(node.value), repr(value), lambda n, v=value: setattr(n, "value", v)
    elif (
        isinstance(node, ast.Return)
        and node.value is not None
        and not (isinstance(node.value, ast.Constant) and node.value.value is None)
    ):
        yield "return", "return None", lambda n: setattr(n, "value", ast.Constant(None))


def generate(module: str, path: Path, functions: list[str] | None = None) -> list[Mutant]:
    """Every mutant of the module at ``path`` (in ``functions`` only, when given)."""
    text = path.read_text(encoding="utf-8")
    tree = ast.parse(text)
    lines = text.splitlines()
    skipped = _skipped_nodes(tree)
    where = _qualnames(tree)
    nodes = list(ast.walk(tree))
    mutants: list[Mutant] = []
    per_line: dict[tuple[int, str], int] = {}
    rel = str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)
    for number, node in enumerate(nodes):
        if id(node) in skipped or not hasattr(node, "lineno"):
            continue
        name = where.get(id(node), "")
        if functions is not None and not any(
            name == f or name.startswith(f + ".") for f in functions
        ):
            continue
        for old, new, edit in _edits(node):
            mutated_tree = copy.deepcopy(tree)
            target = list(ast.walk(mutated_tree))[number]
            before = ast.unparse(target)
            if edit == "unwrap":
                replacement: ast.AST = target.operand  # type: ignore[attr-defined]
                _replace(mutated_tree, target, replacement)
                after = ast.unparse(replacement)
            else:
                edit(target)
                after = ast.unparse(target)
            if before == after:
                continue
            short = len(before) <= _SHORT and len(after) <= _SHORT
            mutation = f"{before} -> {after}" if short else f"{old} -> {new}"
            # The same change twice on one line (``1 -> 0`` in ``(1 << 128) - 1``): number them,
            # in ast.walk order (breadth first: in ``f((0, 0), 0)`` the lone 0 is #1), not by place.
            seen = per_line[node.lineno, mutation] = per_line.get((node.lineno, mutation), 0) + 1
            if seen > 1:
                mutation += f" (#{seen} on the line)"
            mutants.append(
                Mutant(
                    module,
                    rel,
                    node.lineno,
                    lines[node.lineno - 1].strip(),
                    mutation,
                    ast.unparse(mutated_tree) + "\n",
                )
            )
    return sorted(mutants, key=_order)


def _replace(tree: ast.AST, old: ast.AST, new: ast.AST) -> None:
    for parent in ast.walk(tree):
        for name, value in ast.iter_fields(parent):
            if value is old:
                setattr(parent, name, new)
                return
            if isinstance(value, list) and any(item is old for item in value):
                value[[item is old for item in value].index(True)] = new
                return


# ---------------------------------------------------------------------------
# Running tests in a warm, forked pytest

_SERVER = r"""
import importlib, json, os, select, signal, sys, time
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
    except ImportError:
        pass
sys.stdout.write("ready\n"); sys.stdout.flush()
for request in sys.stdin:
    job = json.loads(request)
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:
        os.setsid()
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        os.chdir(job["cwd"])
        sys.path.insert(0, job["src"])
        os.environ["PYTHONPATH"] = job["src"]
        os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
        import pytest
        os._exit(int(pytest.main(job["args"])))
    deadline = started + job["timeout"]
    status = None
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.02)
    else:
        status = None
    if status is None:
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.waitpid(pid, 0)
        result = {"rc": None, "timeout": True}
    else:
        result = {"rc": os.waitstatus_to_exitcode(status), "timeout": False}
    result["seconds"] = time.monotonic() - started
    sys.stdout.write(json.dumps(result) + "\n"); sys.stdout.flush()
"""


class Worker:
    """A private copy of the project and a warm pytest server that runs tests in it."""

    def __init__(self, base: Path, number: int) -> None:
        self.tree = base / f"worker-{number}"
        shutil.copytree(ROOT, self.tree, ignore=COPY_IGNORE)
        self.src = self.tree / "src"
        self.lock = threading.Lock()
        self.server = subprocess.Popen(
            [sys.executable, "-c", _SERVER, *WARM_IMPORTS],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        )
        assert self.server.stdout is not None
        if self.server.stdout.readline().strip() != "ready":
            raise SystemExit("mutate: the test server did not start")

    def run(self, tests: list[str], timeout: float) -> dict[str, Any]:
        """Run pytest on ``tests`` in this worker's copy; rc None means it timed out."""
        assert self.server.stdin is not None
        assert self.server.stdout is not None
        job = {"cwd": str(self.tree), "src": str(self.src), "timeout": timeout}
        job["args"] = [*PYTEST_ARGS, *tests]
        self.server.stdin.write(json.dumps(job) + "\n")
        self.server.stdin.flush()
        ready, _, _ = select.select([self.server.stdout], [], [], timeout + 60)
        if not ready:
            raise SystemExit("mutate: the test server stopped answering")
        return dict(json.loads(self.server.stdout.readline()))

    def run_mutant(self, mutant: Mutant, tests: list[str], timeout: float) -> dict[str, Any]:
        """Write the mutant into this worker's copy, run ``tests``, put the original back."""
        target = self.tree / mutant.path
        original = target.read_text(encoding="utf-8")
        try:
            target.write_text(mutant.source, encoding="utf-8")
            return self.run(tests, timeout)
        finally:
            target.write_text(original, encoding="utf-8")

    def close(self) -> None:
        if self.server.poll() is None:
            self.server.kill()
            self.server.wait()


# ---------------------------------------------------------------------------
# Which tests execute which line


def covering_tests(base: Path, paths: list[str], tests_dir: str = "tests") -> dict[str, set[str]]:
    """Map ``path:line`` of the given modules to the test ids that execute it, in one run.

    Uses coverage's per-test contexts; only lines run in the test process count
    (code a test runs in a child process is not attributed to it). Tests marked
    ``slow`` (real pip installs, many processes) are left out: what they run,
    they run in child processes.
    """
    tree = base / "coverage"
    shutil.copytree(ROOT, tree, ignore=COPY_IGNORE)
    rc = tree / ".mutate-coveragerc"
    data = tree / ".mutate-coverage"
    includes = "\n    ".join(str(tree / p) for p in paths)
    rc.write_text(f"[run]\ndynamic_context = test_function\ninclude =\n    {includes}\n")
    env = {**os.environ, "PYTHONPATH": str(tree / "src"), "PYTHONDONTWRITEBYTECODE": "1"}
    command = [sys.executable, "-m", "coverage", "run", f"--rcfile={rc}", f"--data-file={data}"]
    subprocess.run(
        [*command, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "not slow", tests_dir],
        cwd=tree,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    from coverage import CoverageData

    covered = CoverageData(basename=str(data))
    covered.read()
    result: dict[str, set[str]] = {}
    for measured in covered.measured_files():
        rel = str(Path(measured).relative_to(tree))
        for line, contexts in covered.contexts_by_lineno(measured).items():
            ids = {_test_id(tree, c) for c in contexts if c}
            result[f"{rel}:{line}"] = {i for i in ids if i}
    return result


def _test_id(tree: Path, context: str) -> str | None:
    """Turn a coverage context (``test_cost.test_x``, ``test_m.Class.test_y``) into a test id."""
    parts = context.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        candidate = Path("tests", *parts[:cut]).with_suffix(".py")
        if (tree / candidate).is_file():
            return "::".join([str(candidate), *parts[cut:]])
    return None


# ---------------------------------------------------------------------------
# Reviewed equivalents


def load_equivalents(path: Path = EQUIVALENTS) -> dict[tuple[str, str, str], str]:
    """Read the reviewed equivalent mutants: (module, line text, mutation) -> reason."""
    if not path.exists():
        return {}
    document = tomllib.loads(path.read_text(encoding="utf-8"))
    entries: dict[tuple[str, str, str], str] = {}
    for number, entry in enumerate(document.get("equivalent", []), start=1):
        try:
            key = (entry["module"], entry["line"], entry["mutation"])
            reason = entry["reason"]
        except KeyError as exc:
            raise SystemExit(f"{path}: equivalent #{number}: missing {exc}") from None
        if not str(reason).strip():
            raise SystemExit(f"{path}: equivalent #{number}: give a reason")
        entries[key] = reason
    return entries


# ---------------------------------------------------------------------------
# The run


@dataclass
class Outcome:
    mutant: Mutant
    status: str = "survived"  # killed, timeout, survived, equivalent
    by: str = ""  # which tests killed it
    seconds: float = 0.0


@dataclass
class ModuleRun:
    name: str
    path: str
    tests: list[str]
    timeout: float = 0.0
    outcomes: list[Outcome] = field(default_factory=list)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("modules", nargs="*", help="modules of tools/mutation.toml (default: all)")
    parser.add_argument("--jobs", type=int, default=2, help="parallel test runs (default 2)")
    parser.add_argument("--sample", type=int, help="at most this many mutants per module")
    parser.add_argument("--seed", type=int, default=0, help="seed of --sample")
    parser.add_argument(
        "--no-coverage",
        action="store_true",
        help="run each mutant against its module's test files only (no coverage run)",
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--list", action="store_true", help="list the mutants, run nothing")
    parser.add_argument(
        "--fail-under", type=float, help="exit 1 if a module's kill rate is below this (percent)"
    )
    args = parser.parse_args(argv)
    config = tomllib.loads(CONFIG.read_text(encoding="utf-8"))["modules"]
    names = args.modules or list(config)
    unknown = [n for n in names if n not in config]
    if unknown:
        parser.error(f"unknown module {unknown[0]!r} (see {CONFIG.relative_to(ROOT)})")
    equivalents = load_equivalents()
    runs: list[ModuleRun] = []
    for name in names:
        entry = config[name]
        missing = [t for t in entry["tests"] if not (ROOT / t).exists()]
        if missing:
            parser.error(f"{CONFIG.relative_to(ROOT)}: {name}: no test file {missing[0]}")
        mutants = generate(name, ROOT / entry["file"], entry.get("functions"))
        if args.sample is not None and len(mutants) > args.sample:
            mutants = sorted(random.Random(args.seed).sample(mutants, args.sample), key=_order)
        run = ModuleRun(name, entry["file"], list(entry["tests"]))
        run.outcomes = [Outcome(m) for m in mutants]
        runs.append(run)
    if args.list:
        for run in runs:
            for outcome in run.outcomes:
                m = outcome.mutant
                print(f"{m.path}:{m.lineno}: {m.mutation}")
        return 0
    started = time.monotonic()
    base = Path(tempfile.mkdtemp(prefix="mutate-"))
    workers: list[Worker] = []
    try:
        workers = [Worker(base, i) for i in range(max(1, min(args.jobs, 2)))]
        for run in runs:  # the unmutated module must pass its tests; they also set the timeout
            result = workers[0].run(run.tests, timeout=600)
            if result["rc"] != 0:
                raise SystemExit(f"mutate: {run.name}: its tests fail before any mutation")
            run.timeout = max(30.0, 5 * result["seconds"])
        covering: dict[str, set[str]] = {}
        if not args.no_coverage:
            print("finding the tests that execute each line (one run of the suite)", flush=True)
            covering = covering_tests(base, sorted({run.path for run in runs}))
        # First the module's own tests that execute the mutated line (all of them when
        # none does in-process: module-level code, lines only child processes run).
        first = []
        for run in runs:
            for outcome in run.outcomes:
                line = covering.get(f"{outcome.mutant.path}:{outcome.mutant.lineno}", set())
                own = sorted(t for t in line if t.split("::")[0] in run.tests)
                first.append((run, outcome, own or run.tests))
        _run_all(workers, first, "own tests", reviewed=frozenset(equivalents))
        # Then, before calling it a survivor: all of its own test files, and every other
        # test that executes the line.
        again = []
        for run, outcome, tried in first:
            if outcome.status != "survived":
                continue
            line = covering.get(f"{outcome.mutant.path}:{outcome.mutant.lineno}", set())
            others = sorted(t for t in line if t.split("::")[0] not in run.tests)
            tests = [*run.tests, *others]
            if tests != tried:
                again.append((run, outcome, tests))
        if again:
            print(f"re-running {len(again)} survivors against every test of their lines")
            _run_all(workers, again, "covering tests", confirm=True)
        used: set[tuple[str, str, str]] = set()
        for run in runs:
            for outcome in run.outcomes:
                if outcome.mutant.key in equivalents:
                    used.add(outcome.mutant.key)
                    if outcome.status == "survived":
                        outcome.status = "equivalent"
    finally:
        for worker in workers:
            worker.close()
        shutil.rmtree(base, ignore_errors=True)
    elapsed = time.monotonic() - started
    _report(runs, equivalents, used, elapsed)
    if args.json:
        args.json.write_text(json.dumps(_as_json(runs, elapsed), indent=2) + "\n")
    if args.fail_under is not None and any(_rate(r) < args.fail_under for r in runs):
        return 1
    return 0


def _order(mutant: Mutant) -> tuple[int, str]:
    return (mutant.lineno, mutant.mutation)


def _failed(result: dict[str, Any]) -> bool:
    return bool(result["timeout"] or result["rc"] != 0)


def _run_all(
    workers: list[Worker],
    jobs: list[tuple[ModuleRun, Outcome, list[str]]],
    what: str,
    *,
    confirm: bool = False,
    reviewed: frozenset[tuple[str, str, str]] = frozenset(),
) -> None:
    """Run each job (a mutant and the tests to run it against) on the first free worker."""
    free: list[Worker] = list(workers)
    guard = threading.Condition()
    done = [0]

    def one(job: tuple[ModuleRun, Outcome, list[str]]) -> None:
        run, outcome, tests = job
        with guard:
            while not free:
                guard.wait()
            worker = free.pop()
        try:
            result = worker.run_mutant(outcome.mutant, tests, run.timeout)
            if (confirm or outcome.mutant.key in reviewed) and _failed(result):
                # Many covering tests start processes and wait on locks: on a loaded
                # machine one may fail by itself. A kill counts if it happens again
                # and the same tests pass without the mutant.
                again = worker.run_mutant(outcome.mutant, tests, run.timeout)
                if not _failed(again) or _failed(worker.run(tests, run.timeout)):
                    outcome.by = "flaky: not counted as a kill"
                    result = {"rc": 0, "timeout": False, "seconds": result["seconds"]}
        finally:
            with guard:
                free.append(worker)
                guard.notify()
        outcome.seconds += result["seconds"]
        if result["timeout"]:
            outcome.status, outcome.by = "timeout", what
        elif result["rc"] != 0:
            outcome.status, outcome.by = "killed", what
        with guard:
            done[0] += 1
            if done[0] % 25 == 0 or done[0] == len(jobs):
                print(f"  {what}: {done[0]}/{len(jobs)} mutants run", file=sys.stderr, flush=True)

    with ThreadPoolExecutor(len(workers)) as pool:
        list(pool.map(one, jobs))


def _counts(run: ModuleRun) -> tuple[int, int, int]:
    killed = sum(o.status in ("killed", "timeout") for o in run.outcomes)
    equivalent = sum(o.status == "equivalent" for o in run.outcomes)
    return len(run.outcomes), killed, equivalent


def _rate(run: ModuleRun) -> float:
    total, killed, equivalent = _counts(run)
    return 100.0 if total == equivalent else 100.0 * killed / (total - equivalent)


def _report(
    runs: list[ModuleRun],
    equivalents: dict[tuple[str, str, str], str],
    used: set[tuple[str, str, str]],
    elapsed: float,
) -> None:
    print()
    print("| module | mutants | killed | equivalent | kill rate |")
    print("|---|---|---|---|---|")
    sums = [0, 0, 0]
    for run in runs:
        total, killed, equivalent = _counts(run)
        sums = [sums[0] + total, sums[1] + killed, sums[2] + equivalent]
        print(f"| {run.name} | {total} | {killed} | {equivalent} | {_rate(run):.1f}% |")
    if len(runs) > 1:
        total, killed, equivalent = sums
        rate = 100.0 if total == equivalent else 100.0 * killed / (total - equivalent)
        print(f"| **all** | {total} | {killed} | {equivalent} | {rate:.1f}% |")
    survivors = [o for run in runs for o in run.outcomes if o.status == "survived"]
    if survivors:
        print(f"\n{len(survivors)} survivors:")
        for outcome in survivors:
            m = outcome.mutant
            flaky = "  (a flaky kill was not counted)" if outcome.by.startswith("flaky") else ""
            print(f"  {m.path}:{m.lineno}: {m.mutation}    [{m.line}]{flaky}")
    names = {run.name for run in runs}
    killed_equivalents = [
        o.mutant
        for run in runs
        for o in run.outcomes
        if o.mutant.key in equivalents and o.status in ("killed", "timeout")
    ]
    for m in killed_equivalents:
        print(f"listed as equivalent but killed (remove it): {m.path}:{m.lineno}: {m.mutation}")
    for key in sorted(set(equivalents) - used):
        if key[0] in names:
            print(
                f"listed as equivalent but no such mutant (stale?): {key[0]}: {key[1]!r}: {key[2]}"
            )
    print(f"\n{sum(len(r.outcomes) for r in runs)} mutants in {elapsed:.0f} s")


def _as_json(runs: list[ModuleRun], elapsed: float) -> dict[str, Any]:
    return {
        "seconds": round(elapsed, 1),
        "modules": {
            run.name: {
                "mutants": _counts(run)[0],
                "killed": _counts(run)[1],
                "equivalent": _counts(run)[2],
                "kill_rate": round(_rate(run), 1),
                "outcomes": [
                    {
                        "path": o.mutant.path,
                        "line": o.mutant.lineno,
                        "code": o.mutant.line,
                        "mutation": o.mutant.mutation,
                        "status": o.status,
                        "by": o.by,
                    }
                    for o in run.outcomes
                ],
            }
            for run in runs
        },
    }


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # run the finally: clean-up
    sys.exit(main())
