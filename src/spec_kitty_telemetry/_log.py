"""Loggers made on first use, so that importing a module does not import ``logging``.

``logging`` (with the ``string``, ``threading`` and ``traceback`` modules it
loads) is a measurable part of a small report's start-up, and most commands
log nothing. A module names its logger as usual (``logger = lazy_logger(__name__)``);
the standard logger is created the first time it is asked to log, so levels,
handlers and pytest's ``caplog`` apply to it unchanged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import logging

__all__ = ["LazyLogger", "lazy_logger"]


class LazyLogger:
    """Stands for ``logging.getLogger(name)``; imports ``logging`` on the first message."""

    __slots__ = ("_logger", "name")

    def __init__(self, name: str) -> None:
        self.name = name
        self._logger: logging.Logger | None = None

    def _get(self) -> logging.Logger:
        if self._logger is None:
            import logging

            self._logger = logging.getLogger(self.name)
        return self._logger

    def debug(self, message: str, *args: object) -> None:
        """Log at DEBUG level."""
        self._get().debug(message, *args)

    def info(self, message: str, *args: object) -> None:
        """Log at INFO level."""
        self._get().info(message, *args)

    def warning(self, message: str, *args: object) -> None:
        """Log at WARNING level."""
        self._get().warning(message, *args)

    def error(self, message: str, *args: object) -> None:
        """Log at ERROR level."""
        self._get().error(message, *args)


def lazy_logger(name: str) -> LazyLogger:
    """Return the logger of module ``name``, created when it first logs."""
    return LazyLogger(name)
