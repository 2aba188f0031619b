"""The price schedule of a relationship from the data: improvement commitments with their status,
the year-end decision on conditional steps, and evidence reports confirmed by the other side."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

from backend import db
from backend.agreements.actions import content_of, in_force_on
from backend.agreements.sections import KPI_LIBRARY
from backend.audit.actions import record
from backend.notifications.actions import notify
from backend.operations.kpis import PERCENT
from backend.pricing import schedule
from backend.relationships.tables import Relationship
from backend.web import i18n

SCALE = {"rejection_ppm": Decimal(1_000_000), "average_lead_time_days": Decimal(1)}


@dataclass
class Commitment:
    id: str
    year: int
    description: str
    kpi_metric: str
    target: Decimal | None
    evidence: str
    status: str  # on_track | at_risk | no_data | awaiting_report | reported | met | missed
    value: Decimal | None = None
    numerator: Decimal | None = None
    denominator: Decimal | None = None
    report: dict | None = None

    @property
    def met(self) -> bool:
        return self.status == "met"

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "year": self.year, "description": self.description, "kpi_metric": self.kpi_metric,
                "target": _s(self.target), "status": self.status, "value": _s(self.value),
                "numerator": _s(self.numerator), "denominator": _s(self.denominator),
                "report": {k: _s(v) for k, v in self.report.items()} if self.report else None}


def _s(value) -> str | None:
    return None if value is None else str(value)


def _meets(value: Decimal, target: Decimal, metric: str) -> bool:
    return value <= target if KPI_LIBRARY[metric][1] else value >= target


async def kpi_over(relationship_id: UUID, metric: str, start: date, end: date) -> tuple:
    """(value, numerator, denominator) of a KPI over the months of [start, end), from the months'
    stored counts (a contract year need not be a calendar year). Response time, a median per month,
    is averaged over the months weighted by the answers counted."""
    row = await db.raw_one(
        "SELECT sum(numerator) AS num, sum(denominator) AS den,"
        " sum(value * denominator) / nullif(sum(denominator), 0) AS weighted FROM kpi_value"
        " WHERE relationship = $1 AND metric = $2 AND period_kind = 'month' AND period_start >= $3"
        " AND period_start < $4 AND value IS NOT NULL", relationship_id, metric, start.replace(day=1), end)
    if row is None or not row["den"]:
        return None, None, None
    if metric == "deviation_response_hours":
        return Decimal(row["weighted"]).quantize(Decimal("0.0001")), None, row["den"]
    if metric == "forecast_accuracy":
        value = max(Decimal(0), 1 - Decimal(row["num"]) / Decimal(row["den"])) * 100
    else:
        scale = Decimal(100) if metric in PERCENT else SCALE.get(metric, Decimal(1))
        value = Decimal(row["num"]) / Decimal(row["den"]) * scale
    return value.quantize(Decimal("0.0001")), row["num"], row["den"]


async def commitments_of(relationship: Relationship, content: dict, year: int, today: date) -> list[Commitment]:
    """Year k's improvement commitments, each with its status on `today`."""
    start, end = schedule.year_bounds(relationship.start_date, year)
    ended, begun = today >= end, today >= start
    reports = {r["commitment"]: dict(r) for r in await db.raw(
        "SELECT DISTINCT ON (commitment) id, commitment, achieved, note, evidence, status, version, org"
        " FROM improvement_report WHERE relationship = $1 AND year = $2 ORDER BY commitment, created_at DESC",
        relationship.id, year)}
    out = []
    for row in content.get("improvements") or []:
        if str(row.get("year")) != str(year):
            continue
        target = Decimal(str(row["target"])) if row.get("target") not in (None, "") else None
        c = Commitment(row.get("id", ""), year, row.get("description", ""), row.get("kpi_metric") or "", target,
                       row.get("evidence") or "", "no_data", report=reports.get(row.get("id", "")))
        if c.kpi_metric and target is not None:
            c.value, c.numerator, c.denominator = await kpi_over(relationship.id, c.kpi_metric, start, end)
            if c.value is None:
                c.status = "missed" if ended else "no_data"
            elif ended:
                c.status = "met" if _meets(c.value, target, c.kpi_metric) else "missed"
            else:
                c.status = "on_track" if _meets(c.value, target, c.kpi_metric) else "at_risk"
        else:  # reported with evidence, confirmed by the other side
            state = c.report["status"] if c.report else None
            if state == "confirmed":
                c.status, c.value = "met", c.report["achieved"]
            elif ended:
                c.status = "missed"
            elif state == "reported":
                c.status = "reported"
            elif state == "rejected":
                c.status = "at_risk"
            else:
                c.status = "awaiting_report" if begun else "no_data"
        out.append(c)
    return out


