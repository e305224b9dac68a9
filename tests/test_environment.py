"""Environment capture: CI variables, git branch and commit from .git files, never failing."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from helpers import SPEC_KITTY, log_records, new_project, spec_kitty
from spec_kitty_telemetry import __version__
from spec_kitty_telemetry.emit import emit_execution_record
from spec_kitty_telemetry.environment import capture_environment, ci_environment, git_head

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def git(repo: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    done = subprocess.run(
        ["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = new_project(tmp_path / "repo")
    git(root, "init", "-q", "-b", "feature/login")
    (root / "README").write_text("x")
    git(root, "add", "README")
    git(root, "commit", "-q", "-m", "first")
    return root


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        (
            {"GITHUB_ACTIONS": "true", "GITHUB_RUN_ID": "9912", "GITHUB_REF_NAME": "main",
             "GITHUB_SHA": "abc123"},
            ("github-actions", "9912", "main", "abc123"),
        ),
        (
            {"GITHUB_ACTIONS": "true", "GITHUB_RUN_ID": "1", "GITHUB_HEAD_REF": "pr-branch",
             "GITHUB_REF_NAME": "42/merge", "GITHUB_SHA": "d"},
            ("github-actions", "1", "pr-branch", "d"),
        ),
        (
            {"GITLAB_CI": "true", "CI": "true", "CI_PIPELINE_ID": "77",
             "CI_COMMIT_REF_NAME": "dev", "CI_COMMIT_SHA": "f00"},
            ("gitlab", "77", "dev", "f00"),
        ),
        (
            {"CIRCLECI": "true", "CIRCLE_BUILD_NUM": "5", "CIRCLE_BRANCH": "b",
             "CIRCLE_SHA1": "c1"},
            ("circleci", "5", "b", "c1"),
        ),
        (
            {"JENKINS_URL": "https://ci.example.com/", "BUILD_TAG": "jenkins-app-12",
             "GIT_BRANCH": "origin/main", "GIT_COMMIT": "9a"},
            ("jenkins", "jenkins-app-12", "origin/main", "9a"),
        ),
        (
            {"BUILDKITE": "true", "BUILDKITE_BUILD_ID": "uuid-1", "BUILDKITE_BRANCH": "x",
             "BUILDKITE_COMMIT": "e"},
            ("buildkite", "uuid-1", "x", "e"),
        ),
        (
            {"TF_BUILD": "True", "BUILD_BUILDID": "300", "BUILD_SOURCEBRANCHNAME": "main",
             "BUILD_SOURCEVERSION": "aa"},
            ("azure-pipelines", "300", "main", "aa"),
        ),
        ({"CI": "true"}, ("unknown", None, None, None)),
        ({"CI": "false", "GITHUB_ACTIONS": "false"}, (None, None, None, None)),
        ({}, (None, None, None, None)),
    ],
)  # fmt: skip
def test_ci_provider_and_build_from_standard_variables(
    environ: dict[str, str], expected: tuple[str | None, ...]
) -> None:
    """Each provider's marker variable names it; its own variables give build, branch, commit."""
    found = ci_environment(environ)
    assert (found["ci"], found["ci_build_id"], found["ci_branch"], found["ci_commit"]) == expected


@needs_git
def test_git_branch_and_commit_read_from_files(repo: Path) -> None:
    """Branch and commit match what git itself says, from a subfolder too."""
    inner = repo / "kitty-specs" / "001-x"
    inner.mkdir()
    assert git_head(inner) == ("feature/login", git(repo, "rev-parse", "HEAD"))


@needs_git
def test_packed_refs_are_read(repo: Path) -> None:
    """After ``git pack-refs`` the branch's commit lives only in packed-refs; still found."""
    git(repo, "pack-refs", "--all")
    assert not (repo / ".git" / "refs" / "heads" / "feature" / "login").exists()
    assert git_head(repo) == ("feature/login", git(repo, "rev-parse", "HEAD"))


