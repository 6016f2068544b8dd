"""Restarts in the middle of a test: the sandbox on its existing data directory, and a
staging MTA with mail in its queue.

A sender's staging setup is not torn down between messages: the sandbox is stopped and
started again (on the same data directory, so ``smtp-sandbox log`` keeps the history),
and so is the MTA. Neither may lose a message or store one twice.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from mta import EximInstance, PostfixInstance, compose
from receiver import ACCEPTED, SandboxReceiver

SENDER = "alice@sender.test"
RECIPIENT = "user@gmail.com"


def stored(receiver: SandboxReceiver) -> list[tuple[str | None, str | None]]:
    """(Message-ID, action) of every stored delivery, oldest first."""
    return [(delivery.message_id, delivery.action) for delivery in receiver.deliveries()]


def test_sandbox_restarted_on_its_data_dir_keeps_every_delivery_once(start_exim: Callable[[], EximInstance],
                                                                     receiver: SandboxReceiver) -> None:
    exim = start_exim()
    receiver.fix(exim.key)
    before, before_id = compose(SENDER, RECIPIENT, "before the restart")
    first = exim.submit(before, before_id, SENDER, RECIPIENT)
    assert ACCEPTED.fullmatch(exim.wait_log(rf'^.* {first} => .* C="(.*)"$').group(1))

    receiver.restart()  # a new Sandbox on the same data directory (and port)
    after, after_id = compose(SENDER, RECIPIENT, "after the restart")
    second = exim.submit(after, after_id, SENDER, RECIPIENT)
    assert ACCEPTED.fullmatch(exim.wait_log(rf'^.* {second} => .* C="(.*)"$').group(1))

    assert stored(receiver) == [(before_id, "accept"), (after_id, "accept")]
    numbers = [delivery.id for delivery in receiver.deliveries()]
    assert len(set(numbers)) == 2 and numbers == sorted(numbers), numbers  # numbering continues


def test_postfix_and_sandbox_restarted_with_a_deferred_message_deliver_it_once(
        start_postfix: Callable[[], PostfixInstance], receiver: SandboxReceiver) -> None:
    postfix = start_postfix()
    receiver.defer_until_fixed()
    queued, queued_id = compose(SENDER, RECIPIENT, "deferred across restarts")
    queue_id = postfix.submit_smtp(queued, SENDER, RECIPIENT)
    postfix.wait_log(rf"postfix/smtp\[\d+\]: {queue_id}: .*status=deferred ")

    postfix.restart()  # the staging MTA's operator restarts it: the queue survives
    receiver.restart()  # and the sandbox comes back on its data directory
    assert postfix.queue_ids() == [queue_id]

    receiver.fix(postfix.key)
    postfix.flush()
    sent = postfix.wait_log(rf"postfix/smtp\[\d+\]: {queue_id}: .*status=sent \((.*)\)$")
    assert ACCEPTED.fullmatch(sent.group(1))
    postfix.wait_log(rf"postfix/qmgr\[\d+\]: {queue_id}: removed$")
    fresh, fresh_id = compose(SENDER, RECIPIENT, "after the restarts")
    fresh_queue_id = postfix.submit_smtp(fresh, SENDER, RECIPIENT)
    postfix.wait_log(rf"postfix/qmgr\[\d+\]: {fresh_queue_id}: removed$")

    assert postfix.queue_ids() == []
    assert stored(receiver) == [(queued_id, "defer"), (queued_id, "accept"), (fresh_id, "accept")]
    # One "sent" line per message: nothing was delivered twice.
    assert len(re.findall(rf"{queue_id}: .*status=sent", postfix.maillog())) == 1
