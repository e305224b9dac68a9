"""The one fold of execution events into cells: what a report needs, before any price.

A *cell* gathers the events that agree on every field a report can group or
filter by: feature, agent, role, work package, model, success, the
15-minute UTC bucket of their timestamp (``_periods``) and their tags (as a
sorted tuple of ``(key, value)`` pairs, None without any: see
:func:`cell_tags`). A compact time fold keys cells by a zone's local day
instead of the 15-minute bucket, and may leave out (as None) the fields its
reports neither group nor filter by (``keep``): fewer, larger cells, read by
the same code. It holds sums, never
events: counts, valid token sums and which counts were known, reported cost
in integer units of 1e-10 USD, why events cannot be priced whatever the price
table says, the token sums of the events to estimate per price tier, and a
duration summary. What an event costs by the price table is decided when a
report is read (``_priced``), so re-pricing applies to history at once.

The rules are those of :mod:`spec_kitty_telemetry.usage` (every writer's), so
a record ``emit`` accepts is never flagged here. What an event produced
(lines changed, tests passed, its failure's category) is read by the rule of
:mod:`spec_kitty_telemetry.outputs`, and phase transitions are folded by the
completed-work-package rule (:class:`~spec_kitty_telemetry.completion.Completions`:
one entry per work package, whatever the number of transitions).
Events of several models
(a ``models`` breakdown) and events whose grouped fields are lists or
objects (no key can hold them) are kept aside as small records
(:attr:`CellFold.aside`): how their cost divides between models depends
on prices, so they are folded by the reader's rules for them, at read time.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from decimal import Decimal
from operator import add, itemgetter
from typing import TYPE_CHECKING, Any, Final

from ._periods import bucket_of
from .completion import PHASE_TRANSITION, Completions
from .outputs import (
    CHANGES_KEY,
    ERROR_CATEGORY_KEY,
    TESTS_KEY,
    failure_category,
    lines_changed,
    tests_passed,
)
from .usage import CACHE_WRITE_1H_FIELD, COST_FIELD, TOKEN_FIELDS, counts_valid, is_cost

if TYPE_CHECKING:
    from ._periods import Periods

__all__ = [
    "CELL_SLOTS",
    "NARROWABLE",
    "Cell",
    "CellFold",
    "CellKey",
    "CellTags",
    "cell_tags",
    "duration_bucket",
    "duration_value",
    "reported_units",
]

EXECUTION_EVENT: Final = "ExecutionEvent"
#: A cell's tags: ``(key, value)`` pairs sorted by key, or None for an event without tags.
CellTags = tuple[tuple[str, str], ...] | None
#: (feature, agent, role, wp_id, model, success, 15-minute UTC bucket, tags); raw payload
#: values, but the tags in their canonical form (:func:`cell_tags`).
CellKey = tuple[Any, Any, Any, Any, Any, Any, int, CellTags]

# Slots of Cell.sums.
CELL_SLOTS: Final = 22
(
    EVENTS,  # events folded here for cost (all but those kept aside)
    INPUT,
    OUTPUT,
    CACHE_READ,
    CACHE_WRITE,
    REPORTED,  # sane reported cost, 1e-10 USD
    KNOWN,  # bit i: some event reported PRICED_TOKEN_FIELDS[i] (OR-ed)
    BAD_COST,  # reported a cost that is not an amount
    INVALID_TOKENS,  # unpriced: invalid counts
    NO_USAGE,  # unpriced: no cost, and not both input and output
    ESTIMABLE,  # no sane reported cost, complete valid counts: priced by the model's rates
    UNTIERED,  # estimable, several requests, input above the model's first tier
    RUNS,  # every execution event of the cell, those kept aside included
    DURATIONS,  # runs with a valid duration_ms
    DURATION_SUM,
    DURATION_SQUARES,
    FAILURES,  # runs whose success is false
    # What the events folded here for cost produced (``outputs``); unknown is not zero:
    CHANGES_KNOWN,  # events that recorded their changes
    LINES_CHANGED,  # their lines added + deleted
    TESTS_KNOWN,  # events that recorded test figures
    TESTS_PASSED,  # their passed tests
    CACHE_WRITE_1H,  # the part of CACHE_WRITE written to the 1-hour cache (``usage``)
) = range(CELL_SLOTS)

_INPUT_FIELD, _OUTPUT_FIELD, _CACHE_READ_FIELD, _CACHE_WRITE_FIELD, _REASONING_FIELD = TOKEN_FIELDS
_COST_DIGITS: Final = 10
_COST_UNITS: Final = 10**_COST_DIGITS
#: Below this, ``round(cost * 1e10)`` of a float is within one unit (1e-10 USD) of its
#: decimal value, exact for costs of at most ten decimals, and far cheaper than Decimal;
#: the report's figures are micro-dollars, so the unit never shows.
_FLOAT_EXACT: Final = 100_000
#: Payload fields an aside record keeps: what filters, groups and prices read.
_ASIDE_FIELDS: Final = (
    "agent",
    "role",
    "wp_id",
    "model",
    "models",
    "success",
    "num_turns",
    "duration_ms",
    COST_FIELD,
    *TOKEN_FIELDS,
    CACHE_WRITE_1H_FIELD,
    "tags",
    ERROR_CATEGORY_KEY,
)
#: Key fields a narrowed fold may leave out (as None), by their place in a CellKey:
#: feature and model always stay (a row's cells are priced by raw model). Without the
#: work package, a fold keeps each cell's work packages aside (``CellFold.work_packages``).
NARROWABLE: Final = {"agent": 1, "role": 2, "wp": 3, "success": 5, "tags": 7}


def cell_tags(tags: object) -> CellTags:
    """Return an event's tags as a cell key holds them; TypeError when no key can.

    No tags, ``null`` and ``{}`` are all None: no filter or group tells them
    apart. Sorted pairs make ``{"a": "1", "b": "2"}`` one key whatever order
    the line wrote them in. Anything but a mapping of string to string (a
    hand-written line) raises TypeError, so the event is kept aside whole and
    filters read its tags as written.
    """
    if tags is None:
        return None
    if type(tags) is not dict:
        raise TypeError("tags that are not a mapping")
    if not tags:
        return None
    pairs = sorted(tags.items())
    for key, value in pairs:
        if type(key) is not str or type(value) is not str:
            raise TypeError("a tag that is not a string")
    return tuple(pairs)


def reported_units(cost: object) -> int | None:
    """Return a reported cost in 1e-10 USD; None when not a valid cost (NaN, -1, 1e300, "1")."""
    if not is_cost(cost):
        return None
    assert isinstance(cost, int | float)  # what JSON holds; is_cost took it for a real number
    if cost < _FLOAT_EXACT:
        return round(cost * _COST_UNITS)
    return round(Decimal(repr(cost)).scaleb(_COST_DIGITS))


def duration_bucket(duration_ms: int) -> int:
    """Return the histogram bucket of a duration: 16 equal steps per doubling.

    Durations below 32 ms are their own bucket; above, a bucket spans 1/16 to
    1/31 of its values, so its middle (:func:`duration_value`) is within 1/32
    (3.2 %) of any duration in it. Integer shifts only: this runs per event.
    """
    shift = duration_ms.bit_length() - 5
    if shift <= 0:
        return duration_ms
    return (shift << 4) + (duration_ms >> shift)


def duration_value(bucket: int) -> float:
    """Return a bucket's representative duration (the middle of its range), in ms."""
    if bucket < 32:
        return float(bucket)
    shift = (bucket >> 4) - 1
    low = (bucket - (shift << 4)) << shift
    return low + ((1 << shift) - 1) / 2


