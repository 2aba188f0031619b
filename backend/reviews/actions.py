"""Quarterly business reviews on the agreement's cadence: a pack generated from the data of the
quarter before the review (kept as a snapshot), attendees, decisions, and action items whose owners
are reminded until they are done."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

from backend import db
from backend.agreements.actions import content_of, in_force_on
from backend.agreements.reminders import _add_months
from backend.agreements.sections import KPI_LABELS, KPI_LIBRARY
from backend.audit.actions import record
from backend.notifications.actions import notify
from backend.operations.kpis import period_range
from backend.pricing import schedule
from backend.pricing.actions import commitments_of, volumes_of
from backend.web import i18n
from backend.web.errors import Conflict, FieldErrors, Forbidden, not_found
from backend.web.i18n import gettext as _

REMIND_DAYS = 2  # an open action item is reminded from this many days before its due date


def cadence(terms: dict, around: date, before: int = 2, after: int = 2) -> list[date]:
    """Review dates of the cadence (the first quarterly review, then every three months) around a day."""
    if not terms.get("first_quarterly_review"):
        return []
    first = date.fromisoformat(terms["first_quarterly_review"])
    dates, k = [], 0
    while True:
        day = _add_months(first, 3 * k)
        if day >= around:
            break
        dates.append(day)
        k += 1
    upcoming = [_add_months(first, 3 * (k + n)) for n in range(after)]
    return dates[-before:] + upcoming


def _s(value) -> str | None:
    return None if value is None else str(value)


async def build_pack(relationship, content: dict, quarter_start: date, today: date) -> dict[str, Any]:
    """The review pack: the quarter's scorecard, deviations and penalties, improvement commitments,
    volumes against the contract, and the action items still open. JSON, kept as generated."""
    start, end = period_range("quarter", quarter_start)
    values = {r["metric"]: r for r in await db.raw(
        "SELECT metric, value, numerator, denominator FROM kpi_value WHERE relationship = $1"
        " AND period_kind = 'quarter' AND period_start = $2", relationship.id, start)}
    scorecard = []
    for kpi in content.get("kpis") or []:
        v = values.get(kpi["metric"])
        value = v["value"] if v else None
        lower = KPI_LIBRARY[kpi["metric"]][1]
        target = Decimal(str(kpi["target"]))
        met = None if value is None else (value <= target if lower else value >= target)
        scorecard.append({"metric": kpi["metric"], "label": KPI_LABELS[kpi["metric"]],
                          "party": kpi.get("measured_party"), "target": str(target), "value": _s(value),
                          "numerator": _s(v["numerator"]) if v else None,
                          "denominator": _s(v["denominator"]) if v else None, "met": met})
    deviations = {r["status"]: r["n"] for r in await db.raw(
        "SELECT status, count(*) AS n FROM deviation WHERE relationship = $1 AND status <> 'proposed'"
        " AND period >= $2 AND period < $3 GROUP BY status", relationship.id, start.strftime("%Y-%m"),
        end.strftime("%Y-%m"))}
    penalties = await db.raw_one(
        "SELECT coalesce(sum(penalty_final) FILTER (WHERE penalty_status = 'confirmed'), 0) AS confirmed,"
        " coalesce(sum(penalty_amount) FILTER (WHERE penalty_status = 'pending'), 0) AS pending FROM deviation"
        " WHERE relationship = $1 AND period >= $2 AND period < $3", relationship.id, start.strftime("%Y-%m"),
        end.strftime("%Y-%m"))
    executed = {r["commitment"]: r for r in await db.raw(
        "SELECT commitment, count(*) AS n, max(executed_on) AS last FROM commitment_execution WHERE relationship = $1"
        " AND due_date >= $2 AND due_date < $3 GROUP BY commitment", relationship.id, start, end)}
    commitments = [{"text": c.get("text", ""), "owing_party": c.get("owing_party"), "recurrence": c.get("recurrence"),
                    "executed": executed[c["id"]]["n"] if c.get("id") in executed else 0,
                    "last": executed[c["id"]]["last"].isoformat() if c.get("id") in executed else None}
                   for c in content.get("commitments") or []]
    improvements, volumes = [], None
    if relationship.start_date is not None:
        year = max(schedule.contract_year(relationship.start_date, today), 1)
        improvements = [c.as_json() for c in await commitments_of(relationship, content, year, today)]
        if content.get("price_items"):
            v = await volumes_of(relationship, content, year, today)
            volumes = {"year": v.year, "items": [
                {"item_code": i.item_code, "actual": str(i.actual), "projected": str(i.projected),
                 "commitment": _s(i.commitment), "status": i.status} for i in v.items],
                "rebate_pct": str(v.rebate_pct), "rebate_accrued": str(v.rebate_accrued)}
    actions = [{"text": r["text"], "owner": r["owner_name"], "due_date": r["due_date"].isoformat()}
               for r in await db.raw(
                   "SELECT a.text, a.due_date, u.name AS owner_name FROM review_action a"
                   " LEFT JOIN app_user u ON u.id = a.owner WHERE a.relationship = $1 AND a.status = 'open'"
                   " ORDER BY a.due_date", relationship.id)]
    return {"quarter": {"start": start.isoformat(), "end": end.isoformat()}, "currency": relationship.currency,
            "scorecard": scorecard, "deviations": deviations, "commitments": commitments,
            "penalties": {"confirmed": str(penalties["confirmed"]), "pending": str(penalties["pending"])},
            "improvements": improvements, "volumes": volumes, "open_actions": actions}


async def do_prepare(*, actor, view, scheduled_for: date) -> UUID:
    """Create the review of a cadence date with its pack; a second request finds the first one."""
    rel = view.relationship
    if not view.can_write:
        raise Forbidden()
    today = datetime.now(ZoneInfo(rel.time_zone)).date()
    version = await in_force_on(rel.id, today)
    if version is None:
        raise FieldErrors({"scheduled_for": _("No agreement version is in force.")})
    content = content_of(version)
    if scheduled_for not in cadence(content.get("terms") or {}, scheduled_for, before=1, after=1):
        raise FieldErrors({"scheduled_for": _("This date is not on the agreement's review cadence.")})
    existing = await db.raw_one("SELECT id FROM review WHERE relationship = $1 AND scheduled_for = $2",
                                rel.id, scheduled_for)
    if existing:
        return existing["id"]
    quarter_start = period_range("quarter", scheduled_for - timedelta(days=1))[0]
    pack = await build_pack(rel, content, quarter_start, today)
    review_id, now = uuid4(), datetime.now(timezone.utc)
    inserted = await db.raw(
        "INSERT INTO review (id, relationship, scheduled_for, quarter_start, status, pack, pack_generated_at,"
        " attendees, decisions, version, created_at, updated_at) VALUES ($1, $2, $3, $4, 'planned', $5::jsonb, $6,"
        " '', '', 1, $6, $6) ON CONFLICT (relationship, scheduled_for) DO NOTHING RETURNING id",
        review_id, rel.id, scheduled_for, quarter_start, json.dumps(pack), now)
    if not inserted:  # someone prepared it at the same moment
        return (await db.raw_one("SELECT id FROM review WHERE relationship = $1 AND scheduled_for = $2",
                                 rel.id, scheduled_for))["id"]
    await record("review.prepared", actor=actor, relationship_id=rel.id, target_type="review",
                 target_id=str(review_id), target_label=scheduled_for.isoformat(),
                 details={"quarter_start": quarter_start.isoformat()})
    return review_id


async def get_review_for(actor, review_id: UUID):
    from backend.relationships.access import get_relationship_for

    row = await db.raw_one("SELECT * FROM review WHERE id = $1", review_id)
    if row is None:
        raise not_found()
    view = await get_relationship_for(actor, row["relationship"])
    review = dict(row)
    review["pack"] = json.loads(review["pack"]) if isinstance(review["pack"], str) else review["pack"]
    return review, view


async def do_record(*, actor, view, review: dict, attendees: str, decisions: str, version: str) -> None:
    if not view.can_write:
        raise Forbidden()
    errors = {}
    if not attendees.strip():
        errors["attendees"] = _("Name who attended, one per line.")
    if len(attendees) > 5000 or len(decisions) > 20000:
        errors["decisions"] = _("Use at most %(n)s characters.", n=20000)
    if errors:
        raise FieldErrors(errors)
    rows = await db.raw(
        "UPDATE review SET attendees = $2, decisions = $3, status = 'held', version = version + 1, updated_at = $4"
        " WHERE id = $1 AND version = $5 RETURNING id", review["id"], attendees.strip(), decisions.strip(),
        datetime.now(timezone.utc), _int(version))
    if not rows:
        raise Conflict(_("Someone else saved this review a moment ago. Nothing of yours was saved."))
    await record("review.recorded", actor=actor, relationship_id=view.relationship.id, target_type="review",
                 target_id=str(review["id"]), target_label=review["scheduled_for"].isoformat(),
                 details={"attendees": attendees.strip()[:1000], "decisions": decisions.strip()[:2000]})


def _int(text) -> int:
    try:
        return int(text)
    except (TypeError, ValueError):
        return -1


async def do_add_action(*, actor, view, review: dict, text: str, owner: str, due_date: str) -> UUID:
    if not view.can_write:
        raise Forbidden()
    errors, text = {}, (text or "").strip()
    if not text:
        errors["text"] = _("Say what is to be done.")
    owner_id = None
    members = {str(r["user"]) for r in await db.raw(
        "SELECT \"user\" FROM relationship_member WHERE relationship = $1", view.relationship.id)}
    if owner not in members:
        errors["owner"] = _("Choose a member of the relationship.")
    else:
        owner_id = UUID(owner)
    try:
        due = date.fromisoformat(due_date or "")
    except ValueError:
        errors["due_date"] = _("Use a date as YYYY-MM-DD.")
    if errors:
        raise FieldErrors(errors)
    action_id, now = uuid4(), datetime.now(timezone.utc)
    await db.raw(
        "INSERT INTO review_action (id, review, relationship, text, owner, due_date, status, version, created_at,"
        " updated_at) VALUES ($1, $2, $3, $4, $5, $6, 'open', 1, $7, $7)",
        action_id, review["id"], view.relationship.id, text[:2000], owner_id, due, now)
    await record("review.action_added", actor=actor, relationship_id=view.relationship.id, target_type="review_action",
                 target_id=str(action_id), target_label=text[:200], details={"due_date": due.isoformat(),
                                                                             "owner": owner})
    return action_id


async def do_finish_action(*, actor, action_id: UUID, version: str) -> dict:
    from backend.relationships.access import get_relationship_for

    row = await db.raw_one("SELECT * FROM review_action WHERE id = $1", action_id)
    if row is None:
        raise not_found()
    view = await get_relationship_for(actor, row["relationship"])
    if not view.can_write:
        raise Forbidden()
    done = await db.raw("UPDATE review_action SET status = 'done', version = version + 1, updated_at = $2"
                        " WHERE id = $1 AND version = $3 AND status = 'open' RETURNING id", action_id,
                        datetime.now(timezone.utc), _int(version))
    if not done:
        raise Conflict(_("Someone else changed this action item a moment ago. Nothing of yours was saved."))
    await record("review.action_done", actor=actor, relationship_id=row["relationship"], target_type="review_action",
                 target_id=str(action_id), target_label=row["text"][:200])
    return dict(row)


async def remind_actions(now: datetime | None = None) -> int:
    """Remind each open action item's owner once a day from REMIND_DAYS before its due date; each
    item in its own transaction, claimed by date so that two workers send one reminder."""
    now = now or datetime.now(timezone.utc)
    horizon = (now + timedelta(days=REMIND_DAYS + 1)).date()
    async with db.tenant_transaction(None):
        due = await db.raw("SELECT * FROM pacto_review_actions_due($1)", horizon)
    sent = 0
    for target in due:
        async with db.tenant_transaction(target["client_org"]):
            row = await db.raw_one(
                "SELECT a.*, r.time_zone, r.name AS relationship_name FROM review_action a"
                " JOIN relationship r ON r.id = a.relationship WHERE a.id = $1", target["action_id"])
            if row is None or row["owner"] is None:
                continue
            today = now.astimezone(ZoneInfo(row["time_zone"])).date()
            if row["due_date"] > today + timedelta(days=REMIND_DAYS):
                continue
            claimed = await db.raw(
                "UPDATE review_action SET reminded_on = $2 WHERE id = $1 AND status = 'open'"
                " AND reminded_on IS DISTINCT FROM $2 RETURNING id", row["id"], today)
            if not claimed:
                continue
            person = await db.raw_one("SELECT id, org, locale FROM app_user WHERE id = $1 AND is_active", row["owner"])
            if person is None:
                continue
            token = i18n.set_locale(person["locale"] or "en")
            try:
                args = {"name": row["relationship_name"], "day": i18n.format_date(row["due_date"]),
                        "text": row["text"][:120]}
                if row["due_date"] < today:
                    title = i18n.gettext("“%(name)s”: action item overdue since %(day)s: %(text)s", **args)
                else:
                    title = i18n.gettext("“%(name)s”: action item due %(day)s: %(text)s", **args)
            finally:
                i18n._locale.reset(token)
            await notify(user_id=person["id"], org_id=person["org"], relationship_id=row["relationship"],
                         kind="review_action", title=title, link=f"/reviews/{row['review']}")
            sent += 1
    return sent
