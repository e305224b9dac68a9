"""Token counts and cost of one agent invocation: the fields, their rules, stated once.

Every writer, parser, hook and reader of usage figures asks this module, so a
figure one of them accepts is a figure all of them accept:

* a **count** (one of :data:`TOKEN_FIELDS`) is a whole number, not a bool,
  from 0 to 2**63-1: what JSON readers of other languages and databases keep
  exactly;
* a **cost** (``cost_usd``) is a finite real number from 0 to *under*
  :data:`MAX_COST_USD`. One agent run reporting a billion dollars or more is
  a unit or parsing mistake, not money. The bound is exclusive because that
  is what the README and the cost report's spec have always promised readers
  ("from 0 to under $1,000,000,000"); the writers now keep the same promise;
* **parts within totals** (:data:`RELATIONS`): ``input_tokens`` is the *total*
  input, cache reads plus cache writes within it; ``reasoning_tokens`` is part
  of ``output_tokens``. An unknown part counts 0; an unknown total holds any.
* **1-hour cache writes** (:data:`CACHE_WRITE_1H_FIELD`, a payload figure
  beside the counts, from Claude Code's ``ephemeral_1h_input_tokens``) are
  the part of ``cache_write_tokens`` written to the 1-hour cache, billed at
  a rate of their own. Unlike the parts above they need their total, as
  the 5-minute writes are ``cache_write_tokens`` less them: a 1-hour count
  above the cache write count, or with none reported, breaks the rule, and
  readers take the event's counts for invalid (unpriced, not guessed at).

None always means "not reported", never 0.

The rules are applied in two ways. :func:`strict` refuses bad figures (raises
InvalidEventError): for ``emit`` input and ``_records.execution_payload``,
where bad input is the caller's mistake and nothing is written. :func:`lenient`
drops them and says why in a ``usage_error`` note: for what agents report
about themselves and what hooks are handed, where the invocation must be
recorded whatever a figure says. Readers (the cost fold) judge stored figures
with :func:`is_count`, :func:`is_cost` and :func:`counts_valid`, the same
predicates, so a record ``emit`` writes is never flagged by ``cost`` and a
figure ``cost`` ignores is never written.

No pydantic here: this module is on the emit path.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from .errors import InvalidEventError

if TYPE_CHECKING:
    from ._usage_figures import Usage as Usage

__all__ = [
    "CACHE_WRITE_1H_FIELD",
    "COST_FIELD",
    "COUNT_MAX",
    "MAX_COST_USD",
    "PRICED_TOKEN_FIELDS",
    "RELATIONS",
    "TOKEN_FIELDS",
    "USAGE_ERROR_KEY",
    "USAGE_FIELDS",
    "Problem",
    "Usage",
    "counts_valid",
    "is_cost",
    "is_count",
    "lenient",
    "problems",
    "read_cost",
    "read_count",
    "strict",
    "strict_payload",
]

#: The token counts of an invocation (or of one model's share of it), in payload order.
TOKEN_FIELDS: Final = (
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
)
#: The cost an agent reported for an invocation, in USD.
COST_FIELD: Final = "cost_usd"
#: Payload figure: the part of ``cache_write_tokens`` written to the 1-hour cache.
CACHE_WRITE_1H_FIELD: Final = "cache_write_1h_tokens"
#: Every usage figure: the token counts, then the cost.
USAGE_FIELDS: Final = (*TOKEN_FIELDS, COST_FIELD)
#: The counts that price an invocation; reasoning is billed inside output.
PRICED_TOKEN_FIELDS: Final = TOKEN_FIELDS[:4]
#: Largest count: counts are stored as 64-bit integers.
COUNT_MAX: Final = 2**63 - 1
#: A cost must be below this (USD, one invocation); at or above it, it is taken for garbage.
MAX_COST_USD: Final = 1e9
#: Payload key saying which reported figures were dropped as unusable, and why.
USAGE_ERROR_KEY: Final = "usage_error"


# Both tuples are declared in the functional form: the class form's annotations are text
# here (``from __future__ import annotations``), and typing compiles each one into a
# ForwardRef, about 6 M instructions per class on every start of a report.
_Relation = NamedTuple(  # noqa: UP014 - see above
    "_Relation",
    [
        ("total", str),
        ("parts", tuple[str, ...]),
        ("why", str),  # the convention, for a refusal
        ("dropped", str),  # what a lenient drop loses, in words
    ],
)
_Relation.__doc__ = """Parts (unknown = 0) within a total: how to name and drop them.