class Cell:
    """The sums of one cell: ``sums`` by slot, token sums per tier, a duration histogram."""

    __slots__ = ("categories", "durations", "sums", "tiers")

    def __init__(self) -> None:
        self.sums = [0] * CELL_SLOTS
        #: tier -> [input, output, cache read, cache write, 1-hour cache write] of the
        #: ESTIMABLE events.
        self.tiers: dict[int, list[int]] = {}
        #: duration_bucket -> runs.
        self.durations: dict[int, int] = {}
        #: error_category -> failed events folded here for cost (``outputs.failure_category``).
        self.categories: dict[str, int] = {}

    def merge(self, other: Cell) -> None:
        """Add another cell's sums to this one."""
        theirs = other.sums
        known = self.sums[KNOWN] | theirs[KNOWN]  # a set of flags: united, not added
        self.sums = list(map(add, self.sums, theirs))  # slot by slot, in C
        self.sums[KNOWN] = known
        for tier, sums in other.tiers.items():
            target = self.tiers.get(tier)
            self.tiers[tier] = list(sums) if target is None else list(map(add, target, sums))
        for bucket, count in other.durations.items():
            self.durations[bucket] = self.durations.get(bucket, 0) + count
        for category, count in other.categories.items():
            self.categories[category] = self.categories.get(category, 0) + count


