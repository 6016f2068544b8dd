"""A whole sandbox in one object: DNS server, SMTP server, store and provider profile.

``smtp-sandbox serve`` runs one; so do the pytest plugin (one per test) and the
benchmark. Everything it owns hangs off the instance (no module state), so many can
run in one process, and starting or stopping one takes milliseconds.

    async with Sandbox(zones, profile="gmail", client_ips={None: "192.0.2.10"}) as sandbox:
        host, port = sandbox.smtp_address
        ...

For code without an event loop (pytest, the benchmark driver), :class:`SandboxThread`
runs a sandbox on its own loop in a background thread.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import tempfile
import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Coroutine, TypeVar

from fake_dns import Faults, Resolver, Zones
from fake_dns.server import DnsServer
from policies.profiles import Profile, load_profile
from sandbox.smtp.handler import ConnectionHandler, Reception
from sandbox.smtp.identity import ClientIdentity, ClientIpMap
from sandbox.smtp.server import ServerConfig, SmtpServer
from sandbox.smtp.tls import ensure_self_signed, server_context
from sandbox.smtp.transcript import Transcript
from sandbox.store import Delivery, Store

T = TypeVar("T")
Address = tuple[str, int]
DeliveryCallback = Callable[[int, Delivery], None]


class BindError(OSError):
    """A server of the sandbox could not listen: ``service`` is ``smtp`` or ``dns``."""

    def __init__(self, service: str, address: Address, cause: OSError) -> None:
        self.service = service
        self.address = address
        self.reason = cause.strerror or str(cause)
        super().__init__(cause.errno, f"{service} {address[0]}:{address[1]}: {self.reason}")


class Sandbox:
    """The sandbox's components, started and stopped together on the running loop.

    ``zones`` is shared, not copied: the DNS server and the checks read the same object,
    and :meth:`reload_zones` swaps its content for both at once. ``profile`` is a built-in
    profile name, a path to a profile file, or an already loaded profile. ``client_ips``
    maps source addresses to the address the checks should judge (key None: every
    source); see :mod:`sandbox.smtp.identity`. ``require_tls`` None keeps the profile's
    own setting. ``idle_timeout`` is how many seconds a connection may stay silent before
    the server closes it (any input counts, so a large body sent slowly is not cut off;
    RFC 5321 4.5.3.2 asks for at least five minutes, the default, but a test of how an
    MTA copes with the server hanging up wants less). ``smtp`` is the address to listen
    on, a socket already listening (the workers of ``serve --workers`` share one), or None
    for no SMTP server (the ``serve`` process whose workers do the receiving). Without
    ``data_dir`` the store lives in a temporary directory that :meth:`stop` removes.
    ``on_delivery(number, delivery)`` is called on the loop after each attempt is stored.
    Bad arguments (a profile that does not load, an address that is not one, a timeout
    that is not positive) raise ValueError from the constructor; :meth:`start` raises
    :class:`BindError` when a port cannot be bound.
    """

    def __init__(
        self,
        zones: Zones,
        *,
        faults: Faults | Iterable[str] | None = None,
        profile: str | Path | Profile = "gmail",
        data_dir: str | Path | None = None,
        smtp: Address | socket.socket | None = ("127.0.0.1", 0),
        dns: Address | None = ("127.0.0.1", 0),
        client_ips: Mapping[str | None, str] | None = None,
        bulk_senders: Iterable[str] = (),
        unknown_users: Iterable[str] = (),
        over_quota: Iterable[str] = (),
        require_tls: bool | None = None,
        tls_cert: str | Path | None = None,
        tls_key: str | Path | None = None,
        proxy_protocol: bool = False,
        xclient: bool = False,
        idle_timeout: float = 300.0,
        on_delivery: DeliveryCallback | None = None,
    ) -> None:
        if (tls_cert is None) != (tls_key is None):
            raise ValueError("give both a TLS certificate and its key, or neither")
        if not idle_timeout > 0:
            raise ValueError(f"idle_timeout must be a positive number of seconds, not {idle_timeout!r}")
        self.zones = zones
        self.faults = faults if isinstance(faults, Faults) else Faults(faults or ())
        self.profile = _load_profile(profile, require_tls=require_tls)
        self.client_ips = ClientIpMap.build(client_ips)
        self._data_dir = Path(data_dir) if data_dir is not None else None
        self._smtp_bind = smtp
        self._dns_bind = dns
        self._bulk_senders = tuple(bulk_senders)
        self._unknown_users = tuple(unknown_users)
        self._over_quota = tuple(over_quota)
        self._tls_files = (Path(tls_cert), Path(tls_key)) if tls_cert is not None and tls_key is not None else None
        self._proxy_protocol = proxy_protocol
        self._xclient = xclient
        self._idle_timeout = idle_timeout
        self._on_delivery = on_delivery
        self.resolver = Resolver(zones, self.faults)
        self.store: Store | None = None
        self.data_dir: Path | None = None
        self._temp_dir: str | None = None
        self._dns: DnsServer | None = None
        self._smtp: SmtpServer | None = None
        self._reception: Reception | None = None

    # -- life cycle ---------------------------------------------------------------------------

    async def start(self) -> "Sandbox":
        """Open the store, then start the DNS and SMTP servers; undone again on failure."""
        if self.store is not None:
            raise RuntimeError("this sandbox is already running")
        try:
            self.data_dir = self._data_dir or Path(self._make_temp_dir())
            self.data_dir.mkdir(parents=True, exist_ok=True)
            cert, key = self._tls_files or ensure_self_signed(self.data_dir / "tls", self.profile.hostname)
            tls_context = server_context(cert, key)
            self.store = Store(self.data_dir)
            self._reception = Reception.build(
                self.profile, self.resolver, self.store, bulk_senders=self._bulk_senders,
                unknown_users=self._unknown_users, over_quota=self._over_quota, on_delivery=self._on_delivery,
            )
            if self._dns_bind is not None:
                self._dns = DnsServer(self.zones, self.faults)
                try:
                    await self._dns.start(*self._dns_bind)
                except OSError as exc:
                    raise BindError("dns", self._dns_bind, exc) from None
            config = ServerConfig(
                hostname=self.profile.hostname, max_size=self.profile.max_size, tls_context=tls_context,
                client_ips=self.client_ips, proxy_protocol=self._proxy_protocol, xclient=self._xclient,
                idle_timeout=self._idle_timeout,
            )
            if isinstance(self._smtp_bind, socket.socket):
                self._smtp = SmtpServer(config, self._new_handler)
                await self._smtp.start(sock=self._smtp_bind)
            elif self._smtp_bind is not None:
                self._smtp = SmtpServer(config, self._new_handler)
                try:
                    await self._smtp.start(*self._smtp_bind)
                except OSError as exc:
                    raise BindError("smtp", self._smtp_bind, exc) from None
        except BaseException:
            await self.stop()
            raise
        return self

    async def stop(self) -> None:
        """Stop accepting, finish and store what is in flight, close the store; idempotent."""
        if self._smtp is not None:
            await self._smtp.stop()
            self._smtp = None
        if self._dns is not None:
            await self._dns.stop()
            self._dns = None
        if self.store is not None:
            await self.store.close()
            self.store = None
        if self._temp_dir is not None:
            shutil.rmtree(self._temp_dir, ignore_errors=True)
            self._temp_dir = None

    async def __aenter__(self) -> "Sandbox":
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def _make_temp_dir(self) -> str:
        self._temp_dir = tempfile.mkdtemp(prefix="smtp-sandbox-")
        return self._temp_dir

    def _new_handler(self, identity: ClientIdentity, transcript: Transcript, server: SmtpServer) -> ConnectionHandler:
        assert self._reception is not None
        return ConnectionHandler(self._reception, identity, transcript, server.protect)

    # -- while running --------------------------------------------------------------------------

    @property
    def smtp_address(self) -> Address:
        if self._smtp is None or self._smtp.address is None:
            raise RuntimeError("the sandbox is not running")
        return self._smtp.address

    @property
    def dns_address(self) -> Address | None:
        """The DNS server's (host, port), or None when it was not asked for (``dns=None``)."""
        return self._dns.address if self._dns is not None else None

    def reload_zones(self, zones: Zones) -> None:
        """Serve ``zones`` from now on, to the DNS server and the checks alike (atomic)."""
        self.zones.replace(zones)

    async def deliveries(self) -> list[Delivery]:
        """Every stored delivery, oldest first."""
        if self.store is None:
            raise RuntimeError("the sandbox is not running")
        return await self.store.list()

    def run_in_thread(self) -> "SandboxThread":
        """Start this sandbox on its own event loop in a background thread."""
        return SandboxThread(self).start()


