"""The scorecard: each KPI of the agreement in force for the chosen party and period, coloured by
status against its target, a twelve-period trend, the composite score, and "explain this number"."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import cached_property
from itertools import groupby
from operator import itemgetter
from uuid import UUID
from zoneinfo import ZoneInfo

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.response import Redirect, Template
from litestar.template.base import csrf_token
from markupsafe import Markup

from backend import db
from backend.agreements.actions import content_of, in_force_on
from backend.agreements.sections import KPI_LABELS, KPI_LIBRARY
from backend.disputes.penalties import valid_period
from backend.operations import imports, kpis
from backend.relationships.access import get_relationship_for
from backend.web import i18n, paging
from backend.web.current import Actor
from backend.web.fragments import Fragments
from backend.web.errors import FieldErrors, Forbidden, not_found
from backend.web.exports import table_response
from backend.web.forms import Form
from backend.web.i18n import gettext as _
from backend.web.i18n import lazy
from backend.web.templating import page


@dataclass
class Tile:
    kpi: dict
    label: str
    kind: str
    start: date
    value: Decimal | None
    numerator: Decimal | None
    denominator: Decimal | None
    status: str  # green | amber | red | none
    trend: list[tuple[date, Decimal | None]]
    lower_is_better: bool
    frozen_at: datetime | None = None  # the snapshot's time when the tile's period is closed

    @property
    def shown(self) -> str:
        return shown(self.value, self.kpi["metric"])

    @cached_property  # the chart reads them twice (the line, then a circle and title per point)
    def points(self) -> list[tuple[int, float, str]]:
        """The trend chart's points in its 240 × 60 box: (x, y, what the point's title says)."""
        values = [float(value) for _, value in self.trend if value is not None]
        if not values:
            return []
        low, metric = min(values), self.kpi["metric"]
        scale = 44 / ((max(values) - low) or 1)  # a position on the screen: binary floating point will do
        return [(i * 20 + 10, round(52 - (float(value) - low) * scale, 1), f"{i18n.format_period(start, self.kind)}: "
                 f"{shown(value, metric)}") for i, (start, value) in enumerate(self.trend) if value is not None]

    @property
    def polyline(self) -> str:
        """The points of the trend's line, as SVG's `points` attribute takes them (numbers only)."""
        return " ".join(f"{x},{y}" for x, y, _title in self.points)


def shown(value: Decimal | None, metric: str) -> str:
    """A KPI value as the scorecard writes it: days, PPM, hours or a percentage; "no data"."""
    if value is None:
        return _("no data")
    if metric == "average_lead_time_days":
        days = _("days")  # outside the f-string, where the message extractor finds it
        return f"{i18n.format_number(_half_up(value, 2))} {days}"
    if metric == "rejection_ppm":
        return f"{i18n.format_number(int(_half_up(value, 0)))} PPM"
    if metric == "deviation_response_hours":
        return f"{i18n.format_number(_half_up(value, 1))} h"
    return f"{i18n.format_fixed(_half_up(value, 2), 2)} %"


_QUANTA = [Decimal(1).scaleb(-places) for places in range(5)]


def _half_up(value: Decimal, places: int) -> Decimal:
    """Rounded as people round (12.345 → 12.35), not to even as Python's round() does."""
    return Decimal(value).quantize(_QUANTA[places], rounding=ROUND_HALF_UP)


def status_of(value: Decimal | None, target: Decimal, warning: Decimal, lower_is_better: bool) -> str:
    if value is None:
        return "none"
    if lower_is_better:
        return "green" if value <= target else "amber" if value <= warning else "red"
    return "green" if value >= target else "amber" if value >= warning else "red"


def composite(tiles: list[Tile]) -> Decimal | None:
    """Σ weight × min(actual / target, 1) over the KPIs with data, normalised by their weights (0–100);
    target / actual for the lower-is-better ones."""
    total = weights = Decimal(0)
    for tile in tiles:
        weight, target = Decimal(str(tile.kpi.get("weight") or 0)), Decimal(str(tile.kpi["target"]))
        if tile.value is None or weight == 0:
            continue
        if tile.lower_is_better:
            ratio = Decimal(1) if tile.value == 0 else target / tile.value
        else:
            ratio = Decimal(1) if target == 0 else tile.value / target
        total += weight * min(ratio, Decimal(1))
        weights += weight
    return (total / weights * 100) if weights else None


