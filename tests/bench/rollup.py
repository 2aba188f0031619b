"""The hand-written ceiling of the KPI benchmarks: the same line rollup as the product's (month,
quarter and year of on time, in full, OTIF, unit fill, lead time, rejections, order fill and
perfect order), written once as a single INSERT … SELECT for fixed tolerances (1 day early, on the
day, 2 % short) with no deviations, and run as the database owner."""
from __future__ import annotations

import asyncpg

HAND_ROLLUP = """
WITH lines AS (
  SELECT l.id, l.relationship, l.purchase_order, l.qty_ordered, l.promised_date, o.ordered_at, r.time_zone
  FROM order_line l JOIN purchase_order o ON o.id = l.purchase_order JOIN relationship r ON r.id = l.relationship
  WHERE l.relationship = ANY($1::uuid[]) AND l.promised_date >= $2 AND l.promised_date < $3
), d AS (
  SELECT order_line, sum(qty_delivered - qty_rejected) AS accepted, sum(qty_delivered) AS delivered,
         sum(qty_rejected) AS rejected, max(delivered_at) AS last_at,
         min(delivered_at) FILTER (WHERE running >= qty_ordered * 0.98) AS completed_at
  FROM (SELECT d.*, l.qty_ordered, sum(d.qty_delivered - d.qty_rejected)
               OVER (PARTITION BY d.order_line ORDER BY d.delivered_at, d.id) AS running
        FROM delivery d JOIN lines l ON l.id = d.order_line) d
  GROUP BY order_line
), j AS (
  SELECT l.relationship, l.purchase_order, date_trunc('month', l.promised_date)::date AS month,
         l.qty_ordered AS ordered, coalesce(d.accepted, 0) AS accepted, coalesce(d.delivered, 0) AS delivered,
         coalesce(d.rejected, 0) AS rejected, d.completed_at, l.ordered_at,
         coalesce((coalesce(d.completed_at, d.last_at) AT TIME ZONE l.time_zone)::date
                  BETWEEN l.promised_date - 1 AND l.promised_date, false) AS on_time,
         coalesce(d.accepted, 0) >= l.qty_ordered * 0.98 AS in_full,
         coalesce((d.completed_at AT TIME ZONE l.time_zone)::date BETWEEN l.promised_date - 1 AND l.promised_date,
                  false) AS otif
  FROM lines l LEFT JOIN d ON d.order_line = l.id
), per_order AS (  -- an order's lines in one month
  SELECT relationship, month, purchase_order, count(*) AS lines,
         count(*) FILTER (WHERE on_time) AS on_time, count(*) FILTER (WHERE in_full) AS in_full,
         count(*) FILTER (WHERE otif) AS otif, sum(least(accepted, ordered)) AS filled, sum(ordered) AS ordered,
         sum(rejected) AS rejected, sum(delivered) AS delivered, count(completed_at) AS completed,
         sum(extract(epoch FROM completed_at - ordered_at) / 86400) AS lead_days,
         bool_and(in_full) AS all_in_full, bool_and(on_time AND in_full) AS perfect
  FROM j GROUP BY 1, 2, 3
), per_period AS (  -- the same order once in its quarter and its year
  SELECT o.relationship, k.kind, k.start, o.purchase_order, sum(lines) AS lines, sum(on_time) AS on_time,
         sum(in_full) AS in_full, sum(otif) AS otif, sum(filled) AS filled, sum(ordered) AS ordered,
         sum(rejected) AS rejected, sum(delivered) AS delivered, sum(completed) AS completed,
         sum(lead_days) AS lead_days, bool_and(all_in_full) AS all_in_full, bool_and(perfect) AS perfect
  FROM per_order o CROSS JOIN LATERAL (VALUES ('month', o.month), ('quarter', date_trunc('quarter', o.month)::date),
                                              ('year', date_trunc('year', o.month)::date)) AS k(kind, start)
  GROUP BY 1, 2, 3, 4
), periods AS (
  SELECT relationship, kind, start, sum(lines) AS lines, sum(on_time) AS on_time, sum(in_full) AS in_full,
         sum(otif) AS otif, sum(filled) AS filled, sum(ordered) AS ordered, sum(rejected) AS rejected,
         sum(delivered) AS delivered, sum(completed) AS completed, sum(lead_days) AS lead_days,
         count(*) AS orders, count(*) FILTER (WHERE all_in_full) AS orders_in_full,
         count(*) FILTER (WHERE perfect) AS orders_perfect
  FROM per_period GROUP BY 1, 2, 3
)
INSERT INTO kpi_value (id, relationship, metric, period_kind, period_start, numerator, denominator, value, lines,
                       computed_at)
SELECT gen_random_uuid(), p.relationship, 'hand_' || m.metric, p.kind, p.start, m.num, m.den,
       m.num * m.scale / nullif(m.den, 0), p.lines, now()
FROM periods p CROSS JOIN LATERAL (VALUES
  ('on_time', p.on_time, p.lines, 100), ('in_full', p.in_full, p.lines, 100), ('otif', p.otif, p.lines, 100),
  ('unit_fill', p.filled, p.ordered, 100), ('lead', p.lead_days, p.completed, 1),
  ('ppm', p.rejected, p.delivered, 1000000), ('order_fill', p.orders_in_full, p.orders, 100),
  ('perfect', p.orders_perfect, p.orders, 100)) AS m(metric, num, den, scale)
ON CONFLICT (relationship, metric, period_kind, period_start) DO UPDATE SET numerator = EXCLUDED.numerator,
  denominator = EXCLUDED.denominator, value = EXCLUDED.value, lines = EXCLUDED.lines,
  computed_at = EXCLUDED.computed_at
"""


