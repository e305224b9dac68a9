"""Read token usage out of what a coding agent CLI prints about its own run.

Agents report usage in their machine-readable output, each in its own shape
and units. This module turns each shape into the package's convention: token
counts are None when not reported (never 0), ``input_tokens`` is the *total*
input with cache reads and writes as parts of it, and ``reasoning_tokens`` is
part of ``output_tokens``. A part an agent leaves out (no cache fields, no
reasoning count: older CLI versions, models without a cache) counts 0, so a
total it did report is never lost for want of a part; a part it reports with
a value that is not a count makes what depends on it unknown. Formats understood:

* Claude Code ``--output-format json`` and ``stream-json`` (the ``"type":
  "result"`` object; in verbose mode ``json`` prints a JSON array of every
  message, the result last and the ``system``/``init`` message naming the
  model). Anthropic's ``input_tokens`` excludes cache tokens, so
  input = uncached + cache read + cache write. Per-model figures come from
  ``modelUsage`` when present (background models show up only there).
* Codex ``exec --json`` (JSON Lines). ``turn.completed`` usage is summed over
  turns; cached input and reasoning output are already inside the totals.
  ``turn.failed`` fails the run; an ``error`` line (``Reconnecting... 1/5``)
  does only when no ``turn.completed`` follows it, as Codex retries.
* Gemini CLI ``--output-format json`` (``stats.models.<model>.tokens``):
  ``cached`` is inside ``prompt``; ``thoughts`` bill as output; ``tool`` (the
  API's ``toolUsePromptTokenCount``, tool results given back to the model,
  outside ``prompt``: ``total`` is the sum of the four) is input too.

Anything else yields no usage. Output is read incrementally with bounded
memory (see :class:`UsageCollector`), so a wrapper can parse while it passes
bytes through.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Final

import orjson

from .redact import redact
from .usage import Usage, is_count, read_cost, read_count

__all__ = [
    "MAX_DOCUMENT_BYTES",
    "MAX_LINE_BYTES",
    "AgentUsage",
    "ModelUsage",
    "UsageCollector",
    "anthropic_usage",
    "parse_agent_output",
]

#: Longest single output line kept for parsing; longer lines are passed over.
MAX_LINE_BYTES: Final = 8 * 1024 * 1024
#: Largest whole output kept for formats printed as one multi-line JSON document.
MAX_DOCUMENT_BYTES: Final = 8 * 1024 * 1024

_RESULT_PREVIEW = 200

#: Every line that can carry usage holds one of these; output without them is not parsed.
_MARKERS: Final = (b'"type"', b'"stats"')
_MARKER_REACH: Final = max(len(marker) for marker in _MARKERS) - 1


@dataclass(frozen=True)
class ModelUsage(Usage):
    """Usage of one model within an invocation: the fields and rules of :class:`Usage`."""


@dataclass(frozen=True, kw_only=True)
class AgentUsage(Usage):
    """What an agent reported about one invocation: totals, per-model figures, its verdict.

    The totals are the :class:`~spec_kitty_telemetry.usage.Usage` fields.
    ``models`` is empty when the agent gave no per-model figures. ``agent_error``
    is set when the agent's own result says the run failed (``is_error``, an
    error subtype such as ``error_max_turns``, a failed turn) even if its
    process exited 0. A figure the agent printed that is not a count or a cost
    by the usage rules is left out (None), and ``usage_error`` says which and
    why; relations between figures are judged when the invocation is recorded.
    """

    agent: str
    model: str | None = None
    models: Mapping[str, ModelUsage] = field(default_factory=dict)
    agent_error: str | None = None
    num_turns: int | None = None
    usage_error: str | None = None
    #: The agent's own id of the session (Claude Code's ``session_id``, Codex's
    #: ``thread_id``): what an import of the agent's session logs matches on, so
    #: a run is not counted twice.
    session_id: str | None = None

    def models_payload(self) -> dict[str, dict[str, Any]] | None:
        """Return the per-model breakdown as stored in an event payload, or None."""
        if not self.models:
            return None
        return {name: usage.to_dict() for name, usage in self.models.items()}


def parse_agent_output(output: bytes | str) -> AgentUsage | None:
    """Return the usage an agent reported in ``output``, or None if none is recognised."""
    collector = UsageCollector()
    collector.feed(output.encode() if isinstance(output, str) else output)
    return collector.result()


class UsageCollector:
    """Finds usage in an agent's output as it streams past, holding little of it.

    Feed it chunks in order, then call :meth:`result`. It keeps the current
    partial line (at most ``max_line_bytes``; a longer line is skipped) and,
    for agents that print one multi-line JSON document, the whole output while
    it is at most ``max_document_bytes``. Everything else is parsed and
    dropped, so memory stays bounded however much the agent prints.
    """

    def __init__(
        self,
        *,
        max_line_bytes: int = MAX_LINE_BYTES,
        max_document_bytes: int = MAX_DOCUMENT_BYTES,
    ) -> None:
        self.max_line_bytes = max_line_bytes
        self.max_document_bytes = max_document_bytes
        self._line = bytearray()
        self._skipping_line = False
        self._document: bytearray | None = bytearray()
        self._claude_result: dict[str, Any] | None = None
        self._claude_init_model: str | None = None
        self._codex_turns: list[Mapping[str, Any]] = []
        self._codex_failure: str | None = None  # a failed turn: final
        self._codex_error: str | None = None  # an error line: transient if a turn completes
        self._gemini: dict[str, Any] | None = None
        self._codex_thread: str | None = None

    @property
    def buffered_bytes(self) -> int:
        """How many bytes of output the collector is holding right now."""
        return len(self._line) + (len(self._document) if self._document is not None else 0)

    def feed(self, chunk: bytes) -> None:
        """Take the next piece of output."""
        if not chunk:
            return
        if self._document is not None:
            if len(self._document) + len(chunk) <= self.max_document_bytes:
                self._document += chunk
            else:
                self._document = None  # too big to be a result document worth holding
        last = chunk.rfind(b"\n")
        if last < 0:
            self._extend_line(chunk)
            return
        if not self._completes_a_marked_line(chunk):
            # Fast path for chatty output: no line ending in this chunk can hold
            # usage, so they are dropped unread and only the new partial line kept.
            self._line.clear()
            self._skipping_line = False
            self._extend_line(chunk[last + 1 :])
            return
        start = 0
        while True:
            end = chunk.find(b"\n", start)
            if end < 0:
                self._extend_line(chunk[start:])
                return
            self._extend_line(chunk[start:end])
            self._finish_line()
            start = end + 1

    def result(self) -> AgentUsage | None:
        """Return the usage found in the output, or None; call once the output has ended.

        A last line without a trailing newline counts.
        """
        self._finish_line()
        return self._usage()

    # -- internals ----------------------------------------------------------

    def _completes_a_marked_line(self, chunk: bytes) -> bool:
        """Tell whether a usage marker may be in the pending line, the chunk or across them.

        Conservative: a marker in the chunk's own new partial line also counts.
        A pending line being skipped (too long) cannot be parsed anyway.
        """
        # Every marker starts with a quote; memchr finds one far faster than a marker.
        if b'"' in chunk and any(marker in chunk for marker in _MARKERS):
            return True
        if not self._line or self._skipping_line:
            return False
        seam = bytes(self._line[-_MARKER_REACH:]) + chunk[:_MARKER_REACH]
        return any(marker in seam or marker in self._line for marker in _MARKERS)

    def _extend_line(self, piece: bytes) -> None:
        if self._skipping_line:
            return
        if len(self._line) + len(piece) > self.max_line_bytes:
            self._line.clear()
            self._skipping_line = True
        else:
            self._line += piece

    def _finish_line(self) -> None:
        if not self._skipping_line:
            self._consider_line(bytes(self._line))
        self._line.clear()
        self._skipping_line = False

    def _consider_line(self, line: bytes) -> None:
        text = line.strip()
        if not (
            (text.startswith(b"{") and text.endswith(b"}"))
            or (text.startswith(b"[") and text.endswith(b"]"))
        ):
            return
        if not any(marker in text for marker in _MARKERS):
            return
        try:
            obj = orjson.loads(text)
        except orjson.JSONDecodeError:
            return
        self._consider_value(obj)

    def _consider_value(self, value: object) -> None:
        """Consider a parsed object, or each object of a list (Claude's verbose json)."""
        if isinstance(value, dict):
            self._consider_object(value)
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, dict):
                    self._consider_object(item)

    def _consider_object(self, obj: dict[str, Any]) -> None:
        kind = obj.get("type")
        if kind == "result" and any(k in obj for k in ("usage", "modelUsage", "total_cost_usd")):
            self._claude_result = obj
        elif kind == "system" and obj.get("subtype") == "init":
            model = obj.get("model")
            if isinstance(model, str) and model:
                self._claude_init_model = model
        elif kind == "turn.completed" and isinstance(obj.get("usage"), dict):
            self._codex_turns.append(obj["usage"])
            self._codex_error = None  # it recovered (e.g. after "Reconnecting... 1/5")
        elif kind == "thread.started" and isinstance(obj.get("thread_id"), str):
            self._codex_thread = obj["thread_id"] or None
        elif kind == "turn.failed":
            self._codex_failure = _codex_error(obj)
        elif kind == "error":
            self._codex_error = _codex_error(obj)
        elif _gemini_models(obj) is not None or _gemini_error(obj):
            self._gemini = obj

    def _usage(self) -> AgentUsage | None:
        if self._claude_result is None and not self._codex_turns and self._gemini is None:
            self._read_document()
        if self._claude_result is not None:
            return _claude_usage(self._claude_result, self._claude_init_model)
        failure = self._codex_failure or self._codex_error
        if self._codex_turns or failure is not None:
            return replace(_codex_usage(self._codex_turns, failure), session_id=self._codex_thread)
        if self._gemini is not None:
            return _gemini_usage(self._gemini)
        return None

    def _read_document(self) -> None:
        """Parse the whole output as one JSON document (a pretty-printed result)."""
        if not self._document:
            return
        text = bytes(self._document)
        starts = sorted(at for at in (text.find(b"{"), text.find(b"[")) if at >= 0)
        for start in starts:  # text before the document (a banner, a warning) is passed over
            try:
                obj = orjson.loads(text[start:])
            except orjson.JSONDecodeError:
                continue
            self._consider_value(obj)
            return


