"""No secret in the record: credentials in free text are replaced before a line is written.

The keys here are fakes built in the test with each provider's shape (prefix,
alphabet, length); none is a real credential.
"""

from __future__ import annotations

import io
import json
import logging
import secrets
import string
from pathlib import Path

import pytest
from hypothesis import given, strategies as st

from helpers import agent, log_records, new_project, spec_kitty
from spec_kitty_telemetry import emit_record, emit_transition
from spec_kitty_telemetry.integration import InvocationResult, record_invocation, track_invocation
from spec_kitty_telemetry.redact import find_secrets, redact, redact_payload
from spec_kitty_telemetry.runner import run_agent

ALNUM = string.ascii_letters + string.digits
UPPER = string.ascii_uppercase + string.digits


def rand(n: int, alphabet: str = ALNUM) -> str:
    """Random text with at least one digit, upper and lower letter when the alphabet has them."""
    while True:
        text = "".join(secrets.choice(alphabet) for _ in range(n))
        kinds = [set(text) & set(group) for group in (string.digits, *_letters(alphabet))]
        if all(kinds):
            return text


def _letters(alphabet: str) -> list[str]:
    groups = [string.ascii_uppercase, string.ascii_lowercase]
    return [g for g in groups if set(g) & set(alphabet)]


def fake_keys() -> dict[str, str]:
    """One credential of each shape the scrubber knows, built at random."""
    return {
        "anthropic": f"sk-ant-api03-{rand(93)}-{rand(6)}AA",
        "openai-project": f"sk-proj-{rand(74)}T3BlbkFJ{rand(74)}",
        "openai-legacy": f"sk-{rand(48)}",
        "google": f"AIza{rand(35)}",
        "github-classic": f"ghp_{rand(36)}",
        "github-oauth": f"gho_{rand(36)}",
        "github-server": f"ghs_{rand(36)}",
        "github-fine-grained": f"github_pat_11{rand(20, UPPER)}_{rand(59)}",
        "aws": f"AKIA{rand(16, UPPER)}",
        "slack": f"xoxb-{rand(12, string.digits)}-{rand(13, string.digits)}-{rand(24)}",
    }


KINDS = {
    "anthropic": "anthropic-key",
    "openai-project": "openai-key",
    "openai-legacy": "openai-key",
    "google": "google-api-key",
    "github-classic": "github-token",
    "github-oauth": "github-token",
    "github-server": "github-token",
    "github-fine-grained": "github-token",
    "aws": "aws-access-key",
    "slack": "slack-token",
}


@pytest.mark.parametrize("name", sorted(KINDS))
def test_each_provider_key_is_replaced_by_a_marker_naming_its_kind(name: str):
    """A key inside an error message becomes [REDACTED:<kind>]; the words around it stay."""
    key = fake_keys()[name]
    text = f"request failed (key {key}): 401 Unauthorized"
    assert redact(text) == f"request failed (key [REDACTED:{KINDS[name]}]): 401 Unauthorized"
    [(kind, (start, end))] = find_secrets(text)
    assert kind == KINDS[name]
    assert text[start:end] == key


def test_authorization_header_keeps_the_header_and_hides_the_value():
    """`Authorization: Bearer <token>` keeps its name and scheme; the token goes."""
    token = f"eyJ{rand(30)}.{rand(40)}.{rand(20)}"
    text = f'curl -H "Authorization: Bearer {token}" https://api.example.com'
    assert redact(text) == (
        'curl -H "Authorization: Bearer [REDACTED:bearer-token]" https://api.example.com'
    )
    assert redact(f"sent bearer {token}") == "sent bearer [REDACTED:bearer-token]"


def test_private_key_blocks_are_replaced_whole_even_when_cut_off():
    """A PEM private key block is one marker, also when the text ends inside it."""
    body = "\n".join(rand(64) for _ in range(4))
    block = f"-----BEGIN OPENSSH PRIVATE KEY-----\n{body}\n-----END OPENSSH PRIVATE KEY-----"
    assert redact(f"read:\n{block}\ndone") == "read:\n[REDACTED:private-key]\ndone"
    cut = f"-----BEGIN RSA PRIVATE KEY-----\n{body[:100]}"
    assert redact(f"stderr: {cut}") == "stderr: [REDACTED:private-key]"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("export GITHUB_TOKEN=abc123def", "export GITHUB_TOKEN=[REDACTED:secret]"),
        ("password: hunter2 was refused", "password: [REDACTED:secret] was refused"),
        ('{"api_key": "x y z", "n": 1}', '{"api_key": "[REDACTED:secret]", "n": 1}'),
        ("DB_PASSWORD='p@ss word'", "DB_PASSWORD='[REDACTED:secret]'"),
        ("--client-secret=s3cr3t&x=1", "--client-secret=[REDACTED:secret]&x=1"),
        ("aws_secret_access_key = wJalrXUtnFEMI", "aws_secret_access_key = [REDACTED:secret]"),
    ],
)
def test_values_of_keys_naming_a_secret_are_replaced(text: str, expected: str):
    """`key=value` / `key: value` whose key names a secret: the value goes, the key stays."""
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "ef02a8ce1032df5a04c4522f2a98e4e06920dc71",
        "claude-sonnet-4-5-20250929",
        "models/gemini-2.5-pro",
        "gpt-5-codex",
        "001-event-store-foundation",
        "/home/ana/src/app/kitty-specs/001-login/execution.events.jsonl",
        "max_tokens: 4096 exceeded; input_tokens=12000 output_tokens=800",
        "cache_read_tokens + cache_write_tokens (5) exceed input_tokens (3)",
        "pip install scikit-learn; ls /tmp/sk-learn-cache-directory-for-tests",
        "task-ant-colony-simulation-benchmark",
        "the bearer of this message",
        "Traceback (most recent call last): KeyError: 'token'",
        "exit 3 after 41200 ms on branch feature/asia-rollout",
    ],
)
def test_ids_hashes_models_slugs_and_paths_are_left_alone(text: str):
    """Texts that only resemble credentials (or name them without a value) do not change."""
    assert redact(text) == text
    assert find_secrets(text) == []


