"""The plugin's own promises: what a failed assertion shows, independent sandboxes on
free ports, zone changes seen at once, DKIM keys of every kind, and the reply type."""

from __future__ import annotations

import pytest

from sandbox.testing import (
    SandboxHarness,
    SmtpReply,
    assert_check,
    assert_deferred,
    assert_inbox,
    generate_dkim_key,
)

IP = "192.0.2.10"


def good_dns(sandbox) -> None:
    sandbox.zone.spf("shop.example", f"ip4:{IP} -all").dmarc("shop.example", "p=reject")
    sandbox.zone.mail_host("mail.shop.example", IP)


@pytest.mark.smtp_sandbox(client_ip=IP)
def test_a_failed_assertion_shows_the_reply_transcript_checks_and_fix(smtp_sandbox):
    smtp_sandbox.zone.spf("shop.example", "ip4:198.51.100.20 -all").mail_host("mail.shop.example", IP)
    result = smtp_sandbox.send("orders@shop.example", "customer@gmail.com")

    with pytest.raises(AssertionError) as caught:
        assert_inbox(result)

    shown = str(caught.value)
    assert shown.startswith("expected 250 at end of DATA, filed in inbox\nreply at data:\n  550-5.7.26 ")
    assert "decision: action=reject rule=G3" in shown
    assert "  C: mail FROM:<orders@shop.example>" in shown and "  S: 354 Go ahead" in shown
    assert "  spf: fail" in shown and "fix: add `ip4:192.0.2.10` to the SPF record of shop.example" in shown


def test_each_sandbox_has_its_own_ports_store_and_profile(smtp_sandbox_factory):
    gmail = smtp_sandbox_factory(client_ip=IP)
    yahoo = smtp_sandbox_factory(profile="yahoo", client_ip=IP)
    good_dns(gmail)
    with gmail, yahoo:
        assert gmail.smtp_address != yahoo.smtp_address
        assert gmail.dns_address is not None and gmail.dns_address != yahoo.dns_address
        assert_inbox(gmail.send("orders@shop.example", "customer@gmail.com"))
        refused = yahoo.send("orders@shop.example", "customer@yahoo.com")  # yahoo's zone is empty: no PTR
        assert len(gmail.deliveries()) == 1 and len(yahoo.deliveries()) == 1
    assert_deferred(refused, 421, "4.7.0", stage="data")
    assert refused.delivery.profile == "yahoo" and refused.result("rdns") == "none"


@pytest.mark.smtp_sandbox(client_ip=IP)
def test_zone_changes_reach_a_running_sandbox(smtp_sandbox):
    smtp_sandbox.zone.mail_host("mail.shop.example", IP)
    assert_check(smtp_sandbox.send("orders@shop.example", "customer@gmail.com"), "spf", "none")
    smtp_sandbox.zone.spf("shop.example", f"ip4:{IP} -all")
    assert_check(smtp_sandbox.send("orders@shop.example", "customer@gmail.com"), "spf", "pass")


def test_options_cannot_change_once_the_sandbox_runs(smtp_sandbox):
    smtp_sandbox.start()
    with pytest.raises(RuntimeError, match="before the first send"):
        smtp_sandbox.configure(profile="yahoo")
    with pytest.raises(TypeError, match="unknown sandbox option"):
        SandboxHarness(proflie="yahoo")


@pytest.mark.parametrize(("key_type", "bits", "expected"), [
    ("ed25519", 256, "pass"),
    ("rsa", 1024, "pass"),
    ("rsa", 512, "policy"),  # RFC 8301: keys under 1024 bits are not accepted
])
@pytest.mark.smtp_sandbox(client_ip=IP)
def test_dkim_keys_are_published_and_sign_in_one_call(smtp_sandbox, key_type, bits, expected):
    good_dns(smtp_sandbox)
    key = smtp_sandbox.dkim_key("shop.example", "s1", key_type=key_type, bits=bits)
    result = smtp_sandbox.send("orders@shop.example", "customer@gmail.com", sign_with=key)
    assert_check(result, "dkim", expected)
    assert result.checks["dkim"][0]["selector"] == "s1"


def test_generated_rsa_keys_have_the_size_asked_for():
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    key = generate_dkim_key("shop.example", bits=512)
    assert load_pem_private_key(key.private, None).key_size == 512
    assert key.record().startswith("v=DKIM1; k=rsa; p=") and key.dns_name == "mail._domainkey.shop.example"


def test_reply_keeps_the_wire_lines_and_splits_the_codes():
    reply = SmtpReply.from_smtplib("rcpt", 550, b"5.1.1 The email account\n5.1.1  https://support.example")
    assert reply.lines == ("550-5.1.1 The email account", "550 5.1.1  https://support.example")
    assert reply.enhanced_code == "5.1.1" and reply.text == "The email account\n https://support.example"
    assert not reply.positive
    assert SmtpReply.from_smtplib("data", 250, b"OK queued").enhanced_code is None
