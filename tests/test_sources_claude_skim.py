"""The Claude Code reader's fast path reads what the full parse reads.

``read_sessions`` skips, unparsed, lines without ``"usage"`` that are shaped
like a JSON object (``_common.to_parse``). These tests hold it to the full
parse (``skim=False``): the same responses, streamed copies, ``<synthetic>``
lines and line counts, hence the same import; the only lines it may leave
unnamed as malformed are well-shaped ones without the marker.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hypothesis import given, settings, strategies as st

from sources_helpers import new_project, stage
from spec_kitty_telemetry.sources._common import SourceRead, import_pieces
from spec_kitty_telemetry.sources.claude_code import find_session_files, read_sessions

LATER = datetime(2026, 12, 2, tzinfo=UTC)


def _same_reads(skimmed: SourceRead, full: SourceRead) -> None:
    assert skimmed.pieces == full.pieces
    assert (skimmed.files, skimmed.lines, skimmed.duplicates, skimmed.synthetic) == (
        full.files,
        full.lines,
        full.duplicates,
        full.synthetic,
    )
    assert skimmed.unreadable == full.unreadable


def test_fixtures_import_the_same_with_and_without_the_fast_path(tmp_path: Path) -> None:
    """Over the fixtures, the skim and the full parse read and import exactly the same."""
    root = new_project(tmp_path / "project", "001-login")
    files = find_session_files([stage("claude", tmp_path / "claude", root)])
    skimmed, full = read_sessions(files), read_sessions(files, skim=False)
    _same_reads(skimmed, full)
    assert skimmed.malformed == full.malformed
    assert len(skimmed.pieces) == 7  # the fixtures' responses, so the comparison is not empty

    def summary(read: SourceRead) -> dict[str, Any]:
        return import_pieces(root, "claude-code", "claude", read, dry_run=True, now=LATER).to_dict()

    assert summary(skimmed) == summary(full)
    assert summary(skimmed)["events_new"] == 4


_COUNT = st.one_of(
    st.integers(0, 5000),
    st.integers(-3, -1),
    st.booleans(),
    st.none(),
    st.just("12"),
    st.floats(0, 10, allow_nan=False),
)
_USAGE = st.dictionaries(
    st.sampled_from(
        [
            "input_tokens",
            "output_tokens",
            "cache_creation_input_tokens",
            "cache_read_input_tokens",
            "cache_creation",
        ]
    ),
    _COUNT,
).flatmap(
    lambda usage: st.one_of(
        st.just(usage),
        st.fixed_dictionaries(
            {"ephemeral_1h_input_tokens": _COUNT, "ephemeral_5m_input_tokens": _COUNT}
        ).map(lambda split: {**usage, "cache_creation": split}),
    )
)


@st.composite
def _line(draw: st.DrawFn) -> str:
    """One transcript line: a prompt, a response (maybe a streamed copy), or something broken."""
    kind = draw(st.sampled_from(["user", "assistant", "assistant", "torn", "odd", "blank"]))
    turn = draw(st.integers(0, 4))
    base: dict[str, Any] = {
        "sessionId": draw(st.sampled_from(["s1", "s2", ""])),
        "cwd": "/repo",
        "gitBranch": "001-login-WP01",
        "isSidechain": draw(st.booleans()),
        "timestamp": draw(st.sampled_from(["2026-11-30T10:00:05Z", "2026-11-30T11:59:59Z", "x"])),
    }
    if kind == "user":
        text = draw(st.text(alphabet='usage"{}\\ xy', max_size=30))
        return json.dumps({**base, "type": "user", "message": {"role": "user", "content": text}})
    if kind == "blank":
        return draw(st.sampled_from(["", "  ", "\r"]))
    if kind == "odd":
        return draw(st.sampled_from(["[1, 2]", '"usage"', "3", "{}", '{"usage": 1}', "{}\r"]))
    message = {
        "id": draw(st.sampled_from([f"msg_{turn}", "", None])),
        "model": draw(st.sampled_from(["claude-opus-4-5", "<synthetic>", 7])),
        "usage": draw(_USAGE),
    }
    line = json.dumps(
        {**base, "type": "assistant", "requestId": f"req_{turn}", "message": message},
        separators=draw(st.sampled_from([(",", ":"), (", ", ": ")])),
    )
    if kind == "torn":
        return line[: draw(st.integers(1, len(line) - 1))]
    return line


@settings(max_examples=150, deadline=None)
@given(sessions=st.lists(st.lists(_line(), max_size=12), min_size=1, max_size=3))
def test_random_sessions_read_the_same_with_and_without_the_fast_path(
    tmp_path_factory: Any, sessions: list[list[str]]
) -> None:
    """Any mix of prompts, streamed copies, bad counts and torn lines reads the same either way.

    Malformed lines may differ only by lines the skim does not parse: no
    ``"usage"`` in them, starting with ``{`` and ending with ``}``.
    """
    folder = tmp_path_factory.mktemp("claude")
    for number, lines in enumerate(sessions):
        (folder / f"s{number}.jsonl").write_text("".join(f"{line}\n" for line in lines))
    files = find_session_files([folder])
    skimmed, full = read_sessions(files), read_sessions(files, skim=False)
    _same_reads(skimmed, full)
    assert set(skimmed.malformed) <= set(full.malformed)
    for problem in set(full.malformed) - set(skimmed.malformed):
        assert problem.line is not None
        text = (problem.path.read_bytes().split(b"\n"))[problem.line - 1]
        assert b'"usage"' not in text
        assert text.startswith(b"{")
        assert text.rstrip(b"\r").endswith(b"}")
