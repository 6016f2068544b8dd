"""The SMTP side of the sandbox: an aiosmtpd-based receiver that speaks for a provider
profile, and the orchestration that judges and stores every attempt.

- :mod:`.protocol`: one connection on the wire (every verb, BDAT, XCLIENT, PROXY, STARTTLS).
- :mod:`.handler`: asks the profile at each stage, runs the checks, stores attempts.
- :mod:`.server`: the listener; stops without losing mail in flight.
- :mod:`.stream`, :mod:`.body`, :mod:`.commands`, :mod:`.transaction`: input, message
  buffering, argument parsing, transaction state.
- :mod:`.identity`: who the client is (socket, ``--client-ip``, PROXY, XCLIENT).
- :mod:`.tls`, :mod:`.transcript`, :mod:`.message`, :mod:`.verdict`: certificates, the
  wire transcript, the headers written on top of accepted mail, the verdict on a message.
"""

from sandbox.smtp.identity import ClientIdentity, ClientIpMap
from sandbox.smtp.server import ServerConfig, SmtpServer

__all__ = ["ClientIdentity", "ClientIpMap", "ServerConfig", "SmtpServer"]
