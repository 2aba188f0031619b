"""KPIs of DESIGN.md section 5, computed in PostgreSQL: one set-based statement per family over the
rows of any number of relationships, grouped by relationship and period. Lines belong to the month
of their promised date; deliveries are judged by their local date in the relationship's time zone,
with the tolerances of the agreement version in force in that month.

Each statement first sums per relationship and month (and, for lines, per order), then rolls the
months up into their quarters and years, so a quarter is exactly its months' lines and orders.
Each value keeps its numerator and denominator (exact counts or sums), so that it can be
explained, and None when the period has no data.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from uuid import UUID
from zoneinfo import ZoneInfo

from backend import db
from backend.agreements.sections import empty_content, parse_windows

PERIOD_KINDS = ("month", "quarter", "year")
PERCENT = {"on_time_delivery", "in_full", "otif", "unit_fill_rate", "order_fill_rate", "perfect_order",
           "invoice_accuracy", "payment_on_time", "forecast_accuracy", "receiving_window_adherence"}
CONFIRMED = ("accepted", "upheld", "settled", "arbitrated")
# the final states of an outcome both sides agreed (or an arbitrator decided), which may carry an
# agreed reason to leave the order line out of the KPIs (deviation.kpi_exclusion)
EXCLUDING = "('upheld', 'settled', 'waived', 'arbitrated')"

# How each (relationship, month) is judged: $1..$7 are parallel arrays, one entry per pair.
TERMS = """
terms AS (
  SELECT t.*, (t.month + interval '1 month')::date AS month_end
  FROM unnest($1::uuid[], $2::date[], $3::text[], $4::int[], $5::int[], $6::numeric[], $7::date[])
    AS t(relationship, month, tz, early, late, qty, today)
)"""

# A (relationship, month) row counted again in its quarter and its year.
ROLL_UP = """CROSS JOIN LATERAL (VALUES ('month', {m}), ('quarter', date_trunc('quarter', {m})::date),
                                ('year', date_trunc('year', {m})::date)) AS k(kind, period_start)"""

# One row per line of the terms' months with how it is judged: early/late tolerance in days,
# quantity tolerance as a fraction, in the relationship's time zone. The lines are chosen by
# relationship and date range ($8, $9, $10), which the planner can estimate, and each line meets its
# month's terms only after its deliveries are summed, so no join depends on a guessed row count.
JUDGED = f"""
WITH {TERMS}, lines AS (
  SELECT l.id, l.relationship, l.external_id, l.purchase_order, l.qty_ordered AS ordered, l.promised_date,
         o.ordered_at{{line_details}}
  FROM order_line l JOIN purchase_order o ON o.id = l.purchase_order
  WHERE l.relationship = ANY($8::uuid[]) AND l.promised_date >= $9::date AND l.promised_date < $10::date
    AND NOT EXISTS (SELECT 1 FROM deviation x WHERE x.relationship = l.relationship AND x.subject_kind = 'order_line'
                    AND x.subject_ref = l.external_id AND x.kpi_exclusion <> ''
                    AND x.status IN {EXCLUDING})
), running AS (  -- each delivery with the quantity accepted up to and including it
  SELECT l.*, d.delivered_at, d.qty_delivered, d.qty_rejected,
         sum(d.qty_delivered - d.qty_rejected) OVER (PARTITION BY l.id ORDER BY d.delivered_at, d.id) AS accepted_so_far
  FROM lines l LEFT JOIN delivery d ON d.order_line = l.id
), judged AS (
  SELECT r.id, any_value(r.relationship) AS relationship, any_value(r.external_id) AS external_id,
         any_value(r.purchase_order) AS purchase_order, any_value(r.ordered) AS ordered,
         any_value(r.promised_date) AS promised_date, any_value(r.ordered_at) AS ordered_at{{judged_details}},
         any_value(t.month) AS month, any_value(t.tz) AS tz,
         any_value(t.early) AS early, any_value(t.late) AS late, any_value(t.qty) AS qty,
         coalesce(sum(r.qty_delivered - r.qty_rejected), 0) AS accepted, coalesce(sum(r.qty_delivered), 0) AS delivered,
         coalesce(sum(r.qty_rejected), 0) AS rejected, max(r.delivered_at) AS last_at,
         min(r.delivered_at) FILTER (WHERE r.accepted_so_far >= r.ordered * (1 - t.qty)) AS completed_at
  FROM running r JOIN terms t ON t.relationship = r.relationship AND t.month = date_trunc('month', r.promised_date)::date
  GROUP BY r.id
)
SELECT j.*, (coalesce(j.completed_at, j.last_at) AT TIME ZONE j.tz)::date AS judged_on,
       coalesce((coalesce(j.completed_at, j.last_at) AT TIME ZONE j.tz)::date
                BETWEEN j.promised_date - j.early AND j.promised_date + j.late, false) AS on_time,
       j.accepted >= j.ordered * (1 - j.qty) AS in_full,
       coalesce((j.completed_at AT TIME ZONE j.tz)::date BETWEEN j.promised_date - j.early
                AND j.promised_date + j.late, false) AS otif,
       (j.relationship, j.external_id) IN (
         SELECT x.relationship, x.subject_ref FROM deviation x WHERE x.relationship = ANY($8::uuid[])
         AND x.subject_kind = 'order_line' AND x.status = ANY(ARRAY['accepted', 'upheld', 'settled', 'arbitrated'])
         AND x.outcome <> 'waived') AS deviated
