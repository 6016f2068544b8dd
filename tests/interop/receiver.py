"""The receiver the interop tests drive: the real sandbox (``sandbox.app.Sandbox``),
behaving like Gmail, with the sender's zone in a state the test changes.

The sender's zone starts broken the classic way: no DKIM selector record for the key
its MTA signs with, and an SPF record that does not cover the production address the
MTA's mail is judged as (``client_ips`` maps the loopback source addresses 127.0.0.10
Exim, 127.0.0.11 Postfix and 127.0.0.12 swaks to :data:`JUDGED_IP`, as a staging MTA
would be mapped to the address it will send from in production). SPF ends in ``~all``
and DMARC is ``p=none``, so neither G3 (SPF -all) nor G4 (DMARC reject) pre-empts
Gmail's "sender is unauthenticated" rejection, G1. :meth:`SandboxReceiver.fix`
publishes what the MTA signs with and allows :data:`JUDGED_IP` in SPF, and reloads the
zone into the running sandbox; from then on SPF, DKIM and DMARC pass.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from fake_dns import Faults, Zone, Zones
from mta import DkimKey
from sandbox.app import Sandbox, SandboxThread
from sandbox.store import Delivery

SENDER_DOMAIN = "sender.test"
# The production address every MTA's loopback source is judged as.
JUDGED_IP = "192.0.2.10"
SOURCE_IPS = ("127.0.0.10", "127.0.0.11", "127.0.0.12")  # Exim, Postfix, swaks
# Published before the fix: some other host's address, softfail; DMARC monitoring only.
ZONE_BEFORE = f"""$ORIGIN {SENDER_DOMAIN}.
$TTL 300
@      TXT "v=spf1 ip4:198.51.100.20 ~all"
mail   A   {JUDGED_IP}
_dmarc TXT "v=DMARC1; p=none"
"""
SPF_FIXED = f'"v=spf1 ip4:198.51.100.20 ip4:{JUDGED_IP} ~all"'
# Gmail's G22 wants a PTR whose name resolves back (FCrDNS): the production host has one.
PTR_ZONE = f"""$ORIGIN 2.0.192.in-addr.arpa.
$TTL 300
10 PTR mail.{SENDER_DOMAIN}.
"""
# A DMARC record that cannot be fetched: Gmail's G5 (451-4.7.26) defers the message.
DMARC_SERVFAIL = f"_dmarc.{SENDER_DOMAIN}/TXT=servfail"
DMARC_OK = f"_dmarc.{SENDER_DOMAIN}/TXT=ok"

# Gmail's acceptance of a message (two spaces after OK, a 10-digit Unix time, the
# connection's id): what the MTAs must log as the delivery.
ACCEPTED = re.compile(r"250 2\.0\.0 OK  \d{10} \S+ - gsmtp")
# The first line of Gmail's G1 rejection as the sandbox sends it.
G1_FIRST_LINE = "550-5.7.26 Your email has been blocked because the sender is unauthenticated."


@dataclass(frozen=True)
class Attempt:
    """One stored delivery, in the terms the MTA tests compare with the MTAs' logs."""

    peer: str  # the socket peer: the MTA's bound loopback address
    helo: str
    tls: bool
    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes  # as stored: for accepted mail with the sandbox's headers on top
    reply_lines: tuple[str, ...]  # the reply to the end of the message, one per line
    delivery: Delivery  # everything else the sandbox stored (checks, folder, transcript)

    @classmethod
    def of(cls, delivery: Delivery) -> "Attempt":
        return cls(peer=delivery.original_ip, helo=delivery.helo, tls=bool(delivery.tls),
                   mail_from=delivery.mail_from, rcpt_tos=tuple(delivery.rcpt_to),
                   data=delivery.message or b"", reply_lines=tuple(delivery.decision.get("lines") or ()),
                   delivery=delivery)

    def client_commands(self) -> list[str]:
        """The lines the client sent, from the sandbox's transcript."""
        return [entry["line"] for entry in self.delivery.transcript if entry["dir"] == "C"]


class SandboxReceiver:
    """A running Gmail sandbox judging mail from ``sender.test``, in a background thread.

    ``data_dir`` keeps the store (and the TLS certificate) there; :meth:`restart` stops
    the sandbox and starts a new one on the same directory. The Gmail profile offers
    CHUNKING, so Exim sends BDAT; STARTTLS uses a self-signed certificate in the data
    directory, which the MTAs accept opportunistically.
    """

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.faults = Faults()
        self.keys: list[DkimKey] = []
        self.spf_fixed = False
        self._thread: SandboxThread | None = None

    def zones(self) -> Zones:
        """The sender's zone as it stands, plus the reverse zone of :data:`JUDGED_IP`."""
        text = ZONE_BEFORE.replace('"v=spf1 ip4:198.51.100.20 ~all"', SPF_FIXED) if self.spf_fixed else ZONE_BEFORE
        zone = Zone.from_text(text)
        for key in self.keys:  # zone.add splits the >255-character value into strings
            zone.add(key.dns_name + ".", "TXT", key.txt_record())
        return Zones([zone, Zone.from_text(PTR_ZONE)])

    def _start(self, smtp: tuple[str, int] = ("127.0.0.1", 0)) -> None:
        sandbox = Sandbox(self.zones(), faults=self.faults, profile="gmail", data_dir=self.data_dir, dns=None,
                          smtp=smtp, client_ips={source: JUDGED_IP for source in SOURCE_IPS})
        self._thread = sandbox.run_in_thread()

    @property
    def thread(self) -> SandboxThread:
        if self._thread is None:
            raise RuntimeError("the sandbox is not running")
        return self._thread

    @property
    def address(self) -> tuple[str, int]:
        return self.thread.smtp_address

    def fix(self, key: DkimKey | None = None) -> None:
        """The sender fixes its DNS: publishes ``key``'s selector record, allows
        :data:`JUDGED_IP` in SPF, and the zone is reloaded into the running sandbox."""
        if key is not None:
            self.keys.append(key)
        self.spf_fixed = True
        self.faults.add(DMARC_OK)
        self.thread.reload_zones(self.zones())

    def defer_until_fixed(self) -> None:
        """Make the verdict temporary until :meth:`fix`: the DMARC lookup fails (G5)."""
        self.faults.add(DMARC_SERVFAIL)

    def deliveries(self) -> list[Delivery]:
        return self.thread.deliveries()

    def attempts(self) -> list[Attempt]:
        return [Attempt.of(delivery) for delivery in self.deliveries()]

    def restart(self) -> None:
        """Stop the sandbox and start a new one on the same data directory, zones and
        port (the MTAs keep relaying to the address they were configured with)."""
        address = self.address
        self.thread.stop()
        self._thread = None
        self._start(smtp=address)

    def __enter__(self) -> "SandboxReceiver":
        self._start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._thread is not None:
            self._thread.stop()
            self._thread = None


def assert_authenticated_into_inbox(attempt: Attempt, selector: str) -> None:
    """The sandbox's stored verdict once the zone is fixed: SPF, DKIM, DMARC pass, inbox."""
    checks = attempt.delivery.checks
    assert attempt.delivery.client_ip == JUDGED_IP
    assert checks["spf"]["result"] == "pass", checks["spf"]
    assert [(d["result"], d["domain"], d["selector"]) for d in checks["dkim"]] == \
        [("pass", "sender.test", selector)], checks["dkim"]
    assert checks["dmarc"]["result"] == "pass", checks["dmarc"]
    assert (attempt.delivery.action, attempt.delivery.folder) == ("accept", "inbox")