def _load_profile(profile: str | Path | Profile, *, require_tls: bool | None) -> Profile:
    """A profile from a name or path (ValueError when it does not load), with the TLS
    requirement overridden when asked."""
    loaded = load_profile(profile) if isinstance(profile, (str, Path)) else profile
    if require_tls is not None:
        loaded = loaded.with_options(require_tls=require_tls)
    return loaded


class SandboxThread:
    """A :class:`Sandbox` on its own event loop in a daemon thread, for synchronous code.

        with Sandbox(zones).run_in_thread() as running:
            smtplib.SMTP(*running.smtp_address)...
    """

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> "SandboxThread":
        """Start the loop and the sandbox; returns once it listens (or raises its error)."""
        if self._thread is not None:
            raise RuntimeError("this sandbox thread is already running")
        loop = asyncio.new_event_loop()

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.run_forever()
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

        self._loop = loop
        self._thread = threading.Thread(target=run, name="smtp-sandbox", daemon=True)
        self._thread.start()
        try:
            self.call(self.sandbox.start())
        except BaseException:
            self._halt()
            raise
        return self

    def call(self, coroutine: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run ``coroutine`` on the sandbox's loop and return its result."""
        if self._loop is None:
            raise RuntimeError("the sandbox thread is not running")
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def stop(self) -> None:
        """Stop the sandbox (storing what is in flight) and end the thread; idempotent."""
        if self._loop is None:
            return
        try:
            self.call(self.sandbox.stop())
        finally:
            self._halt()

    def _halt(self) -> None:
        assert self._loop is not None and self._thread is not None
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop = None
        self._thread = None

    @property
    def smtp_address(self) -> Address:
        return self.sandbox.smtp_address

    @property
    def dns_address(self) -> Address | None:
        return self.sandbox.dns_address

    def reload_zones(self, zones: Zones) -> None:
        self.sandbox.reload_zones(zones)

    def deliveries(self) -> list[Delivery]:
        return self.call(self.sandbox.deliveries())

    def __enter__(self) -> "SandboxThread":
        return self if self._thread is not None else self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
