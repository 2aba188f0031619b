"""E-mail: rendered from templates in the recipient's language, queued after commit, sent by a
worker over SMTP. Without SMTP_URL, messages are printed to the worker's log: never dropped."""
from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import parse_qs, unquote, urlsplit

from backend import db, jobs
from backend.config import settings
from backend.web import i18n

log = logging.getLogger("pacto.mail")


def render(template: str, locale: str | None, **context) -> tuple[str, str]:
    """(subject, body) of frontend/templates/emails/<template>.txt; its first line is the subject."""
    token = i18n.set_locale(locale or i18n.current_locale())
    try:
        text = _env().get_template(f"emails/{template}.txt").render(base_url=settings().base_url, **context)
    finally:
        i18n._locale.reset(token)
    subject, _, body = text.partition("\n")
    return subject.strip(), body.lstrip("\n")


_environment = None


def _env():
    global _environment
    if _environment is None:
        from backend.web.templating import build_environment

        _environment = build_environment()
    return _environment


def queue(to: str, template: str, *, locale: str | None = None, **context) -> None:
    """Send after the current transaction commits."""
    subject, body = render(template, locale, **context)

    async def enqueue() -> None:
        if jobs.redis() is None:  # a command without a queue (the demo seed): written to the log instead
            log.info("e-mail to %s (no queue configured): %s\n%s", to, subject, body)
            return
        await jobs.enqueue("send_email", to, subject, body)

    db.after_commit(enqueue)


def build_message(to: str, subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings().mail_from
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="pacto.example")
    message["Date"] = formatdate(usegmt=True)  # required by RFC 5322; mail clients sort by it
    message.set_content(body)
    return message


def _send_blocking(url: str, message: EmailMessage) -> None:
    parts = urlsplit(url)
    options = parse_qs(parts.query)
    host, port = parts.hostname or "localhost", parts.port
    if parts.scheme == "smtps":
        client = smtplib.SMTP_SSL(host, port or 465, context=ssl.create_default_context(), timeout=30)
    else:
        client = smtplib.SMTP(host, port or 25, timeout=30)
    with client:
        if parts.scheme == "smtp" and options.get("starttls", ["0"])[0] in {"1", "true"}:
            client.starttls(context=ssl.create_default_context())
        if parts.username:
            client.login(unquote(parts.username), unquote(parts.password or ""))
        client.send_message(message)


async def send(to: str, subject: str, body: str) -> None:
    message = build_message(to, subject, body)
    url = settings().smtp_url
    if not url:
        log.warning("SMTP_URL is not set; e-mail printed instead of sent:\n%s", message.as_string())
        return
    await asyncio.to_thread(_send_blocking, url, message)