# -- format readers ----------------------------------------------------------


class _Reader:
    """Reads an agent's figures by the usage rules, noting each one it has to leave out."""

    def __init__(self) -> None:
        self.notes: list[str] = []

    def count(self, figures: Mapping[str, Any], key: str, where: str = "") -> int | None:
        """Return a reported token count; None when absent or not a count (noted)."""
        return read_count(figures.get(key), f"{where}{key}", self.notes)

    def part(self, figures: Mapping[str, Any], key: str, where: str = "") -> int | None:
        """Return a reported part of a total (cache, reasoning): left out means 0 of it.

        Agents omit these fields when there is nothing to report (Claude Code
        before prompt caching, a model that does not reason), so absence is 0,
        not unknown; a value that is there but not a count is still unknown.
        """
        value = figures.get(key)
        return 0 if value is None else read_count(value, f"{where}{key}", self.notes)

    def cost(self, figures: Mapping[str, Any], key: str, where: str = "") -> float | None:
        """Return a reported cost; None when absent or not a cost by the usage rules (noted)."""
        return read_cost(figures.get(key), f"{where}{key}", self.notes)

    @property
    def usage_error(self) -> str | None:
        return "; ".join(self.notes) or None


def _turns(value: object) -> int | None:
    return value if type(value) is int and is_count(value) else None