def _back(kind: str, start: date, steps: int) -> date:
    months = {"month": 1, "quarter": 3, "year": 12}[kind] * steps
    index = start.year * 12 + start.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


# One round trip: the agreement version in force in month $2 (else the one in force today, $3), each
# of its KPIs measuring party $4 with the twelve periods of its kind up to the one holding $2 (the
# current), whether the current one is closed (its snapshot's time), and each period's value; one
# row per KPI and period in the agreement's order, or a row without a KPI when the version has none.
SCORECARD_TILES = """
WITH version AS (
  SELECT number, content->'kpis' AS kpis FROM agreement_version
  WHERE relationship = $1 AND status = 'signed' AND effective_date <= greatest($2::date, $3::date)
  ORDER BY effective_date <= $2::date DESC, effective_date DESC, number DESC LIMIT 1),
kpi AS MATERIALIZED (
  SELECT e.i, e.kpi::text AS kpi, e.kpi->>'metric' AS metric, e.kind, e.current, e.months,
         (SELECT max(c.frozen_at) FROM kpi_value c WHERE c.relationship = $1 AND c.period_kind = e.kind
            AND c.period_start = e.current AND c.frozen_at IS NOT NULL) AS frozen_at
  FROM (SELECT k.ordinality AS i, k.value AS kpi, p.kind, p.months,
               date_trunc(CASE p.months WHEN 1 THEN 'month' WHEN 3 THEN 'quarter' ELSE 'year' END, $2::date)::date
                 AS current
        FROM version, jsonb_array_elements(coalesce(version.kpis, '[]')) WITH ORDINALITY AS k,
             LATERAL (SELECT coalesce(nullif(k.value->>'period', ''), 'month') AS kind) AS named,
             LATERAL (SELECT named.kind, CASE named.kind WHEN 'month' THEN 1 WHEN 'quarter' THEN 3 ELSE 12 END
                      AS months) AS p
        WHERE k.value->>'measured_party' = $4) AS e)
SELECT version.number, kpi.i, kpi.kpi, kpi.kind, kpi.frozen_at, period.start,
       v.value, v.numerator, v.denominator
FROM version
LEFT JOIN (kpi CROSS JOIN LATERAL (
    SELECT (kpi.current - make_interval(months => kpi.months * back))::date AS start
    FROM generate_series(11, 0, -1) AS back) AS period) ON true
LEFT JOIN kpi_value v ON v.relationship = $1 AND v.metric = kpi.metric AND v.period_kind = kpi.kind
  AND v.period_start = period.start
ORDER BY kpi.i, period.start
"""


async def tiles_for(rel, party: str, month: date, today: date):
    """(number of the version in force, tiles) of one party's KPIs for the periods holding `month`.
    The version is the one in force in `month` (in_force_on), else the one in force today; only its
    KPIs are read, not the whole agreement."""
    return tiles_of(await db.raw(SCORECARD_TILES, rel.id, month, today, party))


def tiles_of(rows) -> tuple[int | None, list[Tile]]:
    """(number of the version, tiles) from the rows of SCORECARD_TILES."""
    tiles = []
    for i, periods in groupby(rows, key=itemgetter("i")):
        if i is None:  # a version without KPIs for this party
            break
        periods = list(periods)
        kpi, kind, current = json.loads(periods[0]["kpi"]), periods[0]["kind"], periods[-1]
        metric = kpi["metric"]
        # shown, judged and weighed from the exact counts, not the stored value's four decimals
        trend = [(r["start"], kpis.exact_value(metric, r["numerator"], r["denominator"], r["value"]))
                 for r in periods]
        value = trend[-1][1]
        lower = KPI_LIBRARY[metric][1]
        tiles.append(Tile(
            kpi=kpi, label=KPI_LABELS[metric], kind=kind, start=current["start"], value=value,
            numerator=current["numerator"], denominator=current["denominator"],
            status=status_of(value, Decimal(str(kpi["target"])), Decimal(str(kpi["warning"])), lower),
            trend=trend, lower_is_better=lower, frozen_at=current["frozen_at"]))
    return (rows[0]["number"] if rows else None), tiles