async def decisions_of(relationship_id: UUID) -> dict[int, schedule.Decision]:
    return {r["year"]: schedule.Decision(r["year"], r["outcome"], r["applied_pct"]) for r in await db.raw(
        "SELECT year, outcome, applied_pct FROM price_step_decision WHERE relationship = $1", relationship_id)}


@dataclass
class YearView:
    year: int
    start: date
    end: date
    step: schedule.YearStep | None
    prices: dict[str, Decimal]
    commitments: list[Commitment] = field(default_factory=list)
    current: bool = False


async def schedule_of(relationship: Relationship, content: dict, today: date) -> list[YearView]:
    """Every contract year: its step, the unit price of each item at the base quantity, its commitments."""
    decisions = await decisions_of(relationship.id)
    start = relationship.start_date
    years = schedule.years_of(content, start, today)
    steps = {s.year: s for s in schedule.steps_of(content, decisions, years)}
    out = []
    for k in range(1, years + 1):
        first, end = schedule.year_bounds(start, k)
        prices = {item["item_code"]: schedule.quote(content, start, decisions, item["item_code"], first).unit_price
                  for item in content.get("price_items") or []}
        out.append(YearView(k, first, end, steps.get(k), prices, await commitments_of(relationship, content, k, today),
                            first <= today < end))
    return out


async def evaluate_year_ends(relationship_id: UUID, now: datetime | None = None) -> int:
    """For each contract year that has begun and has a step: evaluate the previous year's
    commitments and record the step as the agreement's rule says, once. Returns decisions made."""
    now = now or datetime.now(timezone.utc)
    relationship = await Relationship.objects().where(Relationship.id == relationship_id).first()
    if relationship is None or relationship.start_date is None:
        return 0
    today = now.astimezone(ZoneInfo(relationship.time_zone)).date()
    current = schedule.contract_year(relationship.start_date, today)
    made = 0
    for year in range(2, current + 1):
        first, _end = schedule.year_bounds(relationship.start_date, year)
        version = await in_force_on(relationship_id, first)
        if version is None:
            continue
        content = content_of(version)
        step = next((s for s in content.get("price_steps") or [] if str(s.get("year")) == str(year)), None)
        if step is None:
            continue
        previous = await commitments_of(relationship, content, year - 1, today)
        decision = schedule.decide(content, year, all(c.met for c in previous))
        inserted = await db.raw(
            "INSERT INTO price_step_decision (id, relationship, year, version, outcome, written_pct, applied_pct,"
            " commitments, decided_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9)"
            " ON CONFLICT (relationship, year) DO NOTHING RETURNING id",
            uuid4(), relationship_id, year, version.id, decision.outcome, Decimal(str(step.get("step_pct") or 0)),
            decision.applied_pct, json.dumps([c.as_json() for c in previous]), now)
        if not inserted:
            continue  # decided before (another run, or a run that died after committing)
        made += 1
        await record("price.step_decided", relationship_id=relationship_id, org_id=relationship.client_org,
                     target_type="price_step", target_id=str(inserted[0]["id"]), target_label=f"year {year}",
                     details={"year": year, "outcome": decision.outcome, "applied_pct": str(decision.applied_pct),
                              "rule": step.get("condition") or "unconditional", "version": version.number,
                              "commitments": {c.id: c.status for c in previous}})
        await _tell_both(relationship, year, decision)
    return made


