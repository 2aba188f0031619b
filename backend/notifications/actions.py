"""In-app notifications: written for their recipients (possibly of the other side), read in the inbox."""
from __future__ import annotations

from datetime import datetime, timezone
from uuid import UUID, uuid4

from backend import db
from backend.notifications.tables import Notification
from backend.web import paging
from backend.web.current import Actor


async def notify(*, user_id: UUID, org_id: UUID, kind: str, title: str, body: str = "", link: str = "",
                 relationship_id: UUID | None = None) -> None:
    # No RETURNING: the acting organization may write for the other side but not read it back.
    await db.raw(
        "INSERT INTO notification (id, org, \"user\", relationship, kind, title, body, link, created_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        uuid4(), org_id, user_id, relationship_id, kind, title[:300], body, link[:300], datetime.now(timezone.utc))


INBOX_PAGE = 50


async def inbox(actor: Actor, cursor: str | None = None, size: int = INBOX_PAGE) -> tuple[list[dict], str | None]:
    """A page of the actor's notifications, newest first, and the cursor of the next page."""
    return await paging.newest_first(
        Notification, Notification.created_at, Notification.user == actor.user.id, cursor, size,
        Notification.title, Notification.body, Notification.link, Notification.read_at)


async def do_mark_all_read(*, actor: Actor) -> None:
    await Notification.update({Notification.read_at: datetime.now(timezone.utc)}).where(
        (Notification.user == actor.user.id) & Notification.read_at.is_null())
