"""``export`` (issue 12): CSV a spreadsheet opens safely, JSONL as logged, OTLP to a collector.

Projects are written by the store; the command runs as a real subprocess; the
OTLP collector is a real HTTP server on loopback.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers import other, run_event, spec_kitty, write_project
from http_receiver import Receiver
from spec_kitty_telemetry.exports import EVENT_COLUMNS, write_csv

#: The documented CSV columns (README "Exports"); changing them breaks users' sheets.
DOCUMENTED_COLUMNS = [
    "event_id",
    "timestamp",
    "feature",
    "event_type",
    "node_id",
    "lamport_clock",
    "causation_id",
    "wp_id",
    "agent",
    "role",
    "model",
    "success",
    "exit_code",
    "error",
    "duration_ms",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "cost_usd",
    "from_phase",
    "to_phase",
    "actor",
    "counted_cost_usd",
    "cost_estimated",
    "ci",
    "ci_build_id",
    "git_branch",
    "git_commit",
    "phases",
    "other_payload",
]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A feature with a hostile model name and error text, a transition, a normal run."""
    return write_project(
        tmp_path,
        other("001-alpha", from_phase=None, to_phase="implement", wp_id="WP01"),
        run_event(
            "001-alpha",
            when="2025-11-03T10:00:00",
            agent="claude",
            model='=HYPERLINK("http://x","y")',
            cost_usd=0.25,
            input_tokens=1000,
            output_tokens=50,
            cache_read_tokens=400,
            cache_write_tokens=100,
            success=False,
            exit_code=-1,
            error='+cmd, with "quotes"\nand a second line — ünïcode',
            duration_ms=1500,
            ticket="@SUM(A1)",
        ),
        run_event(
            "001-alpha",
            when="2025-11-03T11:00:00",
            agent="codex",
            model="gpt-5-codex",
            cost_usd=1.5,
            duration_ms=2000,
        ),
    )


def _export(*args: str, cwd: Path) -> bytes:
    done = spec_kitty("agent", "telemetry", "export", *args, cwd=cwd)
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout


def test_csv_header_is_the_documented_columns(project: Path) -> None:
    """The CSV header is exactly the documented, stable column list."""
    assert list(EVENT_COLUMNS) == DOCUMENTED_COLUMNS
    first = _export(cwd=project).split(b"\r\n", 1)[0].decode()
    assert first.split(",") == DOCUMENTED_COLUMNS


def test_csv_is_rfc4180_and_formula_safe(project: Path) -> None:
    """Rows end in CRLF; commas, quotes and line breaks survive; formulas are shown as text."""
    data = _export(cwd=project)
    assert data.endswith(b"\r\n")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")))
    assert [r["event_type"] for r in rows] == [
        "PhaseTransition",
        "ExecutionEvent",
        "ExecutionEvent",
    ]
    hostile = rows[1]
    assert hostile["model"] == '\'=HYPERLINK("http://x","y")'
    assert hostile["error"] == '\'+cmd, with "quotes"\nand a second line — ünïcode'
    assert hostile["exit_code"] == "-1"  # a number, never quoted as text
    assert hostile["success"] == "false"
    assert hostile["cost_usd"] == "0.25"
    assert hostile["counted_cost_usd"] == "0.25"
    assert hostile["cost_estimated"] == "false"
    assert json.loads(hostile["other_payload"]) == {"ticket": "@SUM(A1)"}  # kept, not lost
    assert hostile["other_payload"].startswith("{")
    assert rows[0]["to_phase"] == "implement"
    assert rows[0]["counted_cost_usd"] == ""


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@A1", "'@A1"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("a=b", "a=b"),
        (-1, "-1"),
        (2.5, "2.5"),
        (None, ""),
        (True, "true"),
    ],
)
def test_formula_cells(value: object, cell: str) -> None:
    """Text starting like a formula gets a leading quote; numbers and other text do not."""
    out = io.StringIO(newline="")
    write_csv([{"c": value}], ["c"], out)
    assert list(csv.reader(io.StringIO(out.getvalue(), newline=""))) == [["c"], [cell]]


def test_jsonl_lines_are_the_logged_lines(project: Path) -> None:
    """export --format jsonl writes each event byte for byte as the log holds it."""
    log = (project / "kitty-specs" / "001-alpha" / "execution.events.jsonl").read_bytes()
    assert _export("--format", "jsonl", cwd=project) == log
    assert (
        _export("--format", "jsonl", "--agent", "codex", cwd=project)
        == log.splitlines(keepends=True)[2]
    )


def test_export_to_file(project: Path) -> None:
    """-o writes the file and says how many events on stderr."""
    target = project / "out.csv"
    done = spec_kitty("agent", "telemetry", "export", "-o", str(target), cwd=project)
    assert done.returncode == 0
    assert done.stdout == b""
    assert done.stderr.decode().strip() == f"Wrote 3 events to {target}"
    assert len(list(csv.reader(target.open(newline="")))) == 4