# the tiles of the scorecards read lately, each with the rows, and for the language and reader, it was rendered for
TILES_HTML = Fragments(256)


def tiles_html(request: Request, view, party: str, month: date, rows, errors: dict | None = None,
               reopening: str = "") -> Markup:
    """The scorecard's tiles and composite score, rendered from SCORECARD_TILES' rows. Kept for the same
    rows and everything else they show: the language, the relationship and its time zone, the party and
    month, and for an admin (whose closed tiles hold a reopen form) the form's CSRF token. A refused
    reopen is rendered afresh (it shows the reader's error)."""
    me = request.scope["pacto"].user

    def render() -> str:
        version, tiles = tiles_of(rows)
        return request.app.template_engine.get_template("operations/_scorecard_tiles.html").render(
            request=request, me=me, view=view, party=party, month=month, version=version, tiles=tiles,
            score=composite(tiles), errors=errors or {}, reopening=reopening)

    if errors:
        return Markup(render())
    admin = me.org_role == "admin"
    key = (i18n.current_locale(), view.relationship.id, view.relationship.time_zone, party, month, admin,
           csrf_token({"request": request}) if admin else None)
    return TILES_HTML.get(key, rows, render)


def _month(text: str) -> date | None:
    """The first day of a month written YYYY-MM (a month field sends that) between 2000 and 2100,
    or None: a page moves a year or more either way from it, which must stay a date."""
    text = (text or "").strip()
    return date(int(text[:4]), int(text[5:]), 1) if valid_period(text) else None


def _choice(request: Request, rel) -> tuple[str, date, date]:
    party = request.query_params.get("party") or "supplier"
    if party not in ("supplier", "client"):
        party = "supplier"
    today = datetime.now(ZoneInfo(rel.time_zone)).date()
    return party, _month(request.query_params.get("period", "")) or today.replace(day=1), today


@get("/relationships/{relationship_id:uuid}/scorecard")
async def scorecard(request: Request, actor: Actor, relationship_id: UUID) -> Template:
    view = await get_relationship_for(actor, relationship_id)
    rel = view.relationship
    party, month, today = _choice(request, rel)
    rows = await db.raw(SCORECARD_TILES, rel.id, month, today, party)
    return page(request, "operations/scorecard.html", view=view, tab="scorecard", orgs=view.orgs,
                tiles_html=tiles_html(request, view, party, month, rows), party=party, month=month,
                previous=_back("month", month, 1), next=_back("month", month, -1), errors={},
                reopened=request.query_params.get("reopened") in kpis.PERIOD_KINDS)


EXPORT_COLUMNS = ("metric", "measured_party", "period_kind", "period_start", "value", "numerator", "denominator",
                  "target", "warning", "status", "weight")


@get("/relationships/{relationship_id:uuid}/scorecard/export")
async def export_scorecard(request: Request, actor: Actor, relationship_id: UUID) -> Response:
    view = await get_relationship_for(actor, relationship_id)
    rel = view.relationship
    party, month, today = _choice(request, rel)
    fmt = request.query_params.get("format", "csv")
    if fmt not in ("csv", "xlsx"):
        raise not_found()
    _version, tiles = await tiles_for(rel, party, month, today)
    # the value with the four decimals it is stored with (the tile's is exact)
    rows = [[t.kpi["metric"], party, t.kind, t.start, None if t.value is None else _half_up(t.value, 4),
             t.numerator, t.denominator,
             Decimal(str(t.kpi["target"])), Decimal(str(t.kpi["warning"])), t.status,
             Decimal(str(t.kpi.get("weight") or 0))] for t in tiles]
    score = composite(tiles)
    rows.append(["composite_score", party, "", month, None if score is None else _half_up(score, 2),
                 None, None, None, None, "", None])
    return table_response(f"scorecard-{party}-{month.strftime('%Y-%m')}", EXPORT_COLUMNS, rows, fmt,
                          sheet="scorecard")