FROM judged j
"""
# for "explain" and the proposals: what the line is, as well as how it was judged
JUDGED_LINES = JUDGED.format(
    line_details=", l.item_code, l.unit_price, o.external_id AS order_external_id",
    judged_details=", any_value(r.item_code) AS item_code, any_value(r.unit_price) AS unit_price,"
                   " any_value(r.order_external_id) AS order_external_id")

LINE_METRICS = f"""
WITH judged AS ({JUDGED.format(line_details="", judged_details="")}),
per_order AS (  -- a relationship's order in one month: its lines' sums and whether they were all good
  SELECT relationship, month, purchase_order, count(*) AS lines,
         count(*) FILTER (WHERE on_time) AS on_time, count(*) FILTER (WHERE in_full) AS in_full,
         count(*) FILTER (WHERE otif) AS otif,
         sum(least(accepted, ordered)) AS filled_units, sum(ordered) AS ordered_units,
         sum(rejected) AS rejected_units, sum(delivered) AS delivered_units, count(completed_at) AS completed,
         sum(extract(epoch FROM completed_at - ordered_at) / 86400) AS lead_days,
         bool_and(in_full) AS all_in_full, bool_and(on_time AND in_full AND NOT deviated) AS perfect
  FROM judged GROUP BY relationship, month, purchase_order
), per_period AS (  -- the same order once per period, whichever of the period's months its lines fall in
  SELECT o.relationship, k.kind, k.period_start, o.purchase_order, sum(lines) AS lines, sum(on_time) AS on_time,
         sum(in_full) AS in_full, sum(otif) AS otif, sum(filled_units) AS filled_units,
         sum(ordered_units) AS ordered_units, sum(rejected_units) AS rejected_units,
         sum(delivered_units) AS delivered_units, sum(completed) AS completed, sum(lead_days) AS lead_days,
         bool_and(all_in_full) AS all_in_full, bool_and(perfect) AS perfect
  FROM per_order o {ROLL_UP.format(m="o.month")}
  GROUP BY o.relationship, k.kind, k.period_start, o.purchase_order
)
SELECT relationship, kind, period_start, sum(lines) AS lines, sum(on_time) AS on_time, sum(in_full) AS in_full,
       sum(otif) AS otif, sum(filled_units) AS filled_units, sum(ordered_units) AS ordered_units,
       sum(rejected_units) AS rejected_units, sum(delivered_units) AS delivered_units,
       sum(completed) AS completed, sum(lead_days) AS lead_days, count(*) AS orders,
       count(*) FILTER (WHERE all_in_full) AS orders_in_full, count(*) FILTER (WHERE perfect) AS orders_perfect
