"""Private instances of real mail programs for the interop tests: Exim, Postfix, OpenDKIM.

Each instance lives in its own directory (configuration, spool/queue, logs, a maildir
for the bounces it sends back to the sender) and never touches the system's mail setup:
Exim is the binary `tools/interop/install.sh` unpacked into a private root, run with
``-C`` and its own configuration; Postfix runs as a second instance with ``-c`` and its
own config_directory; OpenDKIM runs in the foreground with ``-x`` and its own
configuration. Every one relays all
mail to one receiver on loopback (the sandbox)
from its own loopback source address, so the receiver can tell who sent what.

Why the instance directory is not pytest's ``tmp_path``: the MTAs drop privileges to
their own users (Debian-exim, postfix), who must reach their spool, maildir and milter
socket; pytest's base directory is private to root (mode 0700). See
:func:`instance_directory`.

Delivery is made immediate instead of waiting for the MTAs' retry schedules: Exim
delivers in the submitting process (``-odi``) and is forced with ``-M``; Postfix's queue
is flushed with ``postqueue -f``. The whole exchange takes well under a second.
"""

from __future__ import annotations

import base64
import email
import email.policy
import os
import pwd
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import TypeVar

import dkim
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

T = TypeVar("T")

INSTALL_HINT = "run `tools/interop/install.sh` as root (`make test` does it through `make sysdeps`)"
EXIM_ROOT = Path(os.environ.get("SMTP_SANDBOX_EXIM_ROOT", "/opt/smtp-sandbox-interop/exim-root"))
EXIM_USER = "Debian-exim"  # compiled into Debian's exim binary
POSTFIX_USER = "postfix"
TIMEOUT = 20.0  # seconds to wait for a log line; a healthy exchange takes well under one


class MissingTool(RuntimeError):
    """A program the interop tests drive is not installed (the message says how to fix it)."""


# --- finding the programs -----------------------------------------------------------

def exim_binary() -> Path:
    """The unpacked Exim binary, once it and what it needs to run are there."""
    binary = EXIM_ROOT / "usr/sbin/exim4"
    if not os.access(binary, os.X_OK):
        raise MissingTool(f"Exim is not unpacked at {binary}: {INSTALL_HINT}")
    _require_user(EXIM_USER, "Exim")
    _require_root("Exim")
    return binary


def require_postfix() -> None:
    """Postfix's commands and user are installed, and we may start an instance."""
    for program in ("postfix", "postconf", "postqueue", "sendmail"):
        if shutil.which(program) is None:
            raise MissingTool(f"Postfix ({program}) is not installed: {INSTALL_HINT}")
    _require_user(POSTFIX_USER, "Postfix")
    _require_root("Postfix")


def require_program(program: str, package: str) -> str:
    """The path of ``program``, which Debian's ``package`` installs."""
    path = shutil.which(program)
    if path is None:
        raise MissingTool(f"{program} (Debian package {package}) is not installed: {INSTALL_HINT}")
    return path


def swaks_binary() -> str:
    """swaks, with the TLS support its --tls needs (an optional Perl module)."""
    binary = require_program("swaks", "swaks")
    support = subprocess.run([binary, "--support"], capture_output=True, text=True, timeout=TIMEOUT)
    if "TLS supported" not in support.stdout + support.stderr:
        raise MissingTool(f"swaks lacks TLS support (Debian package libnet-ssleay-perl): {INSTALL_HINT}")
    return binary


def _require_user(user: str, program: str) -> None:
    try:
        pwd.getpwnam(user)
    except KeyError:
        raise MissingTool(f"{program} needs the system user {user}: {INSTALL_HINT}") from None


def _require_root(program: str) -> None:
    if os.geteuid() != 0:
        raise MissingTool(f"a private {program} instance needs root (to run its daemons as their own users)")


# --- shared pieces ------------------------------------------------------------------