# How each KPI is computed, as the explain page says it (DESIGN.md section 5)
FORMULAS = {
    "on_time_delivery": lazy("Lines due in the period whose quantity was complete (or last delivered) within the"
                             " date tolerance, over the lines due, × 100."),
    "in_full": lazy("Lines due in the period whose accepted quantity reached the ordered quantity less the quantity"
                    " tolerance, over the lines due, × 100."),
    "otif": lazy("Lines due in the period completed in full within the date tolerance, over the lines due, × 100."),
    "unit_fill_rate": lazy("Units accepted (at most the units ordered, line by line) over the units ordered, × 100."),
    "order_fill_rate": lazy("Orders whose lines due in the period were all in full, over those orders, × 100."),
    "perfect_order": lazy("Orders whose lines due in the period were all on time and in full with no confirmed"
                          " deviation, over those orders, × 100."),
    "average_lead_time_days": lazy("Days from each order to the delivery that completed its line, summed, over the"
                                   " completed lines."),
    "rejection_ppm": lazy("Units rejected at receipt over the units delivered, × 1,000,000, for the lines due in"
                          " the period."),
    "deviation_response_hours": lazy("The median of the hours from logging each deviation (or the client's"
                                     " confirmation of a proposed one) to the supplier's first response."),
    "invoice_accuracy": lazy("Invoices issued in the period and not disputed, over the invoices issued, × 100."),
    "payment_on_time": lazy("Invoices due in the period (up to today) and paid by their due date, over the invoices"
                            " due, × 100."),
    "forecast_accuracy": lazy("100 × (1 − Σ |forecast − ordered| over Σ ordered), per item and month, never below 0."),
    "receiving_window_adherence": lazy("Deliveries to a location with receiving windows that arrived inside one (in"
                                       " local time), over all deliveries to such locations, × 100."),
}
_FAMILIES = {"invoice_accuracy": "invoices", "payment_on_time": "invoices", "forecast_accuracy": "forecasts",
             "deviation_response_hours": "responses", "receiving_window_adherence": "deliveries"}


@get("/relationships/{relationship_id:uuid}/scorecard/explain")
async def explain(request: Request, actor: Actor, relationship_id: UUID) -> Template:
    """The lines behind a delivery KPI of one period, each with how it was judged; paged by line id."""
    view = await get_relationship_for(actor, relationship_id)
    rel = view.relationship
    params = request.query_params
    metric, kind = params.get("metric", ""), params.get("kind", "month")
    if metric not in KPI_LIBRARY or kind not in kpis.PERIOD_KINDS:
        raise not_found()
    try:
        start, end = kpis.period_range(kind, date.fromisoformat(params.get("start", "")))
    except ValueError:
        raise not_found() from None
    version = await in_force_on(rel.id, start) or await in_force_on(rel.id, end)
    tolerances = kpis.tolerances_of(content_of(version)) if version else kpis.Tolerances()
    only = params.get("only") or None
    after = params.get("after") or None
    if after and "\x00" in after:  # not a key of ours (and not text PostgreSQL takes)
        after = None
    if metric in kpis.EXPLAINED_BY_ROWS:
        lines = await kpis.rows_behind(rel.id, metric, start, end, after=after, limit=51)
        next_after = lines[49]["row_key"] if len(lines) > 50 else None
    else:
        lines = await kpis.judged_lines(rel.id, start, end, after=after, limit=51, only=only)
        next_after = lines[49]["external_id"] if len(lines) > 50 else None
        for line in lines:  # the days from the order to the delivery that completed the line
            line["lead_days"] = (_half_up(Decimal((line["completed_at"] - line["ordered_at"]).total_seconds())
                                          / 86400, 2) if line["completed_at"] and line["ordered_at"] else None)
    value = await db.raw_one(
        "SELECT numerator, denominator, value FROM kpi_value WHERE relationship = $1 AND metric = $2"
        " AND period_kind = $3 AND period_start = $4", rel.id, metric, kind, start)
    excluded = [dict(r) for r in await db.raw(
        "SELECT l.external_id, d.kpi_exclusion, d.id AS deviation_id, d.number FROM deviation d"
        " JOIN order_line l ON l.relationship = d.relationship AND l.external_id = d.subject_ref"
        " WHERE d.relationship = $1 AND d.subject_kind = 'order_line' AND d.kpi_exclusion <> ''"
        f" AND d.status IN {kpis.EXCLUDING} AND l.promised_date >= $2 AND l.promised_date < $3"
        " ORDER BY l.external_id", rel.id, start, end)]
    return page(request, "operations/explain.html", excluded=excluded, view=view, tab="scorecard", orgs=view.orgs,
                metric=metric, label=KPI_LABELS[metric], kind=kind, start=start, end=end, lines=lines[:50],
                next_after=next_after, value=value, tolerances=tolerances, only=only or "",
                family=_FAMILIES.get(metric, "lines"), formula=FORMULAS[metric],
                shown_value=shown(kpis.exact_value(metric, value["numerator"], value["denominator"], value["value"])
                                  if value else None, metric))


