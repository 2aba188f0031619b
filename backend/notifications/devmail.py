"""Development mail sink: a real SMTP server that keeps messages as .eml files under the data
directory, and the /dev/mail page that shows them (only when PACTO_DEV is on)."""
from __future__ import annotations

import email
import email.policy
import time
from pathlib import Path

from aiosmtpd.controller import Controller
from litestar import Request, get
from litestar.exceptions import NotFoundException
from litestar.response import Template

from backend.config import settings
from backend.web.templating import page


def mail_dir() -> Path:
    return settings().data_dir / "mail"


class _Handler:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        self.folder.mkdir(parents=True, exist_ok=True)
        name = f"{time.time_ns()}.eml"
        (self.folder / name).write_bytes(envelope.original_content or envelope.content)
        return "250 Message accepted"


def start_sink(folder: Path, port: int) -> Controller:
    controller = Controller(_Handler(folder), hostname="127.0.0.1", port=port)
    controller.start()
    return controller


def read_messages(folder: Path, limit: int = 100) -> list[dict]:
    if not folder.exists():
        return []
    messages = []
    for path in sorted(folder.glob("*.eml"), reverse=True)[:limit]:
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        body = msg.get_body(preferencelist=("plain",))
        messages.append({"id": path.stem, "to": msg["To"], "subject": msg["Subject"], "date": msg["Date"],
                         "body": body.get_content() if body else ""})
    return messages


@get("/dev/mail")
async def dev_mail(request: Request) -> Template:
    if not settings().dev_mode:
        raise NotFoundException()
    return page(request, "dev/mail.html", messages=read_messages(mail_dir()))


routes = [dev_mail]
