"""The error an export raises when its receiver refuses it or cannot be reached."""

from __future__ import annotations

from ..errors import TelemetryError

__all__ = ["ExportError"]


class ExportError(TelemetryError):
    """An export could not be delivered (HTTP error, refused connection, bad URL)."""
