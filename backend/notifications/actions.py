"""In-app notifications: written for their recipients (possibly of the other side), read in the inbox."""
from __future__ import annotations

from datetime import datetime, timezone
from uuid import UUID, uuid4

from backend import db
from backend.notifications.tables import Notification
from backend.web.current import Actor


async def notify(*, user_id: UUID, org_id: UUID, kind: str, title: str, body: str = "", link: str = "",
                 relationship_id: UUID | None = None) -> None:
    # No RETURNING: the acting organization may write for the other side but not read it back.
    await db.raw(
        "INSERT INTO notification (id, org, \"user\", relationship, kind, title, body, link, created_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        uuid4(), org_id, user_id, relationship_id, kind, title[:300], body, link[:300], datetime.now(timezone.utc))


async def inbox(actor: Actor, limit: int = 100) -> list[Notification]:
    return await Notification.objects().where(Notification.user == actor.user.id).order_by(
        Notification.created_at, ascending=False).limit(limit)


async def do_mark_all_read(*, actor: Actor) -> None:
    await Notification.update({Notification.read_at: datetime.now(timezone.utc)}).where(
        (Notification.user == actor.user.id) & Notification.read_at.is_null())