@contextmanager
def instance_directory(prefix: str) -> Iterator[Path]:
    """A fresh directory the MTAs' own users can traverse, removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix=f"smtp-sandbox-interop-{prefix}-"))
    try:
        path.chmod(0o755)
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@dataclass(frozen=True)
class DkimKey:
    """An RSA signing key made for one test, and what the sender must publish for it."""

    domain: str
    selector: str
    private_key: Path  # PEM (PKCS#8), readable by root only
    public_key: str  # base64 DER SubjectPublicKeyInfo: the p= tag

    @property
    def dns_name(self) -> str:
        return f"{self.selector}._domainkey.{self.domain}"

    def txt_record(self) -> str:
        return f"v=DKIM1; k=rsa; p={self.public_key}"

    def verifies(self, message: bytes) -> bool:
        """Whether ``message``'s DKIM signature checks out against this key (dkimpy,
        with a resolver that knows only this key's record)."""
        def lookup(name: bytes, timeout: float = 5) -> bytes | None:
            wanted = f"{self.dns_name}.".encode()
            return self.txt_record().encode() if name.rstrip(b".") + b"." == wanted else None
        return bool(dkim.verify(message, dnsfunc=lookup))


def make_dkim_key(path: Path, domain: str, selector: str) -> DkimKey:
    """A fresh 2048-bit RSA key, its private half written to ``path``."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    path.write_bytes(pem)
    path.chmod(0o600)
    der = private.public_key().public_bytes(serialization.Encoding.DER,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)
    return DkimKey(domain, selector, path, base64.b64encode(der).decode())


def signature_tags(message: bytes) -> dict[str, str]:
    """The tags of the first DKIM-Signature header of ``message`` (empty if unsigned)."""
    header = email.message_from_bytes(message, policy=email.policy.compat32)["DKIM-Signature"]
    if header is None:
        return {}
    tags = (part.split("=", 1) for part in "".join(str(header).split()).split(";") if "=" in part)
    return {name: value for name, value in tags}


def compose(sender: str, recipient: str, subject: str) -> tuple[bytes, str]:
    """A plain RFC 5322 message and its Message-ID (how the tests find it in MTA logs)."""
    message_id = make_msgid(domain=sender.rpartition("@")[2])
    text = (f"From: {sender}\nTo: {recipient}\nSubject: {subject}\nDate: {formatdate()}\n"
            f"Message-ID: {message_id}\n\nSent by the smtp-sandbox interop tests.\n")
    return text.encode(), message_id


def wait_for(probe: Callable[[], T | None], what: str, timeout: float = TIMEOUT,
             context: Callable[[], str] = str) -> T:
    """Poll ``probe`` until it returns something; fail naming what was awaited, followed
    by ``context()`` (such as the log that lacks the line)."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}\n{context()}")
        time.sleep(0.05)


def read_maildir(maildir: Path) -> list[EmailMessage]:
    """The messages delivered to ``maildir`` (its new/ folder), oldest first."""
    new = maildir / "new"
    files = sorted(new.iterdir() if new.exists() else (), key=lambda path: path.stat().st_mtime_ns)
    return [email.message_from_bytes(path.read_bytes(), policy=email.policy.default) for path in files]


def wait_for_mail(maildir: Path, count: int) -> list[EmailMessage]:
    """The messages in ``maildir`` once there are at least ``count``."""
    def arrived() -> list[EmailMessage] | None:
        found = read_maildir(maildir)
        return found if len(found) >= count else None
    return wait_for(arrived, f"{count} message(s) in {maildir}")


def recipient_report(bounce: EmailMessage) -> dict[str, str]:
    """The per-recipient fields (Final-Recipient, Action, Status, Diagnostic-Code ...) of
    a delivery report (RFC 3464) for one recipient, values unfolded."""
    for part in bounce.walk():
        if part.get_content_type() == "message/delivery-status":
            _per_message, *per_recipient = part.get_payload()
            if len(per_recipient) != 1:
                raise AssertionError(f"expected a report for one recipient, got {len(per_recipient)}")
            return {name: str(value) for name, value in per_recipient[0].items()}
    raise AssertionError(f"no message/delivery-status part in {bounce['Subject']!r}")


