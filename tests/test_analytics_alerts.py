"""Alerts: dedupe within a cooldown, once-per-period keys, and every sink (real files, server)."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from spec_kitty_telemetry.analytics.alerts import Alert, raise_alerts, wait_for_sinks
from spec_kitty_telemetry.analytics.settings import alert_settings
from spec_kitty_telemetry.cli import telemetry_app
from spec_kitty_telemetry.errors import ConfigError

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)


def _alert(key: str = "anomaly:duration:claude/implementer", once: bool = False) -> Alert:
    return Alert(key, "claude/implementer", "duration", "slow run", NOW.isoformat(), once=once)


def test_same_key_is_not_raised_again_within_the_cooldown(tmp_path: Path) -> None:
    """Cooldown 1h: raised at 12:00, not at 12:59, again at 13:00; the log holds both."""
    settings = alert_settings({"cooldown": "1h", "sinks": [], "log": "a.jsonl"})
    assert raise_alerts(tmp_path, [_alert()], settings, now=NOW) == [_alert()]
    assert raise_alerts(tmp_path, [_alert()], settings, now=NOW + timedelta(minutes=59)) == []
    assert raise_alerts(tmp_path, [_alert()], settings, now=NOW + timedelta(hours=1)) == [_alert()]
    lines = (tmp_path / "a.jsonl").read_text().splitlines()
    assert [json.loads(line)["raised_at"] for line in lines] == [
        "2026-11-30T12:00:00+00:00",
        "2026-11-30T13:00:00+00:00",
    ]


def test_once_alerts_are_never_raised_twice(tmp_path: Path) -> None:
    """A budget crossing (once) is not raised again even after the cooldown."""
    settings = alert_settings({"cooldown": "1h", "sinks": [], "log": "a.jsonl"})
    alert = _alert("budget:team:2026-11-01T00:00:00+00:00:red", once=True)
    assert raise_alerts(tmp_path, [alert], settings, now=NOW) == [alert]
    assert raise_alerts(tmp_path, [alert], settings, now=NOW + timedelta(days=3)) == []


def test_stderr_and_jsonl_sinks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The stderr sink prints one line; the JSONL sink appends the alert record."""
    settings = alert_settings(
        {"sinks": ["stderr", {"jsonl": "out/alerts.jsonl"}], "log": "a.jsonl"}
    )
    raise_alerts(tmp_path, [_alert()], settings, now=NOW)
    assert capsys.readouterr().err == "telemetry alert [warning] duration: slow run\n"
    record = json.loads((tmp_path / "out" / "alerts.jsonl").read_text())
    assert record["key"] == "anomaly:duration:claude/implementer"


@pytest.fixture
def server() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A real HTTP server on localhost collecting the JSON bodies posted to it."""
    bodies: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    httpd = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}/hook", bodies
    httpd.shutdown()


def test_webhook_and_slack_bodies(tmp_path: Path, server: tuple[str, list[dict[str, Any]]]) -> None:
    """The generic webhook gets the alert record; the Slack form gets {"text": line}."""
    url, bodies = server
    settings = alert_settings({"sinks": [{"webhook": url}, {"slack": url}], "log": "a.jsonl"})
    raise_alerts(tmp_path, [_alert()], settings, now=NOW)
    wait_for_sinks(5)
    assert len(bodies) == 2
    generic = next(b for b in bodies if "key" in b)
    slack = next(b for b in bodies if "text" in b)
    assert generic["why"] == "slow run"
    assert slack == {"text": "telemetry alert [warning] duration: slow run"}


def test_unreachable_webhook_never_raises_or_blocks(tmp_path: Path) -> None:
    """A webhook nobody listens on: raise_alerts returns at once and logs the alert anyway."""
    settings = alert_settings(
        {"sinks": [{"webhook": "http://127.0.0.1:9/x", "timeout": 0.5}], "log": "a.jsonl"}
    )
    started = datetime.now(UTC)
    assert raise_alerts(tmp_path, [_alert()], settings, now=NOW) == [_alert()]
    assert datetime.now(UTC) - started < timedelta(seconds=0.5)
    wait_for_sinks(2)
    assert (tmp_path / "a.jsonl").exists()


def test_command_sink_gets_the_alert_on_stdin(tmp_path: Path) -> None:
    """The command sink runs the configured command with the alert as JSON on its stdin."""
    out = tmp_path / "got.json"
    script = f"import sys; open({str(out)!r}, 'w').write(sys.stdin.read())"
    settings = alert_settings(
        {"sinks": [{"command": [sys.executable, "-c", script]}], "log": "a.jsonl"}
    )
    raise_alerts(tmp_path, [_alert()], settings, now=NOW)
    wait_for_sinks(10)
    assert json.loads(out.read_text())["what"] == "duration"


def test_bad_alert_settings_name_the_key() -> None:
    """An unknown sink or a bad cooldown is a ConfigError naming the key."""
    with pytest.raises(ConfigError, match=r"alerts\.sinks\[0\]: expected stderr or a mapping"):
        alert_settings({"sinks": ["pager"]})
    with pytest.raises(ConfigError, match=r"alerts\.cooldown: expected a span like 30m"):
        alert_settings({"cooldown": "soon"})
    with pytest.raises(ConfigError, match=r"alerts\.realtime: expected true or false"):
        alert_settings({"realtime": "yes"})


def test_alerts_command_lists_the_log(tmp_path: Path) -> None:
    """`alerts` prints each logged alert on one line; --json gives {"alerts": [...]}."""
    (tmp_path / ".kittify").mkdir()
    raise_alerts(tmp_path, [_alert()], alert_settings({"sinks": []}), now=NOW)
    result = CliRunner().invoke(telemetry_app, ["alerts", "--repo", str(tmp_path)])
    assert result.exit_code == 0
    assert result.stdout == "2026-11-30T12:00:00+00:00  warning  duration: slow run\n"
    result = CliRunner().invoke(telemetry_app, ["alerts", "--json", "--repo", str(tmp_path)])
    assert json.loads(result.stdout)["alerts"][0]["key"] == "anomaly:duration:claude/implementer"
    result = CliRunner().invoke(
        telemetry_app, ["alerts", "--since", "2026-12-01", "--repo", str(tmp_path)]
    )
    assert result.stdout == "No alerts.\n"


def test_init_ignores_the_alert_log_and_keeps_baselines_shared(tmp_path: Path) -> None:
    """After `init`, git ignores .kittify/alerts.jsonl (machine-local) but not a frozen baseline."""
    import subprocess

    from spec_kitty_telemetry.repo_setup import init_repository

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    init_repository(tmp_path)
    (tmp_path / ".kittify" / "alerts.jsonl").write_text("{}\n")
    (tmp_path / ".kittify" / "baselines").mkdir()
    (tmp_path / ".kittify" / "baselines" / "2026-W47.json").write_text("{}\n")

    def ignored(path: str) -> bool:
        check = subprocess.run(["git", "check-ignore", "-q", path], cwd=tmp_path, check=False)
        return check.returncode == 0

    assert ignored(".kittify/alerts.jsonl")
    assert not ignored(".kittify/baselines/2026-W47.json")