FROM per_period GROUP BY relationship, kind, period_start
"""

# The rows behind each family's counts, shared by the rollups below and by "explain this number"
# (rows_behind): one statement per family, so that the page lists exactly what was counted.
INVOICES_ISSUED = """invoices AS (  -- invoices issued in the month: invoice accuracy counts the undisputed
  SELECT t.relationship, t.month, i.external_id, i.amount, i.issued_on, i.due_date, i.paid_on, i.disputed,
         NOT i.disputed AS counted
  FROM terms t JOIN invoice i ON i.relationship = t.relationship AND i.issued_on >= t.month AND i.issued_on < t.month_end
)"""

PAYMENTS_DUE = """invoices AS (  -- invoices due in the month, up to today: payment on time counts those paid by then
  SELECT t.relationship, t.month, i.external_id, i.amount, i.issued_on, i.due_date, i.paid_on, i.disputed,
         i.paid_on IS NOT NULL AND i.paid_on <= i.due_date AS counted
  FROM terms t JOIN invoice i ON i.relationship = t.relationship AND i.due_date >= t.month
       AND i.due_date < least(t.month_end, t.today)
)"""

FORECAST_PAIRS = """actual AS (
  SELECT t.relationship, t.month, l.item_code, sum(l.qty_ordered) AS qty
  FROM terms t JOIN order_line l ON l.relationship = t.relationship AND l.promised_date >= t.month
       AND l.promised_date < t.month_end
  GROUP BY 1, 2, 3
), planned AS (
  SELECT t.relationship, t.month, f.item_code, sum(f.qty) AS qty
  FROM terms t JOIN forecast f ON f.relationship = t.relationship AND f.period = to_char(t.month, 'YYYY-MM')
  GROUP BY 1, 2, 3
), pairs AS (  -- per item and month: the quantity forecast, the quantity ordered and |forecast - actual|
  SELECT coalesce(a.relationship, p.relationship) AS relationship, coalesce(a.month, p.month) AS month,
         coalesce(a.item_code, p.item_code) AS item_code, coalesce(a.qty, 0) AS actual, coalesce(p.qty, 0) AS planned,
         abs(coalesce(p.qty, 0) - coalesce(a.qty, 0)) AS error
  FROM actual a FULL JOIN planned p ON p.relationship = a.relationship AND p.month = a.month
       AND p.item_code = a.item_code
)"""

# A deviation is logged when a person logs it, or when the client confirms one the workers proposed
# (a proposal waits for the client, not for the supplier).
RESPONSES = """logged AS (
  SELECT x.id, x.number, x.relationship, x.first_response_at,
         CASE WHEN x.source = 'person' THEN x.created_at
              ELSE (SELECT min(e.created_at) FROM deviation_event e WHERE e.deviation = x.id AND e.action = 'confirm')
         END AS logged_at
  FROM deviation x WHERE x.relationship = ANY($1::uuid[]) AND x.first_response_at IS NOT NULL
), answered AS (
  SELECT t.relationship, t.month, x.id, x.number, x.logged_at, x.first_response_at,
         extract(epoch FROM x.first_response_at - x.logged_at) / 3600 AS hours
  FROM terms t JOIN logged x ON x.relationship = t.relationship
       AND (x.logged_at AT TIME ZONE t.tz)::date >= t.month AND (x.logged_at AT TIME ZONE t.tz)::date < t.month_end
)"""

def _counted(rows: str, name: str, total: str, counted: str) -> str:
    """A family whose value is its rows `counted` over all its rows: per month, then rolled up."""
    return f"""
