"""One sandbox for a test: configured in plain calls, started on first use, sending over
real SMTP and returning the reply with the stored delivery.

The pytest plugin hands one to each test (``smtp_sandbox``); code outside pytest uses it
as a context manager. A :class:`ProfileCache` is shared by all sandboxes of a process so
a profile file is parsed once, which keeps a sandbox's start-up to a few milliseconds.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from policies.profiles import Profile, load_profile
from sandbox.app import Sandbox, SandboxThread
from sandbox.store import Delivery
from sandbox.testing.client import deciding_reply, smtp_send
from sandbox.testing.keys import DkimKey, generate_dkim_key
from sandbox.testing.message import make_message, sign_message
from sandbox.testing.reply import SendResult
from sandbox.testing.zone import ZoneBuilder

DELIVERY_TIMEOUT = 10.0
_OPTIONS = ("profile", "client_ip", "client_ips", "bulk_senders", "unknown_users", "over_quota", "faults",
            "require_tls")


class ProfileCache:
    """Loaded profiles by name or path; a profile is immutable, so sandboxes share it."""

    def __init__(self) -> None:
        self._loaded: dict[str, Profile] = {}
        self._lock = threading.Lock()

    def get(self, profile: str | Path | Profile) -> Profile:
        if isinstance(profile, Profile):
            return profile
        key = str(profile)
        with self._lock:
            if key not in self._loaded:
                self._loaded[key] = load_profile(profile)
            return self._loaded[key]


class SandboxHarness:
    """A sandbox under test. Options (``profile``, ``client_ip`` or ``client_ips``,
    ``bulk_senders``, ``unknown_users``, ``over_quota``, ``faults``, ``require_tls``) are
    set in the constructor or :meth:`configure` before the first send; the zone
    (:attr:`zone`) may change at any time."""

    def __init__(self, *, profiles: ProfileCache | None = None, zone: str | None = None, **options: Any) -> None:
        self.zone = ZoneBuilder()
        self._profiles = profiles or ProfileCache()
        self._options: dict[str, Any] = {"profile": "gmail"}
        self._running: SandboxThread | None = None
        self._stored: queue.Queue[Delivery] = queue.Queue()
        self.configure(**options)
        if zone is not None:
            self.zone.bind(zone)

    def configure(self, **options: Any) -> "SandboxHarness":
        unknown = set(options) - set(_OPTIONS)
        if unknown:
            raise TypeError(f"unknown sandbox option(s) {', '.join(sorted(unknown))}; known: {', '.join(_OPTIONS)}")
        if self._running is not None:
            raise RuntimeError("the sandbox is already running; configure it before the first send")
        self._options.update(options)
        return self

    # -- life cycle ----------------------------------------------------------------------------

    def start(self) -> "SandboxHarness":
        """Start the DNS and SMTP servers on free ports (done by the first send otherwise)."""
        if self._running is None:
            options = dict(self._options)
            client_ips = options.pop("client_ips", None) or {}
            client_ip = options.pop("client_ip", None)
            if client_ip is not None:
                client_ips = {**client_ips, None: client_ip}
            sandbox = Sandbox(
                self.zone.zones, profile=self._profiles.get(options.pop("profile")), client_ips=client_ips,
                on_delivery=lambda _number, delivery: self._stored.put(delivery), **options,
            )
            self._running = sandbox.run_in_thread()
        return self

    def stop(self) -> None:
        if self._running is not None:
            self._running.stop()
            self._running = None

    def __enter__(self) -> "SandboxHarness":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def smtp_address(self) -> tuple[str, int]:
        return self.start()._running.smtp_address  # type: ignore[union-attr]

    @property
    def dns_address(self) -> tuple[str, int] | None:
        return self.start()._running.dns_address  # type: ignore[union-attr]

    @property
    def profile(self) -> Profile:
        return self._profiles.get(self._options["profile"])

    # -- keys and messages -----------------------------------------------------------------------

    def dkim_key(self, domain: str, selector: str = "mail", *, key_type: str = "rsa", bits: int = 2048,
                 publish: bool = True) -> DkimKey:
        """A new DKIM key for ``domain``, published at ``<selector>._domainkey.<domain>`` unless
        ``publish`` is false (the key a test "forgot" to copy to the new DNS)."""
        key = generate_dkim_key(domain, selector, key_type=key_type, bits=bits)
        if publish:
            self.zone.dkim(key)
        return key

    @staticmethod
    def message(sender: str, recipients: str | Iterable[str], **fields: Any) -> bytes:
        return make_message(sender, recipients, **fields)

    @staticmethod
    def sign(message: bytes, key: DkimKey, **options: Any) -> bytes:
        return sign_message(message, key, **options)

    # -- sending -------------------------------------------------------------------------------

    def send(self, sender: str, recipients: str | Sequence[str], message: bytes | None = None, *,
             sign_with: DkimKey | Sequence[DkimKey] = (), helo: str = "mail.example.com",
             starttls: bool = True, **message_fields: Any) -> SendResult:
        """Send one message over SMTP and return the deciding reply with the stored delivery.

        Without ``message`` a well-formed one is made (``message_fields`` go to
        :func:`make_message`); ``sign_with`` DKIM-signs it with each key given."""
        rcpts = [recipients] if isinstance(recipients, str) else list(recipients)
        data = message if message is not None else make_message(sender, rcpts, **message_fields)
        for key in [sign_with] if isinstance(sign_with, DkimKey) else sign_with:
            data = sign_message(data, key)
        address = self.smtp_address
        self._forget_stored()
        replies = smtp_send(address, sender, rcpts, data, helo=helo, starttls=starttls)
        try:
            delivery: Delivery | None = self._stored.get(timeout=DELIVERY_TIMEOUT)
        except queue.Empty:
            delivery = None
        return SendResult(deciding_reply(replies), tuple(replies), delivery)

    def _forget_stored(self) -> None:
        """Drop deliveries reported before this send (say, a connection a test opened by
        hand), so the next one reported is this send's: one connection, one delivery."""
        while True:
            try:
                self._stored.get_nowait()
            except queue.Empty:
                return

    def deliveries(self) -> list[Delivery]:
        """Every delivery stored so far, oldest first."""
        return self._running.deliveries() if self._running is not None else []


class SandboxFactory:
    """Makes harnesses sharing one profile cache and stops every one in :meth:`close`."""

    def __init__(self, profiles: ProfileCache | None = None) -> None:
        self.profiles = profiles or ProfileCache()
        self._made: list[SandboxHarness] = []

    def __call__(self, *, zone: str | None = None, **options: Any) -> SandboxHarness:
        harness = SandboxHarness(profiles=self.profiles, zone=zone, **options)
        self._made.append(harness)
        return harness

    def close(self) -> None:
        while self._made:
            self._made.pop().stop()
