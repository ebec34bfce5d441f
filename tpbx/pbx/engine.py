# -*- test-case-name: tests.pbx.test_engine -*-
"""
The glue between transports, the sans-IO transaction layer and the
transaction user (aioquic's adapter pattern, STYLE.md sec. 4).

Transports hand parsed messages to L{SIPEngine.messageReceived}; the engine
feeds them to the L{TransactionLayer} with the clock's C{now}, carries out the
actions it returns (send, deliver to the TU, report termination) and keeps
exactly one DelayedCall armed for the layer's next deadline.
"""

from __future__ import annotations

from twisted.logger import Logger
from zope.interface import implementer

from tpbx.errors import ProtocolError
from tpbx.interfaces import IMessageSender, IMessageSink, ITransactionUser
from tpbx.sip.layer import (RequestReceived, ResponseReceived, SendMessage,
                            TransactionLayer, TransactionTerminated)
from tpbx.sip.message import Request
from tpbx.sip.reply import makeResponse, newTag

__all__ = ["SIPEngine"]


@implementer(IMessageSink)
class SIPEngine:
    """
    @ivar layer: the L{TransactionLayer}.
    @ivar sender: where outgoing messages go (L{IMessageSender}).
    @ivar user: the L{ITransactionUser} (the PBX core); set after
        construction because the core needs the engine to answer.
    """

    _log = Logger()

    def __init__(self, clock, layer: TransactionLayer, sender: IMessageSender,
                 user: ITransactionUser | None = None):
        self._clock = clock
        self.layer = layer
        self.sender = sender
        self.user = user
        self._timer = None
        self._timerAt: float | None = None
        self._handlers = {
            SendMessage: self._doSend,
            RequestReceived: self._doRequest,
            ResponseReceived: self._doResponse,
            TransactionTerminated: self._doTerminated,
        }

    # IMessageSink

    def messageReceived(self, message, peer) -> None:
        """
        Feed one message from a transport into the transaction layer.
        """
        now = self._clock.seconds()
        try:
            if isinstance(message, Request):
                actions = self.layer.receiveRequest(message, peer, now)
            else:
                actions = self.layer.receiveResponse(message, peer, now)
        except ProtocolError as e:
            self._unmatched(message, peer, e)
            return
        self._run(actions)

    def _unmatched(self, message, peer, error: ProtocolError) -> None:
        """
        The layer could not match C{message} (no usable Via): a request
        other than ACK is answered statelessly with the error's status
        (sec. 8.2.6), a response is dropped (sec. 18.1.2).
        """
        self._log.info("unmatched message from {peer}: {reason}", peer=peer,
                       reason=error.reason)
        if isinstance(message, Request) and message.method != "ACK":
            self.sender.send(makeResponse(message, error.statusHint, error.reason), peer)

    def transportError(self, peer, reason) -> None:
        """
        A send failed; the transactions bound to that peer are told so the
        TU hears "transport-error" (RFC 3261 sec. 17.1.4, 17.2.4).
        """
        self._log.info("transport error to {peer}: {reason}", peer=peer, reason=reason)
        now = self._clock.seconds()
        for transaction in self.layer.transactionsFor(peer):
            self._run(self.layer.transportError(transaction, now))

    # What the TU calls

    def sendResponse(self, transaction, response) -> None:
        """Answer a server transaction."""
        self._run(self.layer.sendResponse(transaction, response, self._clock.seconds()))

    def sendRequest(self, request, peer):
        """
        Start a client transaction.

        @return: the client transaction, whose responses reach the TU.
        """
        transaction, actions = self.layer.sendRequest(request, peer, self._clock.seconds())
        self._run(actions)
        return transaction

    def abandon(self, transaction) -> None:
        """
        End a server transaction without answering it (a request from an
        address the guard has just blacklisted), so that it is not kept,
        unanswered and without a timer, for ever.  The TU hears it ended
        with C{"transport-error"}.
        """
        self._run(self.layer.transportError(transaction, self._clock.seconds()))

    def forget(self, transaction) -> None:
        """
        Drop a new server transaction whose request the TU answered
        statelessly (a challenge, RFC 3261 sec. 8.2.7): nothing is sent,
        the TU hears nothing more of it, its timers lapse, and a
        retransmission of the request starts a new one.
        """
        self.layer.forget(transaction)

    def sendStateless(self, message, peer) -> None:
        """Send outside any transaction (ACK for a 2xx, a stray response)."""
        self.sender.send(message, peer)

    # Actions

    def _run(self, actions) -> None:
        handlers = self._handlers
        for action in actions:
            try:
                handlers[type(action)](action)
            except Exception:
                self._log.failure("while handling {action!r}", action=action)
        new = self.layer.newDeadline()
        if new is not None and not self._armedBy(new):
            self._rearm(self.layer.nextDeadline())

    def _doSend(self, action: SendMessage) -> None:
        self.sender.send(action.message, action.peer)

    def _doRequest(self, action: RequestReceived) -> None:
        """
        Deliver a request; if the TU fails on it (a bug, never the peer's
        doing), answer 500 so the peer gets a precise error and the server
        transaction completes instead of waiting, unanswered, for ever.
        """
        transaction = action.transaction
        try:
            self.user.requestReceived(action.request, transaction)
        except Exception:
            self._log.failure("the TU failed on {request!r}", request=action.request)
            last = transaction.lastResponse if transaction is not None else None
            if transaction is not None and (last is None or last.status < 200):
                response = makeResponse(action.request, 500, toTag=newTag())
                self._run(self.layer.sendResponse(transaction, response,
                                                  self._clock.seconds()))

    def _doResponse(self, action: ResponseReceived) -> None:
        self.user.responseReceived(action.response, action.transaction)

    def _doTerminated(self, action: TransactionTerminated) -> None:
        self.user.transactionTerminated(action.transaction, action.reason)

    # The one timer

    def _armedBy(self, deadline: float) -> bool:
        """
        @return: whether the timer is armed to fire by C{deadline}: then
            a message's actions that scheduled nothing sooner need no look
            at the layer's next deadline, which walks past the timers they
            stopped.
        """
        return (self._timer is not None and self._timer.active()
                and self._timerAt <= deadline)

    def _rearm(self, deadline: float | None) -> None:
        """
        Arm the DelayedCall for the layer's next deadline C{deadline}
        (L{TransactionLayer.nextDeadline}: a live one) unless it is armed
        sooner; looked at after the timer fired, and after a message's
        actions only when they scheduled a deadline the timer is not armed
        by (L{TransactionLayer.newDeadline}).  The layer puts far
        deadlines on a grid itself (L{tpbx.sip.layer.GRID}), so the
        thousands that expire each second under load fire together.
        """
        if deadline is None:
            return
        if self._timer is not None and self._timer.active():
            if self._timerAt <= deadline:
                return
            self._timer.cancel()
        self._timerAt = deadline
        delay = max(0.0, deadline - self._clock.seconds())
        self._timer = self._clock.callLater(delay, self._fire)

    def _fire(self) -> None:
        self._timer = None
        self._run(self.layer.handleTimers(self._clock.seconds()))
        deadline = self.layer.nextDeadline()
        if deadline is None:
            self.stop()   # a timer armed for a deadline gone since
        else:
            self._rearm(deadline)

    def stop(self) -> None:
        """Cancel the pending timer (service shutdown)."""
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