WITH {TERMS}, {rows}, months AS (
  SELECT relationship, month, count(*) AS {total}, count(*) FILTER (WHERE counted) AS {counted}
  FROM {name} GROUP BY 1, 2
)
SELECT relationship, kind, period_start, sum({total}) AS {total}, sum({counted}) AS {counted}
FROM months m {ROLL_UP.format(m="m.month")} GROUP BY 1, 2, 3
"""


INVOICE_METRICS = _counted(INVOICES_ISSUED, "invoices", "invoices", "undisputed")
PAYMENT_METRICS = _counted(PAYMENTS_DUE, "invoices", "due", "paid_on_time")

FORECAST_METRICS = f"""
WITH {TERMS}, {FORECAST_PAIRS}
SELECT relationship, kind, period_start, sum(error) AS error, sum(actual) AS actual, count(*) AS pairs
FROM pairs m {ROLL_UP.format(m="m.month")} GROUP BY 1, 2, 3
"""

RESPONSE_METRICS = f"""
WITH {TERMS}, {RESPONSES}
SELECT relationship, kind, period_start, count(*) AS answered,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY hours) AS median
FROM answered m {ROLL_UP.format(m="m.month")} GROUP BY 1, 2, 3
"""


# Deliveries to a location with receiving windows (in the agreement in force in the line's month),
# and those that arrived inside one: the local day of the week and time of the delivery. $8..$13:
# the windows as parallel arrays (relationship, month, location name in lower case, ISO day, opens,
# closes); a location without windows is left out.
RECEIVED = """windows AS (
  SELECT * FROM unnest($8::uuid[], $9::date[], $10::text[], $11::int[], $12::time[], $13::time[])
    AS w(relationship, month, location, dow, opens, closes)
), places AS (SELECT DISTINCT relationship, month, location FROM windows
), received AS (  -- each delivery to such a location, at its local time, and whether a window held it
  SELECT t.relationship, t.month, p.location, d.external_id, l.external_id AS line_external_id,
         d.delivered_at AT TIME ZONE t.tz AS local,
         EXISTS (SELECT 1 FROM windows w WHERE w.relationship = t.relationship AND w.month = t.month
                 AND w.location = p.location AND w.dow = extract(isodow FROM d.delivered_at AT TIME ZONE t.tz)
                 AND (d.delivered_at AT TIME ZONE t.tz)::time BETWEEN w.opens AND w.closes) AS counted
  FROM places p JOIN terms t ON t.relationship = p.relationship AND t.month = p.month
  CROSS JOIN LATERAL (  -- the location's lines of the month (index order_line_location)
    SELECT l.id, l.external_id FROM order_line l WHERE l.relationship = p.relationship AND l.location <> ''
    AND lower(trim(l.location)) = p.location AND l.promised_date >= t.month AND l.promised_date < t.month_end) l
  JOIN delivery d ON d.order_line = l.id
)"""

RECEIVING_METRICS = _counted(RECEIVED, "received", "deliveries", "inside")


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


def windows_of(content: dict) -> list[tuple]:
    """(location name in lower case, ISO day, opens, closes) of the agreement's delivery locations;
    a location whose windows cannot be read (signed before they were checked) has none."""
    windows = []
    for location in content.get("locations") or []:
        try:
            parsed = parse_windows(location.get("receiving_windows") or "")
        except ValueError:
            continue
        windows.extend(((location.get("name") or "").strip().lower(), *window) for window in parsed)
    return windows


# value = numerator / denominator × scale
SCALES = dict.fromkeys(PERCENT - {"forecast_accuracy"}, Decimal(100)) | {
    "average_lead_time_days": Decimal(1), "rejection_ppm": Decimal(1_000_000)}


def exact_value(metric: str, numerator, denominator, stored: Decimal | None) -> Decimal | None:
    """A KPI's value from its exact numerator and denominator, as values_from() computes it; the
    stored value has four decimals, and a percentage shown with two from it would be rounded twice
    (50/101 = 49.504950…: stored 49.5050, shown 49.51 instead of 49.50). The median response time
    has no ratio: its stored value is the value."""
    if stored is None or not denominator:
        return stored
    if metric == "forecast_accuracy":
        return max(Decimal(0), 1 - Decimal(numerator) / Decimal(denominator)) * 100
    scale = SCALES.get(metric)
    return stored if scale is None else Decimal(numerator) / Decimal(denominator) * scale


def _ratio(numerator, denominator, scale: Decimal = Decimal(100)) -> Decimal | None:
    if not denominator:
        return None
    return Decimal(numerator) / Decimal(denominator) * scale


Key = tuple[UUID, str, date]  # relationship, period kind, period start


def values_from(rows: dict[str, list]) -> dict[Key, dict[str, tuple]]:
    """{(relationship, kind, start): {metric: (numerator, denominator, value, lines)}} from the families' rows."""
    out: dict[Key, dict[str, tuple]] = {}

    def put(r, metric, numerator, denominator, value, lines):
        out.setdefault((r["relationship"], r["kind"], r["period_start"]), {})[metric] = (
            numerator, denominator, value, lines)

    for r in rows["lines"]:
        n = r["lines"]
        put(r, "on_time_delivery", r["on_time"], n, _ratio(r["on_time"], n), n)
        put(r, "in_full", r["in_full"], n, _ratio(r["in_full"], n), n)
        put(r, "otif", r["otif"], n, _ratio(r["otif"], n), n)
        put(r, "unit_fill_rate", r["filled_units"], r["ordered_units"],
            _ratio(r["filled_units"], r["ordered_units"]), n)
        put(r, "order_fill_rate", r["orders_in_full"], r["orders"], _ratio(r["orders_in_full"], r["orders"]), n)
        put(r, "perfect_order", r["orders_perfect"], r["orders"], _ratio(r["orders_perfect"], r["orders"]), n)
        put(r, "average_lead_time_days", r["lead_days"], r["completed"],
            _ratio(r["lead_days"], r["completed"], Decimal(1)), n)
        put(r, "rejection_ppm", r["rejected_units"], r["delivered_units"],
            _ratio(r["rejected_units"], r["delivered_units"], Decimal(1_000_000)), n)
    for r in rows["invoices"]:
        put(r, "invoice_accuracy", r["undisputed"], r["invoices"], _ratio(r["undisputed"], r["invoices"]),
            r["invoices"])
    for r in rows["payments"]:
        put(r, "payment_on_time", r["paid_on_time"], r["due"], _ratio(r["paid_on_time"], r["due"]), r["due"])
    for r in rows["forecasts"]:
        accuracy = None
        if r["actual"]:
            accuracy = max(Decimal(0), 1 - Decimal(r["error"]) / Decimal(r["actual"])) * 100
        put(r, "forecast_accuracy", r["error"], r["actual"], accuracy, r["pairs"])
    for r in rows.get("receiving", ()):
        put(r, "receiving_window_adherence", r["inside"], r["deliveries"], _ratio(r["inside"], r["deliveries"]),
            r["deliveries"])
    for r in rows["responses"]:
        median = Decimal(str(r["median"]))
        put(r, "deviation_response_hours", median, r["answered"], median, r["answered"])
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


