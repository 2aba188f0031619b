"""KPIs of DESIGN.md section 5, computed in PostgreSQL: one set-based statement per family over a
relationship's rows for a range of periods, grouped by period. Lines belong to the period of their
promised date; deliveries are judged by their local date in the relationship's time zone.

Each value keeps its numerator and denominator (exact counts or sums), so that it can be
explained, and None when the period has no data.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from uuid import UUID, uuid4

from backend import db
from backend.agreements.actions import content_of, in_force_on

PERIOD_KINDS = ("month", "quarter", "year")
PERCENT = {"on_time_delivery", "in_full", "otif", "unit_fill_rate", "order_fill_rate", "perfect_order",
           "invoice_accuracy", "payment_on_time", "forecast_accuracy"}
CONFIRMED = ("accepted", "upheld", "settled", "arbitrated")

# One row per line of the range, with how it is judged; $1 relationship, $2/$3 promised-date range,
# $4 early and $5 late tolerance (days), $6 quantity tolerance (fraction), $7 time zone.
JUDGED_LINES = """
WITH lines AS (
  SELECT l.id, l.external_id, l.purchase_order, l.item_code, l.qty_ordered AS ordered, l.promised_date, l.unit_price,
         o.ordered_at, o.external_id AS order_external_id
  FROM order_line l JOIN purchase_order o ON o.id = l.purchase_order
  WHERE l.relationship = $1 AND l.promised_date >= $2::date AND l.promised_date < $3::date
    AND NOT EXISTS (SELECT 1 FROM deviation x WHERE x.relationship = $1 AND x.subject_kind = 'order_line'
                    AND x.subject_ref = l.external_id AND x.kpi_exclusion <> ''
                    AND x.status IN ('settled', 'waived', 'arbitrated'))
), running AS (
  SELECT d.order_line, d.delivered_at, d.qty_delivered, d.qty_rejected, l.ordered,
         sum(d.qty_delivered - d.qty_rejected) OVER (PARTITION BY d.order_line ORDER BY d.delivered_at, d.id)
           AS accepted_so_far
  FROM delivery d JOIN lines l ON l.id = d.order_line
), per_line AS (
  SELECT order_line, sum(qty_delivered - qty_rejected) AS accepted, sum(qty_delivered) AS delivered,
         sum(qty_rejected) AS rejected, max(delivered_at) AS last_at,
         min(delivered_at) FILTER (WHERE accepted_so_far >= ordered * (1 - $6::numeric)) AS completed_at
  FROM running GROUP BY order_line
), judged AS (
  SELECT l.*, coalesce(p.accepted, 0) AS accepted, coalesce(p.delivered, 0) AS delivered,
         coalesce(p.rejected, 0) AS rejected, p.completed_at, p.last_at,
         (coalesce(p.completed_at, p.last_at) AT TIME ZONE $7::text)::date AS judged_on
  FROM lines l LEFT JOIN per_line p ON p.order_line = l.id
)
SELECT j.*,
       coalesce(j.judged_on BETWEEN j.promised_date - $4::int AND j.promised_date + $5::int, false) AS on_time,
       j.accepted >= j.ordered * (1 - $6::numeric) AS in_full,
       coalesce(j.completed_at IS NOT NULL AND (j.completed_at AT TIME ZONE $7::text)::date
                BETWEEN j.promised_date - $4::int AND j.promised_date + $5::int, false) AS otif,
       EXISTS (SELECT 1 FROM deviation x WHERE x.relationship = $1 AND x.subject_kind = 'order_line'
               AND x.subject_ref = j.external_id AND x.status = ANY(ARRAY['accepted', 'upheld', 'settled', 'arbitrated'])
               AND x.outcome <> 'waived') AS deviated
FROM judged j
"""

LINE_METRICS = f"""
WITH judged AS ({JUDGED_LINES}),
lines AS (SELECT date_trunc($8::text, promised_date)::date AS period_start, * FROM judged),
orders AS (
  SELECT period_start, purchase_order, bool_and(in_full) AS all_in_full,
         bool_and(on_time AND in_full AND NOT deviated) AS perfect
  FROM lines GROUP BY period_start, purchase_order
)
SELECT l.period_start, count(*) AS lines,
       count(*) FILTER (WHERE on_time) AS on_time, count(*) FILTER (WHERE in_full) AS in_full,
       count(*) FILTER (WHERE otif) AS otif,
       sum(least(accepted, ordered)) AS filled_units, sum(ordered) AS ordered_units,
       sum(rejected) AS rejected_units, sum(delivered) AS delivered_units,
       count(completed_at) AS completed,
       sum(extract(epoch FROM completed_at - ordered_at) / 86400) AS lead_days,
       (SELECT count(*) FROM orders o WHERE o.period_start = l.period_start) AS orders,
       (SELECT count(*) FROM orders o WHERE o.period_start = l.period_start AND o.all_in_full) AS orders_in_full,
       (SELECT count(*) FROM orders o WHERE o.period_start = l.period_start AND o.perfect) AS orders_perfect
