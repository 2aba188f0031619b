"""Penalties of deviations and the ledger per relationship and month.

A deviation's penalty comes from the rule of the agreement version in force when it occurred.
Grace ("first N incidents per period free") counts the rule's incidents of the month in the order
they occurred, leaving out the cancelled ones, so every change of a dispute recomputes its month.
The period cap applies to the confirmed penalties of the month, in the order they occurred: what
exceeds it is shown, not charged.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from uuid import UUID

from backend import db
from backend.agreements.actions import content_of, in_force_on
from backend.agreements.tables import AgreementVersion
from backend.disputes import compute
from backend.disputes.compute import Penalty, Step
from backend.disputes.tables import Deviation, PeriodValue

NO_PENALTY_STATUSES = ("proposed", "dismissed")
CANCELLING = ("withdrawn", "waived")


def rule_for(content: dict, deviation_type: str, kpi_metric: str | None = None) -> dict | None:
    """The first penalty rule of a version triggered by a deviation of this type (and KPI)."""
    for rule in content.get("penalty_rules") or []:
        if rule.get("trigger") != deviation_type:
            continue
        if deviation_type == "kpi_shortfall" and rule.get("kpi_metric") and rule.get("kpi_metric") != kpi_metric:
            continue
        return rule
    return None


def needs(rule: dict | None) -> tuple[str, ...]:
    """Which figures of the deviation the rule's formula needs."""
    if rule is None:
        return ()
    return {"percent_per_day_late": ("value", "days_late"),
            "kpi_service_credit": ("value", "shortfall_points")}.get(rule["formula"], ())


def compute_for(rule: dict, deviation: dict, currency: str, incident_number: int) -> Penalty:
    formula = rule["formula"]
    if formula == "percent_per_day_late":
        return compute.percent_per_day_late(rule, line_value=Decimal(deviation["value"] or 0),
                                            days_late=int(deviation["days_late"] or 0), currency=currency,
                                            incident_number=incident_number)
    if formula == "kpi_service_credit":
        return compute.kpi_service_credit(rule, period_value=Decimal(deviation["value"] or 0),
                                          shortfall_points=Decimal(deviation["shortfall_points"] or 0),
                                          currency=currency, incident_number=incident_number)
    return compute.fixed_per_incident(rule, currency=currency, incident_number=incident_number)


def status_of(deviation: dict) -> str:
    """The penalty follows the dispute: pending while it runs, then confirmed or cancelled."""
    status = deviation["status"]
    if not deviation["penalty_rule"] or status in NO_PENALTY_STATUSES:
        return "none"
    if status in CANCELLING or (status == "arbitrated" and deviation["outcome"] == "waived"):
        return "cancelled"
    if status in ("accepted", "upheld", "settled", "arbitrated"):
        return "confirmed"
    return "pending"


def final_amount(deviation: dict, computed: Decimal, penalty_status: str) -> Decimal | None:
    if penalty_status == "cancelled":
        return Decimal("0.00")
    if penalty_status != "confirmed":
        return None
    if deviation["outcome"] == "settled":
        return compute.cents(Decimal(deviation["outcome_amount"] or 0))
    return computed


# -- storing steps (money and numbers as text, never floats) ---------------------------------

def steps_to_json(steps: tuple[Step, ...]) -> str:
    def encode(value):
        if isinstance(value, tuple):
            return {"money": str(value[0]), "currency": value[1]}
        if isinstance(value, Decimal):
            return {"decimal": str(value)}
        return value
    return json.dumps([{"text": s.text, "params": {k: encode(v) for k, v in s.params.items()}} for s in steps])


def steps_from_json(raw) -> tuple[Step, ...]:
    data = json.loads(raw) if isinstance(raw, str) else (raw or [])

    def decode(value):
        if isinstance(value, dict) and "money" in value:
            return Decimal(value["money"]), value["currency"]
        if isinstance(value, dict) and "decimal" in value:
            return Decimal(value["decimal"])
        return value
    return tuple(Step(s["text"], {k: decode(v) for k, v in s["params"].items()}) for s in data)


