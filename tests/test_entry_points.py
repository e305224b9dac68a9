"""The two console scripts: ``spec-kitty-telemetry`` always, ``spec-kitty`` beside spec-kitty.

spec-kitty's own package installs a ``spec-kitty`` script too. These tests run
the real scripts of this environment and, for the hand-over, a real installed
distribution that declares a ``spec-kitty`` console script (a small stand-in
put on ``PYTHONPATH``; the slow test at the end installs the real spec-kitty-cli).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import venv
from pathlib import Path

import pytest

from helpers import new_project

BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parents[1]


def script(name: str, *args: str, cwd: Path, env: dict[str, str] | None = None,
           stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:  # fmt: skip
    """Run the console script ``name`` of this environment."""
    return subprocess.run(
        [str(BIN / name), *args],
        cwd=cwd,
        env=env,
        input=stdin.decode() if stdin is not None else None,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def fake_upstream(root: Path, exit_code: int = 3) -> dict[str, str]:
    """Install a stand-in spec-kitty distribution under ``root``; return an env that sees it.

    Its entry point prints the argv and stdin it got as JSON, writes to stderr
    and exits with ``exit_code``, so a test can check nothing was changed on the way.
    """
    site = root / "site"
    (site / "fake_spec_kitty").mkdir(parents=True)
    (site / "fake_spec_kitty" / "__init__.py").write_text(
        textwrap.dedent(f"""
        import json, sys

        def main():
            if sys.argv[1:] == ["--version"]:
                print("spec-kitty-cli version 9.9.9")
                raise SystemExit(0)
            data = sys.stdin.read()
            print(json.dumps({{"argv": sys.argv[1:], "stdin": data}}))
            print("upstream stderr", file=sys.stderr)
            return {exit_code}
        """)
    )
    info = site / "spec_kitty_cli-9.9.9.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: spec-kitty-cli\nVersion: 9.9.9\n")
    (info / "entry_points.txt").write_text("[console_scripts]\nspec-kitty = fake_spec_kitty:main\n")
    return {**os.environ, "PYTHONPATH": str(site)}


def test_own_script_runs_the_telemetry_commands_at_top_level(tmp_path):
    """`spec-kitty-telemetry cost --json` reports as `spec-kitty agent telemetry cost` does."""
    project = new_project(tmp_path)
    recorded = script(
        "spec-kitty-telemetry", "emit", "--feature", "001-x", "--role", "implementer",
        "--agent", "claude", "--input-tokens", "10", "--output-tokens", "5", "--json",
        cwd=project,
    )  # fmt: skip
    assert recorded.returncode == 0, recorded.stderr
    assert json.loads(recorded.stdout)["result"] == "ok"
    ours = script("spec-kitty-telemetry", "cost", "--json", cwd=project)
    theirs = script("spec-kitty", "agent", "telemetry", "cost", "--json", cwd=project)
    assert ours.returncode == theirs.returncode == 0
    assert json.loads(ours.stdout) == json.loads(theirs.stdout)
    assert json.loads(ours.stdout)["total"]["input_tokens"] == 10


def test_help_screens_spell_the_command_as_it_was_run(tmp_path):
    """Help examples say `spec-kitty-telemetry cost` under that script, not the other spelling."""
    cost_help = script("spec-kitty-telemetry", "cost", "--help", cwd=tmp_path).stdout
    assert "spec-kitty-telemetry cost --group-by model" in cost_help
    assert "spec-kitty agent telemetry" not in cost_help
    emit_help = script("spec-kitty-telemetry", "emit", "--help", cwd=tmp_path).stdout
    assert "usage: spec-kitty-telemetry emit" in emit_help
    assert "spec-kitty agent telemetry" not in emit_help
    agent_help = script("spec-kitty", "agent", "telemetry", "cost", "--help", cwd=tmp_path).stdout
    assert "spec-kitty agent telemetry cost --group-by model" in agent_help


def test_own_script_prints_its_version(tmp_path):
    """`spec-kitty-telemetry --version` names the package and its version, exit 0."""
    result = script("spec-kitty-telemetry", "--version", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.startswith("spec-kitty-telemetry version ")


def test_without_spec_kitty_other_commands_get_a_one_line_error(tmp_path):
    """`spec-kitty init` with spec-kitty absent: one line naming the package to install, exit 2."""
    result = script("spec-kitty", "init", "--help", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert "spec-kitty-cli" in result.stderr
    assert "'spec-kitty init'" in result.stderr


def test_without_spec_kitty_the_version_and_help_are_ours(tmp_path):
    """`spec-kitty --version` says spec-kitty is absent; `spec-kitty --help` lists `agent`."""
    version = script("spec-kitty", "--version", cwd=tmp_path)
    assert version.returncode == 0
    assert "spec-kitty-telemetry version" in version.stdout
    assert "not installed" in version.stdout
    helped = script("spec-kitty", "--help", cwd=tmp_path)
    assert helped.returncode == 0
    assert "agent" in helped.stdout


def test_other_commands_go_to_spec_kitty_unchanged(tmp_path):
    """argv, stdin, stdout, stderr and the exit code pass through to spec-kitty's entry point."""
    env = fake_upstream(tmp_path, exit_code=3)
    result = script(
        "spec-kitty", "init", "--here", "--ai", "claude", cwd=tmp_path, env=env, stdin=b"yes\n"
    )
    assert result.returncode == 3
    assert json.loads(result.stdout) == {"argv": ["init", "--here", "--ai", "claude"],
                                         "stdin": "yes\n"}  # fmt: skip
    assert result.stderr == "upstream stderr\n"