def months_of(start: date, end: date) -> list[date]:
    months, day = [], start.replace(day=1)
    while day < end:
        months.append(day)
        day = period_range("month", day)[1]
    return months


@dataclass(frozen=True)
class Terms:
    """How each (relationship, month) is judged, as the parallel arrays the statements take."""
    relationships: list[UUID]
    months: list[date]
    zones: list[str]
    early: list[int]
    late: list[int]
    quantity: list[Decimal]
    today: list[date]
    # receiving windows of the month's locations: (relationship, month, location in lower case,
    # ISO day of the week, opens, closes)
    windows: list[tuple] = field(default_factory=list)

    def args(self) -> tuple:
        """The arrays, then the distinct relationships and the date range they cover."""
        first = min(self.months, default=date(1970, 1, 1))
        end = period_range("month", max(self.months, default=first))[1]
        return (self.relationships, self.months, self.zones, self.early, self.late, self.quantity, self.today,
                sorted(set(self.relationships)), first, end)


async def terms_for(months_by_relationship: dict[UUID, list[date]], now: datetime) -> Terms:
    """The time zone and the tolerances of the version in force in each month (at its start, or the
    first one signed into it), for many relationships in two queries."""
    ids = list(months_by_relationship)
    zones = {r["id"]: r["time_zone"] for r in await db.raw(
        "SELECT id, time_zone FROM relationship WHERE id = ANY($1::uuid[])", ids)}
    versions: dict[UUID, list] = {}
    for v in await db.raw("SELECT relationship, effective_date, content FROM agreement_version"
                          " WHERE relationship = ANY($1::uuid[]) AND status = 'signed' AND effective_date IS NOT NULL"
                          " ORDER BY relationship, effective_date, number", ids):
        versions.setdefault(v["relationship"], []).append(v)
    parsed: dict[int, tuple[Tolerances, list[tuple]]] = {}

    def terms_on(relationship: UUID, day: date) -> tuple[Tolerances, list[tuple]] | None:
        """The tolerances and the receiving windows (location, day, opens, closes) of the version in force."""
        in_force = [v for v in versions.get(relationship, ()) if v["effective_date"] <= day]
        if not in_force:
            return None
        version = in_force[-1]
        if id(version) not in parsed:
            content = version["content"]
            content = empty_content() | ((json.loads(content) if isinstance(content, str) else content) or {})
            parsed[id(version)] = tolerances_of(content), windows_of(content)
        return parsed[id(version)]

    terms = Terms([], [], [], [], [], [], [])
    for relationship, months in months_by_relationship.items():
        if relationship not in zones:
            continue
        tz = zones[relationship]
        today = now.astimezone(ZoneInfo(tz)).date()
        for month in sorted(set(months)):
            end = period_range("month", month)[1]
            t, windows = terms_on(relationship, month) or terms_on(relationship, end - timedelta(days=1)) \
                or (Tolerances(), [])
            terms.windows.extend((relationship, month, *window) for window in windows)
            terms.relationships.append(relationship)
            terms.months.append(month)
            terms.zones.append(tz)
            terms.early.append(t.early_days)
            terms.late.append(t.late_days)
            terms.quantity.append(t.quantity)
            terms.today.append(today)
    return terms


