"""Shared pieces of the profile tests: fixed sessions, clean facts, and stand-ins for the
check results (build_facts reads them duck-typed)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from policies.profiles import Facts, Profile, Session, load_profile

PROFILE_DIR = Path(__file__).resolve().parents[2] / "policies" / "profiles"
# 2024-12-22 19:56:54 UTC, the Unix time of the reference's Gmail 250 line.
NOW = 1734897414.0


def session(profile: Profile | str, ip: str = "192.0.2.10", seed: int = 7, now: float = NOW) -> Session:
    """A session with a reproducible id and a fixed clock."""
    if isinstance(profile, str):
        profile = load_profile(profile)
    return profile.new_session(ip, rng=random.Random(seed), clock=lambda: now)


def clean(**changes: Any) -> Facts:
    """End-of-DATA facts of a message that passes everything, with ``changes`` applied."""
    base = Facts(
        client_ip="192.0.2.10", ip_version=4, tls=True, helo="mail.example.com", mail_from="alice@example.com",
        mail_from_domain="example.com", spf="pass", spf_domain="example.com", spf_all="-", dkim="pass",
        dkim_domain="example.com", dmarc="pass", dmarc_policy="reject", dmarc_disposition="none",
        dmarc_record=True, aligned=True, rdns="pass", ptr="mail.example.com", from_domain="example.com",
        list_unsubscribe=True, one_click_unsubscribe=True, recipients=("user@gmail.com",),
        recipient="user@gmail.com",
    )
    if changes.get("ip_version") is None and ":" in changes.get("client_ip", ""):
        changes["ip_version"] = 6
    return replace(base, **changes)


def profile_data(name: str) -> dict[str, Any]:
    """A built-in profile as plain data, to edit and dump for loader tests."""
    return yaml.load((PROFILE_DIR / f"{name}.yaml").read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)


def dump(data: dict[str, Any]) -> str:
    return yaml.dump(data, Dumper=yaml.CSafeDumper, sort_keys=False)


def rule_data(data: dict[str, Any], rule_id: str) -> dict[str, Any]:
    return next(r for r in data["rules"] if r["id"] == rule_id)


# -- stand-ins for the check results -----------------------------------------------------


@dataclass(frozen=True)
class Spf:
    result: str = "pass"
    domain: str = "example.com"
    record: str | None = "v=spf1 ip4:192.0.2.0/24 -all"


@dataclass(frozen=True)
class Dkim:
    result: str = "pass"
    domain: str = "example.com"
    selector: str = "s1"
    header_b: str = "AbCdEfGhIjKl"


@dataclass(frozen=True)
class Dmarc:
    result: str = "pass"
    domain: str = "example.com"
    org_domain: str = "example.com"
    policy: str | None = "reject"
    disposition: str = "none"
    record: str | None = "v=DMARC1; p=reject"
    spf_aligned: bool = True
    dkim_aligned: bool = True
    temporary_cause: str | None = None
    testing: bool = False


@dataclass(frozen=True)
class Arc:
    result: str = "none"
    first_hop_results: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Rdns:
    result: str = "pass"
    ptr: tuple[str, ...] = ("mail.example.com.",)


@dataclass(frozen=True)
class Issue:
    code: str
    header: str | None = None
    detail: str = ""


@dataclass(frozen=True)
class Format:
    issues: tuple[Issue, ...] = ()
    from_domain: str | None = "example.com"


@dataclass(frozen=True)
class Auth:
    spf: Spf = Spf()
    dkim: tuple[Dkim, ...] = (Dkim(),)
    dmarc: Dmarc = Dmarc()
    arc: Arc = Arc()
    rdns: Rdns = Rdns()
    format: Format = Format()
