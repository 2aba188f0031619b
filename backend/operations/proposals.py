"""Deviations proposed from the data, for the client to confirm: late or short deliveries beyond
the agreement's tolerance, and KPI shortfalls of closed periods where a service-credit rule applies.
Each is proposed once (its source key), however often the data is recomputed."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from uuid import UUID
from zoneinfo import ZoneInfo

from backend import db
from backend.agreements.actions import content_of, in_force_on
from backend.agreements.sections import KPI_LIBRARY
from backend.disputes.actions import do_log
from backend.disputes.compute import CENT, cents
from backend.operations import kpis
from backend.relationships.tables import Relationship


POINTS = Decimal("1e-10")  # a shortfall's precision (deviation.shortfall_points)


async def propose_for(relationship_id: UUID, months: list[date], now: datetime | None = None) -> int:
    now = now or datetime.now(timezone.utc)
    relationship = await Relationship.objects().where(Relationship.id == relationship_id).first()
    today = now.astimezone(ZoneInfo(relationship.time_zone)).date()
    made = 0
    for month in sorted(set(months)):
        start, end = kpis.period_range("month", month)
        version = await in_force_on(relationship_id, start) or await in_force_on(relationship_id,
                                                                                 end - timedelta(days=1))
        if version is None:
            continue
        tolerances = kpis.tolerances_of(content_of(version))
        made += await _deliveries(relationship, start, end, tolerances, today, now)
    made += await _shortfalls(relationship, months, today, now)
    return made


async def _deliveries(relationship, start, end, tolerances, today, now) -> int:
    made, after = 0, None
    while True:
        lines = await kpis.judged_lines(relationship.id, start, end, after=after, limit=1000, now=now)
        if not lines:
            return made
        after = lines[-1]["external_id"]
        for line in lines:
            due = line["promised_date"] + timedelta(days=tolerances.late_days)
            value = cents(Decimal(line["ordered"]) * Decimal(line["unit_price"])) \
                if line.get("unit_price") is not None else None
            judged = line["judged_on"]
            if judged is not None and judged > due:
                days = (judged - line["promised_date"]).days
                made += await _propose(relationship, now, "late_delivery", f"late:{line['external_id']}",
                                       line, (line["completed_at"] or line["last_at"]), value, days,
                                       f"Line {line['external_id']} judged on {judged.isoformat()}, promised for "
                                       f"{line['promised_date'].isoformat()}: {days} days late.")
            if not line["in_full"] and today > due:
                made += await _propose(relationship, now, "short_delivery", f"short:{line['external_id']}", line,
                                       datetime.combine(due, datetime.max.time().replace(microsecond=0),
                                                        ZoneInfo(relationship.time_zone)), value, None,
                                       f"Line {line['external_id']}: {line['accepted']} accepted of {line['ordered']} "
                                       f"ordered by {due.isoformat()}.")


async def _propose(relationship, now, kind, key, line, when, value, days, description) -> int:
    data = {"type": kind, "occurred_at": when.astimezone(ZoneInfo(relationship.time_zone)).strftime("%Y-%m-%dT%H:%M"),
            "subject_kind": "order_line", "subject_ref": line["external_id"], "severity": "medium",
            "description": description, "value": str(value) if value is not None else "",
            "days_late": str(days) if days is not None else ""}
    made = await do_log(actor=None, view=None, relationship=relationship, data=data, source="worker",
                        source_key=key, now=now)
    return 1 if made is not None else 0


async def _shortfalls(relationship, months, today, now) -> int:
    """KPI values of ended periods that miss their target, where a service-credit rule applies."""
    made = 0
    for kind in kpis.PERIOD_KINDS:
        for start in sorted({kpis.period_range(kind, m)[0] for m in months}):
            _start, end = kpis.period_range(kind, start)
            if end > today:
                continue  # the period is not over
            # the version the period's KPIs are measured against (kpis.recompute's terms)
            version = await in_force_on(relationship.id, start) or await in_force_on(relationship.id,
                                                                                     end - timedelta(days=1))
            if version is None:
                continue
            content = content_of(version)
            for kpi in content.get("kpis") or []:
                if (kpi.get("period") or "month") != kind:
                    continue
                rule = next((r for r in content.get("penalty_rules") or [] if r.get("trigger") == "kpi_shortfall"
                             and r.get("formula") == "kpi_service_credit"
                             and r.get("kpi_metric") in (None, "", kpi["metric"])), None)
                if rule is None:
                    continue
                row = await db.raw_one(
                    "SELECT value, numerator, denominator FROM kpi_value WHERE relationship = $1 AND metric = $2"
                    " AND period_kind = $3 AND period_start = $4", relationship.id, kpi["metric"], kind, start)
                if row is None or row["value"] is None:
                    continue
                # the shortfall from the exact counts, not from the value's four stored decimals
                target = Decimal(str(kpi["target"]))
                value = kpis.exact_value(kpi["metric"], row["numerator"], row["denominator"], row["value"])
                lower = KPI_LIBRARY[kpi["metric"]][1]
                shortfall = (value - target) if lower else (target - value)
                if shortfall <= 0:
                    continue
                invoiced = await db.raw_one(
                    "SELECT coalesce(sum(amount), 0) AS total FROM invoice WHERE relationship = $1"
                    " AND issued_on >= $2 AND issued_on < $3", relationship.id, start, end)
                last = datetime.combine(end - timedelta(days=1), datetime.max.time().replace(microsecond=0),
                                        ZoneInfo(relationship.time_zone))
                made += 1 if await do_log(actor=None, view=None, relationship=relationship, source="worker",
                                          source_key=f"kpi:{kpi['id']}:{kind}:{start.isoformat()}", now=now, data={
                                              "type": "kpi_shortfall", "occurred_at": last.strftime("%Y-%m-%dT%H:%M"),
                                              "subject_kind": "kpi", "subject_ref": kpi["id"], "severity": "medium",
                                              "value": str(invoiced["total"]),
                                              "shortfall_points": str(shortfall.quantize(POINTS, ROUND_HALF_UP)),
                                              "description": f"{kpi['metric']} {kind} from {start.isoformat()}: "
                                                             f"{value.quantize(CENT, ROUND_HALF_UP)} against a"
                                                             f" target of {target}."}) is not None else 0
    return made
