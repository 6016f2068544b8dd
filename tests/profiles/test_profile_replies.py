"""Reply layout: Gmail's wrapping reproduces the reference's wire blocks line for line.

Each expected block is copied from the reference (section 1.7 and the G-rows), with the
block id named; the texts fed in are the same words as one paragraph per sentence group.
"""

from __future__ import annotations

from policies.profiles.replies import fill, layout, parse_reply_line, prefix_lines

WIDTH = 79


def test_w_g1_2025_postfix_form():
    """W-G1, Postfix log Jan 2025: blank lines, indented result lines, URL line."""
    paragraphs = [
        "Your email has been blocked because the sender is unauthenticated. "
        "Gmail requires all senders to authenticate with either SPF or DKIM.",
        "",
        " Authentication results:",
        " DKIM = did not pass",
        " SPF [mxproxy.ogion.cz] with ip: [2a03:3b40:fe:81::1] = did not pass",
        "",
        " For instructions on setting up authentication, go to https://support.google.com/mail/answer/81126#authentication",
    ]
    assert layout(550, "5.7.26", paragraphs, width=WIDTH, suffix=" a640c23a62f3a-aac0eff19desi1759812166b.313 - gsmtp") == [
        "550-5.7.26 Your email has been blocked because the sender is unauthenticated.",
        "550-5.7.26 Gmail requires all senders to authenticate with either SPF or DKIM.",
        "550-5.7.26 ",
        "550-5.7.26  Authentication results:",
        "550-5.7.26  DKIM = did not pass",
        "550-5.7.26  SPF [mxproxy.ogion.cz] with ip: [2a03:3b40:fe:81::1] = did not pass",
        "550-5.7.26 ",
        "550-5.7.26  For instructions on setting up authentication, go to",
        "550 5.7.26  https://support.google.com/mail/answer/81126#authentication a640c23a62f3a-aac0eff19desi1759812166b.313 - gsmtp",
    ]


def test_w_g1_2024_haraka_form_without_indent():
    """W-G1, Haraka 2024: the same reply without the leading spaces (open question 3);
    only the URL keeps a space in our layout, Haraka's log shows none there either."""
    paragraphs = [
        "Your email has been blocked because the sender is unauthenticated. "
        "Gmail requires all senders to authenticate with either SPF or DKIM.",
        "",
        "Authentication results:",
        "DKIM = did not pass",
        "SPF [kb.openmailer.org] with ip: [102.219.153.221] = did not pass",
        "",
        "For instructions on setting up authentication, go to",
    ]
    assert layout(550, "5.7.26", paragraphs, width=WIDTH) == [
        "550-5.7.26 Your email has been blocked because the sender is unauthenticated.",
        "550-5.7.26 Gmail requires all senders to authenticate with either SPF or DKIM.",
        "550-5.7.26 ",
        "550-5.7.26 Authentication results:",
        "550-5.7.26 DKIM = did not pass",
        "550-5.7.26 SPF [kb.openmailer.org] with ip: [102.219.153.221] = did not pass",
        "550-5.7.26 ",
        "550 5.7.26 For instructions on setting up authentication, go to",
    ]


def test_w_g1_2023_exim_form_wraps_a_long_result_line_without_indent():
    """W-G1, Exim Oct 2023: a result line longer than the width continues unindented."""
    paragraphs = [
        "This mail has been blocked because the sender is unauthenticated. "
        "Gmail requires all senders to authenticate with either SPF or DKIM.",
        "",
        " Authentication results:",
        " DKIM = did not pass",
        " SPF [clinpharm-spbgmu.ru] with ip: [2a02:408:7722:1:77:222:41:79] = did not pass",
        "",
        " To mitigate this issue, please visit Gmail's authentication guide for instructions on setting up "
        "authentication: https://support.google.com/mail/answer/81126#authentication",
    ]
    lines = layout(550, "5.7.26", paragraphs, width=WIDTH,
                   suffix=" f18-20020a2e1f12000000b002c50bd6d1c8si1069648ljf.488 - gsmtp")
    # Exim strips trailing spaces: its blank lines read "550-5.7.26".
    assert [line.rstrip() for line in lines] == [
        "550-5.7.26 This mail has been blocked because the sender is unauthenticated.",
        "550-5.7.26 Gmail requires all senders to authenticate with either SPF or DKIM.",
        "550-5.7.26",
        "550-5.7.26  Authentication results:",
        "550-5.7.26  DKIM = did not pass",
        "550-5.7.26  SPF [clinpharm-spbgmu.ru] with ip: [2a02:408:7722:1:77:222:41:79] =",
        "550-5.7.26 did not pass",
        "550-5.7.26",
        "550-5.7.26  To mitigate this issue, please visit Gmail's authentication guide",
        "550-5.7.26 for instructions on setting up authentication:",
        "550 5.7.26  https://support.google.com/mail/answer/81126#authentication f18-20020a2e1f12000000b002c50bd6d1c8si1069648ljf.488 - gsmtp",
    ]