async def compute(terms: Terms) -> dict[Key, dict[str, tuple]]:
    """Every KPI of the terms' months, and of the quarters and years they make up (a quarter or year
    is only complete when all its months are in the terms)."""
    args = terms.args()
    rows = {"lines": await db.raw(LINE_METRICS, *args)}
    for family, sql in (("invoices", INVOICE_METRICS), ("payments", PAYMENT_METRICS),
                        ("forecasts", FORECAST_METRICS), ("responses", RESPONSE_METRICS)):
        rows[family] = await db.raw(sql, *args[:7])
    if terms.windows:
        rows["receiving"] = await db.raw(RECEIVING_METRICS, *args[:7], *(list(c) for c in zip(*terms.windows)))
    return values_from(rows)


async def recompute(relationship_id: UUID, months: list[date], now: datetime | None = None) -> int:
    """Recompute the months given and the quarters and years holding them (frozen periods stay as
    they are). Returns the number of values written."""
    return await recompute_many({relationship_id: months}, now)


async def recompute_many(months_by_relationship: dict[UUID, list[date]], now: datetime | None = None) -> int:
    """The same for many relationships at once, in one statement per KPI family: each relationship's
    months and the quarters and years that hold them. Returns the number of values written."""
    now = now or datetime.now(timezone.utc)
    ids = sorted(months_by_relationship)
    if not ids:
        return 0
    # one writer of a relationship's values at a time (the ingest-driven job and the nightly one),
    # locks taken in one order so that two recomputes of overlapping sets cannot deadlock
    await db.raw("SELECT count(pg_advisory_xact_lock(hashtextextended('kpi:' || r, 0)))"
                 " FROM (SELECT r FROM unnest($1::uuid[]) r ORDER BY r OFFSET 0) s", ids)
    targets: set[Key] = set()
    needed: dict[UUID, set[date]] = {}
    for relationship in ids:
        for month in months_by_relationship[relationship]:
            for kind in PERIOD_KINDS:
                start, end = period_range(kind, month)
                targets.add((relationship, kind, start))
            year_start, year_end = period_range("year", month)  # a year needs all of its months
            needed.setdefault(relationship, set()).update(months_of(year_start, year_end))
    # the rollup sorts and hashes every line of the years; in memory, not in temporary files
    await db.raw("SELECT set_config('work_mem', '64MB', true)")
    values = await compute(await terms_for({r: sorted(m) for r, m in needed.items()}, now))
    return await _store(sorted(targets), values, now)


async def _store(targets: list[Key], values: dict[Key, dict[str, tuple]], now: datetime) -> int:
    """Replace the targets' values; a closed period keeps its snapshot (it changes only through an
    audited reopen), and a metric with no data this time loses its old value (rows may have been
    corrected away). A reopened period's marker (NO_DATA) stays, so that the nightly job closes it
    again however old it is."""
    rels, kinds, starts = [t[0] for t in targets], [t[1] for t in targets], [t[2] for t in targets]
    await db.raw(
        "DELETE FROM kpi_value v USING unnest($1::uuid[], $2::text[], $3::date[]) AS t(relationship, kind, start)"
        " WHERE v.relationship = t.relationship AND v.period_kind = t.kind AND v.period_start = t.start"
        f" AND v.metric <> '{NO_DATA}' AND v.frozen_at IS NULL AND NOT EXISTS (SELECT 1 FROM kpi_value f WHERE f.relationship = t.relationship"
        " AND f.period_kind = t.kind AND f.period_start = t.start AND f.frozen_at IS NOT NULL)", rels, kinds, starts)
    columns: tuple[list, ...] = ([], [], [], [], [], [], [], [])
    for key in targets:
        for metric, (numerator, denominator, value, lines) in values.get(key, {}).items():
            for column, item in zip(columns, (*key, metric, numerator, denominator, value, int(lines or 0))):
                column.append(item)
    if not columns[0]:
        return 0
    written = await db.raw(
        "INSERT INTO kpi_value (id, relationship, period_kind, period_start, metric, numerator, denominator, value,"
        " lines, computed_at) SELECT gen_random_uuid(), n.*, $9 FROM unnest($1::uuid[], $2::text[], $3::date[],"
        " $4::text[], $5::numeric[], $6::numeric[], $7::numeric[], $8::int[]) AS n(relationship, kind, start, metric,"
        " numerator, denominator, value, lines)"
        " WHERE NOT EXISTS (SELECT 1 FROM kpi_value f WHERE f.relationship = n.relationship AND f.period_kind = n.kind"
        " AND f.period_start = n.start AND f.frozen_at IS NOT NULL) RETURNING 1", *columns, now)
    return len(written)


