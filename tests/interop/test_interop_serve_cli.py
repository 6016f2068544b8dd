"""The recipe of README.md, end to end: Exim relaying to ``smtp-sandbox serve`` started
from the command line with zone files and ``--client-ip``, the sender fixing the zone
file, and ``smtp-sandbox zone reload`` making the running serve use it.

The other Exim tests drive ``sandbox.app.Sandbox`` in-process; this one checks that the
command-line path a sender follows with their own staging MTA gets the same verdicts.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from mta import EximInstance, MissingTool, compose, instance_directory, make_dkim_key
from receiver import ACCEPTED, G1_FIRST_LINE, JUDGED_IP, PTR_ZONE, SENDER_DOMAIN, SPF_FIXED, ZONE_BEFORE

PROJECT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "sandbox.cli"]
SENDER = "alice@sender.test"
RECIPIENT = "user@gmail.com"


def quoted_strings(value: str) -> str:
    """A TXT value as zone-file strings of at most 255 characters each."""
    return " ".join(f'"{value[i:i + 255]}"' for i in range(0, len(value), 255))


def test_exim_against_serve_fixed_by_editing_the_zone_file_and_zone_reload(tmp_path: Path) -> None:
    zone = tmp_path / "sender.test.zone"
    zone.write_text(ZONE_BEFORE)
    ptr = tmp_path / "2.0.192.in-addr.arpa.zone"
    ptr.write_text(PTR_ZONE)
    data_dir = tmp_path / "data"
    serve = subprocess.Popen(
        [*CLI, "serve", "--smtp", "127.0.0.1:0", "--dns", "127.0.0.1:0", "--data-dir", str(data_dir),
         "--zone", str(zone), "--zone", str(ptr), "--client-ip", f"127.0.0.10={JUDGED_IP}"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=PROJECT)
    try:
        banner = []
        assert serve.stdout is not None
        for line in serve.stdout:
            banner.append(line)
            if line.startswith("Ctrl-C stops"):
                break
        port = re.search(r"SMTP\s+127\.0\.0\.1:(\d+)", "".join(banner))
        assert port, banner
        assert f"judged as: 127.0.0.10 -> {JUDGED_IP}" in "".join(banner)
        try:
            with instance_directory("exim-cli") as directory:
                key = make_dkim_key(directory / "dkim-private.pem", SENDER_DOMAIN, "exim")
                with EximInstance(directory, relay=("127.0.0.1", int(port.group(1))), key=key) as exim:
                    rejected, rejected_id = compose(SENDER, RECIPIENT, "before the fix")
                    first = exim.submit(rejected, rejected_id, SENDER, RECIPIENT)
                    failed = exim.wait_log(rf"^.* {first} \*\* {re.escape(RECIPIENT)} .*"
                                           r"SMTP error from remote mail server after pipelined end of data: (.*)$")
                    assert failed.group(1).startswith(G1_FIRST_LINE), failed.group(0)

                    # The sender's fix, as they would make it: edit the file, reload.
                    zone.write_text(ZONE_BEFORE.replace('"v=spf1 ip4:198.51.100.20 ~all"', SPF_FIXED)
                                    + f"{key.selector}._domainkey TXT {quoted_strings(key.txt_record())}\n")
                    reload = subprocess.run([*CLI, "zone", "reload", "--data-dir", str(data_dir)],
                                            capture_output=True, text=True, cwd=PROJECT, timeout=60)
                    assert (reload.returncode, reload.stdout) == (0, "reloaded zones: sender.test, 2.0.192.in-addr.arpa\n"), reload

                    accepted, accepted_id = compose(SENDER, RECIPIENT, "after the fix")
                    second = exim.submit(accepted, accepted_id, SENDER, RECIPIENT)
                    delivered = exim.wait_log(rf'^.* {second} => {re.escape(RECIPIENT)} .* K C="(.*)"$')
                    assert ACCEPTED.fullmatch(delivered.group(1)), delivered.group(0)
        except MissingTool as missing:
            reason = str(missing)
        else:
            reason = ""
        if reason:
            pytest.fail(reason, pytrace=False)
    finally:
        serve.send_signal(signal.SIGTERM)
        output, _ = serve.communicate(timeout=30)
    assert serve.returncode == 0, output
    # serve's own live lines: the G1 rejection, the reload, then the acceptance.
    assert re.search(rf"^#1 {SENDER} -> {RECIPIENT} \[{JUDGED_IP}\]: 550 5\.7\.26 reject at data by G1: "
                     r"Your email has been blocked because the sender is unauthenticated", output, re.M), output
    assert re.search(r"^smtp-sandbox: reloaded zones \(smtp-sandbox zone reload\): sender\.test, "
                     r"2\.0\.192\.in-addr\.arpa$", output, re.M), output
    assert re.search(rf"^#2 {SENDER} -> {RECIPIENT} \[{JUDGED_IP}\]: 250 2\.0\.0 accept to inbox$", output, re.M), output