@needs_git
def test_detached_head_has_a_commit_and_no_branch(repo: Path) -> None:
    """A detached HEAD: branch None, the commit it points at."""
    git(repo, "checkout", "-q", "--detach")
    assert git_head(repo) == (None, git(repo, "rev-parse", "HEAD"))


@needs_git
def test_worktree_with_a_git_file_is_followed(repo: Path, tmp_path: Path) -> None:
    """A linked worktree (``.git`` is a file, refs in the common dir) gives its own branch."""
    (repo / "more").write_text("y")
    git(repo, "add", "more")
    git(repo, "commit", "-q", "-m", "second")
    git(repo, "pack-refs", "--all")
    worktree = tmp_path / "wt"
    git(repo, "worktree", "add", "-q", "-b", "other", str(worktree), "HEAD~1")
    assert (worktree / ".git").is_file()
    assert git_head(worktree) == ("other", git(worktree, "rev-parse", "HEAD"))
    assert git_head(worktree)[1] != git(repo, "rev-parse", "HEAD")


def test_outside_git_and_broken_git_give_none(tmp_path: Path) -> None:
    """No checkout, or a .git without HEAD: capture still returns every key, git ones None."""
    block = capture_environment(tmp_path, environ={})
    assert block == {
        "ci": None,
        "ci_build_id": None,
        "ci_branch": None,
        "ci_commit": None,
        "git_branch": None,
        "git_commit": None,
        "telemetry_version": __version__,
    }
    (tmp_path / ".git").mkdir()
    assert capture_environment(tmp_path, environ={})["git_commit"] is None
    (tmp_path / ".git" / "HEAD").write_bytes(b"\xff\xfe not utf-8")
    assert capture_environment(tmp_path, environ={})["git_branch"] is None


@needs_git
def test_emitted_events_carry_the_environment(repo: Path) -> None:
    """``emit`` run in CI inside a git checkout stores the full environment block."""
    env = {
        **os.environ,
        "GITHUB_ACTIONS": "true",
        "GITHUB_RUN_ID": "4242",
        "GITHUB_REF_NAME": "feature/login",
        "GITHUB_SHA": "0" * 40,
    }
    done = subprocess.run(
        [*SPEC_KITTY, "agent", "telemetry", "emit", "--feature", "001-x", "--role", "planner",
         "--agent", "claude"],
        cwd=repo, env=env, capture_output=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    [record] = log_records(repo / "kitty-specs" / "001-x")
    assert record["payload"]["environment"] == {
        "ci": "github-actions",
        "ci_build_id": "4242",
        "ci_branch": "feature/login",
        "ci_commit": "0" * 40,
        "git_branch": "feature/login",
        "git_commit": git(repo, "rev-parse", "HEAD"),
        "telemetry_version": __version__,
    }


def test_an_explicit_environment_is_kept(tmp_path: Path) -> None:
    """A caller that passes ``environment=`` (or None to store nothing) is not overridden."""
    feature = new_project(tmp_path / "p") / "kitty-specs" / "001-x"
    first = emit_execution_record(feature, "001-x", None, "a", "planner", environment={"k": "v"})
    second = emit_execution_record(feature, "001-x", None, "a", "planner", environment=None)
    assert first is not None
    assert second is not None
    assert first["payload"]["environment"] == {"k": "v"}
    assert second["payload"]["environment"] is None


def test_cli_emit_outside_git_still_records(tmp_path: Path) -> None:
    """A project that is not a git checkout: the event is recorded with git fields None."""
    project = new_project(tmp_path / "p")
    done = spec_kitty(
        "agent", "telemetry", "emit", "--feature", "001-x", "--role", "planner", "--agent", "c",
        cwd=project,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    environment = log_records(project / "kitty-specs" / "001-x")[0]["payload"]["environment"]
    assert (environment["git_branch"], environment["git_commit"]) == (None, None)
