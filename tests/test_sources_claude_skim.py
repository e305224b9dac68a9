"""The importers' fast path reads what the full parse reads (Claude Code, Codex, Gemini).

Each ``read_sessions`` skips, unparsed, lines holding none of its markers
that are shaped like a JSON object (``_common.skimmer``): ``"usage"`` for
Claude Code, ``"session_meta"``/``"turn_context"``/``"token_count"`` for
Codex, tokens that are not null or session metadata for Gemini CLI. These
tests hold it to the full parse (``skim=False``): the same pieces,
copies, ``<synthetic>`` lines and line counts, hence the same import;
the only lines it may leave unnamed as malformed are well-shaped ones
without a marker.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hypothesis import given, settings, strategies as st

from sources_helpers import new_project, stage
from spec_kitty_telemetry.sources import codex, gemini
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
    _only_unmarked_left_unnamed(skimmed, full, (b'"usage"',))


def _only_unmarked_left_unnamed(
    skimmed: SourceRead, full: SourceRead, markers: tuple[bytes, ...]
) -> None:
    """The malformed lines only the full parse names are well-shaped and hold no marker."""
    assert set(skimmed.malformed) <= set(full.malformed)
    for problem in set(full.malformed) - set(skimmed.malformed):
        assert problem.line is not None
        text = (problem.path.read_bytes().split(b"\n"))[problem.line - 1]
        assert not any(marker in text for marker in markers)
        assert text.startswith(b"{")
        assert text.rstrip(b"\r").endswith(b"}")


_CODEX_MARKERS = (b'"token_count"', b'"turn_context"', b'"session_meta"')
_CODEX_COUNT = st.one_of(st.integers(0, 9000), st.integers(-2, -1), st.none(), st.just("7"))


@st.composite
def _codex_line(draw: st.DrawFn) -> str:
    """One rollout line: metadata, a model switch, a token count, chatter, or something broken."""
    kind = draw(
        st.sampled_from(
            ["meta", "context", "count", "count", "count", "item", "event", "torn", "odd", "blank"]
        )
    )
    stamp = draw(st.sampled_from(["2026-11-30T10:00:05Z", "2026-11-30T11:30:00Z", "nope"]))
    if kind == "blank":
        return draw(st.sampled_from(["", " ", "\r"]))
    if kind == "odd":
        return draw(st.sampled_from(["[]", '"token_count"', "{}", '{"payload": 1}', "{}\r"]))
    if kind == "meta":
        payload: Any = {
            "id": draw(st.sampled_from(["sess-1", "sess-2", ""])),
            "cwd": "/repo",
            "git": {"branch": draw(st.sampled_from(["001-login-WP01", "main"]))},
        }
        line = {"timestamp": stamp, "type": "session_meta", "payload": payload}
    elif kind == "context":
        payload = {"model": draw(st.sampled_from(["gpt-5-codex", "o3", 5])), "cwd": "/repo"}
        line = {"timestamp": stamp, "type": "turn_context", "payload": payload}
    elif kind in ("count", "torn"):
        names = ["input_tokens", "cached_input_tokens", "output_tokens", "reasoning_output_tokens"]
        total = {name: draw(_CODEX_COUNT) for name in names}
        info = draw(
            st.one_of(
                st.none(),
                st.just({"total_token_usage": total, "last_token_usage": total}),
                st.just({"last_token_usage": total}),
            )
        )
        line = {
            "timestamp": stamp,
            "type": "event_msg",
            "payload": {"type": "token_count", "info": info},
        }
    elif kind == "item":
        text = draw(st.text(alphabet='token_count"{}\\ xy', max_size=30))
        line = {
            "timestamp": stamp,
            "type": "response_item",
            "payload": {"type": "message", "content": text},
        }
    else:
        line = {"timestamp": stamp, "type": "event_msg", "payload": {"type": "agent_message"}}
    text = json.dumps(line, separators=draw(st.sampled_from([(",", ":"), (", ", ": ")])))
    if kind == "torn":
        return text[: draw(st.integers(1, len(text) - 1))]
    return text


@settings(max_examples=150, deadline=None)
@given(rollouts=st.lists(st.lists(_codex_line(), max_size=12), min_size=1, max_size=3))
def test_random_rollouts_read_the_same_with_and_without_the_fast_path(
    tmp_path_factory: Any, rollouts: list[list[str]]
) -> None:
    """Any mix of Codex metadata, counts (repeated, null, bad) and chatter reads the same.

    Codex's reader skips lines without its three markers; its pieces depend
    on the order of what it parses (totals are differences), so this holds
    the skim to the full parse over random rollouts too.
    """
    folder = tmp_path_factory.mktemp("codex")
    for number, lines in enumerate(rollouts):
        (folder / f"rollout-{number}.jsonl").write_text("".join(f"{line}\n" for line in lines))
    files = codex.find_session_files([folder])
    skimmed, full = codex.read_sessions(files), codex.read_sessions(files, skim=False)
    _same_reads(skimmed, full)
    _only_unmarked_left_unnamed(skimmed, full, _CODEX_MARKERS)


def test_codex_fixtures_read_the_same_with_and_without_the_fast_path(tmp_path: Path) -> None:
    """Over the Codex fixtures the skim and the full parse give the same pieces and problems."""
    root = new_project(tmp_path / "project", "001-login")
    files = codex.find_session_files([stage("codex", tmp_path / "codex", root)])
    skimmed, full = codex.read_sessions(files), codex.read_sessions(files, skim=False)
    _same_reads(skimmed, full)
    assert skimmed.malformed == full.malformed
    assert len(skimmed.pieces) >= 4  # so the comparison is not empty


_GEMINI_MARKERS = (b'"messages"', b'"sessionId"', b'"projectHash"', b'"kind"')
_GEMINI_TOKENS = re.compile(rb'"tokens"\s*:\s*[^n\s]')
_GEMINI_COUNT = st.one_of(st.integers(0, 9000), st.integers(-2, -1), st.none(), st.just("7"))


@st.composite
def _gemini_line(draw: st.DrawFn) -> str:
    """One Gemini CLI chat line: metadata, a prompt, a reply (before or with tokens), or broken."""
    kind = draw(
        st.sampled_from(
            ["meta", "user", "reply", "reply", "reply", "set", "snapshot", "torn", "odd", "blank"]
        )
    )
    if kind == "blank":
        return draw(st.sampled_from(["", " ", "\r"]))
    if kind == "odd":
        return draw(st.sampled_from(["[]", '"tokens"', "{}", '{"tokens": 1}', "{}\r"]))
    stamp = draw(st.sampled_from(["2026-11-30T10:00:05Z", "2026-11-30T11:30:00Z", "nope"]))
    tokens = draw(
        st.one_of(
            st.none(),
            st.fixed_dictionaries(
                {name: _GEMINI_COUNT for name in ("input", "output", "cached", "thoughts", "tool")}
            ),
        )
    )
    reply: dict[str, Any] = {
        "id": draw(st.sampled_from(["r0", "r1", "r2", ""])),
        "timestamp": stamp,
        "type": draw(st.sampled_from(["gemini", "gemini", "user"])),
        "model": "gemini-2.5-pro",
        "content": draw(st.text(alphabet='tokens"{}:\\ nx', max_size=20)),
        "tokens": tokens,
    }
    line: Any
    if kind == "meta":
        line = {
            "sessionId": draw(st.sampled_from(["g1", "g2"])),
            "projectHash": "abc",
            "kind": draw(st.sampled_from(["main", "subagent"])),
        }
    elif kind == "user":
        line = {"id": "u1", "timestamp": stamp, "type": "user", "content": reply["content"]}
    elif kind == "set":
        line = {"$set": draw(st.sampled_from([{"lastUpdated": stamp}, {"sessionId": "g3"}]))}
    elif kind == "snapshot":
        line = {"$snapshot": True, "messages": [reply]}
    else:
        line = reply
        if draw(st.booleans()):
            line = {**reply, "toolCalls": [{"id": "t1", "result": reply["content"]}]}
    text = json.dumps(line, separators=draw(st.sampled_from([(",", ":"), (", ", ": ")])))
    if kind == "torn":
        return text[: draw(st.integers(1, len(text) - 1))]
    return text


@settings(max_examples=150, deadline=None)
@given(chats=st.lists(st.lists(_gemini_line(), max_size=12), min_size=1, max_size=3))
def test_random_gemini_chats_read_the_same_with_and_without_the_fast_path(
    tmp_path_factory: Any, chats: list[list[str]]
) -> None:
    """Any mix of Gemini metadata, prompts, replies before and with tokens, copies reads the same.

    Gemini's reader skips well-shaped lines whose tokens are null or absent
    and that hold no session metadata, whatever the spacing (``"tokens": {``
    is parsed as surely as ``"tokens":{``): the same pieces and copies as
    the full parse; the only malformed lines it leaves unnamed are such lines,
    and torn copies of a reply already counted, which it counts as copies
    without parsing them (``gemini._copies_passed``).
    """
    folder = tmp_path_factory.mktemp("gemini") / "abc" / "chats"
    folder.mkdir(parents=True)
    for number, lines in enumerate(chats):
        (folder / f"session-{number}.jsonl").write_text("".join(f"{line}\n" for line in lines))
    files = gemini.find_session_files([folder])
    skimmed, full = gemini.read_sessions(files), gemini.read_sessions(files, skim=False)
    assert skimmed.pieces == full.pieces
    assert (skimmed.files, skimmed.lines, skimmed.synthetic) == (
        full.files,
        full.lines,
        full.synthetic,
    )
    assert set(skimmed.malformed) <= set(full.malformed)
    torn_copies = 0
    for problem in set(full.malformed) - set(skimmed.malformed):
        assert problem.line is not None
        text = (problem.path.read_bytes().split(b"\n"))[problem.line - 1]
        if text.startswith(b'{"id":"r') and b'"type":"gemini"' in text:
            torn_copies += 1  # a torn copy of a counted reply: counted as a copy, unparsed
            continue
        assert not any(marker in text for marker in _GEMINI_MARKERS)
        assert _GEMINI_TOKENS.search(text) is None
        assert text.startswith(b"{")
        assert text.rstrip(b"\r").endswith(b"}")
    assert skimmed.duplicates == full.duplicates + torn_copies


_FIGURE = st.one_of(
    st.integers(-3, 2**64), st.booleans(), st.none(), st.just("12"), st.floats(0, 9)
)


@given(st.lists(st.tuples(*[_FIGURE] * 5), min_size=1, max_size=5))
def test_streamed_copies_merge_to_the_largest_int_of_each_figure_else_the_first_reported(
    copies: list[tuple[Any, ...]],
) -> None:
    """Merging copies in order keeps, per figure, the largest int, else the first non-null value."""
    from spec_kitty_telemetry.sources.claude_code import _larger

    merged = copies[0]
    for copy in copies[1:]:
        merged = _larger(merged, copy)
    for index, got in enumerate(merged):
        column = [copy[index] for copy in copies]
        ints = [value for value in column if type(value) is int]
        if ints:
            assert type(got) is int
            assert got == max(ints)
        else:
            assert got is next((value for value in column if value is not None), None)


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["s1", "s2"]),
            st.sampled_from(["session", "subagent"]),
            st.sampled_from(["m1", "m2"]),
            st.sampled_from(["", "-WP01"]),
            st.integers(0, 3 * 3600 - 1),
            st.integers(0, 50),
        ),
        max_size=40,
    )
)
def test_pieces_make_one_event_per_session_role_model_folder_branch_and_hour(
    tmp_path_factory: Any, drawn: list[tuple[str, str, str, str, int, int]]
) -> None:
    """In any order, pieces sum into one event per (session, role, model, folder, branch, hour)."""
    from datetime import timedelta

    from spec_kitty_telemetry.sources._common import Piece

    root = new_project(tmp_path_factory.mktemp("pieces") / "project", "001-login")
    start = datetime(2026, 11, 30, 8, tzinfo=UTC)
    read = SourceRead()
    expected: dict[tuple[str, ...], int] = {}
    for session, role, model, suffix, second, tokens in drawn:
        cwd = str(root) + (f"/.worktrees/001-login{suffix}" if suffix else "")
        branch = f"001-login{suffix}" if suffix else "main"
        at = start + timedelta(seconds=second)
        read.pieces.append(
            Piece(at, session, model, (tokens, 1, 0, 0, None), cwd, branch, None, role)
        )
        key = (session, role, model, cwd, branch, str(at.hour))
        expected[key] = expected.get(key, 0) + tokens
    summary = import_pieces(root, "claude-code", "claude", read, dry_run=True, now=LATER)
    assert summary.events_new == len(expected)
    assert summary.responses == len(drawn)
    assert summary.totals["input_tokens"] == sum(expected.values())
