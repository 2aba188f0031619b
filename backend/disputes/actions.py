"""Deviations: logging, worker proposals, every transition of the dispute, comments, evidence,
and the deadline job. Each change: permission by side and role, optimistic lock, an event both
sides read, an audit entry, notifications to the people concerned, the month's penalties redone."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

from backend import db
from backend.agreements.actions import content_of, in_force_on
from backend.agreements.sections import DEVIATION_TYPES
from backend.agreements.tables import AgreementVersion
from backend.audit.actions import record
from backend.disputes import penalties, workflow
from backend.disputes.deadlines import parse_holidays
from backend.disputes.tables import Deviation, DeviationComment, DeviationEvent, EvidenceFile
from backend.disputes.workflow import CLIENT, SUPPLIER, State, Who
from backend.notifications import mail
from backend.notifications.actions import notify
from backend.relationships.access import RelationshipView, get_relationship_for
from backend.relationships.tables import Contact, Relationship
from backend.web import i18n
from backend.web.current import Actor
from backend.web.errors import Conflict, FieldErrors, Forbidden, not_found
from backend.web.i18n import gettext as _

MAX_TEXT = 4000


@dataclass
class DeviationView:
    deviation: Deviation
    relationship: RelationshipView
    is_admin: bool

    @property
    def who(self) -> Who:
        return Who(self.relationship.side, self.relationship.my_role, self.is_admin)

    @property
    def state(self) -> State:
        return state_of(self.deviation)

    @property
    def actions(self) -> list[str]:
        return workflow.available(self.state, self.who)

    @property
    def proposal(self) -> dict | None:
        return _json(self.deviation.proposal)


def _json(value) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def state_of(d) -> State:
    get = (lambda k: d[k]) if isinstance(d, dict) else (lambda k: getattr(d, k))
    proposal = _json(get("proposal"))
    return State(status=get("status"), level=get("level"), proposal_by=(proposal or {}).get("by"),
                 paused=get("paused_at") is not None, info_requested_by=get("info_requested_by") or "")


async def get_deviation_for(actor: Actor, deviation_id: UUID) -> DeviationView:
    deviation = await Deviation.objects().where(Deviation.id == deviation_id).first()
    if deviation is None:
        raise not_found()
    view = await get_relationship_for(actor, deviation.relationship)
    return DeviationView(deviation, view, actor.is_admin)


def who_in(view: RelationshipView, actor: Actor) -> Who:
    return Who(view.side, view.my_role, actor.is_admin)


# -- reading input ----------------------------------------------------------------------------

def _text(data: dict, name: str, errors: dict, *, required: bool = False, limit: int = MAX_TEXT) -> str:
    value = (data.get(name) or "").strip()
    if required and not value:
        errors[name] = _("This field is required.")
    elif len(value) > limit:
        errors[name] = _("Use at most %(n)s characters.", n=limit)
    return value


def _decimal(data: dict, name: str, errors: dict, *, maximum: Decimal | None = None) -> Decimal | None:
    raw = (data.get(name) or "").strip()
    if not raw:
        return None
    try:
        value = i18n.parse_decimal(raw)
        if not value.is_finite():
            raise InvalidOperation
    except InvalidOperation:
        errors[name] = _("Enter a number, like 12.5.")
        return None
    if value < 0:
        errors[name] = _("Use a value of at least %(n)s.", n=0)
    elif maximum is not None and value > maximum:
        errors[name] = _("Use a value of at most %(n)s.", n=maximum)
    return value


def _int(data: dict, name: str, errors: dict, maximum: int = 3650) -> int | None:
    raw = (data.get(name) or "").strip()
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        errors[name] = _("Enter a whole number.")
        return None
    if not 0 <= value <= maximum:
        errors[name] = _("Use a value between %(a)s and %(b)s.", a=0, b=maximum)
    return value


def _occurred(raw: str, tz: str, errors: dict, now: datetime) -> datetime | None:
    raw = (raw or "").strip()
    if not raw:
        errors["occurred_at"] = _("This field is required.")
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        errors["occurred_at"] = _("Enter a date and time as YYYY-MM-DD HH:MM.")
        return None
    value = value.replace(tzinfo=ZoneInfo(tz)) if value.tzinfo is None else value
    if value > now:
        errors["occurred_at"] = _("The deviation cannot have occurred in the future.")
    return value.astimezone(timezone.utc)


# -- logging and proposing --------------------------------------------------------------------

async def _next_number(relationship_id: UUID) -> int:
    await db.raw("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", f"deviation-number:{relationship_id}")
    row = await db.raw_one("SELECT max(number) AS n FROM deviation WHERE relationship = $1", relationship_id)
    return (row["n"] or 0) + 1


async def _subject(version: AgreementVersion | None, kind: str, ref: str, errors: dict) -> tuple[str, str, str | None]:
    """(kind, ref, label) of what the deviation is about, and the KPI metric when it is a KPI."""
    if not kind:
        return "", "", None
    if kind == "order_line":
        if not ref:
            errors["subject_ref"] = _("Name the order line (order number and line).")
        return kind, ref[:100], None
    rows = content_of(version).get("commitments" if kind == "commitment" else "kpis", []) if version else []
    row = next((r for r in rows if r.get("id") == ref), None) if kind in ("commitment", "kpi") else None
    if row is None:
        errors["subject_ref"] = _("Choose one of the agreement's commitments or KPIs in force on that date.")
        return kind, ref, None
    if kind == "commitment":
        return kind, ref, None
    return kind, ref, row["metric"]


def _subject_label(version: AgreementVersion | None, kind: str, ref: str) -> str:
    from backend.agreements.sections import KPI_LABELS

    if kind == "order_line":
        return ref
    rows = content_of(version).get("commitments" if kind == "commitment" else "kpis", []) if version else []
    row = next((r for r in rows if r.get("id") == ref), None)
    if row is None:
        return ""
    return row["text"][:300] if kind == "commitment" else str(KPI_LABELS.get(row["metric"], row["metric"]))


async def do_log(*, actor: Actor | None, view: RelationshipView | None, data: dict, relationship: Relationship,
                 source: str = "person", source_key: str | None = None, now: datetime | None = None
                 ) -> Deviation | None:
    """Log a deviation (the client's responsable or manager), or, from a worker (`actor` None),
    propose one for a person to confirm. A worker's proposal with a known `source_key` is made once."""
    now = now or datetime.now(timezone.utc)
    if actor is not None and not who_in(view, actor).acts_for(CLIENT):
        raise Forbidden()
    errors: dict[str, str] = {}
    kind = data.get("type") or ""
    if kind not in DEVIATION_TYPES:
        errors["type"] = _("Choose a value from the list.")
    severity = data.get("severity") or "medium"
    if severity not in workflow.SEVERITIES:
        errors["severity"] = _("Choose a value from the list.")
    occurred = _occurred(data.get("occurred_at", ""), relationship.time_zone, errors, now)
    description = _text(data, "description", errors, required=True)
    value = _decimal(data, "value", errors, maximum=Decimal("999999999999"))
    days_late = _int(data, "days_late", errors)
    points = _decimal(data, "shortfall_points", errors, maximum=Decimal(100))
    version = None
    if occurred is not None:
        version = await in_force_on(relationship.id, occurred.astimezone(ZoneInfo(relationship.time_zone)).date())
    subject_kind = data.get("subject_kind") or ""
    if subject_kind not in ("", "commitment", "kpi", "order_line"):
        errors["subject_kind"] = _("Choose a value from the list.")
        subject_kind = ""
    subject_kind, subject_ref, metric = await _subject(version, subject_kind, (data.get("subject_ref") or "").strip(),
                                                       errors)
    rule = penalties.rule_for(content_of(version), kind, metric) if version and not errors.get("type") else None
    if kind == "kpi_shortfall" and subject_kind != "kpi" and "subject_ref" not in errors:
        errors["subject_kind"] = _("A KPI shortfall names the KPI concerned.")
    figures = {"value": value, "days_late": days_late, "shortfall_points": points}
    for name in penalties.needs(rule) if source == "person" else ():  # a proposal is completed by a person
        if figures[name] is None and name not in errors:
            errors[name] = _("The agreement's penalty rule for this type needs this figure.")
    if errors:
        raise FieldErrors(errors)
    local = occurred.astimezone(ZoneInfo(relationship.time_zone))
    status = "open" if source == "person" else "proposed"
    content = content_of(version) if version else {}
    terms, ladder = content.get("terms") or {}, content.get("escalation") or []
    due = workflow.due_at(now, workflow.clock_days(status, 0, terms, ladder, None), relationship.time_zone,
                          parse_holidays(terms.get("holidays"))) if status == "open" else None
    deviation_id = uuid4()
    number = await _next_number(relationship.id)
    inserted = await db.raw_one(
        "INSERT INTO deviation (id, relationship, number, type, subject_kind, subject_ref, subject_label, occurred_at,"
        " period, severity, description, value, days_late, shortfall_points, status, level, waiting_for, due_at,"
        " paused_seconds, info_requested_by, outcome, agreement_version, penalty_rule, penalty_status, currency,"
        " source, source_key, logged_by, created_at, updated_at, version)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 0, 'client', $16, 0, '', '',"
        " $17, $18, 'none', $19, $20, $21, $22, $23, $23, 1)"
        " ON CONFLICT (relationship, source_key) WHERE source_key IS NOT NULL DO NOTHING RETURNING id",
        deviation_id, relationship.id, number, kind, subject_kind, subject_ref,
        _subject_label(version, subject_kind, subject_ref), occurred, local.strftime("%Y-%m"), severity, description,
        value, days_late, points, status, due, version.id if version else None, rule["id"] if rule else "",
        relationship.currency, source, source_key, actor.user.id if actor else None, now)
    if inserted is None:
        return None  # proposed before
    if status == "open":
        await db.raw("UPDATE deviation SET waiting_for = 'supplier' WHERE id = $1", deviation_id)
    deviation = await Deviation.objects().where(Deviation.id == deviation_id).first()
    action = "log" if status == "open" else "propose"
    await _event(deviation, action, actor=actor, side=CLIENT if actor else "", from_status="", to_status=status,
                 note="", amount=None, now=now)
    await record(f"deviation.{'logged' if action == 'log' else 'proposed'}", actor=actor,
                 org_id=None if actor else relationship.client_org, relationship_id=relationship.id,
                 target_type="deviation", target_id=deviation.id, target_label=f"D-{number}",
                 details={"type": kind, "occurred_at": occurred.isoformat(), "severity": severity,
                          "penalty_rule": rule["id"] if rule else None, "source": source})
    await penalties.recompute_period(relationship.id, deviation.period)
    await _tell(deviation, relationship, action, actor=actor, side=CLIENT if actor else "")
    return await Deviation.objects().where(Deviation.id == deviation_id).first()


# -- transitions ------------------------------------------------------------------------------

async def _version_content(deviation: Deviation) -> dict:
    if deviation.agreement_version is None:
        return {}
    version = await AgreementVersion.objects().where(AgreementVersion.id == deviation.agreement_version).first()
    return content_of(version) if version else {}


def _clock(relationship: Relationship, content: dict, status: str, level: int, proposal_by: str | None,
           now: datetime) -> datetime | None:
    terms = content.get("terms") or {}
    days = workflow.clock_days(status, level, terms, content.get("escalation") or [], proposal_by)
    return workflow.due_at(now, days, relationship.time_zone, parse_holidays(terms.get("holidays")))


def _escalation(relationship: Relationship, content: dict, from_level: int, now: datetime) -> dict:
    level = workflow.next_level(from_level, content.get("escalation") or [])
    if level is None:
        return {"status": "arbitration", "level": from_level, "due_at": None, "proposal": None}
    return {"status": "escalated", "level": level, "proposal": None,
            "due_at": _clock(relationship, content, "escalated", level, None, now)}


def _final(status: str, now: datetime, outcome: str | None = None, amount: Decimal | None = None) -> dict:
    return {"status": status, "outcome": outcome or status, "outcome_amount": amount, "due_at": None,
            "proposal": None, "closed_at": now}


def _outcome_input(data: dict, errors: dict) -> tuple[str, Decimal | None]:
    outcome = data.get("outcome") or ""
    if outcome not in workflow.OUTCOMES:
        errors["outcome"] = _("Choose a value from the list.")
    amount = _decimal(data, "amount", errors)
    if outcome == "settled" and amount is None and "amount" not in errors:
        errors["amount"] = _("A settlement names its amount.")
    return outcome, (penalties.compute.cents(amount) if amount is not None else None)


async def do_act(*, actor: Actor, dv: DeviationView, action: str, data: dict, lock: int,
                 now: datetime | None = None) -> Deviation:
    now = now or datetime.now(timezone.utc)
    d = dv.deviation
    if action not in workflow.ACTIONS:
        raise FieldErrors({"action": _("Unknown action.")})
    if lock != d.version:
        raise Conflict()
    state = dv.state
    if not workflow.allowed(action, state, dv.who):
        # the right person too late (the state moved on) is a conflict; the wrong person is refused
        starts, _rule = workflow.ACTIONS[action]
        if state.status not in starts or (state.paused and action != "answer_info"):
            raise Conflict()
        raise Forbidden()
    relationship = dv.relationship.relationship
    side = dv.relationship.side
    content = await _version_content(d)
    errors: dict[str, str] = {}
    note, amount = "", None
    changes: dict[str, Any] = {}
    if action == "confirm":
        changes = {"status": "open", "due_at": _clock(relationship, content, "open", 0, None, now),
                   "logged_by": actor.user.id}
    elif action == "dismiss":
        note = _text(data, "note", errors, required=True)
        changes = _final("dismissed", now)
    elif action == "accept":
        note = _text(data, "note", errors)
        changes = _final("accepted", now)
    elif action == "contest":
        note = _text(data, "note", errors, required=True)
        changes = {"status": "contested", "due_at": _clock(relationship, content, "contested", 0, None, now)}
    elif action == "withdraw":
        note = _text(data, "note", errors)
        changes = _final("withdrawn", now)
    elif action == "uphold":
        note = _text(data, "note", errors)
        changes = _escalation(relationship, content, 0, now)
    elif action == "propose_settlement":
        note = _text(data, "note", errors)
        amount = _decimal(data, "amount", errors)
        if amount is None and not note and "amount" not in errors:
            errors["amount"] = _("Propose an amount, or describe the remedy.")
        amount = penalties.compute.cents(amount) if amount is not None else None
        changes = {"status": "settlement_proposed",
                   "proposal": {"kind": "settlement", "by": side, "amount": str(amount) if amount is not None else None,
                                "remedy": note, "exclusion": _exclusion(d, data, errors)},
                   "due_at": _clock(relationship, content, "settlement_proposed", 0, side, now)}
    elif action == "accept_settlement":
        proposal = dv.proposal or {}
        amount = Decimal(proposal["amount"]) if proposal.get("amount") else Decimal("0.00")
        note = _text(data, "note", errors)
        changes = _final("settled", now, "settled", amount) | {"kpi_exclusion": proposal.get("exclusion") or ""}
    elif action == "reject_settlement":
        note = _text(data, "note", errors, required=True)
        changes = _escalation(relationship, content, d.level, now)
    elif action == "propose_outcome":
        outcome, amount = _outcome_input(data, errors)
        note = _text(data, "note", errors)
        changes = {"proposal": {"kind": "outcome", "by": side, "outcome": outcome,
                                "amount": str(amount) if amount is not None else None, "note": note,
                                "exclusion": _exclusion(d, data, errors)}}
    elif action == "confirm_outcome":
        proposal = dv.proposal or {}
        amount = Decimal(proposal["amount"]) if proposal.get("amount") else None
        note = _text(data, "note", errors)
        changes = _final(proposal["outcome"], now, proposal["outcome"], amount) | {
            "kpi_exclusion": proposal.get("exclusion") or ""}
    elif action == "reject_outcome":
        note = _text(data, "note", errors, required=True)
        changes = {"proposal": None}
    elif action == "request_info":
        note = _text(data, "note", errors, required=True)
        changes = {"paused_at": now, "info_requested_by": side}
    elif action == "answer_info":
        note = _text(data, "note", errors, required=True)
        due, paused = workflow.resume(d.due_at, d.paused_at, now)
        changes = {"paused_at": None, "info_requested_by": "", "due_at": due,
                   "paused_seconds": d.paused_seconds + paused}
    elif action == "record_arbitration":
        outcome, amount = _outcome_input(data, errors)
        note = _text(data, "note", errors, required=True)
        changes = _final("arbitrated", now, outcome, amount) | {"kpi_exclusion": _exclusion(d, data, errors)}
    if errors:
        raise FieldErrors(errors)
    if side == SUPPLIER and d.first_response_at is None:
        changes["first_response_at"] = now
    updated = await _apply(d, changes, now)
    await _event(updated, action, actor=actor, side=side, from_status=d.status, to_status=updated.status,
                 note=note, amount=amount, now=now)
    await record(f"deviation.{action}", actor=actor, relationship_id=d.relationship, target_type="deviation",
                 target_id=d.id, target_label=f"D-{d.number}",
                 details={"from": d.status, "to": updated.status, "level": updated.level, "note": note[:500],
                          "amount": str(amount) if amount is not None else None})
    await penalties.recompute_period(d.relationship, d.period)
    if updated.kpi_exclusion and updated.kpi_exclusion != d.kpi_exclusion:
        await _remeasure_line(updated)
    await _tell(updated, relationship, action, actor=actor, side=side,
                escalated_to=updated.level if updated.status == "escalated" and updated.level != d.level else None)
    return await Deviation.objects().where(Deviation.id == d.id).first()


def _exclusion(d: Deviation, data: dict, errors: dict) -> str:
    """The agreed reason to leave the order line out of the KPIs (only for an order line)."""
    reason = _text(data, "exclusion_reason", errors, limit=500)
    if reason and d.subject_kind != "order_line":
        errors["exclusion_reason"] = _("Only a deviation about an order line can leave the KPIs.")
    return reason


async def _remeasure_line(d: Deviation) -> None:
    """The line's month is measured again without it."""
    from backend.operations.kpis import mark_for_recompute

    line = await db.raw_one("SELECT promised_date FROM order_line WHERE relationship = $1 AND external_id = $2",
                            d.relationship, d.subject_ref)
    if line is not None:
        await mark_for_recompute(d.relationship, [line["promised_date"].replace(day=1)])


async def _apply(d: Deviation, changes: dict, now: datetime) -> Deviation:
    """Write the changes if nobody moved the deviation since it was read (the version column)."""
    values = {"status": d.status, "level": d.level, "proposal": _json(d.proposal), "paused_at": d.paused_at,
              "info_requested_by": d.info_requested_by} | changes
    state = State(values["status"], values["level"], (values["proposal"] or {}).get("by"),
                  values["paused_at"] is not None, values["info_requested_by"])
    changes = changes | {"waiting_for": workflow.mover(state), "updated_at": now}
    if "proposal" in changes:
        changes["proposal"] = json.dumps(changes["proposal"]) if changes["proposal"] is not None else None
    columns = list(changes)
    assignments = ", ".join(f"{name} = ${i + 3}{'::jsonb' if name == 'proposal' else ''}"
                            for i, name in enumerate(columns))
    row = await db.raw_one(
        f"UPDATE deviation SET {assignments}, version = version + 1 WHERE id = $1 AND version = $2 RETURNING id",
        d.id, d.version, *[changes[name] for name in columns])
    if row is None:
        raise Conflict()
    return await Deviation.objects().where(Deviation.id == d.id).first()


async def _event(d: Deviation, action: str, *, actor: Actor | None, side: str, from_status: str, to_status: str,
                 note: str, amount: Decimal | None, now: datetime) -> None:
    await DeviationEvent(
        id=uuid4(), deviation=d.id, relationship=d.relationship, action=action, side=side,
        actor=actor.user.id if actor else None, actor_name=actor.user.name if actor else "",
        from_status=from_status, to_status=to_status, note=note, amount=amount, created_at=now).save()


# -- the deadline job ------------------------------------------------------------------------

async def apply_deadline(deviation_id: UUID, now: datetime) -> str | None:
    """What the dispute terms say when a clock ran out, in the current transaction. Returns the
    action taken, or None when someone (a person, another worker) moved the deviation first."""
    row = await db.raw_one("SELECT * FROM deviation WHERE id = $1 FOR UPDATE SKIP LOCKED", deviation_id)
    if row is None or row["status"] not in ("open", "escalated") or row["paused_at"] is not None \
            or row["due_at"] is None or row["due_at"] > now:
        return None
    d = await Deviation.objects().where(Deviation.id == deviation_id).first()
    relationship = await Relationship.objects().where(Relationship.id == d.relationship).first()
    content = await _version_content(d)
    if d.status == "open":
        terms = workflow.DEFAULT_TERMS | {k: v for k, v in (content.get("terms") or {}).items() if v}
        if terms["on_no_response"] == "deemed_accepted":
            action, changes = "deemed_accepted", _final("accepted", now)
        else:
            action, changes = "escalate", _escalation(relationship, content, 0, now)
    else:
        changes = _escalation(relationship, content, d.level, now)
        action = "escalate" if changes["status"] == "escalated" else "to_arbitration"
    updated = await _apply(d, changes, now)
    await _event(updated, action, actor=None, side="", from_status=d.status, to_status=updated.status, note="",
                 amount=None, now=now)
    await record(f"deviation.{action}", org_id=relationship.client_org, relationship_id=d.relationship,
                 target_type="deviation", target_id=d.id, target_label=f"D-{d.number}",
                 details={"from": d.status, "to": updated.status, "level": updated.level,
                          "due_at": d.due_at.isoformat(), "source": "worker"})
    await penalties.recompute_period(d.relationship, d.period)
    await _tell(updated, relationship, action, actor=None, side="",
                escalated_to=updated.level if updated.status == "escalated" else None)
    return action


async def run_deadlines(now: datetime | None = None) -> int:
    """Apply every clock that ran out, each deviation in its own transaction: a crash leaves the
    rest for the next run, and a row another worker holds is skipped (it is being done)."""
    now = now or datetime.now(timezone.utc)
    async with db.tenant_transaction(None):
        due = await db.raw("SELECT * FROM pacto_deviations_due($1)", now)
    done = 0
    for target in due:
        async with db.tenant_transaction(target["client_org"]):
            if await apply_deadline(target["deviation_id"], now):
                done += 1
    return done


# -- comments and evidence ------------------------------------------------------------------

async def do_comment(*, actor: Actor, dv: DeviationView, body: str, visibility: str) -> DeviationComment:
    body = (body or "").strip()
    errors = {}
    if not body:
        errors["body"] = _("Write the comment first.")
    elif len(body) > MAX_TEXT:
        errors["body"] = _("Use at most %(n)s characters.", n=MAX_TEXT)
    if visibility not in ("shared", "private"):
        errors["visibility"] = _("Choose a value from the list.")
    if errors:
        raise FieldErrors(errors)
    if not dv.relationship.can_write:
        raise Forbidden()
    comment = DeviationComment(
        id=uuid4(), deviation=dv.deviation.id, relationship=dv.deviation.relationship, org=actor.org.id,
        author=actor.user.id, author_name=actor.user.name, body=body, visibility=visibility,
        created_at=datetime.now(timezone.utc))
    await comment.save()
    # The audit log is read by both sides: a private note is recorded without its text.
    await record("deviation.commented", actor=actor, relationship_id=dv.deviation.relationship,
                 target_type="deviation", target_id=dv.deviation.id, target_label=f"D-{dv.deviation.number}",
                 details={"visibility": visibility, "comment": str(comment.id),
                          **({"body": body[:500]} if visibility == "shared" else {})})
    return comment


async def comments_of(deviation_id: UUID) -> list[DeviationComment]:
    # row-level security leaves out the other organization's private comments
    return await DeviationComment.objects().where(DeviationComment.deviation == deviation_id).order_by(
        DeviationComment.created_at)


async def add_evidence(*, actor: Actor, dv: DeviationView, stored) -> EvidenceFile:
    evidence = EvidenceFile(
        id=stored.id, deviation=dv.deviation.id, relationship=dv.deviation.relationship, org=actor.org.id,
        uploaded_by=actor.user.id, filename=stored.filename[:255], kind=stored.kind, media_type=stored.media_type,
        size=stored.size, sha256=stored.sha256, created_at=datetime.now(timezone.utc))
    await evidence.save()
    await record("deviation.evidence_added", actor=actor, relationship_id=dv.deviation.relationship,
                 target_type="deviation", target_id=dv.deviation.id, target_label=f"D-{dv.deviation.number}",
                 details={"file": stored.filename, "sha256": stored.sha256, "size": stored.size})
    return evidence


def may_add_evidence(dv: DeviationView) -> bool:
    return dv.relationship.can_write and dv.deviation.status not in workflow.FINAL


# -- telling the people concerned -------------------------------------------------------------

async def _tell(d: Deviation, relationship: Relationship, action: str, *, actor: Actor | None, side: str,
                escalated_to: int | None = None) -> None:
    """The other side's responsable, the deviation's owner and, at an escalation, the level's
    contacts of both sides: in-app (those who are users) and by e-mail. Never the actor."""
    # a person's move concerns the other side; a worker's move concerns both, except a proposal,
    # which is the client's to confirm
    if side == CLIENT or action == "propose":
        target_orgs = [relationship.supplier_org]
    elif side == SUPPLIER:
        target_orgs = [relationship.client_org]
    else:
        target_orgs = [relationship.client_org, relationship.supplier_org]
    rows = await db.raw(
        "SELECT u.id, u.org, u.locale, u.email FROM relationship_member m JOIN app_user u ON u.id = m.\"user\""
        " WHERE m.relationship = $1 AND u.is_active AND ((m.role = 'responsable' AND m.org = ANY($2::uuid[]))"
        " OR u.id = $3)", relationship.id, target_orgs, d.logged_by)
    people = {row["id"]: dict(row) for row in rows}
    emails = {row["email"] for row in rows}
    if escalated_to is not None:
        step = next((r for r in (await _version_content(d)).get("escalation") or []
                     if int(r["level"]) == escalated_to), None)
        contact_ids = [UUID(c) for c in (step.get("client_contact"), step.get("supplier_contact")) if c] if step else []
        if contact_ids:
            for contact in await Contact.objects().where(Contact.id.is_in(contact_ids)):
                if contact.email:
                    emails.add(contact.email)
                if contact.user:
                    user = await db.raw_one("SELECT id, org, locale, email, is_active FROM app_user WHERE id = $1",
                                            contact.user)
                    if user and user["is_active"]:
                        people[user["id"]] = dict(user)
    if actor is not None:
        people.pop(actor.user.id, None)
        emails.discard(actor.user.email)
    link = f"/deviations/{d.id}"
    for person in people.values():
        token = i18n.set_locale(person["locale"] or "en")
        try:
            title = title_of(d, relationship.name, action, escalated_to)
        finally:
            i18n._locale.reset(token)
        await notify(user_id=person["id"], org_id=person["org"], relationship_id=relationship.id,
                     kind=f"deviation_{action}", title=title, link=link)
    locales = {p["email"]: p["locale"] for p in people.values()}
    for email in sorted(emails):
        mail.queue(email, "deviation_update", locale=locales.get(email), number=d.number,
                   relationship=relationship.name, what=workflow.ACTION_LABELS.get(action, action),
                   actor=actor.user.name if actor else "", status=workflow.STATUSES[d.status], level=escalated_to,
                   description=d.description[:500], due_at=d.due_at, tz=relationship.time_zone, link=link)


def title_of(d: Deviation, name: str, action: str, level: int | None) -> str:
    what = i18n.gettext(workflow.ACTION_LABELS.get(action, action))
    if level is not None:
        return i18n.gettext("D-%(n)s in “%(name)s”: %(what)s (level %(level)s)", n=d.number, name=name, what=what,
                            level=level)
    return i18n.gettext("D-%(n)s in “%(name)s”: %(what)s", n=d.number, name=name, what=what)