def test_w_g4_words_continue_after_the_url():
    """W-G4 (G22, 2022-2023): "for more" follows the URL on its line."""
    text = ("[144.76.109.34] The IP address sending this message does not have a PTR record setup, or the "
            "corresponding forward DNS entry does not point to the sending IP. As a policy, Gmail does not accept "
            "messages from IPs with missing PTR records. Please visit "
            "https://support.google.com/mail/answer/81126#ip-practices for more information.")
    assert layout(550, "5.7.25", [text], width=WIDTH, suffix=" o7-20020a05600002c700b002423d081bc9si7786936wry.828 - gsmtp") == [
        "550-5.7.25 [144.76.109.34] The IP address sending this message does not have a",
        "550-5.7.25 PTR record setup, or the corresponding forward DNS entry does not",
        "550-5.7.25 point to the sending IP. As a policy, Gmail does not accept messages",
        "550-5.7.25 from IPs with missing PTR records. Please visit",
        "550-5.7.25  https://support.google.com/mail/answer/81126#ip-practices for more",
        "550 5.7.25 information. o7-20020a05600002c700b002423d081bc9si7786936wry.828 - gsmtp",
    ]


def test_w_g8_a_word_after_the_url_then_the_rest():
    """W-G8 (G60, Aug 2025)."""
    text = ("Gmail has detected an unusual rate of unsolicited mail. To protect our users from spam, mail has been "
            "temporarily rate limited. For more information, go to "
            "https://support.google.com/mail/?p=UnsolicitedRateLimitError to review our Bulk Email Senders Guidelines.")
    assert layout(421, "4.7.28", [text], width=WIDTH, suffix=" af79cd13be357-7e67f73162esi193804885a.983 - gsmtp") == [
        "421-4.7.28 Gmail has detected an unusual rate of unsolicited mail. To protect",
        "421-4.7.28 our users from spam, mail has been temporarily rate limited. For",
        "421-4.7.28 more information, go to",
        "421-4.7.28  https://support.google.com/mail/?p=UnsolicitedRateLimitError to",
        "421 4.7.28 review our Bulk Email Senders Guidelines. af79cd13be357-7e67f73162esi193804885a.983 - gsmtp",
    ]


def test_g42_keeps_runs_of_spaces_inside_a_line():
    """G42 wire 2017: the padded "[192.0.2.222      13]" prefix survives wrapping."""
    text = "[192.0.2.222      13] Messages with multiple addresses in From: header are not accepted."
    assert layout(550, "5.7.1", [text], width=WIDTH, suffix=" r7si1238383pli.26 - gsmtp") == [
        "550-5.7.1 [192.0.2.222      13] Messages with multiple addresses in From:",
        "550 5.7.1 header are not accepted. r7si1238383pli.26 - gsmtp",
    ]


def test_g40_2025_wire_form():
    """G40 wire 2025; the sample's redacted <IP> is filled with a documentation address
    (any IPv4 address of 8 characters or more gives the same breaks)."""
    text = ("[192.0.2.10] Messages missing a valid Message-ID header are not accepted. For more information, go to "
            "https://support.google.com/mail/?p=RfcMessageNonCompliant and review RFC 5322 specifications.")
    assert layout(550, "5.7.1", [text], width=WIDTH, suffix=" <id> - gsmtp") == [
        "550-5.7.1 [192.0.2.10] Messages missing a valid Message-ID header are not",
        "550-5.7.1 accepted. For more information, go to",
        "550-5.7.1  https://support.google.com/mail/?p=RfcMessageNonCompliant and review",
        "550 5.7.1 RFC 5322 specifications. <id> - gsmtp",
    ]


def test_a_word_longer_than_the_width_gets_its_own_line():
    assert fill(["short " + "x" * 90 + " tail"], 60) == ["short", "x" * 90, "tail"]


def test_a_short_paragraph_keeps_its_indent_but_a_url_in_it_still_starts_a_line():
    assert fill(["   indented  and short"], 60) == ["   indented  and short"]
    assert fill(["see https://example.com/a then more"], 60) == ["see", " https://example.com/a then more"]
    assert fill(["  http://example.com/a first"], 60) == [" http://example.com/a first"]


def test_single_line_providers_join_paragraphs():
    assert layout(554, "5.7.9", ["Message not accepted", "for policy reasons."], width=None, multiline=False,
                  suffix=" [stamp]") == ["554 5.7.9 Message not accepted for policy reasons. [stamp]"]


def test_codes_without_enhanced_code():
    assert layout(354, None, ["Go ahead"], width=WIDTH, suffix=" id - gsmtp") == ["354 Go ahead id - gsmtp"]
    assert prefix_lines(250, None, ["a", "b"]) == ["250-a", "250 b"]


def test_parse_reply_line():
    assert parse_reply_line("550 5.7.26 text here") == (550, "5.7.26", "text here")
    assert parse_reply_line("250 2.0.0 OK  {now_unix}") == (250, "2.0.0", "OK  {now_unix}")
    assert parse_reply_line("354 Go ahead") == (354, None, "Go ahead")
    assert parse_reply_line("220 mx.google.com ESMTP") == (220, None, "mx.google.com ESMTP")
    assert parse_reply_line("250 2.0.0") == (250, "2.0.0", "")
    assert parse_reply_line("OK fine") is None
    assert parse_reply_line("650 5.7.1 x") is None
