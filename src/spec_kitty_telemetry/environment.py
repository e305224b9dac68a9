"""Where an agent ran: CI build, git branch and commit, package version.

Stored with every ExecutionEvent under ``payload["environment"]`` so a report
can tell a laptop run from a CI run, and relate a cost to a branch or commit.
Every key is always present; None means unknown:

``ci``
    The CI provider (``github-actions``, ``gitlab``, ``circleci``, ``jenkins``,
    ``buildkite``, ``azure-pipelines``, ``travis``, ``bitbucket``, or
    ``unknown`` when only ``CI=true`` is set); None outside CI.
``ci_build_id``, ``ci_branch``, ``ci_commit``
    The provider's build (pipeline/run) id, branch and commit from its
    standard variables.
``git_branch``, ``git_commit``
    The branch checked out in the repository holding the feature (None when
    HEAD is detached) and the commit HEAD points at, read from ``.git`` files:
    no ``git`` subprocess per emit.
``telemetry_version``
    The version of spec-kitty-telemetry that wrote the event.

Capturing never raises; whatever cannot be read is None.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from contextlib import suppress
from pathlib import Path
from typing import Final

__all__ = [
    "ENVIRONMENT_KEYS",
    "capture_environment",
    "ci_environment",
    "git_head",
    "git_work_tree",
]

ENVIRONMENT_KEYS: Final = (
    "ci",
    "ci_build_id",
    "ci_branch",
    "ci_commit",
    "git_branch",
    "git_commit",
    "telemetry_version",
)

# Provider name, the variable that marks it, then the variables holding build
# id, branch and commit, each a list tried in order (the first one set wins).
_PROVIDERS: Final[
    tuple[tuple[str, str, tuple[str, ...], tuple[str, ...], tuple[str, ...]], ...]
] = (
    (
        "github-actions",
        "GITHUB_ACTIONS",
        ("GITHUB_RUN_ID",),
        ("GITHUB_HEAD_REF", "GITHUB_REF_NAME"),
        ("GITHUB_SHA",),
    ),
    (
        "gitlab",
        "GITLAB_CI",
        ("CI_PIPELINE_ID", "CI_JOB_ID"),
        ("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", "CI_COMMIT_REF_NAME"),
        ("CI_COMMIT_SHA",),
    ),
    (
        "circleci",
        "CIRCLECI",
        ("CIRCLE_WORKFLOW_ID", "CIRCLE_BUILD_NUM"),
        ("CIRCLE_BRANCH",),
        ("CIRCLE_SHA1",),
    ),
    (
        "jenkins",
        "JENKINS_URL",
        ("BUILD_TAG", "BUILD_NUMBER"),
        ("BRANCH_NAME", "GIT_BRANCH"),
        ("GIT_COMMIT",),
    ),
    (
        "buildkite",
        "BUILDKITE",
        ("BUILDKITE_BUILD_ID",),
        ("BUILDKITE_BRANCH",),
        ("BUILDKITE_COMMIT",),
    ),
    (
        "azure-pipelines",
        "TF_BUILD",
        ("BUILD_BUILDID",),
        ("SYSTEM_PULLREQUEST_SOURCEBRANCH", "BUILD_SOURCEBRANCHNAME"),
        ("BUILD_SOURCEVERSION",),
    ),
    (
        "travis",
        "TRAVIS",
        ("TRAVIS_BUILD_ID",),
        ("TRAVIS_PULL_REQUEST_BRANCH", "TRAVIS_BRANCH"),
        ("TRAVIS_COMMIT",),
    ),
    (
        "bitbucket",
        "BITBUCKET_BUILD_NUMBER",
        ("BITBUCKET_BUILD_NUMBER",),
        ("BITBUCKET_BRANCH",),
        ("BITBUCKET_COMMIT",),
    ),
)

_FALSE: Final = ("", "0", "false", "no")
_MAX_REF_FILE = 64 * 1024 * 1024  # packed-refs larger than this are not read per emit


def capture_environment(
    start: str | Path | None = None, environ: Mapping[str, str] | None = None
) -> dict[str, str | None]:
    """Return the environment block for an event written from ``start`` (a feature folder).

    ``environ`` defaults to ``os.environ``. Never raises.
    """
    from . import __version__

    block: dict[str, str | None] = dict.fromkeys(ENVIRONMENT_KEYS)
    block["telemetry_version"] = __version__
    # Environment capture must never fail an emit: whatever breaks stays None.
    with suppress(Exception):
        block.update(ci_environment(os.environ if environ is None else environ))
    with suppress(Exception):
        block["git_branch"], block["git_commit"] = git_head(
            Path(start) if start is not None else Path.cwd()
        )
    return block


def ci_environment(environ: Mapping[str, str]) -> dict[str, str | None]:
    """Return ``ci``, ``ci_build_id``, ``ci_branch`` and ``ci_commit`` from CI variables."""

    def first(names: tuple[str, ...]) -> str | None:
        for name in names:
            value = environ.get(name, "").strip()
            if value:
                return value
        return None

    for name, marker, build_ids, branches, commits in _PROVIDERS:
        if environ.get(marker, "").strip().lower() not in _FALSE:
            return {
                "ci": name,
                "ci_build_id": first(build_ids),
                "ci_branch": first(branches),
                "ci_commit": first(commits),
            }
    if environ.get("CI", "").strip().lower() not in _FALSE:
        return {"ci": "unknown", "ci_build_id": None, "ci_branch": None, "ci_commit": None}
    return {"ci": None, "ci_build_id": None, "ci_branch": None, "ci_commit": None}


def git_head(start: Path) -> tuple[str | None, str | None]:
    """Return (branch, commit) of the git checkout at or above ``start``, reading only files.

    Handles a ``.git`` folder, a ``.git`` file (worktrees, submodules), loose
    and packed refs, and a detached HEAD (branch None). (None, None) when
    ``start`` is not inside a git checkout or something cannot be read.
    """
    git_dir = _git_dir_for(os.path.abspath(start))
    if git_dir is None:
        return None, None
    head = (git_dir / "HEAD").read_text(encoding="utf-8").strip()
    if not head.startswith("ref:"):
        return None, head or None  # detached: HEAD holds the commit
    ref = head.removeprefix("ref:").strip()
    branch = ref.removeprefix("refs/heads/") if ref.startswith("refs/heads/") else None
    common = _common_dir(git_dir)
    for folder in dict.fromkeys((git_dir, common)):
        loose = folder / ref
        if loose.is_file():
            return branch, loose.read_text(encoding="utf-8").strip() or None
    return branch, _packed_ref(common / "packed-refs", ref)


@functools.lru_cache(maxsize=64)
def _git_dir_for(start: str) -> Path | None:
    """Find the git dir for a folder once per process: where a checkout lives does not move.

    HEAD and the refs are still read on every call, since they do change.
    """
    return _find_git_dir(Path(start).resolve())


def _find_git_dir(start: Path) -> Path | None:
    found = git_work_tree(start)
    return None if found is None else found[1]


def git_work_tree(start: Path) -> tuple[Path, Path] | None:
    """Return (work tree top, git dir) of the checkout at or above ``start``, reading only files.

    The git dir of a linked worktree or submodule is the one its ``.git`` file
    names. None when no ``.git`` is found (or a ``.git`` file names nothing).
    """
    for folder in (start, *start.parents):
        dot_git = folder / ".git"
        if dot_git.is_dir():
            return folder, dot_git
        if dot_git.is_file():
            text = dot_git.read_text(encoding="utf-8").strip()
            if text.startswith("gitdir:"):
                target = Path(text.removeprefix("gitdir:").strip())
                return folder, target if target.is_absolute() else (folder / target).resolve()
            return None
    return None


def _common_dir(git_dir: Path) -> Path:
    """Return the folder of shared refs: a worktree's ``commondir``, else the git dir."""
    pointer = git_dir / "commondir"
    if pointer.is_file():
        target = Path(pointer.read_text(encoding="utf-8").strip())
        return target if target.is_absolute() else (git_dir / target).resolve()
    return git_dir


def _packed_ref(packed_refs: Path, ref: str) -> str | None:
    try:
        if packed_refs.stat().st_size > _MAX_REF_FILE:
            return None
        text = packed_refs.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    for line in text.splitlines():
        if line.startswith(("#", "^")):
            continue
        commit, _, name = line.partition(" ")
        if name.strip() == ref:
            return commit or None
    return None
