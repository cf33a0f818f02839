"""An aiosmtpd handler for the crash tests: a Maildir that takes DELAY seconds before it accepts
a message. A client that dies during the wait has sent nothing: aiosmtpd cancels the handler
when the connection is lost, so the message is never stored.

    PYTHONPATH=tests/support /usr/bin/python3 -m aiosmtpd -n -l 127.0.0.1:PORT \
        -c slow_mailbox.SlowMailbox DIR DELAY
"""

import asyncio

from aiosmtpd.handlers import Mailbox


class SlowMailbox(Mailbox):
    def __init__(self, mail_dir, delay):
        super().__init__(mail_dir)
        self.delay = delay

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(self.delay)
        return await super().handle_DATA(server, session, envelope)

    @classmethod
    def from_cli(cls, parser, *args):
        if len(args) != 2:
            parser.error("SlowMailbox takes the maildir and a delay in seconds")
        return cls(args[0], float(args[1]))
