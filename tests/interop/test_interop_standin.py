"""The stand-in receiver itself: it must answer with Gmail's wire forms, since the MTA
tests read those replies back from the MTAs' logs and bounces."""

from __future__ import annotations

from standin import ACCEPTED, GSMTP_ID, rejection_lines


def test_stand_in_rejects_with_gmails_wire_form() -> None:
    """The reply the Exim and Postfix tests read back is W-G1 as Gmail sends it."""
    lines = rejection_lines(temporary=False, domain="sender.test", ip="127.0.0.10")
    assert lines[0] == "550-5.7.26 Your email has been blocked because the sender is unauthenticated."
    assert lines[5] == "550-5.7.26  SPF [sender.test] with ip: [127.0.0.10] = did not pass"
    assert lines[-1] == ("550 5.7.26  https://support.google.com/mail/answer/81126#authentication "
                         f"{GSMTP_ID} - gsmtp")


def test_stand_in_rate_limit_reply_is_temporary_and_keeps_gmails_shape() -> None:
    lines = rejection_lines(temporary=True, domain="sender.test", ip="127.0.0.11")
    assert all(line.startswith("421-4.7.26 ") for line in lines[:-1])
    assert lines[-1].startswith("421 4.7.26  https://") and lines[-1].endswith(f"{GSMTP_ID} - gsmtp")


def test_accepted_pattern_is_gmails_two_space_form() -> None:
    assert ACCEPTED.fullmatch(f"250 2.0.0 OK  1734897414 {GSMTP_ID} - gsmtp")
    assert not ACCEPTED.fullmatch(f"250 2.0.0 OK 1734897414 {GSMTP_ID} - gsmtp")  # one space: pre-2024 form