Whether it holds is decided by :func:`counts_valid`.
"""


#: Parts within totals: cache counts within the input, reasoning within the output.
RELATIONS: Final = (
    _Relation(
        "input_tokens",
        ("cache_read_tokens", "cache_write_tokens"),
        "input_tokens must be the total input, cache included",
        "input and cache counts",
    ),
    _Relation(
        "output_tokens",
        ("reasoning_tokens",),
        "output_tokens must include reasoning",
        "output and reasoning counts",
    ),
)


def counts_valid(
    input_tokens: Any = None,
    output_tokens: Any = None,
    cache_read_tokens: Any = None,
    cache_write_tokens: Any = None,
    reasoning_tokens: Any = None,
    cache_write_1h_tokens: Any = None,
) -> bool:
    """Tell whether these counts (None = not reported) can be stored together: the count rule.

    Every count given is a whole number (an int, not a bool) in 0..2**63-1, and
    parts fit within totals (:data:`RELATIONS`; an unknown part counts 0, an
    unknown total holds any), the 1-hour cache writes within the cache writes
    (which must be known for any above 0). Parameters are in
    :data:`TOKEN_FIELDS` order, then :data:`CACHE_WRITE_1H_FIELD`.
    This is the one place the rule is decided: :func:`is_count` and
    :func:`problems` ask it, and the cost fold calls it once per event, which
    is why it is written out rather than built from smaller calls.
    """
    for value in (
        input_tokens,
        output_tokens,
        cache_read_tokens,
        cache_write_tokens,
        reasoning_tokens,
        cache_write_1h_tokens,
    ):
        if value is None:
            continue
        if type(value) is not int and (isinstance(value, bool) or not isinstance(value, int)):
            return False
        if not 0 <= value <= COUNT_MAX:
            return False
    if cache_write_1h_tokens and cache_write_1h_tokens > (cache_write_tokens or 0):
        return False
    if (
        input_tokens is not None
        and (cache_read_tokens or 0) + (cache_write_tokens or 0) > input_tokens
    ):
        return False
    return output_tokens is None or (reasoning_tokens or 0) <= output_tokens


def is_count(value: object) -> bool:
    """Tell whether ``value`` is a valid token count (None, "not reported", is not one)."""
    return value is not None and counts_valid(value)


def is_cost(value: object) -> bool:
    """Tell whether ``value`` is a valid cost: a real number (not bool), 0 <= it < MAX_COST_USD."""
    if type(value) is float:  # what logs hold: decided without the conversions below
        return 0 <= value < MAX_COST_USD  # false for NaN and infinities too
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return False
    try:
        return 0 <= float(value) < MAX_COST_USD
    except (OverflowError, ValueError):
        return False


Problem = NamedTuple(  # noqa: UP014 - functional form: see _Relation
    "Problem",
    [
        ("fields", tuple[str, ...]),
        ("what", str),  # what is wrong, e.g. "input_tokens -1 is not a whole number in 0..2**63-1"
        ("refusal", str),  # for strict: "<field>: must be ..., got ..."
        ("note", str),  # for lenient: what is wrong, and what was dropped for it
    ],
)
Problem.__doc__ = "One broken rule: the figures it makes unusable, and what to say about it."


def problems(figures: Mapping[str, Any]) -> list[Problem]:
    """Every rule the usage figures in ``figures`` break (keys but those of usage are ignored).

    The usage figures are :data:`USAGE_FIELDS` and :data:`CACHE_WRITE_1H_FIELD`.

    Relations are judged over the counts that are valid, so a bad count is
    reported once, as itself, and not again as a broken relation.
    """
    found: list[Problem] = []
    valid: dict[str, Any] = {}  # the valid counts; the others as unknown
    for name in TOKEN_FIELDS:
        value = figures.get(name)
        valid[name] = value if value is None or is_count(value) else None
        if valid[name] is not None or value is None:
            continue
        what = _count_problem(name, value)
        found.append(
            Problem(
                (name,),
                what,
                f"{name}: must be a whole number >= 0 (below 2**63) or None, got {value!r}",
                f"{what}: dropped",
            )
        )
    cost = figures.get(COST_FIELD)
    if cost is not None and not is_cost(cost):
        what = _cost_problem(COST_FIELD, cost)
        found.append(
            Problem(
                (COST_FIELD,),
                what,
                f"{COST_FIELD}: must be a number from 0 to under {MAX_COST_USD:g} or None, "
                f"got {cost!r}",
                f"{what}: dropped",
            )
        )
    hour = figures.get(CACHE_WRITE_1H_FIELD)
    if hour is not None:
        if not is_count(hour):
            what = _count_problem(CACHE_WRITE_1H_FIELD, hour)
            found.append(
                Problem(
                    (CACHE_WRITE_1H_FIELD,),
                    what,
                    f"{CACHE_WRITE_1H_FIELD}: must be a whole number >= 0 (below 2**63) or None, "
                    f"got {hour!r}",
                    f"{what}: dropped",
                )
            )
        elif not counts_valid(
            cache_write_tokens=valid["cache_write_tokens"], cache_write_1h_tokens=hour
        ):
            written = valid["cache_write_tokens"]
            exceed = f"{CACHE_WRITE_1H_FIELD} ({hour}) exceeds cache_write_tokens ({written})"
            found.append(
                Problem(
                    ("cache_write_tokens", CACHE_WRITE_1H_FIELD),
                    exceed,
                    f"{exceed}; the 1-hour cache writes are part of the cache writes",
                    f"{exceed}, which must include them: cache write counts dropped",
                )
            )
    if counts_valid(**valid):
        return found
    broken = False
    for relation in RELATIONS:
        names = (relation.total, *relation.parts)
        if counts_valid(**{name: valid[name] for name in names}):
            continue
        broken = True
        parts = sum(valid[name] or 0 for name in relation.parts)
        total = valid[relation.total]
        exceed = f"{' + '.join(relation.parts)} ({parts}) exceed {relation.total} ({total})"
        found.append(
            Problem(
                names,
                exceed,
                f"{exceed}; {relation.why}",
                f"{exceed}, which must include them: {relation.dropped} dropped",
            )
        )
    if not broken:  # a rule of counts_valid that RELATIONS does not name: drop every count
        what = "the token counts break the usage rules"
        found.append(Problem(TOKEN_FIELDS, what, what, f"{what}: dropped"))
    return found


def strict(figures: Mapping[str, Any]) -> Usage:
    """Return the usage in ``figures`` as stored (plain ints and floats); raise if any is bad.

    Raises InvalidEventError naming every broken rule.
    """
    from ._usage_figures import Usage

    return Usage(**strict_payload(figures))


def strict_payload(figures: Mapping[str, Any]) -> dict[str, Any]:
    """Like :func:`strict`, returning the payload entries (every usage field, in order).

    The writers' form: no :class:`Usage` is built on the emit path.
    """
    found = problems(figures)
    if found:
        raise InvalidEventError("; ".join(problem.refusal for problem in found))
    return _stored(figures)


def lenient(figures: Mapping[str, Any]) -> tuple[Usage, list[str]]:
    """Return the usage in ``figures`` with every unusable figure dropped, and why each went.

    Both sides of a broken relation go (which of the two is wrong cannot be told).
    """
    found = problems(figures)
    dropped = {name for problem in found for name in problem.fields}
    kept = {name: None if name in dropped else figures.get(name) for name in USAGE_FIELDS}
    from ._usage_figures import Usage

    return Usage(**_stored(kept)), [problem.note for problem in found]


def _stored(figures: Mapping[str, Any]) -> dict[str, Any]:
    """Return valid figures as stored: int subclasses (IntEnum...) as ints, reals as floats."""
    stored: dict[str, Any] = {
        name: None if (value := figures.get(name)) is None else int(value) for name in TOKEN_FIELDS
    }
    cost = figures.get(COST_FIELD)
    stored[COST_FIELD] = None if cost is None else float(cost)
    return stored


def read_count(value: object, name: str, notes: list[str]) -> int | None:
    """Read one count an agent reported: the count, or None (noted in ``notes`` if present)."""
    if value is None:
        return None
    if is_count(value):
        assert isinstance(value, int)
        return int(value)
    notes.append(f"{_count_problem(name, value)}: dropped")
    return None


def read_cost(value: object, name: str, notes: list[str]) -> float | None:
    """Read one cost an agent reported: the amount, or None (noted in ``notes`` if present)."""
    if value is None:
        return None
    if is_cost(value):
        assert isinstance(value, numbers.Real)
        return float(value)
    notes.append(f"{_cost_problem(name, value)}: dropped")
    return None


def _count_problem(name: str, value: object) -> str:
    return f"{name} {value!r} is not a whole number in 0..2**63-1"


def _cost_problem(name: str, value: object) -> str:
    return f"{name} {value!r} is not a finite amount from 0 to under {MAX_COST_USD:g}"


def __getattr__(name: str) -> Any:
    """Load :class:`Usage` on first use, so a report reading only the rules skips ``dataclasses``.

    It stays a dataclass: ``agent_usage``'s dataclasses extend it.
    """
    if name == "Usage":
        from ._usage_figures import Usage

        return Usage
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