def free_port() -> int:
    """A loopback port that was free a moment ago (for daemons that cannot report theirs)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _run(argv: list[str], *, stdin: bytes | None = None, what: str) -> str:
    result = subprocess.run(argv, input=stdin, capture_output=True, timeout=TIMEOUT)
    if result.returncode != 0:
        raise AssertionError(f"{what} failed ({' '.join(argv)} exited {result.returncode}): "
                             f"{(result.stderr or result.stdout).decode(errors='replace').strip()}")
    return result.stdout.decode(errors="replace")


def _chown(path: Path, user: str) -> None:
    entry = pwd.getpwnam(user)
    os.chown(path, entry.pw_uid, entry.pw_gid)


def _processes_mentioning(needle: str) -> list[int]:
    """Pids whose command line contains ``needle`` (an instance's own config path)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if needle.encode() in cmdline:
            pids.append(int(entry.name))
    return pids


def _kill(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


# --- Exim ---------------------------------------------------------------------------

class EximInstance:
    """Exim with its own configuration and spool in ``directory`` (no daemon: Exim is
    run per submission and per forced delivery).

    Mail for ``key.domain`` (the sender's own domain) is delivered to the maildir
    :attr:`maildir`, which is where Exim's bounces to the sender land; everything else
    is sent to ``relay`` from ``source_ip``, DKIM-signed by Exim's own signer with ``key``
    (``dkim_domain``, ``dkim_selector``, ``dkim_private_key`` on the smtp transport).

    Exim refuses a ``-C`` configuration from a caller other than root unless the file is
    listed in its compiled-in TRUSTED_CONFIG_LIST (Debian: /etc/exim4/trusted_configs);
    the tests run as root. The processes Exim re-executes for bounces run as Debian-exim
    and log "exim user lost privilege for using -C option": expected and harmless here,
    they only write to this instance's spool, log and maildir.
    """

    def __init__(self, directory: Path, *, relay: tuple[str, int], key: DkimKey,
                 source_ip: str = "127.0.0.10", hostname: str | None = None) -> None:
        self.binary = exim_binary()
        self.directory = directory
        self.relay = relay
        self.key = key
        self.source_ip = source_ip
        self.hostname = hostname or f"mta-exim.{key.domain}"
        self.config = directory / "exim.conf"
        self.spool = directory / "spool"
        self.log_dir = directory / "log"
        self.maildir = directory / "maildir"

    def start(self) -> "EximInstance":
        for path in (self.spool, self.log_dir, self.maildir):
            path.mkdir()
        # Exim reads the signing key in the transport, after it has become Debian-exim.
        key_copy = self.directory / "dkim.key"
        shutil.copyfile(self.key.private_key, key_copy)
        key_copy.chmod(0o600)
        for path in (self.directory, self.spool, self.log_dir, self.maildir, key_copy):
            _chown(path, EXIM_USER)
        # Exim insists its configuration is owned by root and not writable by others.
        self.config.write_text(self._configuration(key_copy))
        self.config.chmod(0o644)
        return self

    def _configuration(self, key_path: Path) -> str:
        host, port = self.relay
        return f"""\
# Private Exim instance for the smtp-sandbox interop tests.
primary_hostname = {self.hostname}
qualify_domain = {self.key.domain}
exim_path = {self.binary}
spool_directory = {self.spool}
log_file_path = {self.log_dir}/%slog
pid_file_path = {self.directory}/exim.pid
keep_environment =
tls_advertise_hosts =
delay_warning =
log_selector = +outgoing_port
domainlist local_domains = {self.key.domain}

begin routers

# The sender's own domain: where bounces come back to.
sender_mailbox:
  driver = accept
  domains = +local_domains
  transport = sender_maildir

# Everything else goes to the receiver, whatever the domain's MX would be. The receiver
# is on this host: self = send and allow_localhost let Exim deliver there anyway.
to_receiver:
  driver = manualroute
  route_list = * {host}
  self = send
  transport = to_receiver

begin transports

to_receiver:
  driver = smtp
  port = {port}
  # Its own loopback source address, so the receiver can tell Exim's mail apart.
  interface = {self.source_ip}
  allow_localhost
  dkim_domain = {self.key.domain}
  dkim_selector = {self.key.selector}
  dkim_private_key = {key_path}

sender_maildir:
  driver = appendfile
  directory = {self.maildir}
  maildir_format
  user = {EXIM_USER}
  return_path_add
  envelope_to_add
  delivery_date_add

begin retry

*  *  F,1h,1m
"""

    def _exim(self, *args: str, stdin: bytes | None = None, what: str) -> str:
        return _run([str(self.binary), "-C", str(self.config), *args], stdin=stdin, what=what)

    def submit(self, message: bytes, message_id: str, sender: str, *recipients: str) -> str:
        """Hand ``message`` to Exim, which delivers at once (``-odi``); returns its queue id."""
        self._exim("-odi", "-f", sender, "--", *recipients, stdin=message, what="exim submission")
        received = self.wait_log(rf"^\S+ \S+ (\S+) <= {re.escape(sender)} .* id=<?{re.escape(message_id.strip('<>'))}>?")
        return received.group(1)

    def force_delivery(self, queue_id: str) -> None:
        """Deliver a queued message now, whatever its retry time (``-M``)."""
        self._exim("-M", queue_id, what="exim forced delivery")

    def queue_size(self) -> int:
        return int(self._exim("-bpc", what="exim queue count").strip())

    def mainlog(self) -> str:
        path = self.log_dir / "mainlog"
        return path.read_text(errors="replace") if path.exists() else ""

    def wait_log(self, pattern: str) -> re.Match[str]:
        """The first main-log line matching ``pattern`` (multiline regex), once it is there."""
        regex = re.compile(pattern, re.MULTILINE)
        return wait_for(lambda: regex.search(self.mainlog()), f"exim mainlog line /{pattern}/",
                        context=lambda: f"--- {self.log_dir}/mainlog:\n{self.mainlog()}")

    def bounces(self, count: int = 1) -> list[EmailMessage]:
        """The delivery reports Exim sent back to the sender, once ``count`` arrived."""
        return wait_for_mail(self.maildir, count)

    def stop(self) -> None:
        """Exim has no daemon here; end any delivery process still running for us."""
        _kill(_processes_mentioning(str(self.config)))

    def __enter__(self) -> "EximInstance":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


# --- OpenDKIM -----------------------------------------------------------------------

class OpenDkim:
    """OpenDKIM in signing mode, as a milter on a socket in ``directory``.

    Signs mail from any address at ``key.domain``, from any client OpenDKIM counts as
    internal (by default 127.0.0.1: Postfix's pickup and its loopback listener).
    """

    def __init__(self, directory: Path, key: DkimKey) -> None:
        self.binary = require_program("opendkim", "opendkim")
        self.directory = directory
        self.key = key
        self.config = directory / "opendkim.conf"
        self.socket = directory / "opendkim.sock"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def milter(self) -> str:
        """The address Postfix's smtpd_milters / non_smtpd_milters take."""
        return f"unix:{self.socket}"

    def start(self) -> "OpenDkim":
        self.directory.mkdir(exist_ok=True)
        self.directory.chmod(0o755)  # Postfix's cleanup (user postfix) connects to the socket
        key_table = self.directory / "KeyTable"
        signing_table = self.directory / "SigningTable"
        key_table.write_text(f"{self.key.dns_name} {self.key.domain}:{self.key.selector}:{self.key.private_key}\n")
        signing_table.write_text(f"*@{self.key.domain} {self.key.dns_name}\n")
        # RequireSafeKeys off: OpenDKIM rejects a key whose path passes through a
        # world-writable directory, which /tmp is; the key itself is root's, mode 0600.
        self.config.write_text(f"""\
Syslog no
Mode s
Canonicalization relaxed/relaxed
KeyTable file:{key_table}
SigningTable refile:{signing_table}
Socket local:{self.socket}
UMask 000
RequireSafeKeys false
""")
        self._process = subprocess.Popen([self.binary, "-f", "-x", str(self.config)],
                                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        wait_for(self._listening, f"opendkim socket {self.socket}")
        return self

    def _listening(self) -> bool | None:
        assert self._process is not None
        if self._process.poll() is not None:
            output = self._process.stdout.read().decode(errors="replace") if self._process.stdout else ""
            raise AssertionError(f"opendkim exited {self._process.returncode}: {output.strip()}")
        return True if self.socket.exists() else None

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        # libmilter notices SIGTERM only at its next 5-second poll; a signing-only
        # OpenDKIM keeps no state worth a clean exit, so it is killed outright.
        process.kill()
        process.wait()
        if process.stdout:
            process.stdout.close()

    def __enter__(self) -> "OpenDkim":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


# --- Postfix ------------------------------------------------------------------------

class PostfixInstance:
    """A second Postfix instance: config_directory, queue_directory, data_directory and
    its log (``maillog_file``, through the postlogd service) all in ``directory``.

    It accepts mail on its own loopback listener (:attr:`listener`) and from its
    sendmail command, signs through ``signer`` (OpenDKIM, as a milter) on both paths, relays
    everything to ``relay`` from ``source_ip``, and delivers mail for ``domain`` (where
    its bounces go) to the maildir :attr:`maildir` with the virtual delivery agent.
    """

    def __init__(self, directory: Path, *, relay: tuple[str, int], signer: OpenDkim,
                 source_ip: str = "127.0.0.11", hostname: str | None = None) -> None:
        require_postfix()
        self.directory = directory
        self.relay = relay
        self.key = signer.key
        self.domain = signer.key.domain
        self.milter = signer.milter
        self.source_ip = source_ip
        self.hostname = hostname or f"mta-postfix.{self.domain}"
        self.config_dir = directory / "etc"
        self.queue_dir = directory / "queue"
        self.data_dir = directory / "data"
        self.mail_dir = directory / "mail"
        self.maildir = self.mail_dir / "sender"
        self.maillog_path = directory / "log" / "maillog"
        self.listener: tuple[str, int] = ("127.0.0.1", 0)
        self._master_pid: int | None = None

    def start(self) -> "PostfixInstance":
        # exist_ok: a restart (:meth:`restart`) keeps the queue, the maildir and the log.
        for path in (self.config_dir, self.queue_dir, self.data_dir, self.mail_dir, self.maillog_path.parent):
            path.mkdir(exist_ok=True)
        for path in (self.data_dir, self.mail_dir):
            _chown(path, POSTFIX_USER)
        # The listener's port is picked free just before start; another process could
        # take it in between, so a bind failure is retried on a new port.
        for attempt in range(3):
            self.listener = ("127.0.0.1", free_port())
            self._write_configuration()
            result = subprocess.run(["postfix", "-c", str(self.config_dir), "start"],
                                    capture_output=True, timeout=TIMEOUT)
            if result.returncode == 0:
                break
            if "Address already in use" not in self.maillog() or attempt == 2:
                raise AssertionError(f"postfix start failed: {result.stderr.decode(errors='replace')}\n"
                                     f"{self.maillog()}")
        self._master_pid = int((self.queue_dir / "pid" / "master.pid").read_text().split()[0])
        return self

    def _write_configuration(self) -> None:
        host, port = self.relay
        postfix = pwd.getpwnam(POSTFIX_USER)
        (self.config_dir / "main.cf").write_text(f"""\
# Private Postfix instance for the smtp-sandbox interop tests.
compatibility_level = 3.6
queue_directory = {self.queue_dir}
data_directory = {self.data_dir}
maillog_file = {self.maillog_path}
maillog_file_prefixes = {self.maillog_path.parent}
myhostname = {self.hostname}
mydomain = {self.domain}
myorigin = {self.domain}
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
smtpd_peername_lookup = no
relayhost = [{host}]:{port}
smtp_bind_address = {self.source_ip}
smtp_tls_security_level = may
alias_maps =
alias_database =
biff = no
virtual_mailbox_domains = {self.domain}
virtual_mailbox_base = {self.mail_dir}
virtual_mailbox_maps = static:{self.maildir.name}/
virtual_uid_maps = static:{postfix.pw_uid}
virtual_gid_maps = static:{postfix.pw_gid}
virtual_minimum_uid = {postfix.pw_uid}
smtpd_milters = {self.milter}
non_smtpd_milters = {self.milter}
# Unsigned mail must not slip out when the milter is down: defer it instead.
milter_default_action = tempfail
""")
        listen_host, listen_port = self.listener
        (self.config_dir / "master.cf").write_text(f"""\
# service type private unpriv chroot wakeup maxproc command
{listen_host}:{listen_port} inet n - n - - smtpd
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
tlsmgr    unix  - - n 1000? 1 tlsmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n - - proxymap
smtp      unix  - - n - - smtp
relay     unix  - - n - - smtp
showq     unix  n - n - - showq
error     unix  - - n - - error
retry     unix  - - n - - error
discard   unix  - - n - - discard
virtual   unix  - n n - - virtual
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
""")
        # Postfix re-reads a configuration file younger than a second or so (in 0.3 s
        # steps) until it stops changing; files written just now would cost seconds.
        written = time.time() - 60
        for name in ("main.cf", "master.cf"):
            os.utime(self.config_dir / name, (written, written))

    def submit(self, message: bytes, message_id: str, sender: str, *recipients: str) -> str:
        """Hand ``message`` to Postfix's sendmail (the non_smtpd_milters path); returns
        its queue id."""
        _run(["sendmail", "-C", str(self.config_dir), "-f", sender, "--", *recipients],
             stdin=message, what="postfix sendmail")
        cleanup = self.wait_log(rf"postfix/cleanup\[\d+\]: (\w+): message-id={re.escape(message_id)}")
        return cleanup.group(1)

    def submit_smtp(self, message: bytes, sender: str, *recipients: str) -> str:
        """Send ``message`` to the instance's own listener (the smtpd_milters path);
        returns its queue id from the 250 reply."""
        with smtplib.SMTP(*self.listener, timeout=TIMEOUT) as client:
            client.ehlo("submitter.test")
            client.mail(sender)
            for recipient in recipients:
                client.rcpt(recipient)
            code, reply = client.data(message)
        match = re.search(r"queued as (\w+)", reply.decode())
        if code != 250 or match is None:
            raise AssertionError(f"postfix did not queue the message: {code} {reply!r}")
        return match.group(1)

    def flush(self) -> None:
        """Retry every deferred message now (``postqueue -f``), whatever its backoff."""
        _run(["postqueue", "-c", str(self.config_dir), "-f"], what="postqueue -f")

    def queue_ids(self) -> list[str]:
        listing = _run(["postqueue", "-c", str(self.config_dir), "-j"], what="postqueue -j")
        return re.findall(r'"queue_id": "(\w+)"', listing)

    def maillog(self) -> str:
        return self.maillog_path.read_text(errors="replace") if self.maillog_path.exists() else ""

    def wait_log(self, pattern: str) -> re.Match[str]:
        """The first maillog line matching ``pattern`` (multiline regex), once it is there."""
        regex = re.compile(pattern, re.MULTILINE)
        return wait_for(lambda: regex.search(self.maillog()), f"postfix maillog line /{pattern}/",
                        context=lambda: f"--- {self.maillog_path}:\n{self.maillog()}")

    def bounces(self, count: int = 1) -> list[EmailMessage]:
        """The delivery reports Postfix sent back to the sender, once ``count`` arrived."""
        return wait_for_mail(self.maildir, count)

    def stop(self) -> None:
        """``postfix stop``, then make sure the master and its children are gone."""
        master, self._master_pid = self._master_pid, None
        if master is None:
            return
        subprocess.run(["postfix", "-c", str(self.config_dir), "stop"], capture_output=True, timeout=TIMEOUT)
        deadline = time.monotonic() + 5
        while _alive(master) and time.monotonic() < deadline:
            time.sleep(0.05)
        # The master leads its own process group; whatever is left of it goes now.
        try:
            os.killpg(master, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def restart(self) -> None:
        """Stop the instance and start it again on the same directories: what a staging
        MTA's operator does mid-test (the queue survives; the listener gets a new port)."""
        self.stop()
        self.start()

    def __enter__(self) -> "PostfixInstance":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by its parent) is gone for our purposes.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False
