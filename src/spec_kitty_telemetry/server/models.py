"""The shapes of the API's answers, for validation and the OpenAPI document."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

__all__ = ["BatchResult", "EventPage", "Health"]


class Health(BaseModel):
    """``/healthz``: the server is up and its database answers."""

    status: str


class BatchResult(BaseModel):
    """What a ``POST /api/v1/events`` stored: ``new + duplicates == received``."""

    received: int = Field(description="Events in the batch.")
    new: int = Field(description="Events stored by this request.")
    duplicates: int = Field(description="Events whose id was already stored (not stored again).")


class EventPage(BaseModel):
    """A page of events as log lines hold them, and the next page's cursor (null at the end)."""

    events: list[dict[str, Any]]
    next_cursor: str | None
