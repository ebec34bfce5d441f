# -*- test-case-name: tests.test_events -*-
"""
Tests for L{tpbx.events}: structured PBX events (SPEC I2), to the Twisted
log and to memory.
"""

from __future__ import annotations

import dataclasses

import pytest
from twisted.logger import capturedLogs, formatEvent
from zope.interface.verify import verifyObject

from tpbx.events import (ADDRESS_BLACKLISTED, ADDRESS_FLOODING, REGISTRATION_CHANGED,
                         Event, LogEventSink, MemoryEventSink)
from tpbx.interfaces import IEventSink


def test_sinksProvideIEventSink():
    """Both sinks are real IEventSinks."""
    assert verifyObject(IEventSink, LogEventSink())
    assert verifyObject(IEventSink, MemoryEventSink())


def test_eventNumbersAreTheManuals():
    """The ids are the manual's event-log numbers."""
    assert (REGISTRATION_CHANGED, ADDRESS_BLACKLISTED, ADDRESS_FLOODING) == (4101, 12290, 12292)


def test_eventIsFrozenWithOwnFields():
    """Events are immutable records; each gets its own fields dict."""
    one, two = Event(4101, "a"), Event(4101, "b")
    assert one.fields == {} and one.fields is not two.fields
    with pytest.raises(dataclasses.FrozenInstanceError):
        one.id = 1


def test_logEventSinkWritesStructuredRecord():
    """
    An event becomes one info record in the C{tpbx.events} namespace with
    its id, message and fields as structured keys.
    """
    event = Event(REGISTRATION_CHANGED, "Extension 100 registered", {"extension": "100"})
    with capturedLogs() as records:
        LogEventSink().emit(event)
    [record] = records
    assert record["log_namespace"] == "tpbx.events"
    assert record["log_level"].name == "info"
    assert (record["event_id"], record["event_fields"]) == (4101, {"extension": "100"})
    assert formatEvent(record) == "event 4101: Extension 100 registered"


def test_memoryEventSinkKeepsOrder():
    """The memory sink keeps every event, in order."""
    sink = MemoryEventSink()
    events = [Event(4101, "one"), Event(12290, "two", {"address": "192.0.2.1"})]
    for event in events:
        sink.emit(event)
    assert sink.events == events
