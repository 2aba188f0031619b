"""JSON API for deviations, their dispute actions and the penalty ledger."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import msgspec
from litestar import Request, get, post

from backend.disputes import actions, penalties, queries, workflow
from backend.disputes.tables import Deviation, DeviationEvent
from backend.relationships.access import get_relationship_for
from backend.web.current import Actor
from backend.web.errors import FieldErrors
from backend.web.i18n import gettext as _


class DeviationCreate(msgspec.Struct):
    type: str
    occurred_at: str  # ISO 8601; without an offset it is read in the relationship's time zone
    description: str
    severity: str = "medium"
    subject_kind: str = ""
    subject_ref: str = ""
    value: str | None = None
    days_late: int | None = None
    shortfall_points: str | None = None


class DeviationAction(msgspec.Struct):
    action: str
    version: int
    note: str = ""
    amount: str | None = None
    outcome: str = ""
    exclusion_reason: str = ""  # with a settlement or an outcome: the order line leaves the KPIs


class PenaltyRead(msgspec.Struct):
    status: str
    rule: str
    computed: str | None
    amount: str | None
    currency: str
    calculation: str


class EventRead(msgspec.Struct):
    action: str
    side: str
    actor: str
    from_status: str
    to_status: str
    note: str
    amount: str | None
    at: datetime


class DeviationRead(msgspec.Struct):
    id: UUID
    relationship_id: UUID
    number: int
    type: str
    subject_kind: str
    subject_ref: str
    subject_label: str
    occurred_at: datetime
    period: str
    severity: str
    description: str
    status: str
    level: int
    waiting_for: str
    due_at: datetime | None
    paused: bool
    proposal: dict[str, Any] | None
    outcome: str
    outcome_amount: str | None
    kpi_exclusion: str
    penalty: PenaltyRead
    available_actions: list[str]
    version: int
    events: list[EventRead] | None = None


class DeviationPage(msgspec.Struct):
    items: list[DeviationRead]
    next_cursor: str | None


class LedgerLineRead(msgspec.Struct):
    deviation_id: UUID
    number: int
    type: str
    occurred_at: datetime
    dispute_status: str
    penalty_status: str
    computed: str | None
    amount: str
    charged: str
    capped_off: str
    calculation: str


class LedgerRead(msgspec.Struct):
    relationship_id: UUID
    period: str
    currency: str
    invoiced_value: str | None
    cap_pct: str | None
    cap: str | None
    confirmed: str
    charged: str
    capped_off: str
    pending: str
    cancelled: str
    lines: list[LedgerLineRead]


def _s(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _read(d: Deviation, available: list[str], events: list[DeviationEvent] | None = None) -> DeviationRead:
    return DeviationRead(
        id=d.id, relationship_id=d.relationship, number=d.number, type=d.type, subject_kind=d.subject_kind,
        subject_ref=d.subject_ref, subject_label=d.subject_label, occurred_at=d.occurred_at, period=d.period,
        severity=d.severity, description=d.description, status=d.status, level=d.level, waiting_for=d.waiting_for,
        due_at=d.due_at, paused=d.paused_at is not None, proposal=actions._json(d.proposal), outcome=d.outcome,
        outcome_amount=_s(d.outcome_amount), kpi_exclusion=d.kpi_exclusion,
        penalty=PenaltyRead(status=d.penalty_status, rule=d.penalty_rule, computed=_s(d.penalty_amount),
                            amount=_s(d.penalty_final if d.penalty_status in ("confirmed", "cancelled") else d.penalty_amount),
                            currency=d.currency,
                            calculation=penalties.explain(d.penalty_steps) if d.penalty_steps else ""),
        available_actions=available, version=d.version,
        events=None if events is None else [EventRead(
            action=e.action, side=e.side, actor=e.actor_name, from_status=e.from_status, to_status=e.to_status,
            note=e.note, amount=_s(e.amount), at=e.created_at) for e in events])


def _strings(body: msgspec.Struct) -> dict[str, str]:
    return {k: "" if v is None else str(v) for k, v in msgspec.structs.asdict(body).items()}


@get("/api/v1/relationships/{relationship_id:uuid}/deviations")
async def list_deviations(request: Request, actor: Actor, relationship_id: UUID, cursor: str | None = None,
                          limit: int = 50) -> DeviationPage:
    """Newest first. Filters: `status` (a status or `active`), `type`, `period` (YYYY-MM), `waiting`
    (client | supplier). Pass `next_cursor` back as `cursor` for the next page."""
    view = await get_relationship_for(actor, relationship_id)
    filters = queries.Filters.read(request.query_params)
    items, next_cursor = await queries.page_of(relationship_id, filters, cursor, max(1, min(limit, 200)))
    ids = [item["id"] for item in items]
    rows = {d.id: d for d in await Deviation.objects().where(Deviation.id.is_in(ids))} if ids else {}
    who = actions.who_in(view, actor)
    return DeviationPage(items=[_read(rows[i], workflow.available(actions.state_of(rows[i]), who)) for i in ids],
                         next_cursor=next_cursor)


@post("/api/v1/relationships/{relationship_id:uuid}/deviations", status_code=201)
async def create_deviation(actor: Actor, relationship_id: UUID, data: DeviationCreate) -> DeviationRead:
    view = await get_relationship_for(actor, relationship_id)
    deviation = await actions.do_log(actor=actor, view=view, data=_strings(data), relationship=view.relationship)
    dv = await actions.get_deviation_for(actor, deviation.id)
    return _read(dv.deviation, dv.actions)


async def _full(actor: Actor, deviation_id: UUID) -> DeviationRead:
    dv = await actions.get_deviation_for(actor, deviation_id)
    events = await DeviationEvent.objects().where(DeviationEvent.deviation == deviation_id).order_by(
        DeviationEvent.created_at)
    return _read(dv.deviation, dv.actions, events)


@get("/api/v1/deviations/{deviation_id:uuid}")
async def get_deviation(actor: Actor, deviation_id: UUID) -> DeviationRead:
    return await _full(actor, deviation_id)


@post("/api/v1/deviations/{deviation_id:uuid}/actions", status_code=200)
async def act_on_deviation(actor: Actor, deviation_id: UUID, data: DeviationAction) -> DeviationRead:
    """`{"action": "contest", "version": 3, "note": "..."}`; `version` is the one you read (409 when
    someone acted first). Actions: see `available_actions` of the deviation."""
    dv = await actions.get_deviation_for(actor, deviation_id)
    await actions.do_act(actor=actor, dv=dv, action=data.action, data=_strings(data), lock=data.version)
    return await _full(actor, deviation_id)


@get("/api/v1/relationships/{relationship_id:uuid}/penalties")
async def get_penalties(actor: Actor, relationship_id: UUID, period: str | None = None) -> LedgerRead:
    """The ledger of one month: `period=YYYY-MM` (required)."""
    view = await get_relationship_for(actor, relationship_id)
    if not penalties.valid_period(period):
        raise FieldErrors({"period": _("Enter a month as YYYY-MM.")})
    ledger = await penalties.ledger(relationship_id, period, view.relationship.currency)
    return LedgerRead(
        relationship_id=relationship_id, period=period, currency=ledger.currency,
        invoiced_value=_s(ledger.invoiced_value), cap_pct=_s(ledger.cap_pct), cap=_s(ledger.cap),
        confirmed=str(ledger.confirmed), charged=str(ledger.charged), capped_off=str(ledger.capped_off),
        pending=str(ledger.pending), cancelled=str(ledger.cancelled),
        lines=[LedgerLineRead(deviation_id=line.deviation_id, number=line.number, type=line.type,
                              occurred_at=line.occurred_at, dispute_status=line.status,
                              penalty_status=line.penalty_status, computed=_s(line.computed), amount=str(line.amount),
                              charged=str(line.charged), capped_off=str(line.capped_off),
                              calculation=line.explanation) for line in ledger.lines])


routes = [list_deviations, create_deviation, get_deviation, act_on_deviation, get_penalties]