def explain(raw_steps) -> str:
    return compute.explain(Penalty(Decimal(0), steps_from_json(raw_steps)), compute.render_step)


# -- recomputing a month ----------------------------------------------------------------------

async def recompute_period(relationship_id: UUID, period: str) -> None:
    """Recompute every penalty of a relationship's month (grace ranks depend on each other)."""
    rows = await db.raw(
        "SELECT id, status, outcome, outcome_amount, penalty_rule, agreement_version, value, days_late,"
        " shortfall_points, currency, penalty_status, penalty_amount, penalty_final, penalty_steps"
        " FROM deviation WHERE relationship = $1 AND period = $2 AND penalty_rule <> ''"
        " ORDER BY occurred_at, number", relationship_id, period)
    versions: dict[UUID, dict] = {}
    ranks: dict[tuple, int] = {}
    for row in rows:
        row = dict(row)
        version_id = row["agreement_version"]
        if version_id not in versions:
            version = await AgreementVersion.objects().where(AgreementVersion.id == version_id).first()
            versions[version_id] = content_of(version) if version else {}
        rule = next((r for r in versions[version_id].get("penalty_rules") or [] if r.get("id") == row["penalty_rule"]),
                    None)
        penalty_status = status_of(row)
        if rule is None or penalty_status == "none":
            amount, steps, final = None, None, None
        else:
            # a cancelled incident shows what it would have cost, and frees its place in the grace count
            rank = ranks.get(row["penalty_rule"], 0) + 1
            if penalty_status != "cancelled":
                ranks[row["penalty_rule"]] = rank
            penalty = compute_for(rule, row, row["currency"], rank)
            amount, steps = penalty.amount, steps_to_json(penalty.steps)
            final = final_amount(row, amount, penalty_status)
        if (penalty_status, amount, final) != (row["penalty_status"], row["penalty_amount"], row["penalty_final"]) \
                or steps != _as_text(row["penalty_steps"]):
            await db.raw(
                "UPDATE deviation SET penalty_status = $2, penalty_amount = $3, penalty_final = $4,"
                " penalty_steps = $5::jsonb WHERE id = $1", row["id"], penalty_status, amount, final, steps)


def _as_text(value) -> str | None:
    if value is None:
        return None
    return json.dumps(json.loads(value)) if isinstance(value, str) else json.dumps(value)


# -- the ledger -------------------------------------------------------------------------------

@dataclass
class LedgerLine:
    deviation_id: UUID
    number: int
    type: str
    occurred_at: object
    status: str
    penalty_status: str
    computed: Decimal | None
    amount: Decimal  # confirmed amount, or the expected one while pending
    charged: Decimal
    capped_off: Decimal
    explanation: str
    steps: object


@dataclass
class Ledger:
    period: str
    currency: str
    lines: list[LedgerLine]
    invoiced_value: Decimal | None
    cap_pct: Decimal | None
    cap: Decimal | None
    confirmed: Decimal
    charged: Decimal
    capped_off: Decimal
    pending: Decimal
    cancelled: Decimal


def period_bounds(period: str) -> tuple[date, date]:
    year, month = (int(part) for part in period.split("-"))
    first = date(year, month, 1)
    return first, date(year + (month == 12), month % 12 + 1, 1) - timedelta(days=1)


def valid_period(period: str | None) -> bool:
    try:
        year, month = period.split("-")
        return len(year) == 4 and len(month) == 2 and 2000 <= int(year) <= 2100 and 1 <= int(month) <= 12
    except (AttributeError, ValueError):
        return False