class CellFold:
    """Fold event records into cells; ``thresholds`` gives a raw model's tier thresholds.

    Tier thresholds (long-context limits) decide which tier a single request's
    tokens are summed under, so they are the one thing of the price table the
    fold needs; :attr:`thresholds_used` records them, so a projection built
    under other thresholds is known to be stale.
    """

    def __init__(
        self,
        thresholds: Callable[[str], tuple[int, ...]],
        *,
        timed: bool = True,
        days: Periods | None = None,
        keep: Collection[str] | None = None,
    ) -> None:
        self._thresholds = thresholds
        #: False: every event in bucket 0 (a projection for reports that ignore time).
        self.timed = timed
        #: With a zone: keys hold the local day's first bucket, not the 15-minute bucket.
        self.days = days if timed else None
        #: The NARROWABLE fields keys hold (None: all); the others are None in every key.
        self.keep = None if keep is None else frozenset(keep)
        dropped = (
            set()
            if self.keep is None
            else {index for name, index in NARROWABLE.items() if name not in self.keep}
        )
        # Index 8 of the 9-tuple the fold builds is None: a dropped field points there.
        self._narrow: Callable[[tuple[Any, ...]], CellKey] | None = (
            itemgetter(*(8 if index in dropped else index for index in range(8)))
            if dropped
            else None
        )
        self.cells: dict[CellKey, Cell] = {}
        #: Keys without the work package: cell -> the work packages of its events folded
        #: for cost (stripped), which rows count (``Totals.note_work_package``).
        self.work_packages: dict[CellKey, set[str]] | None = {} if 3 in dropped else None
        self.aside: list[dict[str, Any]] = []
        #: (feature, event type) -> events that are not ExecutionEvents.
        self.other_types: dict[tuple[str, str], int] = {}
        self.thresholds_used: dict[str, tuple[int, ...]] = {}
        #: The PhaseTransition events, folded: which work packages were completed.
        self.completions = Completions()

    def add(self, record: Mapping[str, Any]) -> None:
        """Fold one record the line rule accepted (each event once: callers de-duplicate)."""
        if record["event_type"] != EXECUTION_EVENT:
            type_key = (record["aggregate_id"], record["event_type"])
            self.other_types[type_key] = self.other_types.get(type_key, 0) + 1
            if record["event_type"] == PHASE_TRANSITION:
                self.completions.add(record)
            return
        payload = record["payload"]
        get = payload.get
        model = get("model")
        success = get("success")
        days = self.days
        try:
            tags = get("tags")
            key = (
                record["aggregate_id"],
                get("agent"),
                get("role"),
                get("wp_id"),
                model,
                success,
                (
                    0
                    if not self.timed
                    else bucket_of(record["timestamp"])
                    if days is None
                    else days.day_of_stamp(record["timestamp"])
                ),
                None if tags is None else cell_tags(tags),
            )
            if self._narrow is not None:
                hash(key)  # what no key can hold goes aside, narrowed or not
                key = self._narrow((*key, None))
            cell = self.cells.get(key)
        except TypeError:  # a list or an object where a name belongs: not a cell's key
            self._aside(record)
            return
        if cell is None:
            cell = self.cells[key] = Cell()
        acc = cell.sums
        acc[RUNS] += 1
        if success is False:
            acc[FAILURES] += 1
        duration = get("duration_ms")
        if type(duration) is int and 0 <= duration <= 2**63 - 1:
            acc[DURATIONS] += 1
            acc[DURATION_SUM] += duration
            acc[DURATION_SQUARES] += duration * duration
            slot = duration_bucket(duration)
            cell.durations[slot] = cell.durations.get(slot, 0) + 1
        breakdown = get("models")
        if breakdown and type(breakdown) is dict:
            self._aside(record)
            return
        if success is False or CHANGES_KEY in payload or TESTS_KEY in payload:
            self._add_outputs(acc, cell, payload)  # most events have none: skip the calls
        if self.work_packages is not None:
            wp = get("wp_id")
            name = wp.strip() if type(wp) is str else ""
            if name:
                names = self.work_packages.get(key)
                if names is None:
                    names = self.work_packages[key] = set()
                names.add(name)
        self._add_costs(acc, cell, payload, model)

    @staticmethod
    def _add_outputs(acc: list[int], cell: Cell, payload: Mapping[str, Any]) -> None:
        """Fold what an event produced: lines, passed tests, its failure's category."""
        lines = lines_changed(payload)
        if lines is not None:
            acc[CHANGES_KNOWN] += 1
            acc[LINES_CHANGED] += lines
        passed = tests_passed(payload)
        if passed is not None:
            acc[TESTS_KNOWN] += 1
            acc[TESTS_PASSED] += passed
        category = failure_category(payload)
        if category is not None:
            cell.categories[category] = cell.categories.get(category, 0) + 1

    def _add_costs(
        self, acc: list[int], cell: Cell, payload: Mapping[str, Any], model: Any
    ) -> None:
        """Fold a one-model event's counts and cost: the rules of ``usage``, written out once."""
        get = payload.get
        acc[EVENTS] += 1
        tokens_in = get(_INPUT_FIELD)
        tokens_out = get(_OUTPUT_FIELD)
        cache_read = get(_CACHE_READ_FIELD)
        cache_write = get(_CACHE_WRITE_FIELD)
        hour = get(CACHE_WRITE_1H_FIELD)
        valid = counts_valid(
            tokens_in, tokens_out, cache_read, cache_write, get(_REASONING_FIELD), hour
        )
        if valid:
            known = 0
            if tokens_in is not None:
                known |= 1
                acc[INPUT] += tokens_in
            if tokens_out is not None:
                known |= 2
                acc[OUTPUT] += tokens_out
            if cache_read is not None:
                known |= 4
                acc[CACHE_READ] += cache_read
            if cache_write is not None:
                known |= 8
                acc[CACHE_WRITE] += cache_write
            if hour:
                acc[CACHE_WRITE_1H] += hour
            acc[KNOWN] |= known
        cost = get(COST_FIELD)
        if cost is not None:
            units = reported_units(cost)
            if units is not None:
                acc[REPORTED] += units
                return
            acc[BAD_COST] += 1
        if not valid:
            acc[INVALID_TOKENS] += 1
            return
        if tokens_in is None or tokens_out is None:
            acc[NO_USAGE] += 1
            return
        acc[ESTIMABLE] += 1
        tier = 0
        if type(model) is str:
            thresholds = self.thresholds_used.get(model)
            if thresholds is None:
                thresholds = self.thresholds_used[model] = self._thresholds(model)
            if thresholds:
                turns = get("num_turns")
                if type(turns) is int and turns == 1:
                    tier = sum(1 for threshold in thresholds if tokens_in > threshold)
                elif tokens_in > thresholds[0]:
                    acc[UNTIERED] += 1
        sums = cell.tiers.get(tier)
        if sums is None:
            sums = cell.tiers[tier] = [0, 0, 0, 0, 0]
        sums[0] += tokens_in
        sums[1] += tokens_out
        sums[2] += cache_read or 0
        sums[3] += cache_write or 0
        if hour:
            sums[4] += hour

    def _aside(self, record: Mapping[str, Any]) -> None:
        payload = record["payload"]
        kept = {name: payload[name] for name in _ASIDE_FIELDS if name in payload}
        # Of what a run produced, only the figures the reports read (not its paths):
        lines = lines_changed(payload)
        if lines is not None:
            kept[CHANGES_KEY] = {"lines_added": lines, "lines_deleted": 0}
        passed = tests_passed(payload)
        if passed is not None:
            kept[TESTS_KEY] = {"passed": passed}
        self.aside.append(
            {
                "aggregate_id": record["aggregate_id"],
                "event_type": record["event_type"],
                "timestamp": record["timestamp"],
                "payload": kept,
            }
        )

    def empty(self) -> CellFold:
        """Return an empty fold of the same shape (thresholds, time key, kept fields)."""
        return CellFold(self._thresholds, timed=self.timed, days=self.days, keep=self.keep)

    def merge(self, other: CellFold) -> None:
        """Add another fold (of other events) to this one."""
        for key, cell in other.cells.items():
            mine = self.cells.get(key)
            if mine is None:
                mine = self.cells[key] = Cell()
            mine.merge(cell)
        if self.work_packages is not None and other.work_packages is not None:
            for key, names in other.work_packages.items():
                self.work_packages.setdefault(key, set()).update(names)
        self.aside.extend(other.aside)
        self.completions.merge(other.completions)
        for type_key, count in other.other_types.items():
            self.other_types[type_key] = self.other_types.get(type_key, 0) + count
        self.thresholds_used.update(other.thresholds_used)