async def _deciders(relationship_id: UUID) -> list:
    """The responsables and managers of both sides: told of what changes prices and volumes."""
    return await db.raw(
        "SELECT u.id, u.org, u.locale FROM relationship_member m JOIN app_user u ON u.id = m.\"user\""
        " WHERE m.relationship = $1 AND u.is_active AND m.role IN ('responsable', 'manager')", relationship_id)


async def _tell_both(relationship: Relationship, year: int, decision: schedule.Decision) -> None:
    for person in await _deciders(relationship.id):
        token = i18n.set_locale(person["locale"] or "en")
        try:
            labels = {"applied": i18n.gettext("applied"), "withheld": i18n.gettext("withheld"),
                      "reduced": i18n.gettext("reduced")}
            title = i18n.gettext("“%(name)s”: the price step of year %(year)s was %(outcome)s (%(pct)s %%)",
                                 name=relationship.name, year=year, outcome=labels[decision.outcome],
                                 pct=decision.applied_pct.normalize())
        finally:
            i18n._locale.reset(token)
        await notify(user_id=person["id"], org_id=person["org"], relationship_id=relationship.id,
                     kind="price_step", title=title, link=f"/relationships/{relationship.id}/prices")


# -- volumes, rebate and early warnings --------------------------------------------------------

WARN_AFTER_DAYS = 30  # a run rate over fewer days says too little to alarm anyone


@dataclass
class Volume:
    item_code: str
    actual: Decimal
    value: Decimal
    commitment: Decimal | None
    projected: Decimal
    tier_from: Decimal | None  # the volume tier the committed quantity's price assumed
    status: str  # ok | below_commitment | below_tier | no_commitment


@dataclass
class Volumes:
    year: int
    start: date
    end: date
    items: list[Volume]
    total: Decimal
    value: Decimal
    projected_total: Decimal
    rebate_pct: Decimal
    rebate_band: Decimal | None
    rebate_accrued: Decimal
    projected_rebate_pct: Decimal


async def volumes_of(relationship: Relationship, content: dict, year: int, today: date) -> Volumes:
    """Actual quantity per item in contract year k (the lines promised in it), their value (the
    line's price, else the schedule's), the run-rate projection, and the rebate band reached."""
    start, end = schedule.year_bounds(relationship.start_date, year)
    rows = {r["item_code"]: r for r in await db.raw(
        "SELECT item_code, sum(qty_ordered) AS qty, coalesce(sum(qty_ordered * unit_price), 0) AS priced,"
        " coalesce(sum(qty_ordered) FILTER (WHERE unit_price IS NULL), 0) AS unpriced FROM order_line"
        " WHERE relationship = $1 AND promised_date >= $2 AND promised_date < $3 GROUP BY item_code",
        relationship.id, start, end)}
    decisions = await decisions_of(relationship.id)
    items = []
    for item in content.get("price_items") or []:
        code = item["item_code"]
        row = rows.get(code)
        actual = Decimal(row["qty"]) if row else Decimal(0)
        commitment = Decimal(str(item["annual_volume"])) if item.get("annual_volume") not in (None, "") else None
        value = Decimal(0)
        if row:
            price = schedule.quote(content, relationship.start_date, decisions, code, start, commitment).unit_price
            value = schedule.money(Decimal(row["priced"]) + Decimal(row["unpriced"]) * price)
        projected = schedule.projection(actual, start, end, today)
        tier_from = schedule.year_one_price(content, code, commitment)[1] if commitment is not None else None
        status = "no_commitment"
        if commitment is not None:
            status = "ok"
            if projected < commitment:
                status = "below_commitment"
            if tier_from is not None and projected < tier_from:
                status = "below_tier"
        items.append(Volume(code, actual, value, commitment, projected, tier_from, status))
    total = sum((v.actual for v in items), Decimal(0))
    value = sum((v.value for v in items), Decimal(0))
    projected_total = sum((v.projected for v in items), Decimal(0))
    pct, band = schedule.rebate(content, total, value)
    return Volumes(year, start, end, items, total, value, projected_total, pct, band,
                   schedule.money(value * pct / 100), schedule.rebate(content, projected_total, value)[0])


