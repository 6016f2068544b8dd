"""Receiving-provider profiles: Gmail, Yahoo and Outlook.com as data, and the engine that
applies them (see README.md in this folder for the file format and the API)."""

from policies.profiles.decision import Decision, DkimSignature, Facts
from policies.profiles.facts import build_facts
from policies.profiles.loader import BUILTIN, ProfileError, load_profile, parse_profile
from policies.profiles.profile import REPLY_KINDS, Profile, Rule, Session

__all__ = [
    "BUILTIN",
    "REPLY_KINDS",
    "Decision",
    "DkimSignature",
    "Facts",
    "Profile",
    "ProfileError",
    "Rule",
    "Session",
    "build_facts",
    "load_profile",
    "parse_profile",
]
