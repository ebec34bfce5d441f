# -*- test-case-name: tests.media.test_player -*-
"""
The default music on hold (C{default.wav}, made by L{tpbx.media.mohgen}),
a package so it installs as package data and loads with C{importlib.resources}.
"""

__all__: list = []
