"""The commitments register: special agreements as obligations with an owner and due dates.

Commitments are rows of the agreement version in force; each due date (an occurrence of its
recurrence) is carried out when its owner records an execution. A worker flags the occurrences
that passed without one, once each, to the owner and the other side's responsable.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

from backend import db
from backend.agreements.actions import content_of, in_force_on
from backend.agreements.reminders import _add_months, for_each_signed_relationship
from backend.agreements.tables import CommitmentExecution
from backend.audit.actions import record
from backend.notifications import mail
from backend.notifications.actions import notify
from backend.relationships.access import RelationshipView, get_relationship_for, visible_relationship_ids
from backend.relationships.tables import Contact, Relationship
from backend.web import i18n
from backend.web.current import Actor
from backend.web.errors import FieldErrors, Forbidden, not_found
from backend.web.i18n import gettext as _

STEP_MONTHS = {"monthly": 1, "quarterly": 3, "yearly": 12}
LOOKAHEAD = timedelta(days=400)


def occurrences(commitment: dict, start: date, until: date) -> list[date]:
    """Due dates of a commitment from `start` (the version's effective date) up to `until`."""
    first = date.fromisoformat(commitment["due_date"])
    recurrence = commitment["recurrence"]
    found: list[date] = []
    k = 0
    while len(found) < 1000:
        if recurrence == "once":
            due = first if k == 0 else None
        elif recurrence == "weekly":
            due = first + timedelta(weeks=k)
        else:
            due = _add_months(first, STEP_MONTHS[recurrence] * k)
        if due is None or due > until:
            break
        if due >= start:
            found.append(due)
        k += 1
    return found


@dataclass
class Obligation:
    relationship_id: UUID
    relationship_name: str
    counterparty: str
    version_id: UUID
    commitment: dict
    owner: Contact | None
    next_due: date | None
    overdue: list[date]
    executed: int
    today: date
    can_record: bool = False  # the viewer may record an execution (its side, a writing role)


async def _executed(relationship_id: UUID) -> dict[str, set[date]]:
    done: dict[str, set[date]] = {}
    for row in await CommitmentExecution.select(CommitmentExecution.commitment, CommitmentExecution.due_date).where(
            CommitmentExecution.relationship == relationship_id):
        done.setdefault(row["commitment"], set()).add(row["due_date"])
    return done


def local_today(relationship: Relationship, now: datetime | None = None) -> date:
    return (now or datetime.now(timezone.utc)).astimezone(ZoneInfo(relationship.time_zone)).date()


async def obligations_of(relationship: Relationship, side: str | None, counterparty: str,
                         now: datetime | None = None) -> list[Obligation]:
    """The commitments of the version in force today (relationship's time zone), owed by `side` (or all)."""
    today = local_today(relationship, now)
    version = await in_force_on(relationship.id, today)
    if version is None:
        return []
    contacts = {str(c.id): c for c in await Contact.objects().where(Contact.relationship == relationship.id)}
    done = await _executed(relationship.id)
    result = []
    for commitment in content_of(version).get("commitments", []):
        if side and commitment["owing_party"] != side:
            continue
        dues = occurrences(commitment, version.effective_date, today + LOOKAHEAD)
        open_dues = [d for d in dues if d not in done.get(commitment["id"], set())]
        result.append(Obligation(
            relationship_id=relationship.id, relationship_name=relationship.name, counterparty=counterparty,
            version_id=version.id, commitment=commitment, owner=contacts.get(commitment.get("owner_contact") or ""),
            next_due=open_dues[0] if open_dues else None, overdue=[d for d in open_dues if d < today],
            executed=len(done.get(commitment["id"], set())), today=today))
    return sorted(result, key=lambda o: (o.next_due or date.max, o.relationship_name))


async def my_obligations(actor: Actor) -> list[Obligation]:
    """Across every relationship the actor sees: what the actor's organization owes."""
    result = []
    for relationship_id in await visible_relationship_ids(actor):
        view = await get_relationship_for(actor, relationship_id)
        counterparty = view.orgs[view.other_side].name
        for obligation in await obligations_of(view.relationship, view.side, counterparty):
            obligation.can_record = view.can_write
            result.append(obligation)
    return sorted(result, key=lambda o: (o.next_due or date.max, o.relationship_name))


async def do_record_execution(*, actor: Actor, view: RelationshipView, commitment_id: str, due_date: str,
                              executed_on: str, note: str, evidence: str) -> CommitmentExecution:
    today = datetime.now(timezone.utc).astimezone(ZoneInfo(view.relationship.time_zone)).date()
    version = await in_force_on(view.relationship.id, today)
    commitment = next((c for c in content_of(version).get("commitments", []) if c["id"] == commitment_id),
                      None) if version else None
    if commitment is None:
        raise not_found()
    if commitment["owing_party"] != view.side or not view.can_write:
        raise Forbidden()
    errors = {}
    try:
        due = date.fromisoformat(due_date)
    except ValueError:
        due = None
    if due is None or due not in occurrences(commitment, version.effective_date, today + LOOKAHEAD):
        errors["due_date"] = _("Choose one of the commitment's due dates.")
    try:
        done_on = date.fromisoformat(executed_on)
        if done_on > today:
            errors["executed_on"] = _("The execution date cannot be in the future.")
    except ValueError:
        errors["executed_on"] = _("Enter a date as YYYY-MM-DD.")
    if commitment.get("evidence") and not (evidence or "").strip():
        errors["evidence"] = _("This commitment expects evidence: %(what)s", what=commitment["evidence"])
    if not errors and due in (await _executed(view.relationship.id)).get(commitment_id, set()):
        errors["due_date"] = _("This due date is already recorded as done.")
    if errors:
        raise FieldErrors(errors)
    execution = CommitmentExecution(
        id=uuid4(), relationship=view.relationship.id, agreement_version=version.id, commitment=commitment_id,
        due_date=due, org=actor.org.id, recorded_by=actor.user.id, note=(note or "").strip()[:2000],
        evidence=(evidence or "").strip()[:500], executed_on=done_on, created_at=datetime.now(timezone.utc))
    await execution.save()
    await record("commitment.executed", actor=actor, relationship_id=view.relationship.id,
                 target_type="commitment", target_id=commitment_id, target_label=commitment["text"][:200],
                 details={"due_date": due.isoformat(), "executed_on": done_on.isoformat(),
                          "evidence": execution.evidence, "late": done_on > due})
    return execution


# -- the worker's part -------------------------------------------------------------------------

async def flag_overdue_relationship(relationship_id: UUID, now: datetime) -> int:
    """Flag each missed occurrence once: to its owner and to the other side's responsable."""
    relationship = await Relationship.objects().where(Relationship.id == relationship_id).first()
    flagged = 0
    for obligation in await obligations_of(relationship, None, "", now):
        for due in obligation.overdue:
            kind = f"commitment:{obligation.commitment['id']}"
            claimed = await db.raw_one(
                "INSERT INTO reminder_sent (id, relationship, kind, due_date, sent_at) VALUES ($1, $2, $3, $4, $5)"
                " ON CONFLICT (relationship, kind, due_date) DO NOTHING RETURNING id",
                uuid4(), relationship_id, kind, due, now)
            if claimed is None:
                continue
            proposed = await _propose_deviation(relationship, obligation, due, now)
            await _tell(relationship, obligation, due, proposed)
            flagged += 1
    return flagged


async def _propose_deviation(relationship: Relationship, obligation: Obligation, due: date, now: datetime):
    """A missed supplier commitment becomes a proposed deviation, for the client to confirm or dismiss."""
    from backend.disputes.actions import do_log

    if obligation.commitment["owing_party"] != "supplier":
        return None  # deviations are the client's to log against its supplier
    return await do_log(actor=None, view=None, relationship=relationship, source="worker",
                        source_key=f"commitment:{obligation.commitment['id']}:{due.isoformat()}", now=now,
                        data={"type": "commitment_missed", "occurred_at": f"{due.isoformat()}T23:59",
                              "subject_kind": "commitment", "subject_ref": obligation.commitment["id"],
                              "severity": "medium",
                              "description": obligation.commitment["text"][:3000]})


async def _tell(relationship: Relationship, obligation: Obligation, due: date, proposed=None) -> None:
    owing = obligation.commitment["owing_party"]
    other = "supplier" if owing == "client" else "client"
    other_org = relationship.supplier_org if other == "supplier" else relationship.client_org
    recipients = await db.raw(
        "SELECT u.id, u.org, u.locale, u.email FROM relationship_member m JOIN app_user u ON u.id = m.\"user\""
        " WHERE m.relationship = $1 AND u.is_active AND ((m.org = $2 AND m.role = 'responsable') OR u.id = $3)",
        relationship.id, other_org, obligation.owner.user if obligation.owner and obligation.owner.user else None)
    link = f"/commitments#c-{obligation.commitment['id']}"
    emails = {r["email"] for r in recipients}
    if obligation.owner and obligation.owner.email:
        emails.add(obligation.owner.email)
    for recipient in recipients:
        token = i18n.set_locale(recipient["locale"] or "en")
        try:
            title = i18n.gettext("Commitment missed on %(date)s in “%(name)s”: %(text)s", date=i18n.format_date(due),
                                 name=relationship.name, text=obligation.commitment["text"][:120])
            body = i18n.gettext("No execution was recorded for this due date. It can be logged as a deviation.")
        finally:
            i18n._locale.reset(token)
        # the client's responsable goes straight to the proposed deviation, to confirm or dismiss it
        to = f"/deviations/{proposed.id}" if proposed is not None and recipient["org"] == other_org else link
        await notify(user_id=recipient["id"], org_id=recipient["org"], relationship_id=relationship.id,
                     kind="commitment_missed", title=title, body=body, link=to)
    for email in sorted(emails):
        mail.queue(email, "commitment_missed", relationship=relationship.name, due=due,
                   text=obligation.commitment["text"], link=link)


async def flag_overdue_commitments(now: datetime | None = None) -> int:
    return await for_each_signed_relationship(flag_overdue_relationship, now)