FROM lines l GROUP BY l.period_start
"""

INVOICE_METRICS = """
SELECT date_trunc($4::text, issued_on)::date AS period_start, count(*) AS invoices,
       count(*) FILTER (WHERE NOT disputed) AS undisputed
FROM invoice WHERE relationship = $1 AND issued_on >= $2::date AND issued_on < $3::date GROUP BY 1
"""

PAYMENT_METRICS = """
SELECT date_trunc($4::text, due_date)::date AS period_start, count(*) AS due,
       count(*) FILTER (WHERE paid_on IS NOT NULL AND paid_on <= due_date) AS paid_on_time
FROM invoice WHERE relationship = $1 AND due_date >= $2::date AND due_date < least($3::date, $5::date) GROUP BY 1
"""

FORECAST_METRICS = """
WITH actual AS (
  SELECT to_char(promised_date, 'YYYY-MM') AS period, item_code, sum(qty_ordered) AS qty
  FROM order_line WHERE relationship = $1 AND promised_date >= $2::date AND promised_date < $3::date GROUP BY 1, 2
), planned AS (
  SELECT period, item_code, sum(qty) AS qty FROM forecast
  WHERE relationship = $1 AND period >= to_char($2::date, 'YYYY-MM') AND period < to_char($3::date, 'YYYY-MM')
  GROUP BY 1, 2
), pairs AS (
  SELECT coalesce(a.period, p.period) AS period, coalesce(a.qty, 0) AS actual, coalesce(p.qty, 0) AS planned
  FROM actual a FULL JOIN planned p ON p.period = a.period AND p.item_code = a.item_code
)
SELECT date_trunc($4::text, to_date(period, 'YYYY-MM'))::date AS period_start, sum(abs(planned - actual)) AS error,
       sum(actual) AS actual, count(*) AS pairs
FROM pairs GROUP BY 1
"""

RESPONSE_METRICS = """
SELECT date_trunc($4::text, (created_at AT TIME ZONE $5::text)::date)::date AS period_start, count(*) AS answered,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM first_response_at - created_at) / 3600) AS median
FROM deviation WHERE relationship = $1 AND first_response_at IS NOT NULL AND source = 'person'
  AND (created_at AT TIME ZONE $5::text)::date >= $2::date AND (created_at AT TIME ZONE $5::text)::date < $3::date
GROUP BY 1
"""


@dataclass(frozen=True)
class Tolerances:
    early_days: int = 0
    late_days: int = 0
    quantity: Decimal = Decimal(0)  # a fraction: 2 % is 0.02


def tolerances_of(content: dict) -> Tolerances:
    """From the agreement's delivery KPIs (the OTIF row first): early and late days, quantity %."""
    rows = sorted(content.get("kpis") or [], key=lambda k: k.get("metric") != "otif")
    for row in rows:
        if any(row.get(k) not in (None, "") for k in ("early_tolerance_days", "late_tolerance_days",
                                                       "quantity_tolerance_pct")):
            return Tolerances(int(row.get("early_tolerance_days") or 0), int(row.get("late_tolerance_days") or 0),
                              Decimal(str(row.get("quantity_tolerance_pct") or 0)) / 100)
    return Tolerances()


def _ratio(numerator, denominator, scale: Decimal = Decimal(100)) -> Decimal | None:
    if not denominator:
        return None
    return Decimal(numerator) / Decimal(denominator) * scale


