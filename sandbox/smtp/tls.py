"""The certificate STARTTLS presents: the user's own, or a self-signed one made once.

Senders only need *some* certificate to exercise their STARTTLS path (MX delivery does
not verify it unless DANE or MTA-STS say so), so on first run the sandbox makes a
self-signed one for the profile's host name and keeps it in the data directory; later
runs reuse it, so a client that pinned it keeps working. An EC P-256 key is used
because generating it takes about a millisecond (an RSA key takes tens).
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
import tempfile
from pathlib import Path

VALIDITY = datetime.timedelta(days=3650)


def ensure_self_signed(directory: Path, hostname: str) -> tuple[Path, Path]:
    """The (certificate, key) PEM paths for ``hostname`` under ``directory``, made if missing."""
    cert_path = directory / f"{hostname}.crt"
    key_path = directory / f"{hostname}.key"
    if cert_path.is_file() and key_path.is_file():
        return cert_path, key_path
    cert_pem, key_pem = _self_signed(hostname)
    directory.mkdir(parents=True, exist_ok=True)
    _write_atomically(key_path, key_pem, mode=0o600)
    _write_atomically(cert_path, cert_pem, mode=0o644)
    return cert_path, key_path


def server_context(cert_path: str | Path, key_path: str | Path) -> ssl.SSLContext:
    """A server-side context for STARTTLS; raises ValueError naming a file that does not load."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(str(cert_path), str(key_path))
    except (OSError, ssl.SSLError) as exc:
        raise ValueError(f"cannot load TLS certificate {cert_path} / key {key_path}: {exc}") from None
    return context


def _self_signed(hostname: str) -> tuple[bytes, bytes]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, hostname),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "smtp-sandbox (self-signed)"),
    ])
    now = datetime.datetime.now(datetime.timezone.utc)
    alt_names = [x509.DNSName(hostname), x509.DNSName("localhost"),
                 x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.IPAddress(ipaddress.ip_address("::1"))]
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def _write_atomically(path: Path, data: bytes, *, mode: int) -> None:
    """Write via a temporary file and rename, so a concurrent reader never sees half a file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