def test_agent_telemetry_stays_ours_when_spec_kitty_is_installed(tmp_path):
    """With spec-kitty present, `spec-kitty agent telemetry …` still runs this package."""
    env = fake_upstream(tmp_path)
    project = new_project(tmp_path / "project")
    result = script("spec-kitty", "agent", "telemetry", "cost", "--json", cwd=project, env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["total"]["event_count"] == 0


def test_version_reports_both_packages(tmp_path):
    """`spec-kitty --version` prints spec-kitty's version line, then ours."""
    env = fake_upstream(tmp_path)
    result = script("spec-kitty", "--version", cwd=tmp_path, env=env)
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "spec-kitty-cli version 9.9.9"
    assert lines[1].startswith("spec-kitty-telemetry version ")


# -- the real spec-kitty-cli, installed from PyPI ---------------------------------


@pytest.fixture(scope="module")
def our_wheel(tmp_path_factory):
    """Build this package's wheel once for the install-order tests."""
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(REPO)],
        check=True,
        timeout=600,
    )
    return next(out.glob("*.whl"))


def _install_in_order(root: Path, first: str, second: str) -> Path:
    """Make a fresh virtualenv at ``root`` and pip-install ``first``, then ``second``."""
    venv.create(root, with_pip=True)
    pip = [str(root / "bin" / "python"), "-m", "pip", "install", "-q"]
    for requirement in (first, second):
        subprocess.run([*pip, requirement], check=True, timeout=900)
    return root / "bin"


def _run(bin_dir: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(bin_dir / args[0]), *args[1:]],
        cwd=cwd, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


@pytest.mark.slow
def test_real_spec_kitty_keeps_its_commands_when_we_install_last(tmp_path, our_wheel):
    """spec-kitty-cli, then us: spec-kitty's commands and `agent telemetry` both work."""
    bin_dir = _install_in_order(tmp_path / "venv", "spec-kitty-cli", str(our_wheel))
    project = new_project(tmp_path / "project")
    version = _run(bin_dir, "spec-kitty", "--version", cwd=project)
    assert version.returncode == 0, version.stderr
    assert "spec-kitty-cli version" in version.stdout
    assert "spec-kitty-telemetry version" in version.stdout
    init_help = _run(bin_dir, "spec-kitty", "init", "--help", cwd=project)
    assert init_help.returncode == 0, init_help.stderr
    assert "Usage: spec-kitty init" in init_help.stdout
    ours = _run(bin_dir, "spec-kitty", "agent", "telemetry", "cost", "--help", cwd=project)
    assert ours.returncode == 0
    assert "spec-kitty agent telemetry cost" in ours.stdout
    own = _run(bin_dir, "spec-kitty-telemetry", "cost", "--help", cwd=project)
    assert own.returncode == 0
    assert "spec-kitty-telemetry cost" in own.stdout


@pytest.mark.slow
def test_real_spec_kitty_installed_last_leaves_our_own_script(tmp_path, our_wheel):
    """Us, then spec-kitty-cli: `spec-kitty` is theirs again, `spec-kitty-telemetry` still works."""
    bin_dir = _install_in_order(tmp_path / "venv", str(our_wheel), "spec-kitty-cli")
    project = new_project(tmp_path / "project")
    version = _run(bin_dir, "spec-kitty", "--version", cwd=project)
    assert version.returncode == 0
    assert "spec-kitty-cli version" in version.stdout
    own = _run(bin_dir, "spec-kitty-telemetry", "cost", "--help", cwd=project)
    assert own.returncode == 0
    assert "spec-kitty-telemetry cost" in own.stdout
    report = _run(bin_dir, "spec-kitty-telemetry", "cost", "--json", cwd=project)
    assert report.returncode == 0
    assert json.loads(report.stdout)["total"]["event_count"] == 0
