# -*- test-case-name: tests.media -*-
"""
Media: RTP and RTCP for calls the PBX anchors.

Pure modules (L{tpbx.media.rtp}, L{tpbx.media.ports}) import nothing of
Twisted, like L{tpbx.sip}; L{tpbx.media.relay} is the Twisted side that
owns sockets.  See DESIGN.md "Layers".
"""

__all__: list[str] = []
