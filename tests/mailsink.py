"""An SMTP sink that really speaks SMTP (aiosmtpd), for tests that read the e-mail sent."""
from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from backend import config
from backend.notifications.devmail import read_messages, start_sink
from backend.runtime import free_port


@dataclass
class Mail:
    to: str
    subject: str
    body: str
    date: object = None  # the Date header, parsed


class Box:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def messages(self) -> list[Mail]:
        return [Mail(m["to"], m["subject"], m["body"], m["date"]) for m in read_messages(self.folder, limit=1000)]

    async def wait_for(self, to: str, timeout: float = 10.0) -> Mail:
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            for message in self.messages():
                if message.to == to:
                    return message
            await asyncio.sleep(0.05)
        raise AssertionError(f"no e-mail to {to} within {timeout} s; got {[m.to for m in self.messages()]}")


@contextlib.contextmanager
def sink():
    """Point SMTP_URL at a fresh sink for the duration of the block."""
    folder = Path(tempfile.mkdtemp(prefix="pacto-mail-"))
    port = free_port()
    controller = start_sink(folder, port)
    old = os.environ.get("SMTP_URL")
    os.environ["SMTP_URL"] = f"smtp://127.0.0.1:{port}"
    config.reset()
    try:
        yield Box(folder)
    finally:
        controller.stop()
        if old is None:
            os.environ.pop("SMTP_URL", None)
        else:
            os.environ["SMTP_URL"] = old
        config.reset()
