# -*- test-case-name: tests.pbx.features -*-
"""
Call features that live in the dial plan (SPEC B3, E3, E4, E6): each is a
route step (L{tpbx.pbx.routing.IRouteStep}) or a helper those steps share.

Steps here decide only *where* a call goes and what happens when nobody
answers (L{tpbx.pbx.routing.Targets.onFailure}); the call mechanics (legs,
timers, media) stay in L{tpbx.pbx.call}.
"""

from tpbx.pbx.features.destinations import (DestinationSpec, parseDestinationSpec,
                                            resolveDestination, voicemail)
from tpbx.pbx.features.dialcodes import (DialCodeStep, FeatureDone, FeatureRequest,
                                         matchDialCode)
from tpbx.pbx.features.forwarding import ForwardingStep, selectRules
from tpbx.pbx.features.plan import featureSteps
from tpbx.pbx.features.ringgroup import RingGroupStep, autoAnswerHeaders

__all__ = ["DestinationSpec", "parseDestinationSpec", "resolveDestination", "voicemail",
           "DialCodeStep", "FeatureDone", "FeatureRequest", "matchDialCode",
           "ForwardingStep", "selectRules", "featureSteps", "RingGroupStep", "autoAnswerHeaders"]