async def judged_lines(relationship_id: UUID, start: date, end: date, *, after: str | None = None,
                       limit: int = 50, only: str | None = None, now: datetime | None = None) -> list[dict]:
    """The lines behind a period's delivery KPIs, each judged as in its month (for "explain")."""
    terms = await terms_for({relationship_id: months_of(start, end)}, now or datetime.now(timezone.utc))
    where, args = [], list(terms.args())
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


# The metrics whose rows are not order lines, and the rows behind their counts: (the family's
# rows as a CTE of the metric's own statement, its name, the key that orders and pages them)
_ROWS_BEHIND = {
    "invoice_accuracy": (INVOICES_ISSUED, "invoices", "r.external_id"),
    "payment_on_time": (PAYMENTS_DUE, "invoices", "r.external_id"),
    "forecast_accuracy": (FORECAST_PAIRS, "pairs", "to_char(r.month, 'YYYY-MM') || ' ' || r.item_code"),
    "deviation_response_hours": (RESPONSES, "answered", "lpad(r.number::text, 12, '0')"),
    "receiving_window_adherence": (RECEIVED, "received", "r.external_id"),
}
EXPLAINED_BY_ROWS = frozenset(_ROWS_BEHIND)


async def rows_behind(relationship_id: UUID, metric: str, start: date, end: date, *, after: str | None = None,
                      limit: int = 50, now: datetime | None = None) -> list[dict]:
    """The invoices, forecast pairs, answered deviations or deliveries behind a period's value of
    `metric` (one of EXPLAINED_BY_ROWS), each with `counted` (in the numerator) where the metric
    counts, ordered and paged by `row_key`: the same rows, chosen by the same SQL, as the value."""
    cte, name, key = _ROWS_BEHIND[metric]
    terms = await terms_for({relationship_id: months_of(start, end)}, now or datetime.now(timezone.utc))
    args = list(terms.args()[:7])
    if metric == "receiving_window_adherence":
        if not terms.windows:
            return []
        args += [list(column) for column in zip(*terms.windows)]
    args += [after, limit]
    sql = (f"WITH {TERMS}, {cte} SELECT * FROM (SELECT r.*, ({key}) COLLATE \"C\" AS row_key FROM {name} r) r"
           f" WHERE ${len(args) - 1}::text IS NULL OR r.row_key > ${len(args) - 1}::text"
           f" ORDER BY r.row_key LIMIT ${len(args)}")
    return [dict(row) for row in await db.raw(sql, *args)]


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
NO_DATA = ""  # the metric of the row that marks a period closed with no data (no metric has this name)
PERIOD_END = ("(period_start + CASE period_kind WHEN 'month' THEN interval '1 month'"
              " WHEN 'quarter' THEN interval '3 months' ELSE interval '1 year' END)::date")


async def freeze_closed(relationship_id: UUID, today: date, now: datetime, months: list[date] = ()) -> int:
    """Periods that ended more than FREEZE_AFTER_DAYS ago become snapshots both sides keep. A
    period of `months` (and their quarters and years) that closes with no data at all keeps that
    too: a row of no metric (NO_DATA) marks it closed, so that rows sent late do not change it
    without an audited reopen, and its tiles say "no data" as a closed period."""
    rows = await db.raw(
        f"UPDATE kpi_value SET frozen_at = $3 WHERE relationship = $1 AND frozen_at IS NULL"
        f" AND {PERIOD_END} + {FREEZE_AFTER_DAYS} <= $2 RETURNING id", relationship_id, today, now)
    periods = sorted({(kind, period_range(kind, month)[0]) for month in months for kind in PERIOD_KINDS})
    if periods:
        rows += await db.raw(
            "INSERT INTO kpi_value (id, relationship, period_kind, period_start, metric, lines, computed_at, frozen_at)"
            f" SELECT gen_random_uuid(), $1, t.period_kind, t.period_start, '{NO_DATA}', 0, $3, $3"
            " FROM unnest($4::text[], $5::date[]) AS t(period_kind, period_start)"
            f" WHERE {PERIOD_END.replace('period_', 't.period_')} + {FREEZE_AFTER_DAYS} <= $2"
            " AND NOT EXISTS (SELECT 1 FROM kpi_value v WHERE v.relationship = $1 AND v.period_kind = t.period_kind"
            " AND v.period_start = t.period_start) RETURNING id",
            relationship_id, today, now, [p[0] for p in periods], [p[1] for p in periods])
    return len(rows)