@post("/relationships/{relationship_id:uuid}/scorecard/reopen")
async def reopen_period(request: Request, actor: Actor, relationship_id: UUID, data: Form) -> Template | Redirect:
    """Reopen one tile's closed period; back to the scorecard the form was on (its party and month)."""
    view = await get_relationship_for(actor, relationship_id)
    kind = data.get("kind", "")
    try:
        start = date.fromisoformat(data.get("start", ""))
    except ValueError:
        start = None
    if kind not in kpis.PERIOD_KINDS or start is None or _month(start.strftime("%Y-%m")) is None:
        raise FieldErrors({"start": _("Choose a period.")})
    party = data.get("party") if data.get("party") in ("supplier", "client") else "supplier"
    month = _month(data.get("period", "")) or start.replace(day=1)
    try:
        await kpis.do_reopen(actor=actor, view=view, kind=kind, start=start, reason=data.get("reason", ""))
    except FieldErrors as exc:
        rel = view.relationship
        today = datetime.now(ZoneInfo(rel.time_zone)).date()
        rows = await db.raw(SCORECARD_TILES, rel.id, month, today, party)
        return page(request, "operations/scorecard.html", status_code=422, view=view, tab="scorecard",
                    orgs=view.orgs, party=party, month=month, previous=_back("month", month, 1),
                    next=_back("month", month, -1), errors=exc.errors,
                    tiles_html=tiles_html(request, view, party, month, rows, exc.errors, str(data.get("tile", ""))))
    return Redirect(path=f"/relationships/{relationship_id}/scorecard",
                    query_params={"party": party, "period": month.strftime("%Y-%m"), "reopened": kind})


routes = [scorecard, explain, export_scorecard, reopen_period]


# -- CSV imports --------------------------------------------------------------------------------

IMPORTS_PAGE = 20

async def _data_page(request: Request, actor: Actor, view, *, errors: dict | None = None,
                     status_code: int = 200, reopen_form: dict | None = None,
                     reopen_errors: dict | None = None) -> Template:
    from backend.operations.tables import ImportJob

    cursor = request.query_params.get("cursor")
    recent, next_cursor = await paging.newest_first(
        ImportJob, ImportJob.created_at, ImportJob.relationship == view.relationship.id, cursor, IMPORTS_PAGE,
        ImportJob.filename, ImportJob.kind, ImportJob.status, ImportJob.total)
    return page(request, "operations/data.html", status_code=status_code, view=view, tab="data",
                orgs=view.orgs, kinds=imports.KINDS, recent=recent, next_cursor=next_cursor, first_page=not cursor,
                errors=errors or {}, job_statuses=imports.STATUSES, reopen_form=reopen_form,
                reopen_errors=reopen_errors or {}, freeze_days=kpis.FREEZE_AFTER_DAYS,
                reopened=int(reopened) if (reopened := request.query_params.get("reopened", "")).isdigit() else None)


