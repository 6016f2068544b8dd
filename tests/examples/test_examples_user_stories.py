"""Tests written the way a sender would write them with the pytest plugin: each one
states its DNS, sends a message over SMTP and checks what Gmail would answer.

They use only what the plugin installs (the ``smtp_sandbox`` fixture and the
``sandbox.testing`` helpers); nothing from the rest of this test suite.
"""

from __future__ import annotations

import pytest

from sandbox.testing import (
    assert_check,
    assert_deferred,
    assert_inbox,
    assert_rejected,
    assert_spam,
)

SERVER_IP = "192.0.2.10"  # the production address of the shop's mail server


def shop_dns(sandbox, *, spf: str = "ip4:198.51.100.20 -all", dmarc: str = "p=reject") -> None:
    """The shop after its DNS move: the mail server has forward-confirmed reverse DNS,
    but SPF still lists only the old provider (198.51.100.20)."""
    sandbox.zone.bind(f"""
        $ORIGIN shop.example.
        @       MX   10 mail.shop.example.
        @       TXT  "v=spf1 {spf}"
        _dmarc  TXT  "v=DMARC1; {dmarc}"
    """)
    sandbox.zone.mail_host("mail.shop.example", SERVER_IP)


@pytest.mark.smtp_sandbox(client_ip=SERVER_IP)
def test_lost_dkim_key_after_dns_move_is_refused_by_gmail(smtp_sandbox):
    """The DNS was moved to a new provider and mail._domainkey was not copied: the
    signature cannot be verified, SPF does not cover the server, and DMARC p=reject
    tells Gmail to refuse what nothing authenticates."""
    shop_dns(smtp_sandbox)
    key = smtp_sandbox.dkim_key("shop.example", "mail", publish=False)

    result = smtp_sandbox.send("orders@shop.example", "customer@gmail.com", sign_with=key)

    assert_rejected(result, 550, "5.7.26", stage="data", text="not accepted due to domain's")
    assert_check(result, "dkim", "permerror")  # no key record: RFC 6376 permerror (key unavailable)
    assert_check(result, "spf", "fail")


@pytest.mark.smtp_sandbox(client_ip=SERVER_IP)
def test_publishing_the_dkim_key_gets_the_order_mail_to_the_inbox(smtp_sandbox):
    """The fix: publish the key again. DKIM passes and aligns, DMARC passes."""
    shop_dns(smtp_sandbox)
    key = smtp_sandbox.dkim_key("shop.example", "mail")

    result = smtp_sandbox.send("orders@shop.example", "customer@gmail.com", sign_with=key)

    assert_inbox(result)
    assert_check(result, "dkim", "pass")
    assert_check(result, "dmarc", "pass")
    assert result.reply.lines[0].startswith("250 2.0.0 OK ")


@pytest.mark.smtp_sandbox(client_ip=SERVER_IP)
def test_unaligned_newsletter_under_p_quarantine_lands_in_spam(smtp_sandbox):
    """A newsletter tool sends with its own bounce domain: SPF passes for that domain,
    not for shop.example, so DMARC fails and p=quarantine sends it to spam."""
    shop_dns(smtp_sandbox, dmarc="p=quarantine")
    smtp_sandbox.zone.spf("bounce.newsletter.example", f"ip4:{SERVER_IP} -all")

    result = smtp_sandbox.send("bounce-123@bounce.newsletter.example", "customer@gmail.com",
                               headers={"From": "news@shop.example"})

    assert_spam(result)
    assert_check(result, "spf", "pass")
    assert_check(result, "dmarc", "fail")


@pytest.mark.smtp_sandbox(client_ip=SERVER_IP, unknown_users=["no.such.person@gmail.com"])
def test_mail_to_an_unknown_user_is_refused_at_rcpt(smtp_sandbox):
    """A typo in the address: Gmail refuses the recipient before any message is sent."""
    shop_dns(smtp_sandbox, spf=f"ip4:{SERVER_IP} -all")

    result = smtp_sandbox.send("orders@shop.example", "no.such.person@gmail.com")

    assert_rejected(result, 550, "5.1.1", stage="rcpt", text="does not exist")
    assert result.checks == {}  # nothing was judged: no message arrived


@pytest.mark.smtp_sandbox(client_ip=SERVER_IP, faults=["shop.example/TXT=timeout"])
def test_dns_timeout_on_a_p_reject_domain_is_deferred_not_refused(smtp_sandbox):
    """The shop's DNS provider times out: SPF cannot be evaluated and DMARC is p=reject,
    so Gmail defers (451 4.7.26) and the sending server retries later."""
    shop_dns(smtp_sandbox, spf=f"ip4:{SERVER_IP} -all")

    result = smtp_sandbox.send("orders@shop.example", "customer@gmail.com")

    assert_deferred(result, 451, "4.7.26", stage="data", text="temporary DNS failures")
    assert_check(result, "spf", "temperror")


def test_the_same_sandbox_serves_a_whole_module(shop_on_yahoo):
    """A module-scoped sandbox from the factory: the same DNS, another provider."""
    result = shop_on_yahoo.send("orders@shop.example", "customer@yahoo.com")

    assert_inbox(result)


@pytest.fixture(scope="module")
def shop_on_yahoo(smtp_sandbox_factory):
    sandbox = smtp_sandbox_factory(profile="yahoo", client_ip=SERVER_IP)
    shop_dns(sandbox, spf=f"ip4:{SERVER_IP} -all")
    with sandbox:
        yield sandbox
