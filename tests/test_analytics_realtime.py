"""The real-time check: an emit into a project with alerts.realtime scores the run as it records."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import run_event, write_project
from spec_kitty_telemetry.analytics import freeze_baseline, project_baseline, realtime
from spec_kitty_telemetry.analytics.realtime import reset
from spec_kitty_telemetry.emit import emit_execution_record


def _frozen_project(root: Path, realtime: bool) -> Path:
    """20 runs of 60-79 s frozen as 2025-W45; alerts go to alerts.jsonl only."""
    events = [
        run_event(
            when=f"2025-11-0{3 + i % 5}T10:00:00",
            agent="claude",
            role="implementer",
            duration_ms=60_000 + 1000 * i,
            cost_usd=1.0 + i / 100,
        )
        for i in range(20)
    ]
    write_project(root, *events)
    (root / ".kittify").mkdir()
    (root / ".kittify" / "telemetry.yaml").write_text(
        f"alerts:\n  realtime: {str(realtime).lower()}\n  log: alerts.jsonl\n  sinks: []\n"
    )
    freeze_baseline(root, project_baseline(root, week="2025-W45"))
    return root


def test_a_slow_run_is_alerted_as_it_is_recorded(tmp_path: Path) -> None:
    """With realtime on, emitting a 20-minute run logs one duration alert naming it."""
    root = _frozen_project(tmp_path, realtime=True)
    reset()
    record = emit_execution_record(
        root / "kitty-specs" / "001-alpha",
        "001-alpha",
        "WP02",
        "claude",
        "implementer",
        duration_ms=1_200_000,
        cost_usd=1.05,
    )
    assert record is not None
    alerts = [json.loads(line) for line in (root / "alerts.jsonl").read_text().splitlines()]
    assert [(a["what"], a["event_id"]) for a in alerts] == [("duration", record["event_id"])]


def test_off_by_default_and_normal_runs_raise_nothing(tmp_path: Path) -> None:
    """realtime false: no alert for the slow run; realtime on: none for a normal run."""
    root = _frozen_project(tmp_path, realtime=False)
    reset()
    feature = root / "kitty-specs" / "001-alpha"
    emit_execution_record(
        feature, "001-alpha", None, "claude", "implementer", duration_ms=1_200_000
    )
    assert not (root / "alerts.jsonl").exists()
    other = _frozen_project(tmp_path / "on", realtime=True)
    reset()
    emit_execution_record(
        other / "kitty-specs" / "001-alpha",
        "001-alpha",
        None,
        "claude",
        "implementer",
        duration_ms=70_000,
        cost_usd=1.1,
    )
    assert not (other / "alerts.jsonl").exists()


def test_a_broken_baseline_never_fails_the_emit(tmp_path: Path) -> None:
    """A damaged frozen file: the CLI emit still records the run and exits 0, with a warning."""
    root = _frozen_project(tmp_path, realtime=True)
    (root / ".kittify" / "baselines" / "2025-W45.json").write_text("{ not json")
    result = subprocess.run(
        [
            str(Path(sys.executable).with_name("spec-kitty-telemetry")),
            "emit",
            "--feature",
            "001-alpha",
            "--agent",
            "claude",
            "--role",
            "implementer",
            "--duration-ms",
            "1200000",
        ],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    log = root / "kitty-specs" / "001-alpha" / "execution.events.jsonl"
    assert len(log.read_text().splitlines()) == 21
    assert "real-time check" in result.stderr


def _slow_run(root: Path) -> dict[str, object] | None:
    return emit_execution_record(
        root / "kitty-specs" / "001-alpha",
        "001-alpha",
        None,
        "claude",
        "implementer",
        duration_ms=1_200_000,
        cost_usd=1.05,
    )


def _alerted(root: Path) -> list[tuple[str, object]]:
    log = root / "alerts.jsonl"
    lines = log.read_text().splitlines() if log.exists() else []
    return [(alert["what"], alert["event_id"]) for alert in map(json.loads, lines)]


def test_turning_realtime_on_takes_effect_in_a_running_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Realtime turned on in the config: seen once the recheck interval has passed (no reset).

    Within the interval the loaded settings are trusted (no stat per emit);
    after it, the next emit is scored.
    """
    monkeypatch.setattr(realtime, "RECHECK_SECONDS", 0.3)
    root = _frozen_project(tmp_path, realtime=False)
    reset()
    assert _slow_run(root) is not None
    (root / ".kittify" / "telemetry.yaml").write_text(
        "alerts:\n  realtime: true\n  log: alerts.jsonl\n  sinks: []\n"
    )
    assert _slow_run(root) is not None
    assert _alerted(root) == []
    time.sleep(0.35)
    record = _slow_run(root)
    assert record is not None
    assert _alerted(root) == [("duration", record["event_id"])]


def test_a_week_frozen_later_is_used_by_a_running_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Realtime on, nothing frozen: no check; a week frozen later scores the next emit after it."""
    monkeypatch.setattr(realtime, "RECHECK_SECONDS", 0.0)
    root = _frozen_project(tmp_path, realtime=True)
    frozen = root / ".kittify" / "baselines" / "2025-W45.json"
    kept = frozen.read_bytes()
    frozen.unlink()
    reset()
    assert _slow_run(root) is not None
    assert _alerted(root) == []
    frozen.write_bytes(kept)
    record = _slow_run(root)
    assert record is not None
    assert _alerted(root) == [("duration", record["event_id"])]


def test_an_emit_without_realtime_imports_no_analytics(tmp_path: Path) -> None:
    """A fresh process emitting into a project without the setting loads no baseline code.

    The check watches the config file and the baselines folder; naming that
    folder must not import the baseline module (and ``statistics``), which
    would add to every emit's start-up.
    """
    feature = tmp_path / "kitty-specs" / "001-alpha"
    feature.mkdir(parents=True)
    script = (
        "import sys\n"
        "from spec_kitty_telemetry.emit import emit_execution_record\n"
        f"record = emit_execution_record({str(feature)!r}, '001-alpha', None, 'claude',"
        " 'implementer', environment={})\n"
        "assert record is not None\n"
        "heavy = ('statistics', 'spec_kitty_telemetry.analytics.baseline',"
        " 'spec_kitty_telemetry.analytics.runs')\n"
        "print([name for name in heavy if name in sys.modules])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