def test_cost_csv_matches_cost_json(project: Path) -> None:
    """cost --csv has one row per group and TOTAL, with the figures of cost --json."""
    data = spec_kitty("agent", "telemetry", "cost", "--csv", cwd=project).stdout.decode()
    document = json.loads(spec_kitty("agent", "telemetry", "cost", "--json", cwd=project).stdout)
    rows = list(csv.DictReader(io.StringIO(data, newline="")))
    assert [r["group_key"] for r in rows] == [
        *(s["group_key"] for s in document["summaries"]),
        "TOTAL",
    ]
    assert [float(r["total_cost_usd"]) for r in rows] == [1.5, 0.25, 1.75]


def test_unknown_format_is_an_error(project: Path) -> None:
    """An unknown --format exits 2 naming the flag."""
    done = spec_kitty("agent", "telemetry", "export", "--format", "xlsx", cwd=project)
    assert done.returncode == 2
    assert done.stderr.decode().strip() == "Error: --format 'xlsx': choose csv or jsonl"


@pytest.fixture
def collector() -> Iterator[Receiver]:
    """A real OTLP/HTTP receiver on loopback."""
    receiver = Receiver().start()
    yield receiver
    receiver.stop()


def _attributes(record: dict[str, object]) -> dict[str, object]:
    out = {}
    for pair in record["attributes"]:  # type: ignore[attr-defined]
        ((_kind, value),) = pair["value"].items()
        out[pair["key"]] = value
    return out


def test_otlp_export_sends_genai_log_records(project: Path, collector: Receiver) -> None:
    """--otlp posts OTLP JSON to /v1/logs with the GenAI attributes and our namespaced cost."""
    done = spec_kitty(
        "agent",
        "telemetry",
        "export",
        "--otlp",
        collector.url,
        "--otlp-header",
        "x-team=ai",
        "--json",
        cwd=project,
    )
    assert done.returncode == 0, done.stderr.decode()
    assert json.loads(done.stdout) == {
        "records": 3,
        "requests": 1,
        "newest": "2025-11-03T11:00:00+00:00",
    }
    (request,) = collector.accepted()
    assert request.path == "/v1/logs"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-team"] == "ai"
    body = json.loads(request.body)
    (resource,) = body["resourceLogs"]
    assert {"key": "service.name", "value": {"stringValue": "spec-kitty-telemetry"}} in resource[
        "resource"
    ]["attributes"]
    records = resource["scopeLogs"][0]["logRecords"]
    hostile = _attributes(records[1])
    assert hostile["gen_ai.request.model"] == '=HYPERLINK("http://x","y")'
    assert hostile["gen_ai.usage.input_tokens"] == "1000"  # the whole input, cache included
    assert hostile["gen_ai.usage.cache_read.input_tokens"] == "400"
    assert hostile["gen_ai.usage.cache_creation.input_tokens"] == "100"
    assert hostile["gen_ai.usage.output_tokens"] == "50"
    assert hostile["spec_kitty.cost_usd"] == 0.25
    assert hostile["spec_kitty.success"] is False
    assert records[1]["severityText"] == "ERROR"
    assert records[1]["timeUnixNano"] == "1762164000000000000"
    ids = [_attributes(r)["spec_kitty.event_id"] for r in records]
    logged = [
        json.loads(line)["event_id"]
        for line in _export("--format", "jsonl", cwd=project).splitlines()
    ]
    assert ids == logged  # the idempotency key a receiver deduplicates by


def test_otlp_since_exports_only_newer(project: Path, collector: Receiver) -> None:
    """--since with --otlp sends only the events from then on (incremental export)."""
    done = spec_kitty(
        "agent",
        "telemetry",
        "export",
        "--otlp",
        collector.url,
        "--since",
        "2025-11-03T10:30:00",
        cwd=project,
    )
    assert done.returncode == 0
    assert done.stdout.decode().strip() == f"Sent 1 events in 1 requests to {collector.url}"


def test_otlp_refusal_and_unreachable_are_one_line_errors(
    project: Path, collector: Receiver
) -> None:
    """A 500, or no collector listening, exits 2 with one line; a bad URL names --otlp."""
    collector.status = 500
    done = spec_kitty("agent", "telemetry", "export", "--otlp", collector.url, cwd=project)
    assert done.returncode == 2
    assert done.stderr.decode().strip() == (
        f"Error: {collector.url}/v1/logs answered HTTP 500 Internal Server Error"
    )
    url = collector.url
    collector.stop()
    done = spec_kitty("agent", "telemetry", "export", "--otlp", url, "--timeout", "2", cwd=project)
    assert done.returncode == 2
    assert done.stderr.decode().startswith(f"Error: {url}/v1/logs could not be reached")
    assert len(done.stderr.decode().strip().splitlines()) == 1
    done = spec_kitty("agent", "telemetry", "export", "--otlp", "ftp://x", cwd=project)
    assert done.returncode == 2
    assert (
        done.stderr.decode().strip() == "Error: --otlp: 'ftp://x' is not an http:// or https:// URL"
    )