def values_from(kind: str, rows: dict[str, list]) -> dict[tuple[str, date], tuple]:
    """{(metric, period_start): (numerator, denominator, value, lines)} from the families' rows."""
    out: dict[tuple[str, date], tuple] = {}
    for r in rows["lines"]:
        p, n = r["period_start"], r["lines"]
        out[("on_time_delivery", p)] = (r["on_time"], n, _ratio(r["on_time"], n), n)
        out[("in_full", p)] = (r["in_full"], n, _ratio(r["in_full"], n), n)
        out[("otif", p)] = (r["otif"], n, _ratio(r["otif"], n), n)
        out[("unit_fill_rate", p)] = (r["filled_units"], r["ordered_units"],
                                      _ratio(r["filled_units"], r["ordered_units"]), n)
        out[("order_fill_rate", p)] = (r["orders_in_full"], r["orders"], _ratio(r["orders_in_full"], r["orders"]), n)
        out[("perfect_order", p)] = (r["orders_perfect"], r["orders"], _ratio(r["orders_perfect"], r["orders"]), n)
        out[("average_lead_time_days", p)] = (r["lead_days"], r["completed"],
                                              _ratio(r["lead_days"], r["completed"], Decimal(1)), n)
        out[("rejection_ppm", p)] = (r["rejected_units"], r["delivered_units"],
                                     _ratio(r["rejected_units"], r["delivered_units"], Decimal(1_000_000)), n)
    for r in rows["invoices"]:
        out[("invoice_accuracy", r["period_start"])] = (r["undisputed"], r["invoices"],
                                                        _ratio(r["undisputed"], r["invoices"]), r["invoices"])
    for r in rows["payments"]:
        out[("payment_on_time", r["period_start"])] = (r["paid_on_time"], r["due"], _ratio(r["paid_on_time"], r["due"]),
                                                       r["due"])
    for r in rows["forecasts"]:
        accuracy = None
        if r["actual"]:
            accuracy = max(Decimal(0), 1 - Decimal(r["error"]) / Decimal(r["actual"])) * 100
        out[("forecast_accuracy", r["period_start"])] = (r["error"], r["actual"], accuracy, r["pairs"])
    for r in rows["responses"]:
        out[("deviation_response_hours", r["period_start"])] = (
            Decimal(str(r["median"])), r["answered"], Decimal(str(r["median"])), r["answered"])
    return out


def period_range(kind: str, day: date) -> tuple[date, date]:
    if kind == "month":
        start = day.replace(day=1)
        return start, date(start.year + (start.month == 12), start.month % 12 + 1, 1)
    if kind == "quarter":
        start = date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
        end_month = start.month + 3
        return start, date(start.year + (end_month > 12), (end_month - 1) % 12 + 1, 1)
    return date(day.year, 1, 1), date(day.year + 1, 1, 1)


async def compute(relationship_id: UUID, kind: str, start: date, end: date, tz: str,
                  tolerances: Tolerances, today: date) -> dict[tuple[str, date], tuple]:
    t = tolerances
    rows = {
        "lines": await db.raw(LINE_METRICS, relationship_id, start, end, t.early_days, t.late_days, t.quantity, tz,
                              kind),
        "invoices": await db.raw(INVOICE_METRICS, relationship_id, start, end, kind),
        "payments": await db.raw(PAYMENT_METRICS, relationship_id, start, end, kind, today),
        "forecasts": await db.raw(FORECAST_METRICS, relationship_id, start, end, kind),
        "responses": await db.raw(RESPONSE_METRICS, relationship_id, start, end, kind, tz),
    }
    return values_from(kind, rows)


