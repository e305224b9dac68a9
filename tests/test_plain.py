"""Plain value classes (``_plain``) and lazy orjson (``_lazy_json``): dataclass behaviour without
``dataclasses``, the same decoded values whichever JSON reader is used."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal

import orjson
import pytest

from spec_kitty_telemetry import _lazy_json
from spec_kitty_telemetry._cost_model import CostReport, CostSummary
from spec_kitty_telemetry._plain import field, field_names, plain
from spec_kitty_telemetry._rates import RateTier
from spec_kitty_telemetry.config import TelemetryConfig
from spec_kitty_telemetry.store import ReadReport, StoreHead


@plain
class _Mutable:
    name: str
    count: int = 0
    seen: list[int] = field(default_factory=list)


@plain(frozen=True)
class _Frozen:
    name: str
    note: str = field(default="", compare=False)


def test_constructors_take_positions_keywords_defaults_and_fresh_factories():
    """Arguments go by position or keyword, defaults fill the rest, and each instance gets its
    own factory-made value (as a dataclass's ``default_factory``)."""
    first, second = _Mutable("a"), _Mutable(name="b", count=2)
    assert (first.name, first.count, first.seen) == ("a", 0, [])
    assert (second.name, second.count) == ("b", 2)
    first.seen.append(1)
    assert second.seen == []
    assert _Mutable("c", 1, [5]).seen == [5]
    assert _Mutable.count == 0  # the class attribute is the default, as with a dataclass
    assert field_names(_Mutable) == ("name", "count", "seen")
    with pytest.raises(TypeError):
        _Mutable()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        _Mutable("a", nope=1)  # type: ignore[call-arg]


def test_equality_repr_and_hash_follow_the_fields():
    """``==`` compares the compared fields of the same class only; ``repr`` shows every field;
    frozen classes hash by value, mutable ones are unhashable."""
    assert _Mutable("a", 1) == _Mutable("a", 1)
    assert _Mutable("a", 1) != _Mutable("a", 2)
    assert _Mutable("a") != _Frozen("a")
    assert repr(_Mutable("a", 1)) == "_Mutable(name='a', count=1, seen=[])"
    assert _Frozen("a", "x") == _Frozen("a", "y")  # compare=False
    assert hash(_Frozen("a", "x")) == hash(_Frozen("a", "y"))
    with pytest.raises(TypeError):
        hash(_Mutable("a"))
    assert {StoreHead(1, None), StoreHead(1, None)} == {StoreHead(1, None)}
    assert StoreHead() == StoreHead(None, None) != StoreHead(2)


def test_frozen_instances_refuse_assignment_and_deletion():
    """A frozen class's fields cannot be set or deleted (``AttributeError``, the base of
    dataclasses' ``FrozenInstanceError``)."""
    head = StoreHead(1, None)
    with pytest.raises(AttributeError):
        head.max_lamport_clock = 2  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del head.max_event_id  # type: ignore[misc]
    tier = RateTier(1, Decimal(1), Decimal(1), Decimal(1), Decimal(1))
    with pytest.raises(AttributeError):
        tier.input = Decimal(0)  # type: ignore[misc]
    assert head == StoreHead(1, None)


def test_the_public_classes_keep_their_fields_and_defaults():
    """CostSummary, CostReport, ReadReport and TelemetryConfig build, compare and print as the
    dataclasses did: same field order, defaults and per-instance containers."""
    summary = CostSummary("claude", "agent")
    assert summary.event_count == 0
    assert summary.unknown_models == {}
    assert summary.unknown_models is not CostSummary("x", "agent").unknown_models
    assert field_names(CostSummary)[:3] == ("group_key", "group_by", "event_count")
    report = CostReport("agent", [summary], summary)
    assert report.price_sources == []
    assert report == CostReport("agent", [summary], summary)
    assert repr(ReadReport("log")).startswith("ReadReport(source='log', events=0,")
    assert TelemetryConfig(path=None) == TelemetryConfig(sections={"x": 1})  # not compared
    assert TelemetryConfig().node_id == "cli"


@pytest.mark.parametrize(
    "text",
    [
        b'{"a":[1,-2,9223372036854775807,"18446744073709551616",null,true,false,1.5e-7]}',
        '{"naïve":"日本語 ✓","e":"\\u00e9"}'.encode(),
        b'[[["agent",null],[1,2],[[1,2]],[]]]',
    ],
)
def test_the_stdlib_and_orjson_decode_our_files_alike(text: bytes):
    """What we write (64-bit ints, big sums as text, non-ASCII, nulls, floats) decodes to
    equal values with ``json`` and orjson, so the reader chosen cannot change a report."""
    import json

    assert json.loads(text) == orjson.loads(text) == _lazy_json.loads_small(text)


def test_bad_bytes_raise_value_errors_either_way():
    """Garbage and invalid UTF-8 raise a ValueError from both readers (a damaged file is
    rebuilt, whichever reader met it)."""
    import json

    for bad in (b"{", b'"\xff"', b""):
        with pytest.raises(ValueError):  # noqa: PT011 - the common base is the point
            json.loads(bad)
        with pytest.raises(ValueError):  # noqa: PT011
            orjson.loads(bad)


def test_orjson_is_imported_on_first_use_and_past_the_crossover():
    """Small files are read without importing orjson; once the bytes read pass the crossover,
    or on first use of an orjson name, the real orjson is loaded and its names are kept."""
    script = f"""
import sys
from spec_kitty_telemetry import _lazy_json as j
small = b'{{"a": 1}}'
assert j.loads_small(small) == {{"a": 1}} and "orjson" not in sys.modules
big = b'[' + b'1,' * ({_lazy_json.CROSSOVER} // 2) + b'1]'
assert len(j.loads_small(big)) == {_lazy_json.CROSSOVER} // 2 + 1
assert "orjson" in sys.modules
import orjson
assert j.loads is orjson.loads and j.JSONDecodeError is orjson.JSONDecodeError
"""
    subprocess.run([sys.executable, "-c", script], check=True)


def test_written_out_initialisers_take_exactly_the_fields():
    """Classes that write their ``__init__`` out (for start-up speed) take every field, in
    order, with the field's default (None for a factory field, which then makes a fresh one)."""
    import inspect

    from spec_kitty_telemetry._rates import ModelRates
    from spec_kitty_telemetry.projection import LogFold

    for cls in (
        CostSummary,
        CostReport,
        ReadReport,
        LogFold,
        RateTier,
        ModelRates,
        TelemetryConfig,
    ):
        assert "__init__" in cls.__dict__, cls
        parameters = list(inspect.signature(cls.__init__).parameters.values())[1:]
        assert tuple(p.name for p in parameters) == field_names(cls), cls
        for parameter in parameters:
            if parameter.default is not inspect.Parameter.empty:
                declared = cls.__dict__.get(parameter.name, None)
                assert parameter.default == declared, (cls, parameter.name)
    assert ReadReport("a").malformed_lines is not ReadReport("b").malformed_lines
    assert LogFold(None).report == ReadReport("")  # type: ignore[arg-type]