async def generate(owner: asyncpg.Connection, relationships: list, lines_per_relationship: int) -> None:
    """Per relationship: orders of 10 lines promised over 2026, one delivery per line (a tenth of them
    in two parts), 0 to 2 days early."""
    n = lines_per_relationship
    await owner.execute(
        "INSERT INTO purchase_order (id, relationship, external_id, ordered_at, updated_at)"
        " SELECT gen_random_uuid(), r, 'PO-' || g, timestamptz '2025-12-20', now()"
        " FROM unnest($1::uuid[]) r, generate_series(0, $2 / 10 - 1) g", relationships, n)
    await owner.execute(
        "INSERT INTO order_line (id, relationship, purchase_order, external_id, item_code, qty_ordered,"
        " promised_date, location, updated_at)"
        " SELECT gen_random_uuid(), o.relationship, o.id, 'L-' || (o.n * 10 + k), 'CUP', 100,"
        " date '2026-01-01' + ((o.n * 10 + k) * 365 / $1), '', now()"
        " FROM (SELECT id, relationship, substr(external_id, 4)::int AS n FROM purchase_order"
        "       WHERE relationship = ANY($2::uuid[])) o, generate_series(0, 9) k", n, relationships)
    await owner.execute(
        "INSERT INTO delivery (id, relationship, order_line, external_id, delivered_at, qty_delivered,"
        " qty_rejected, updated_at)"
        " SELECT gen_random_uuid(), l.relationship, l.id, 'D-' || l.external_id || '-' || part,"
        " l.promised_date + time '09:00' - ((hashtext(l.external_id) & 3) % 3) * interval '1 day'"
        "   + part * interval '2 hours',"
        " CASE WHEN hashtext(l.external_id) % 10 = 0 THEN 50 ELSE 100 END, (hashtext(l.external_id) & 1), now()"
        " FROM order_line l CROSS JOIN LATERAL generate_series(1, CASE WHEN hashtext(l.external_id) % 10 = 0"
        "   THEN 2 ELSE 1 END) part WHERE l.relationship = ANY($1::uuid[])", relationships)
    await owner.execute("ANALYZE")