async def _keep_marked(relationship_id: UUID, periods: list[tuple[str, date]], now: datetime) -> None:
    """Give each reopened period an open marker row (NO_DATA), which the recompute leaves in place:
    the nightly job freezes every open row of a period that has ended, and so closes these again
    even when they are older than the months it reconciles."""
    await db.raw(
        "INSERT INTO kpi_value (id, relationship, period_kind, period_start, metric, lines, computed_at)"
        f" SELECT gen_random_uuid(), $1, t.kind, t.start, '{NO_DATA}', 0, $4"
        " FROM unnest($2::text[], $3::date[]) AS t(kind, start) ON CONFLICT DO NOTHING",
        relationship_id, [kind for kind, _ in periods], [start for _, start in periods], now)


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
        raise FieldErrors({"start": _("This period is not closed.")})
    await _keep_marked(view.relationship.id, [(kind, start)], datetime.now(timezone.utc))
    await mark_for_recompute(view.relationship.id, months_of(*period_range(kind, start)))
    await record("scorecard.reopened", actor=actor, relationship_id=view.relationship.id, target_type="period",
                 target_id=f"{kind}:{start.isoformat()}", target_label=f"{kind} {start.isoformat()}",
                 details={"reason": reason[:1000], "values": {r["metric"]: str(r["value"]) for r in rows}})


REOPEN_MONTHS_AT_MOST = 60


def reopen_months_errors(first: date | None, last: date | None, reason: str) -> dict[str, str]:
    """What is wrong with a range of months to reopen ({field: message}), every mistake at once;
    a month is None when it could not be read."""
    from backend.web.i18n import gettext as _

    errors = {name: _("Give a month between 2000 and 2100 as YYYY-MM.") for name, month in
              (("first", first), ("last", last)) if month is None or not date(2000, 1, 1) <= month < date(2101, 1, 1)}
    if not errors and last < first:
        errors["last"] = _("The last month cannot come before the first.")
    elif not errors and len(months_of(first, period_range("month", last)[1])) > REOPEN_MONTHS_AT_MOST:
        errors["last"] = _("Reopen at most %(n)s months at a time.", n=REOPEN_MONTHS_AT_MOST)
    if not (reason or "").strip():
        errors["reason"] = _("Say why the months are reopened.")
    return errors


async def do_reopen_months(*, actor, view, first: date, last: date, reason: str) -> int:
    """An admin reopens every closed period that overlaps the months `first` to `last`, saying why:
    before loading older rows (a backfill) into months that closed, with data or without. Quarters
    and years that hold those months are reopened too, since the rows change them as well. One
    audit entry names every period and the values it had; the months are recomputed now and close
    again with the nightly job. Returns how many periods were reopened."""
    from backend.audit.actions import record
    from backend.web.errors import FieldErrors, Forbidden
    from backend.web.i18n import gettext as _

    if not actor.is_admin:
        raise Forbidden()
    if errors := reopen_months_errors(first, last, reason):
        raise FieldErrors(errors)
    reason = reason.strip()
    rows = await db.raw(
        f"UPDATE kpi_value SET frozen_at = NULL WHERE relationship = $1 AND frozen_at IS NOT NULL"
        f" AND period_start < $3 AND {PERIOD_END} > $2 RETURNING period_kind, period_start, metric, value",
        view.relationship.id, first, period_range("month", last)[1])
    if not rows:
        raise FieldErrors({"first": _("No period in these months is closed.")})
    periods: dict[tuple[str, date], dict[str, str]] = {}
    for r in rows:
        values = periods.setdefault((r["period_kind"], r["period_start"]), {})
        if r["metric"] != NO_DATA:
            values[r["metric"]] = str(r["value"])
    await _keep_marked(view.relationship.id, sorted(periods), datetime.now(timezone.utc))
    await mark_for_recompute(view.relationship.id, sorted({
        month for kind, start in periods for month in months_of(*period_range(kind, start))}))
    await record("scorecard.reopened", actor=actor, relationship_id=view.relationship.id, target_type="period",
                 target_id=f"months:{first.isoformat()}:{last.isoformat()}",
                 target_label=f"months {first.strftime('%Y-%m')} to {last.strftime('%Y-%m')}",
                 details={"reason": reason[:1000], "periods": {
                     f"{kind} {start.isoformat()}": values for (kind, start), values in sorted(periods.items())}})
    return len(periods)