@given(st.integers(min_value=0, max_value=2**160 - 1))
def test_commit_hashes_never_change(value: int):
    """Any 40-hex commit hash passes through unchanged."""
    text = f"{value:040x}"
    assert redact(text) == text


CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


@given(
    st.text(alphabet="01234567", min_size=1, max_size=1),
    st.text(CROCKFORD, min_size=25, max_size=25),
)
def test_ulids_never_change(first: str, rest: str):
    """Any ULID (as our ids are) passes through unchanged, alone or in a sentence."""
    ulid = first + rest
    assert redact(ulid) == ulid
    assert redact(f"caused by {ulid}") == f"caused by {ulid}"


@given(st.text(alphabet=ALNUM + " =:_-'\"/.\n", max_size=120))
def test_redacting_twice_changes_nothing_more(text: str):
    """Redaction is idempotent: a redacted text holds nothing left to redact."""
    once = redact(text)
    assert redact(once) == once


def test_payload_strings_are_scrubbed_at_any_depth_but_keys_stay():
    """Nested dicts, lists and tuples: every string value is scrubbed; keys and numbers are not."""
    key = fake_keys()["github-classic"]
    payload = {"a": [key, {"b": (f"x {key}", 3)}], key: None, "n": 1.5}
    assert redact_payload(payload) == {
        "a": ["[REDACTED:github-token]", {"b": ("x [REDACTED:github-token]", 3)}],
        key: None,
        "n": 1.5,
    }


@pytest.fixture
def feature(tmp_path: Path) -> Path:
    return new_project(tmp_path / "project") / "kitty-specs" / "001-x"


def stored_text(feature: Path) -> str:
    return (feature / "execution.events.jsonl").read_text()


def test_cli_emit_error_is_stored_without_the_key(feature: Path):
    """`emit --error` with a key in it: the line on disk has the marker, not the key."""
    key = fake_keys()["anthropic"]
    done = spec_kitty(
        "agent", "telemetry", "emit", "--feature", "001-x", "--role", "implementer",
        "--agent", "claude", "--error", f"401 from api: invalid x-api-key {key}", "--json",
        cwd=feature.parents[1],
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert key not in stored_text(feature)
    [record] = log_records(feature)
    assert record["payload"]["error"] == "401 from api: invalid x-api-key [REDACTED:anthropic-key]"
    assert json.loads(done.stdout)["event"] == record  # what it returns is what it stored


def test_every_recording_path_scrubs_its_free_text(feature: Path):
    """record_invocation extras, track_invocation exceptions, transitions, raw emit_record."""
    keys = fake_keys()
    record_invocation(
        feature,
        "001-x",
        InvocationResult(agent="claude", role="implementer", extra={"notes": [keys["aws"]]}),
    )
    with (
        pytest.raises(RuntimeError),
        track_invocation(feature, "001-x", agent="codex", role="reviewer"),
    ):
        raise RuntimeError(f"auth failed with OPENAI_API_KEY={keys['openai-project']}")
    emit_transition(feature, "001-x", None, "doing", actor=f"bot {keys['slack']}")
    emit_record(feature, "001-x", "Custom", {"text": f"key {keys['google']}"})
    text = stored_text(feature)
    for name in ("aws", "openai-project", "slack", "google"):
        assert keys[name] not in text
    payloads = [r["payload"] for r in log_records(feature)]
    assert payloads[0]["notes"] == ["[REDACTED:aws-access-key]"]
    assert payloads[1]["error"] == "RuntimeError: auth failed with OPENAI_API_KEY=[REDACTED:secret]"
    assert payloads[2]["actor"] == "bot [REDACTED:slack-token]"
    assert payloads[3]["text"] == "key [REDACTED:google-api-key]"


def test_run_wrapper_scrubs_the_agents_own_error_text(feature: Path):
    """An agent's error result quoting a key is recorded with the marker (run wrapper)."""
    key = fake_keys()["github-fine-grained"]
    outcome = run_agent(
        agent("claude", "--output-format", "json", "--fake-is-error", "-p", f"use {key}"),
        feature_dir=feature,
        feature_slug="001-x",
        role="implementer",
        output=io.BytesIO(),
    )
    assert outcome.record is not None
    assert key not in stored_text(feature)
    assert "[REDACTED:github-token]" in outcome.record["payload"]["error"]


def test_envelope_is_never_scrubbed(feature: Path, caplog: pytest.LogCaptureFixture):
    """Ids, aggregate and node names are not free text: kept exactly as given."""
    with caplog.at_level(logging.WARNING):
        record = emit_record(feature, "001-x", "Custom", {}, node_id="token=abc")
    assert record is not None
    assert record["node_id"] == "token=abc"


def test_a_key_cut_by_the_error_preview_leaves_no_fragment(feature: Path):
    """A key straddling the 200-character cut of an agent's error text leaves no piece of it."""
    key = fake_keys()["anthropic"]
    prompt = "x" * (200 - len("Done: ") - 20) + " " + key  # the key starts 20 before the cut
    outcome = run_agent(
        agent("claude", "--output-format", "json", "--fake-is-error", "-p", prompt),
        feature_dir=feature,
        feature_slug="001-x",
        role="implementer",
        output=io.BytesIO(),
    )
    assert outcome.record is not None
    assert key[:12] not in stored_text(feature)
    assert "[REDACTED:" in outcome.record["payload"]["error"]
