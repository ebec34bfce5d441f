# -*- test-case-name: tests.test_tap -*-
# `twistd -ny tpbx.tac`: the same service as `twistd tpbx`, with default options
# (data in ./data, or TPBX_DATA).
import os

from twisted.application.service import Application

from tpbx.tap import Options, makeService

options = Options()
options.parseOptions(["--data", os.environ.get("TPBX_DATA", "data")])
application = Application("tpbx")
makeService(options).setServiceParent(application)