async def recompute(relationship_id: UUID, months: list[date], now: datetime | None = None) -> int:
    """Recompute the months given and the quarters and years holding them (frozen periods stay as
    they are). Returns the number of values written."""
    now = now or datetime.now(timezone.utc)
    # one writer of a relationship's values at a time (the ingest-driven job and the nightly one)
    await db.raw("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", f"kpi:{relationship_id}")
    relationship = await db.raw_one("SELECT time_zone FROM relationship WHERE id = $1", relationship_id)
    tz = relationship["time_zone"]
    from zoneinfo import ZoneInfo

    today = now.astimezone(ZoneInfo(tz)).date()
    written = 0
    targets = {(kind, period_range(kind, month)) for month in months for kind in PERIOD_KINDS}
    for kind, (start, end) in sorted(targets):
        version = await in_force_on(relationship_id, start) or await in_force_on(relationship_id, end)
        tolerances = tolerances_of(content_of(version)) if version else Tolerances()
        values = await compute(relationship_id, kind, start, end, tz, tolerances, today)
        if await db.raw_one("SELECT 1 FROM kpi_value WHERE relationship = $1 AND period_kind = $2"
                            " AND period_start = $3 AND frozen_at IS NOT NULL LIMIT 1", relationship_id, kind, start):
            continue  # a closed period: its snapshot changes only through an audited reopen
        frozen: set[str] = set()
        # a metric with no data this time loses its old value (rows may have been corrected away)
        await db.raw("DELETE FROM kpi_value WHERE relationship = $1 AND period_kind = $2 AND period_start = $3"
                     " AND frozen_at IS NULL", relationship_id, kind, start)
        for (metric, period_start), (numerator, denominator, value, lines) in values.items():
            if metric in frozen or period_start != start:
                continue
            await db.raw(
                "INSERT INTO kpi_value (id, relationship, metric, period_kind, period_start, numerator, denominator,"
                " value, lines, computed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                uuid4(), relationship_id, metric, kind, start, numerator, denominator, value, int(lines or 0), now)
            written += 1
    return written


async def judged_lines(relationship_id: UUID, start: date, end: date, tz: str, tolerances: Tolerances,
                       *, after: str | None = None, limit: int = 50, only: str | None = None) -> list[dict]:
    """The lines behind a period's delivery KPIs, each with how it was judged (for "explain")."""
    t = tolerances
    where, args = [], [relationship_id, start, end, t.early_days, t.late_days, t.quantity, tz]
    if only in ("on_time", "in_full", "otif"):
        where.append(f"j.{only}")
    elif only in ("not_on_time", "not_in_full", "not_otif"):
        where.append(f"NOT j.{only[4:]}")
    if after:
        args.append(after)
        where.append(f"j.external_id > ${len(args)}")
    args.append(limit)
    sql = (f"SELECT * FROM ({JUDGED_LINES}) j" + (f" WHERE {' AND '.join(where)}" if where else "")
           + f" ORDER BY j.external_id LIMIT ${len(args)}")
    return [dict(r) for r in await db.raw(sql, *args)]


async def mark_for_recompute(relationship_id: UUID, months: list[date]) -> None:
    """Mark months of a relationship for the KPI workers and make sure a recompute follows commit.

    DO UPDATE, not DO NOTHING: it locks a mark already there, so a recompute that is taking it
    waits for this transaction to commit and then reads its rows. One queued job per relationship
    is enough (it reads every marked month when it runs); when that job is already running it may
    have looked before this commit, so a second one follows it, and only if both are busy does a
    third run."""
    from backend import jobs

    if not months:
        return
    await db.raw("INSERT INTO kpi_dirty (relationship, period_start) SELECT $1, unnest($2::date[])"
                 " ON CONFLICT (relationship, period_start) DO UPDATE SET period_start = EXCLUDED.period_start",
                 relationship_id, sorted(set(months)))

    async def enqueue() -> None:
        for job_id in (f"kpi:{relationship_id}", f"kpi:{relationship_id}:next"):
            if await jobs.enqueue("recompute_kpis", str(relationship_id), _job_id=job_id):
                return
        await jobs.enqueue("recompute_kpis", str(relationship_id))

    db.after_commit(enqueue)


FREEZE_AFTER_DAYS = 10
PERIOD_END = ("(period_start + CASE period_kind WHEN 'month' THEN interval '1 month'"
              " WHEN 'quarter' THEN interval '3 months' ELSE interval '1 year' END)::date")


async def freeze_closed(relationship_id: UUID, today: date, now: datetime) -> int:
    """Periods that ended more than FREEZE_AFTER_DAYS ago become snapshots both sides keep."""
    rows = await db.raw(
        f"UPDATE kpi_value SET frozen_at = $3 WHERE relationship = $1 AND frozen_at IS NULL"
        f" AND {PERIOD_END} + {FREEZE_AFTER_DAYS} <= $2 RETURNING id", relationship_id, today, now)
    return len(rows)


async def do_reopen(*, actor, view, kind: str, start: date, reason: str) -> None:
    """An admin reopens a closed period, saying why; it is recomputed from the rows and frozen again
    by the nightly job."""
    from backend.audit.actions import record
    from backend.web.errors import FieldErrors, Forbidden
    from backend.web.i18n import gettext as _

    if not actor.is_admin:
        raise Forbidden()
    reason = (reason or "").strip()
    if not reason:
        raise FieldErrors({"reason": _("Say why the period is reopened.")})
    rows = await db.raw("UPDATE kpi_value SET frozen_at = NULL WHERE relationship = $1 AND period_kind = $2"
                        " AND period_start = $3 AND frozen_at IS NOT NULL RETURNING metric, value",
                        view.relationship.id, kind, start)
    if not rows:
        raise FieldErrors({"reason": _("This period is not closed.")})
    start, end = period_range(kind, start)
    months, day = [], start
    while day < end:
        months.append(day)
        day = period_range("month", day)[1]
    await mark_for_recompute(view.relationship.id, months)
    await record("scorecard.reopened", actor=actor, relationship_id=view.relationship.id, target_type="period",
                 target_id=f"{kind}:{start.isoformat()}", target_label=f"{kind} {start.isoformat()}",
                 details={"reason": reason[:1000], "values": {r["metric"]: str(r["value"]) for r in rows}})
