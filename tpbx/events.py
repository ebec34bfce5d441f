# -*- test-case-name: tests.test_events -*-
"""
Structured PBX events (SPEC I2), numbered as in the manual's event log.

They go to the Twisted log now (L{LogEventSink}); the event-log page and
notifications consume the same records later.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from twisted.logger import Logger
from zope.interface import implementer

from tpbx.interfaces import IEventSink

__all__ = ["Event", "LogEventSink", "MemoryEventSink",
           "REGISTRATION_CHANGED", "ADDRESS_BLACKLISTED", "ADDRESS_FLOODING"]

REGISTRATION_CHANGED = 4101
ADDRESS_BLACKLISTED = 12290
ADDRESS_FLOODING = 12292


@dataclass(frozen=True)
class Event:
    """
    @ivar id: the event number (4101 registration change, 12290 blacklisted).
    @ivar message: one human line, no secrets.
    @ivar fields: machine-readable details.
    """

    id: int
    message: str
    fields: dict = field(default_factory=dict)


@implementer(IEventSink)
class LogEventSink:
    """Writes events as structured Twisted log records (namespace C{tpbx.events})."""

    def __init__(self):
        # Per instance: read through C{self}, a class-level Logger would
        # swap this namespace for the class's dotted name.
        self._log = Logger(namespace="tpbx.events", source=self)

    def emit(self, event: Event) -> None:
        self._log.info("event {event_id}: {event_message}", event_id=event.id,
                       event_message=event.message, event_fields=event.fields)


@implementer(IEventSink)
class MemoryEventSink:
    """Keeps events in a list; for tests and for the recent-events view."""

    def __init__(self):
        self.events: list[Event] = []

    def emit(self, event: Event) -> None:
        self.events.append(event)
