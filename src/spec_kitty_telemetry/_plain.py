"""Value classes without ``dataclasses``: what a report's start-up path defines.

Every ``cost`` defines a dozen small value classes before it prints a line. A
dataclass compiles several generated methods per class (about 5 M
instructions each, measured with callgrind) and ``import dataclasses`` loads
``inspect``, ``ast``, ``dis`` and ``tokenize`` (another 15-20 ms of wall). The
:func:`plain` decorator gives the same constructor (positional and keyword,
defaults, factories), ``==``, ``repr``, and for ``frozen=True`` read-only
attributes and a hash, by compiling one ``__init__`` per class and sharing
generic methods for the rest. ``typing.dataclass_transform`` tells type
checkers it behaves as a dataclass, so ``mypy --strict`` checks every
constructor call. No slots, no ordering, no ``__post_init__``, no
inheritance of fields: the classes that use it need none of these.

The generated ``__init__`` is compiled on a class's first instance, and
compiling costs about 60 k instructions a field; the classes every report
builds (``CostSummary`` with 25 fields, ``LogFold``, the rates...) write their
``__init__`` out, which the bytecode cache keeps compiled. A factory field's
written-out parameter defaults to None (meaning "make a fresh one");
``tests/test_plain.py`` holds every written-out ``__init__`` to the fields.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter
from typing import Any, Final, TypeVar, dataclass_transform, overload

__all__ = ["field", "field_names", "plain"]

_T = TypeVar("_T")
_C = TypeVar("_C", bound=type)
_MISSING: Final = object()


class _Field:
    """What :func:`field` puts in a class body until :func:`plain` reads it."""

    __slots__ = ("compare", "default", "factory")

    def __init__(self, default: Any, factory: Callable[[], Any] | None, compare: bool) -> None:
        self.default = default
        self.factory = factory
        self.compare = compare


@overload
def field(*, default: _T, compare: bool = ...) -> _T: ...
@overload
def field(*, default_factory: Callable[[], _T], compare: bool = ...) -> _T: ...
def field(
    *,
    default: Any = _MISSING,
    default_factory: Callable[[], Any] | None = None,
    compare: bool = True,
) -> Any:
    """Give a field a default value or factory, and say whether ``==`` (and hash) reads it."""
    return _Field(default, default_factory, compare)


def field_names(cls: type) -> tuple[str, ...]:
    """Return the fields of a :func:`plain` class in constructor order (``dataclasses.fields``)."""
    names: tuple[str, ...] = cls.__match_args__  # type: ignore[attr-defined]
    return names


def _frozen_setattr(self: object, name: str, value: object) -> None:
    raise AttributeError(f"cannot assign to field {name!r} of frozen {type(self).__qualname__}")


def _frozen_delattr(self: object, name: str) -> None:
    raise AttributeError(f"cannot delete field {name!r} of frozen {type(self).__qualname__}")


def _repr(self: object) -> str:
    names: tuple[str, ...] = type(self).__match_args__  # type: ignore[attr-defined]
    shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in names)
    return f"{type(self).__qualname__}({shown})"


def _eq(self: object, other: object) -> bool:
    if other.__class__ is not self.__class__:
        return NotImplemented  # type: ignore[no-any-return]
    key: Callable[[object], object] = type(self)._plain_key  # type: ignore[attr-defined]
    same: bool = key(self) == key(other)
    return same


def _hash(self: object) -> int:
    key: Callable[[object], object] = type(self)._plain_key  # type: ignore[attr-defined]
    return hash(key(self))


def _no_key(_: object) -> tuple[()]:
    return ()


def _build(cls: _C, frozen: bool) -> _C:
    annotations: dict[str, Any] = cls.__dict__.get("__annotations__", {})  # noqa: RUF063 - no inspect
    names = [name for name, kind in annotations.items() if not str(kind).startswith("ClassVar")]
    scope: dict[str, Any] = {"_MISSING": _MISSING, "_set": object.__setattr__}
    params: list[str] = []
    body: list[str] = []
    compared: list[str] = []
    for name in names:
        value = cls.__dict__.get(name, _MISSING)
        factory = None
        compare = True
        if isinstance(value, _Field):
            factory, compare, value = value.factory, value.compare, value.default
        if factory is not None:
            scope[f"_f_{name}"] = factory
            params.append(f"{name}=_MISSING")
            given = f"_f_{name}() if {name} is _MISSING else {name}"
        elif value is not _MISSING:
            scope[f"_d_{name}"] = value
            params.append(f"{name}=_d_{name}")
            given = name
        else:
            params.append(name)
            given = name
        if name in cls.__dict__:
            delattr(cls, name)  # the instance attribute, not the class's default, is read
        if value is not _MISSING and factory is None:
            setattr(cls, name, value)  # as a dataclass keeps it: ``Class.field`` is the default
        body.append(f"_set(self, {name!r}, {given})" if frozen else f"self.{name} = {given}")
        if compare:
            compared.append(name)
    if "__init__" not in cls.__dict__:  # a class may write its own (see module docstring)
        source = f"def __init__(self, {', '.join(params)}):\n    " + ("\n    ".join(body) or "pass")
        qualname = f"{cls.__qualname__}.__init__"

        def __init__(self: object, *args: Any, **kwargs: Any) -> None:
            # Compiled on the first instance, not when the class is defined: compiling is most
            # of a class's cost (about 60 k instructions a field), and a report builds few.
            exec(source, scope)  # our own field names, checked as identifiers by the parser
            init = scope["__init__"]
            init.__qualname__ = qualname
            cls.__init__ = init  # type: ignore[misc]
            init(self, *args, **kwargs)

        __init__.__qualname__ = qualname
        cls.__init__ = __init__  # type: ignore[misc]
    cls.__match_args__ = tuple(names)  # type: ignore[attr-defined,misc]
    cls._plain_key = (  # type: ignore[attr-defined]
        attrgetter(*compared)
        if len(compared) > 1
        else (lambda obj, name=compared[0]: (getattr(obj, name),))
        if compared
        else _no_key
    )
    if "__repr__" not in cls.__dict__:
        cls.__repr__ = _repr  # type: ignore[assignment]
    cls.__eq__ = _eq  # type: ignore[assignment]
    if frozen:
        cls.__setattr__ = _frozen_setattr  # type: ignore[assignment]
        cls.__delattr__ = _frozen_delattr  # type: ignore[assignment]
        cls.__hash__ = _hash  # type: ignore[assignment]
    else:
        cls.__hash__ = None  # type: ignore[assignment]  # mutable and compared by value
    return cls


@overload
def plain(cls: _C, /) -> _C: ...
@overload
def plain(*, frozen: bool = False) -> Callable[[_C], _C]: ...
@dataclass_transform(field_specifiers=(field,))
def plain(cls: _C | None = None, /, *, frozen: bool = False) -> _C | Callable[[_C], _C]:
    """Make ``cls`` a value class: ``@plain`` (mutable) or ``@plain(frozen=True)``."""
    if cls is not None:
        return _build(cls, frozen)

    def decorate(cls: _C) -> _C:
        return _build(cls, frozen)

    return decorate
