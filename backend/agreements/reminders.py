"""The agreement's review cadence: quarterly reviews and the yearly update, reminded to both
sides once per due date (in-app and by e-mail), however many workers run the job."""
from __future__ import annotations

import logging
from datetime import date, datetime, timedelta, timezone
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

from backend import db
from backend.agreements.actions import content_of, in_force_on
from backend.notifications import mail
from backend.notifications.actions import notify
from backend.relationships.tables import Contact, Relationship
from backend.tenancy.tables import User
from backend.web import i18n

log = logging.getLogger("pacto.reminders")
LEAD_DAYS = 7  # remind this many days ahead of the due date


def _add_months(day: date, months: int) -> date:
    year, month = divmod(day.month - 1 + months, 12)
    year += day.year
    month += 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return date(year, month, min(day.day, candidate))
        except ValueError:
            continue
    raise ValueError(day)


def due_dates(terms: dict, today: date) -> list[tuple[str, date]]:
    """The (kind, due date) pairs falling within [today, today + LEAD_DAYS]."""
    found = []
    horizon = today + timedelta(days=LEAD_DAYS)
    for kind, key, step in (("quarterly_review", "first_quarterly_review", 3), ("yearly_update", "yearly_update", 12)):
        if not terms.get(key):
            continue
        due, k = date.fromisoformat(terms[key]), 0
        while due < today:
            k += 1
            due = _add_months(date.fromisoformat(terms[key]), step * k)
        if due <= horizon:
            found.append((kind, due))
    return found


async def remind_relationship(relationship_id: UUID, now: datetime) -> int:
    """Send what is due for one relationship, in the current transaction. Returns reminders sent."""
    relationship = await Relationship.objects().where(Relationship.id == relationship_id).first()
    today = now.astimezone(ZoneInfo(relationship.time_zone)).date()
    version = await in_force_on(relationship_id, today)
    if version is None:
        return 0
    sent = 0
    for kind, due in due_dates(content_of(version).get("terms") or {}, today):
        claimed = await db.raw_one(
            "INSERT INTO reminder_sent (id, relationship, kind, due_date, sent_at) VALUES ($1, $2, $3, $4, $5)"
            " ON CONFLICT (relationship, kind, due_date) DO NOTHING RETURNING id",
            uuid4(), relationship_id, kind, due, now)
        if claimed is None:
            continue  # another worker, or an earlier run, sent this one
        await _send(relationship, version.number, kind, due)
        sent += 1
    return sent


async def _send(relationship: Relationship, number: int, kind: str, due: date) -> None:
    link = f"/relationships/{relationship.id}/agreement"
    members = await db.raw(
        "SELECT u.id, u.org, u.locale, u.email FROM relationship_member m JOIN app_user u ON u.id = m.\"user\""
        " WHERE m.relationship = $1 AND m.role IN ('responsable', 'manager') AND u.is_active", relationship.id)
    for member in members:
        token = i18n.set_locale(member["locale"] or "en")
        try:
            title = _title(kind, relationship.name, due)
        finally:
            i18n._locale.reset(token)
        await notify(user_id=member["id"], org_id=member["org"], relationship_id=relationship.id, kind=kind,
                     title=title, link=link)
    emails = {c.email for c in await Contact.objects().where(Contact.relationship == relationship.id) if c.email}
    emails |= {m["email"] for m in members}
    for email in sorted(emails):
        user = await User.objects().where(User.email == email).first()
        mail.queue(email, "review_reminder", locale=user.locale if user else None, kind=kind,
                   relationship=relationship.name, due=due, number=number, link=link)


def _title(kind: str, name: str, due: date) -> str:
    when = i18n.format_date(due)
    if kind == "quarterly_review":
        return i18n.gettext("Quarterly review of “%(name)s” due on %(date)s", name=name, date=when)
    return i18n.gettext("Yearly update of the agreement “%(name)s” due on %(date)s", name=name, date=when)


async def for_each_signed_relationship(work, now: datetime | None = None) -> int:
    """Run `work(relationship_id, now)` for every relationship with a signed agreement, each in its
    own transaction acting as its client organization (a scheduled job acts for no one until then).
    Returns the sum of what the calls return."""
    now = now or datetime.now(timezone.utc)
    async with db.tenant_transaction(None):
        targets = await db.raw("SELECT * FROM pacto_relationships_with_signed_agreement()")
    total = 0
    for target in targets:
        async with db.tenant_transaction(target["client_org"]):
            total += await work(target["relationship_id"], now)
    return total


async def send_review_reminders(now: datetime | None = None) -> int:
    return await for_each_signed_relationship(remind_relationship, now)
