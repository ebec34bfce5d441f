# -*- test-case-name: tests.test_tap -*-
"""
The C{twistd tpbx} plugin: a stub that names L{tpbx.tap} so C{twistd --help}
stays cheap.  This directory must not contain an C{__init__.py}.
"""

from twisted.application.service import ServiceMaker

tpbx = ServiceMaker("tpbx", "tpbx.tap", "An IP-PBX: SIP registrar, calls, web console.", "tpbx")