async def watch_volumes(relationship_id: UUID, now: datetime | None = None) -> int:
    """Warn both sides, once per item and kind in the running contract year, when the run rate
    projects less than the committed annual volume or the volume tier the price assumed."""
    now = now or datetime.now(timezone.utc)
    relationship = await Relationship.objects().where(Relationship.id == relationship_id).first()
    if relationship is None or relationship.start_date is None:
        return 0
    today = now.astimezone(ZoneInfo(relationship.time_zone)).date()
    year = schedule.contract_year(relationship.start_date, today)
    start, _end = schedule.year_bounds(relationship.start_date, max(year, 1))
    version = await in_force_on(relationship_id, today)
    if year == 0 or version is None or (today - start).days < WARN_AFTER_DAYS:
        return 0
    volumes = await volumes_of(relationship, content_of(version), year, today)
    sent = 0
    for v in volumes.items:
        for kind, threshold in (("commitment", v.commitment), ("tier", v.tier_from)):
            if threshold is None or v.projected >= threshold:
                continue
            inserted = await db.raw(
                "INSERT INTO volume_warning (id, relationship, year, item_code, kind, actual, projected, threshold,"
                " created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
                " ON CONFLICT (relationship, year, item_code, kind) DO NOTHING RETURNING id",
                uuid4(), relationship_id, year, v.item_code, kind, v.actual, v.projected, threshold, now)
            if not inserted:
                continue
            sent += 1
            await record("price.volume_warning", relationship_id=relationship_id, org_id=relationship.client_org,
                         target_type="item", target_id=v.item_code, target_label=v.item_code,
                         details={"year": year, "kind": kind, "actual": str(v.actual), "projected": str(v.projected),
                                  "threshold": str(threshold)})
            await _tell_volume(relationship, v, kind, threshold)
    return sent


async def _tell_volume(relationship: Relationship, v: Volume, kind: str, threshold: Decimal) -> None:
    for person in await _deciders(relationship.id):
        token = i18n.set_locale(person["locale"] or "en")
        try:
            if kind == "commitment":
                title = i18n.gettext("“%(name)s”: %(item)s is heading for %(projected)s this contract year, below the "
                                     "%(threshold)s committed", name=relationship.name, item=v.item_code,
                                     projected=i18n.format_number(v.projected.quantize(Decimal(1))),
                                     threshold=i18n.format_number(threshold))
            else:
                title = i18n.gettext("“%(name)s”: %(item)s is heading for %(projected)s this contract year, below the "
                                     "volume tier from %(threshold)s that its price assumed", name=relationship.name,
                                     item=v.item_code, projected=i18n.format_number(v.projected.quantize(Decimal(1))),
                                     threshold=i18n.format_number(threshold))
        finally:
            i18n._locale.reset(token)
        await notify(user_id=person["id"], org_id=person["org"], relationship_id=relationship.id,
                     kind="volume_warning", title=title, link=f"/relationships/{relationship.id}/prices#volumes")


# -- gain-sharing ---------------------------------------------------------------------------

async def gains_of(relationship_id: UUID) -> list[dict]:
    return [dict(r) for r in await db.raw(
        "SELECT id, year, description, amount, evidence, org, status, supplier_share, client_share, version,"
        " decision_note, created_at FROM gain_report WHERE relationship = $1 ORDER BY year, created_at",
        relationship_id)]