def _sum(values: Iterable[int | None]) -> int | None:
    """Sum of counts; unknown if any part is unknown."""
    total = 0
    for value in values:
        if value is None:
            return None
        total += value
    return total


def _sum_money(values: Iterable[float | None]) -> float | None:
    items = list(values)
    if not items or any(v is None for v in items):
        return None
    return sum(v for v in items if v is not None)


def _main_model(models: Mapping[str, ModelUsage]) -> str | None:
    """Pick the model that did most of the work: highest cost, then most tokens."""

    def weight(name: str) -> tuple[float, int]:
        usage = models[name]
        tokens = (usage.input_tokens or 0) + (usage.output_tokens or 0)
        return (usage.cost_usd or 0.0, tokens)

    return max(models, key=weight) if models else None


def _with_models(agent: str, models: dict[str, ModelUsage], **fields: Any) -> AgentUsage:
    """Build an AgentUsage whose totals are the sums over ``models``."""
    parts = list(models.values())
    return AgentUsage(
        agent=agent,
        model=_main_model(models),
        input_tokens=_sum(m.input_tokens for m in parts),
        output_tokens=_sum(m.output_tokens for m in parts),
        cache_read_tokens=_sum(m.cache_read_tokens for m in parts),
        cache_write_tokens=_sum(m.cache_write_tokens for m in parts),
        reasoning_tokens=_sum(m.reasoning_tokens for m in parts),
        cost_usd=_sum_money(m.cost_usd for m in parts),
        models=models,
        **fields,
    )


