"""Session placeholders: the clock is read once per text that shows it, and a decision
shows one instant; the stored form of a decision."""

from __future__ import annotations

import random
import re
from dataclasses import asdict, fields

from policies.profiles import Decision, load_profile
from policies.profiles.profile import CLOCK_NAMES, clock_values
from profile_helpers import clean

GMAIL = load_profile("gmail")
OUTLOOK = load_profile("outlook")
YAHOO = load_profile("yahoo")


class StepClock:
    """A clock that moves 1.5 s further at every reading, and counts the readings."""

    def __init__(self, start: float = 1748211742.25) -> None:
        self.now, self.readings = start, 0

    def __call__(self) -> float:
        self.readings += 1
        self.now += 1.5
        return self.now


def test_replies_read_the_clock_only_when_their_text_shows_the_time():
    clock = StepClock()
    conn = GMAIL.new_session("192.0.2.10", rng=random.Random(1), clock=clock)
    conn.reply("mail_ok", sender="a@example.com")
    conn.reply("rcpt_ok", recipient="u@gmail.com")
    conn.reply("data_go_ahead")
    conn.greeting()
    assert clock.readings == 0
    assert conn.reply("data_ok") == [f"250 2.0.0 OK  {int(clock.now)} {conn.id} - gsmtp"]
    assert clock.readings == 1


def test_an_accepted_message_shows_one_instant_in_its_reply_and_headers():
    clock = StepClock()
    conn = GMAIL.new_session("192.0.2.10", rng=random.Random(1), clock=clock)
    decision = conn.decide("data", clean())
    assert decision is not None and decision.action == "accept" and clock.readings == 1
    assert decision.lines == (f"250 2.0.0 OK  {int(clock.now)} {conn.id} - gsmtp",)
    assert dict(decision.headers)["Received"].endswith("; " + clock_values(clock.now, {"now_rfc"})["now_rfc"])


def test_outlook_hop_stamps_of_one_reply_share_one_instant():
    clock = StepClock()
    conn = OUTLOOK.new_session("192.0.2.10", rng=random.Random(1), clock=clock)
    decision = conn.decide("data", clean(dmarc="fail", dmarc_disposition="reject"))
    assert decision is not None and decision.rule_id == "M2" and clock.readings == 1
    times = re.findall(r" (\S+Z) ", decision.lines[0])
    assert times == [clock_values(clock.now, {"now_iso"})["now_iso"]] * 3


def test_clock_values_round_like_datetime_at_the_end_of_a_second():
    """now_iso and now_rfc follow datetime's rounding to the microsecond (a time a
    hair before the next second shows that second); now_unix truncates."""
    assert clock_values(1748211742.9999996, CLOCK_NAMES) == {
        "now_unix": "1748211742", "now_iso": "2025-05-25T22:22:23.000Z", "now_rfc": "Sun, 25 May 2025 22:22:23 +0000",
    }
    assert clock_values(1748211742.9994, CLOCK_NAMES)["now_iso"] == "2025-05-25T22:22:22.999Z"
    assert clock_values(1748211742.0004, {"now_iso"}) == {"now_iso": "2025-05-25T22:22:22.000Z"}


def test_values_lists_every_session_placeholder_at_one_instant():
    conn = YAHOO.new_session("192.0.2.10", rng=random.Random(1), clock=lambda: 1750571880.0)
    values = conn.values()
    assert list(values) == ["id", "ip", "hostname", "max_size", "now_unix", "now_iso", "now_rfc", "mta"]
    assert values["mta"] == f"mta{conn.id}.mail.mud.yahoo.com"
    assert (values["now_unix"], values["now_iso"], values["now_rfc"]) == (
        "1750571880", "2025-06-22T05:58:00.000Z", "Sun, 22 Jun 2025 05:58:00 +0000")


def test_sessions_drawn_without_a_generator_get_different_ids():
    ids = {GMAIL.new_session("192.0.2.10").id for _ in range(20)}
    assert len(ids) == 20


def test_decision_as_dict_is_every_field_with_lists_and_the_text():
    refusal = GMAIL.new_session("192.0.2.10", rng=random.Random(1)).decide("data", clean(spf="softfail", dkim="fail"))
    accepted = GMAIL.new_session("192.0.2.10", rng=random.Random(1)).decide("data", clean())
    for decision in (refusal, accepted):
        assert isinstance(decision, Decision)
        data = decision.as_dict()
        assert list(data) == [f.name for f in fields(Decision)] + ["text"]
        assert data == {**asdict(decision), "lines": list(decision.lines),
                        "headers": [list(h) for h in decision.headers], "text": decision.text}
    assert refusal.as_dict()["rule_id"] == "G1" and len(refusal.as_dict()["lines"]) > 1
    assert accepted.as_dict()["headers"][0] == ["X-Sandbox-Folder", "inbox"]
