"""Analytics of the programme: RFM scores, segments and tiers, interest profiles, behaviour changes."""

from app.analytics.behaviour import detect_changes
from app.analytics.interests import interest_profile, top_styles
from app.analytics.rfm import RfmRun, score_rfm
from app.analytics.rules import InvalidRules, ProgrammeRules, default_rules, load_rules, rules_hash

__all__ = [
    "InvalidRules",
    "ProgrammeRules",
    "RfmRun",
    "default_rules",
    "detect_changes",
    "interest_profile",
    "load_rules",
    "rules_hash",
    "score_rfm",
    "top_styles",
]