def _claude_usage(result: dict[str, Any], init_model: str | None) -> AgentUsage:
    subtype = result.get("subtype")
    agent_error: str | None = None
    if isinstance(subtype, str) and subtype.startswith("error"):
        agent_error = subtype
    elif result.get("is_error") is True:
        text = result.get("result")
        # Scrubbed before the cut: a key cut in two would match no pattern later.
        detail = redact(text)[:_RESULT_PREVIEW] if isinstance(text, str) and text else "no detail"
        agent_error = f"is_error: {detail}"
    read = _Reader()
    reported_cost = read.cost(result, "total_cost_usd")
    turns = _turns(result.get("num_turns"))
    session = result.get("session_id")
    session_id = session if isinstance(session, str) and session else None

    models: dict[str, ModelUsage] = {}
    model_usage = result.get("modelUsage")
    if isinstance(model_usage, dict):
        for name, figures in model_usage.items():
            if isinstance(name, str) and name and isinstance(figures, dict):
                where = f"modelUsage[{name!r}]."
                models[name] = _claude_tokens(
                    read,
                    figures,
                    ("inputTokens", "cacheReadInputTokens", "cacheCreationInputTokens"),
                    "outputTokens",
                    where,
                    cost=read.cost(figures, "costUSD", where),
                )
    if models:
        usage = _with_models(
            "claude",
            models,
            agent_error=agent_error,
            num_turns=turns,
            usage_error=read.usage_error,
            session_id=session_id,
        )
        if reported_cost is not None:
            usage = replace(usage, cost_usd=reported_cost)
        return usage

    raw = result.get("usage")
    raw = raw if isinstance(raw, dict) else {}
    totals = _claude_tokens(
        read,
        raw,
        ("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens"),
        "output_tokens",
        "usage.",
        cost=reported_cost,
    )
    return AgentUsage(
        agent="claude",
        model=init_model,
        input_tokens=totals.input_tokens,
        output_tokens=totals.output_tokens,
        cache_read_tokens=totals.cache_read_tokens,
        cache_write_tokens=totals.cache_write_tokens,
        cost_usd=reported_cost,
        agent_error=agent_error,
        num_turns=turns,
        usage_error=read.usage_error,
        session_id=session_id,
    )


def anthropic_usage(
    figures: Mapping[str, Any],
    input_keys: tuple[str, str, str],
    output_key: str,
    *,
    cost_key: str | None = None,
    where: str = "",
) -> tuple[Usage, str | None]:
    """Read figures in Anthropic's convention (input without cache) into the package's.

    ``input_keys`` name the uncached input, the cache reads and the cache
    writes in ``figures``. For readers of other Claude Code outputs (its
    OpenTelemetry events, its session logs), so the conversion is made here
    only. Returns the usage and what was left out, and why (None if nothing).
    """
    read = _Reader()
    cost = read.cost(figures, cost_key, where) if cost_key is not None else None
    tokens = _claude_tokens(read, figures, input_keys, output_key, where, cost=cost)
    return Usage.of(tokens), read.usage_error


