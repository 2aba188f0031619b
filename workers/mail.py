"""Sending e-mail (queued by backend.notifications.mail after a commit)."""
from backend.notifications import mail


async def send_email(ctx, to: str, subject: str, body: str) -> None:
    await mail.send(to, subject, body)