async def ledger(relationship_id: UUID, period: str, currency: str) -> Ledger:
    rows = await Deviation.select(
        Deviation.id, Deviation.number, Deviation.type, Deviation.occurred_at, Deviation.status,
        Deviation.penalty_status, Deviation.penalty_amount, Deviation.penalty_final, Deviation.penalty_steps,
        Deviation.currency,
    ).where((Deviation.relationship == relationship_id) & (Deviation.period == period)
            & (Deviation.penalty_status != "none")).order_by(Deviation.occurred_at).order_by(Deviation.number)
    value_row = await PeriodValue.objects().where(
        (PeriodValue.relationship == relationship_id) & (PeriodValue.period == period)).first()
    invoiced = value_row.invoiced_value if value_row else None
    _, last = period_bounds(period)
    version = await in_force_on(relationship_id, last)
    terms = (content_of(version).get("terms") or {}) if version else {}
    cap_pct = Decimal(terms["period_cap_pct"]) if terms.get("period_cap_pct") not in (None, "") else None
    confirmed = [(row["id"], row["penalty_final"]) for row in rows if row["penalty_status"] == "confirmed"]
    capped, cap = compute.apply_period_cap(confirmed, period_value=invoiced, cap_pct=cap_pct) \
        if invoiced is not None else ([compute.CappedLine(k, a, a, Decimal("0.00")) for k, a in confirmed], None)
    by_id = {line.key: line for line in capped}
    lines = []
    zero = Decimal("0.00")
    for row in rows:
        applied = by_id.get(row["id"])
        status = row["penalty_status"]
        amount = row["penalty_final"] if status == "confirmed" else (row["penalty_amount"] or zero)
        lines.append(LedgerLine(
            deviation_id=row["id"], number=row["number"], type=row["type"], occurred_at=row["occurred_at"],
            status=row["status"], penalty_status=status, computed=row["penalty_amount"],
            amount=zero if status == "cancelled" else amount,
            charged=applied.charged if applied else zero, capped_off=applied.capped_off if applied else zero,
            explanation=explain(row["penalty_steps"]) if row["penalty_steps"] else "", steps=row["penalty_steps"]))
    return Ledger(
        period=period, currency=rows[0]["currency"] if rows else currency, lines=lines, invoiced_value=invoiced,
        cap_pct=cap_pct, cap=cap,
        confirmed=sum((line.amount for line in lines if line.penalty_status == "confirmed"), zero),
        charged=sum((line.charged for line in lines), zero),
        capped_off=sum((line.capped_off for line in lines), zero),
        pending=sum((line.amount for line in lines if line.penalty_status == "pending"), zero),
        cancelled=sum((line.computed or zero for line in lines if line.penalty_status == "cancelled"), zero))


async def do_set_period_value(*, actor, view, period: str, raw: str, lock: int) -> None:
    """The client records the month's invoiced value (until invoices are ingested)."""
    from datetime import datetime, timezone
    from decimal import InvalidOperation
    from uuid import uuid4

    from backend.audit.actions import record
    from backend.disputes.workflow import CLIENT, Who
    from backend.web import i18n
    from backend.web.errors import Conflict, FieldErrors, Forbidden
    from backend.web.i18n import gettext as _

    if not Who(view.side, view.my_role, actor.is_admin).acts_for(CLIENT):
        raise Forbidden()
    try:
        value = i18n.parse_decimal(raw or "")
        if not value.is_finite() or value < 0:
            raise InvalidOperation
    except InvalidOperation:
        raise FieldErrors({"invoiced_value": _("Enter an amount of at least 0, like 12400.00.")}) from None
    value = compute.cents(value)
    now = datetime.now(timezone.utc)
    existing = await PeriodValue.objects().where(
        (PeriodValue.relationship == view.relationship.id) & (PeriodValue.period == period)).first()
    if existing is None:
        if lock not in (0, 1):
            raise Conflict()
        await db.raw(
            "INSERT INTO period_value (id, relationship, period, invoiced_value, source, updated_by, updated_at,"
            " version) VALUES ($1, $2, $3, $4, 'manual', $5, $6, 1)", uuid4(), view.relationship.id, period, value,
            actor.user.id, now)
        before = None
    else:
        updated = await db.raw_one(
            "UPDATE period_value SET invoiced_value = $3, updated_by = $4, updated_at = $5, version = version + 1"
            " WHERE id = $1 AND version = $2 RETURNING id", existing.id, lock, value, actor.user.id, now)
        if updated is None:
            raise Conflict()
        before = str(existing.invoiced_value)
    await record("penalties.period_value_set", actor=actor, relationship_id=view.relationship.id,
                 target_type="period", target_id=period, target_label=period,
                 details={"before": before, "after": str(value)})
