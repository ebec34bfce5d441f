# -*- test-case-name: tests.e2e.test_features_baresip -*-
"""
A registered baresip softphone for the call-feature end-to-end tests.

Why a module of its own: the feature tests share three phones across a
whole module (starting baresip costs about a second each), switch them
between auto and manual answer, and find the audio of I{one} call among
the sndfile dumps of many; this wraps those steps around
L{tests.e2e.tools.baresip_ctl.BaresipCtl}.  Standard library only.

Every wait is bounded and the process is stopped by the PID we started.
"""

import time

from tests.e2e.tools.baresip_ctl import BaresipCtlError
from tests.e2e.tools.baresip_process import BaresipProcess

__all__ = ["BaresipPhone"]


class BaresipPhone:
    """
    One baresip with one UDP account on a tpbx, playing a tone WAV and
    recording what it hears (sndfile dumps under C{directory/rec}).

    @ivar number: the extension it is registered as.
    @ivar ctl: its L{BaresipCtl}.
    """

    def __init__(self, server, number, directory, source):
        """
        Write the profile, start baresip and connect to its control port.

        @param server: the L{tests.e2e.harness.TpbxProcess} to register with.
        @param source: the WAV it sends (8 kHz mono 16-bit, longer than
            every call: baresip hangs up when it ends).
        """
        self.server, self.number, self.directory = server, number, directory
        account = "<sip:%s@%s:%d;transport=udp>;auth_pass=%s;regint=600;answermode=auto" % (
            number, server.host, server.sipPort, server.extensions[number].password)
        (directory / "rec").mkdir(parents=True, exist_ok=True)
        self.process = BaresipProcess(directory, ["--source", str(source), "--record", "rec",
                                                  "--account", account])
        self.ctl = self.process.ctl

    def uri(self, user):
        """@return: the SIP URI of C{user} (a number or a dial code) at the PBX."""
        return "sip:%s@%s:%d" % (user, self.server.host, self.server.sipPort)

    def dial(self, user):
        """Start a call to C{user} (number or dial code) through the PBX."""
        self.ctl.command("dial", self.uri(user))

    def answerMode(self, mode):
        """Switch the account to C{auto} or C{manual} answer."""
        self.ctl.command("answermode", mode)

    def hangup(self):
        """Hang up (or reject) the current call, if there is one."""
        try:
            self.ctl.command("hangup", check=False)
        except BaresipCtlError:
            pass

    def inCall(self):
        """@return: whether C{listcalls} shows any call."""
        data = self.ctl.command("listcalls", check=False).get("data", "")
        return "sip:" in data

    def dumps(self):
        """@return: the set of received-audio dumps written so far."""
        return set((self.directory / "rec").glob("dump-*-dec.wav"))

    def heard(self, before, timeout=3.0):
        """
        The received-audio dump of the call made since C{before} (a
        L{dumps} result), once baresip has closed it.

        @return: its path (the newest if several).
        @raise AssertionError: when no new dump shows up within C{timeout}.
        """
        deadline = time.monotonic() + timeout
        while True:
            new = sorted(self.dumps() - before)
            if new:
                return new[-1]
            if time.monotonic() >= deadline:
                raise AssertionError("%s: no recording of received audio" % (self.number,))
            time.sleep(0.1)

    def stop(self):
        """Close the control connection and stop baresip by its PID."""
        self.process.stop()
