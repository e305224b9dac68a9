"""The storage interface every event backend implements, and its in-memory reference.

Backends implement two things: an idempotent :meth:`EventStore.save_event` and
an unordered stream, :meth:`EventStore.iter_events`. Ordering is defined once,
here, so every backend sorts the same way.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .events import Event

__all__ = ["EventStore", "InMemoryEventStore", "causal_order"]


def causal_order(event: Event) -> tuple[int, str, str]:
    """Sort key for events: Lamport clock, then node id, then event id to break ties."""
    return (event.lamport_clock, event.node_id, event.event_id)


class EventStore(ABC):
    """An append-only collection of events, each stored once."""

    @abstractmethod
    def save_event(self, event: Event) -> bool:
        """Store ``event`` unless an event with its id is already stored.

        Returns True when the event was written, False when it was already there.
        """

    def save_events(self, events: Iterable[Event]) -> int:
        """Store each event not already stored; return how many were written."""
        return sum(self.save_event(event) for event in events)

    @abstractmethod
    def iter_events(self, aggregate_id: str | None = None) -> Iterator[Event]:
        """Yield stored events (of one aggregate, or all) once each, in no promised order.

        For callers that fold over events and need no order: backends stream
        without holding every event in memory.
        """

    def load_events(self, aggregate_id: str) -> list[Event]:
        """Return one aggregate's events in causal order."""
        return sorted(self.iter_events(aggregate_id), key=causal_order)

    def load_all_events(self) -> list[Event]:
        """Return every stored event in causal order."""
        return sorted(self.iter_events(), key=causal_order)


class InMemoryEventStore(EventStore):
    """The reference backend: a dict in memory. Good for tests and short-lived tools."""

    def __init__(self) -> None:
        self._events: dict[str, Event] = {}

    def save_event(self, event: Event) -> bool:
        """Keep ``event`` unless its id is already kept."""
        if event.event_id in self._events:
            return False
        self._events[event.event_id] = event
        return True

    def iter_events(self, aggregate_id: str | None = None) -> Iterator[Event]:
        """Yield the kept events in insertion order."""
        for event in list(self._events.values()):
            if aggregate_id is None or event.aggregate_id == aggregate_id:
                yield event