@get("/relationships/{relationship_id:uuid}/data")
async def data_tab(request: Request, actor: Actor, relationship_id: UUID) -> Template:
    return await _data_page(request, actor, await get_relationship_for(actor, relationship_id))


@post("/relationships/{relationship_id:uuid}/data", request_max_body_size=imports.MAX_BYTES + 1024 * 1024)
async def upload_csv(request: Request, actor: Actor, relationship_id: UUID) -> Template | Redirect:
    view = await get_relationship_for(actor, relationship_id)
    form = await request.form()
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return await _data_page(request, actor, view, errors={"file": _("Choose a file first.")}, status_code=422)

    async def chunks():
        while chunk := await upload.read(256 * 1024):
            yield chunk

    try:
        job = await imports.do_upload(actor=actor, view=view, kind=str(form.get("kind", "")),
                                      filename=upload.filename, chunks=chunks())
    except FieldErrors as exc:
        return await _data_page(request, actor, view, errors=exc.errors, status_code=422)
    return Redirect(path=f"/imports/{job.id}")


@post("/relationships/{relationship_id:uuid}/data/reopen")
async def reopen_months(request: Request, actor: Actor, relationship_id: UUID, data: Form) -> Template | Redirect:
    """Reopen the closed periods of a range of months, before loading older rows into them."""
    view = await get_relationship_for(actor, relationship_id)
    if not actor.is_admin:
        raise Forbidden()
    form = {name: str(data.get(name, "")) for name in ("first", "last", "reason")}
    first, last = _month(form["first"]), _month(form["last"])
    try:
        if errors := kpis.reopen_months_errors(first, last, form["reason"]):
            raise FieldErrors(errors)
        count = await kpis.do_reopen_months(actor=actor, view=view, first=first, last=last, reason=form["reason"])
    except FieldErrors as exc:
        return await _data_page(request, actor, view, reopen_errors=exc.errors, status_code=422, reopen_form=form)
    return Redirect(path=f"/relationships/{relationship_id}/data", query_params={"reopened": str(count)})


async def _import_page(request: Request, actor: Actor, job, view, *, errors: dict | None = None,
                       status_code: int = 200, partial: bool = False) -> Template:
    info = imports._loads(job.result) or {}
    return page(request, "operations/_import_status.html" if partial else "operations/import.html",
                status_code=status_code, view=view, tab="data", orgs=view.orgs, job=job,
                columns=info.get("columns", []), mapping=imports._loads(job.mapping) or {},
                fields=imports.FIELDS[job.kind], field_labels=imports.FIELD_LABELS, kinds=imports.KINDS, report=imports._loads(job.errors) or [],
                result=info, errors=errors or {})


@get("/imports/{job_id:uuid}")
async def import_page(request: Request, actor: Actor, job_id: UUID) -> Template:
    job, view = await imports.get_job_for(actor, job_id)
    return await _import_page(request, actor, job, view)


@get("/imports/{job_id:uuid}/progress")
async def import_progress(request: Request, actor: Actor, job_id: UUID) -> Template:
    job, view = await imports.get_job_for(actor, job_id)
    return await _import_page(request, actor, job, view, partial=True)


@post("/imports/{job_id:uuid}/start")
async def start_import(request: Request, actor: Actor, job_id: UUID, data: Form) -> Template | Redirect:
    job, view = await imports.get_job_for(actor, job_id)
    try:
        await imports.do_start(actor=actor, job=job, view=view, data=data)
    except FieldErrors as exc:
        return await _import_page(request, actor, job, view, errors=exc.errors, status_code=422)
    return Redirect(path=f"/imports/{job_id}")


routes += [data_tab, upload_csv, reopen_months, import_page, import_progress, start_import]
