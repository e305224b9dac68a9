"""The exceptions this package raises.

Everything derives from :class:`TelemetryError`, so a caller (and the CLI, in
one place) can catch the package's failures without catching its own bugs.
"""

from __future__ import annotations

__all__ = [
    "ClockError",
    "ConfigError",
    "InvalidClockValueError",
    "InvalidEventError",
    "InvalidOptionError",
    "PricingError",
    "ProjectNotFoundError",
    "QueryError",
    "StoreError",
    "StoreLockTimeout",
    "TelemetryError",
    "UnsafePathError",
]


class TelemetryError(Exception):
    """Root of every error spec-kitty-telemetry raises on purpose.

    ``parameter`` names the argument of the library call at fault
    (``group_by``, ``since``), when one is; the message then leaves it out,
    and ``str()`` puts it in front. The command line phrases it as the flag
    that set it (``--group-by``), in one place, so the library never needs to
    know what its callers call things.
    """

    def __init__(self, message: str = "", *, parameter: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.parameter = parameter

    def __str__(self) -> str:
        return f"{self.parameter}: {self.message}" if self.parameter else self.message


class InvalidEventError(TelemetryError, ValueError):
    """An event, or the data it would be built from, breaks the event schema."""


class StoreError(TelemetryError):
    """An event store could not read or write its storage."""


class StoreLockTimeout(StoreError, TimeoutError):
    """Another writer held the store's lock for longer than we were willing to wait."""


class UnsafePathError(StoreError, OSError):
    """A write was refused: the target is a link or not a file, or lies outside the project.

    An OSError too, so code that treats a failed write of a cache as "not
    cached" does the same for a refused one.
    """


class ClockError(TelemetryError):
    """A Lamport clock's storage could not be read or written."""


class InvalidClockValueError(ClockError, ValueError):
    """A Lamport value outside 0..2**53-1 was given to a clock or its storage."""


class ConfigError(TelemetryError):
    """A project configuration file is unreadable or holds a bad value."""


class ProjectNotFoundError(ConfigError):
    """No spec-kitty project (``kitty-specs/`` or ``.kittify/``) at or above the start folder."""


class InvalidOptionError(TelemetryError, ValueError):
    """A command-line option or argument has a value the command cannot use."""


class PricingError(ConfigError):
    """A pricing table (shipped or a project's overrides) is malformed or holds a bad rate."""


class QueryError(TelemetryError, ValueError):
    """A query or report was asked for something it cannot do (a bad date, an unknown group)."""
