"""One worker process: a sandbox without a DNS server, accepting on the shared socket.

It talks to the ``serve`` process over a socket pair, one JSON object per line: it
reads its :class:`~sandbox.workers.config.WorkerConfig`, answers ``{"ready": pid}`` once
it accepts connections (or ``{"error": why}``), then serves commands until told to
stop: ``reload`` loads the zone files again (answer ``{"reload": "ok ..."}`` or
``"error ..."``), ``stop`` finishes and stores what is in flight (``{"stopped": true}``).
If the ``serve`` process goes away (end of file), the worker stops the same way.

Ctrl-C in a terminal signals the whole process group; a worker ignores SIGINT and
lets ``serve`` stop it, so the stop happens once, in order. SIGTERM sent to a worker
itself stops it cleanly.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
from typing import Any

from sandbox.workers.config import WorkerConfig


def main(argv: list[str]) -> int:
    if len(argv) != 2 or not all(arg.isdigit() for arg in argv):
        print("usage: python -m sandbox.workers LISTEN_FD CONTROL_FD (started by smtp-sandbox serve --workers)")
        return 2
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    return asyncio.run(_work(int(argv[0]), int(argv[1])))


async def _work(listen_fd: int, control_fd: int) -> int:
    from sandbox.commands.serve import DeliveryPrinter
    from sandbox.heap import freeze_startup_objects
    from sandbox.reload import ZoneReloader

    reader, writer = await asyncio.open_unix_connection(sock=socket.socket(fileno=control_fd))

    def answer(message: dict[str, Any]) -> None:
        writer.write(json.dumps(message).encode() + b"\n")

    config = WorkerConfig.from_json(await reader.readline())
    printer = DeliveryPrinter()
    try:
        sandbox = config.sandbox(socket.socket(fileno=listen_fd), on_delivery=printer)
        await sandbox.start()
    except Exception as exc:  # noqa: BLE001 - whatever it is, serve must be told why
        answer({"error": str(exc) or type(exc).__name__})
        await writer.drain()
        return 1
    freeze_startup_objects()
    answer({"ready": os.getpid()})
    # serve prints the reload outcome of all workers together; a worker only answers.
    reloader = ZoneReloader(sandbox, config.zone_files, report=lambda _line: None)
    terminated = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, terminated.set)

    async def commands() -> bool:
        """Serve commands; True when told to stop, False when serve went away."""
        while line := await reader.readline():
            command = json.loads(line).get("command")
            if command == "stop":
                return True
            if command == "reload":
                answer({"reload": (await reloader.reload("serve")).line()})
            else:
                answer({"error": f"unknown command {command!r}"})
        return False

    serving = asyncio.ensure_future(commands())
    waiting = asyncio.ensure_future(terminated.wait())
    await asyncio.wait({serving, waiting}, return_when=asyncio.FIRST_COMPLETED)
    waiting.cancel()
    await sandbox.stop()
    printer.flush()
    if serving.done() and serving.result():
        answer({"stopped": True})
        await writer.drain()
    serving.cancel()
    writer.close()
    return 0