def _claude_tokens(
    read: _Reader,
    figures: Mapping[str, Any],
    input_keys: tuple[str, str, str],
    output_key: str,
    where: str,
    *,
    cost: float | None,
) -> ModelUsage:
    """Anthropic counts input without cache tokens; ours is the total input.

    ``input_keys`` name the uncached input, the cache reads and the cache writes.
    """
    uncached, cache_read, cache_write = input_keys
    cached = read.part(figures, cache_read, where), read.part(figures, cache_write, where)
    return ModelUsage(
        input_tokens=_sum((read.count(figures, uncached, where), *cached)),
        output_tokens=read.count(figures, output_key, where),
        cache_read_tokens=cached[0],
        cache_write_tokens=cached[1],
        cost_usd=cost,
    )


def _codex_error(obj: Mapping[str, Any]) -> str:
    error = obj.get("error")
    message = error.get("message") if isinstance(error, dict) else obj.get("message")
    kind = str(obj.get("type"))
    return f"{kind}: {message}" if isinstance(message, str) and message else kind


def _codex_usage(turns: list[Mapping[str, Any]], failure: str | None) -> AgentUsage:
    read = _Reader()

    def total(key: str, *, part: bool = False) -> int | None:
        if not turns:
            return None
        figure = read.part if part else read.count
        # Every turn is read (not stopped at the first unknown), so each bad figure is noted.
        return _sum([figure(turn, key, "turn.completed usage.") for turn in turns])

    input_tokens = total("input_tokens")
    output_tokens = total("output_tokens")
    cache_read_tokens = total("cached_input_tokens", part=True)
    reasoning_tokens = total("reasoning_output_tokens", part=True)
    return AgentUsage(
        agent="codex",
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cache_read_tokens=cache_read_tokens,
        reasoning_tokens=reasoning_tokens,
        agent_error=failure,
        usage_error=read.usage_error,
        # No num_turns: a Codex turn spans many model requests, and readers take
        # num_turns == 1 to mean one request (long-context pricing).
    )


def _gemini_models(obj: Mapping[str, Any]) -> dict[str, Any] | None:
    stats = obj.get("stats")
    models = stats.get("models") if isinstance(stats, dict) else None
    return models if isinstance(models, dict) else None


def _gemini_error(obj: Mapping[str, Any]) -> bool:
    return "type" not in obj and isinstance(obj.get("error"), dict)


def _gemini_usage(obj: dict[str, Any]) -> AgentUsage:
    error = obj.get("error")
    agent_error: str | None = None
    if isinstance(error, dict):
        message = error.get("message")
        agent_error = message if isinstance(message, str) and message else "error"
    read = _Reader()
    models: dict[str, ModelUsage] = {}
    for name, figures in (_gemini_models(obj) or {}).items():
        tokens = figures.get("tokens") if isinstance(figures, dict) else None
        if not (isinstance(name, str) and name and isinstance(tokens, dict)):
            continue
        where = f"stats.models[{name!r}].tokens."
        thoughts = read.part(tokens, "thoughts", where)
        models[name] = ModelUsage(
            # A tool count that is not a count is noted and left out, as the importer does.
            input_tokens=_sum(
                (read.count(tokens, "prompt", where), read.part(tokens, "tool", where) or 0)
            ),
            output_tokens=_sum((read.count(tokens, "candidates", where), thoughts)),
            cache_read_tokens=read.part(tokens, "cached", where),
            reasoning_tokens=thoughts,
        )
    if not models:
        return AgentUsage(agent="gemini", agent_error=agent_error, usage_error=read.usage_error)
    return _with_models("gemini", models, agent_error=agent_error, usage_error=read.usage_error)
