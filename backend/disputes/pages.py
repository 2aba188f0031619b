"""Deviation pages: the list with filters, logging, the dispute page with its actions, comments
and evidence, and the penalty ledger with its exports."""
from __future__ import annotations

import collections
import functools
import json
from datetime import datetime, timezone
from urllib.parse import quote
from uuid import UUID
from zoneinfo import ZoneInfo

import asyncpg
from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.response import Redirect, Stream, Template
from markupsafe import Markup

from backend import db
from backend.agreements.actions import content_of, in_force_on
from backend.agreements.sections import DEVIATION_TYPES, FORMULAS, KPI_LABELS
from backend.agreements.tables import AgreementVersion
from backend.disputes import actions, evidence, penalties, queries, storage, workflow
from backend.disputes.deadlines import business_days_left, parse_holidays
from backend.disputes.tables import DeviationEvent, EvidenceFile, PeriodValue
from backend.relationships.access import RelationshipView, get_relationship_for
from backend.relationships.tables import Relationship
from backend.web import i18n
from backend.web.current import Actor
from backend.web.errors import Conflict, FieldErrors, Forbidden, not_found
from backend.web.exports import table_response
from backend.web.fragments import Fragments
from backend.web.forms import Form, form_int
from backend.web.i18n import gettext as _
from backend.web.templating import page

UPLOAD_LIMIT = evidence.MAX_BYTES + 1024 * 1024  # the form fields around the file


def time_left(d, tz: str, holidays: set, now: datetime | None = None) -> tuple[str, str]:
    """(text, tone) of an open item's clock, in business days of the relationship."""
    get = d.__getitem__ if isinstance(d, (dict, asyncpg.Record)) else (lambda k: getattr(d, k))
    if get("status") in workflow.FINAL:
        return "", ""
    if get("paused_at") is not None:
        return _("Paused: waiting for information"), "muted"
    due = get("due_at")
    if due is None:
        return "", ""
    now = now or datetime.now(timezone.utc)
    if due < now:
        days = -business_days_left(now, due, tz, holidays)
        return (_("Overdue by %(n)s business days", n=days) if days else _("Overdue")), "danger"
    days = business_days_left(now, due, tz, holidays)
    if days == 0:
        return _("Due today at %(time)s", time=i18n.format_datetime(due, tz, "short").split(" ")[-1]), "warn"
    return i18n.ngettext("%(num)s business day left", "%(num)s business days left", days, num=days), \
        ("warn" if days <= 1 else "ok")


@functools.cache
def _row_class(columns: tuple[str, ...]) -> type:
    """The list's row: its columns and time_left, as attributes (a named tuple is made from the
    record's values in one step, where a namespace took a dict of them first)."""
    return collections.namedtuple("DeviationRow", (*columns, "time_left"))


async def _holidays(relationship: Relationship) -> set:
    """The holiday calendar of the version in force today (only that field of its content)."""
    row = await db.raw_one(
        "SELECT content->'terms'->'holidays' AS holidays FROM agreement_version WHERE relationship = $1"
        " AND status = 'signed' AND effective_date <= $2 ORDER BY effective_date DESC, number DESC LIMIT 1",
        relationship.id, datetime.now(ZoneInfo(relationship.time_zone)).date())
    return parse_holidays(json.loads(row["holidays"])) if row and row["holidays"] else set()


# -- the list ---------------------------------------------------------------------------------

# the rows of the list pages read lately, each with the rows and clocks, and for the language, it was rendered for
ROWS_HTML = Fragments(256)


def _rows_html(request: Request, view: RelationshipView, filters: queries.Filters, items: list) -> Markup:
    """The list's rows, kept for the same rows (their clocks' text included, which moves with time), the
    same language, relationship, time zone and side of the reader."""
    def render() -> str:
        return request.app.template_engine.get_template("deviations/_rows.html").render(
            view=view, items=items, types=DEVIATION_TYPES, statuses=workflow.STATUSES)

    key = (i18n.current_locale(), view.relationship.id, view.relationship.time_zone, view.side,
           tuple(filters.query().items()), request.query_params.get("cursor"))  # each filter and page keeps its own
    return ROWS_HTML.get(key, items, render)


@get("/relationships/{relationship_id:uuid}/deviations")
async def deviations_tab(request: Request, actor: Actor, relationship_id: UUID) -> Template:
    view = await get_relationship_for(actor, relationship_id)
    filters = queries.Filters.read(request.query_params)
    items, next_cursor = await queries.page_of(relationship_id, filters, request.query_params.get("cursor"))
    # the holiday calendar only counts for clocks still running
    running = [item for item in items if item["status"] not in workflow.FINAL and item["due_at"] is not None]
    holidays = await _holidays(view.relationship) if running else set()
    # attributes, not keys: the template's d.number then finds its value at the first attempt
    tz = view.relationship.time_zone
    if items:
        row = _row_class(tuple(items[0].keys()))
        items = [row._make((*item, time_left(item, tz, holidays))) for item in items]
    return page(request, "deviations/list.html", view=view, tab="deviations", orgs=view.orgs,
                items=items, rows_html=_rows_html(request, view, filters, items), next_cursor=next_cursor, filters=filters,
                next_query=filters.query() | {"cursor": next_cursor or ""}, first_page=not request.query_params.get("cursor"),
                types=DEVIATION_TYPES, statuses=workflow.STATUSES,
                can_log=actions.who_in(view, actor).acts_for(workflow.CLIENT))


# -- logging ----------------------------------------------------------------------------------

async def _new_page(request: Request, actor: Actor, view: RelationshipView, form: dict, errors: dict,
                    status_code: int = 200) -> Template:
    today = datetime.now(ZoneInfo(view.relationship.time_zone)).date()
    version = await in_force_on(view.relationship.id, today)
    content = content_of(version) if version else {}
    return page(request, "deviations/new.html", status_code=status_code, view=view, tab="deviations",
                orgs=view.orgs, form=form, errors=errors, types=DEVIATION_TYPES,
                severities=workflow.SEVERITIES, version=version, commitments=content.get("commitments", []),
                kpis=content.get("kpis", []), kpi_labels=KPI_LABELS, formulas=FORMULAS, rules=content.get("penalty_rules", []))


@get("/relationships/{relationship_id:uuid}/deviations/new")
async def new_deviation(request: Request, actor: Actor, relationship_id: UUID) -> Template:
    view = await get_relationship_for(actor, relationship_id)
    if not actions.who_in(view, actor).acts_for(workflow.CLIENT):
        raise Forbidden()
    form = {k: request.query_params.get(k) for k in ("type", "subject_kind", "subject_ref", "occurred_at",
                                                      "description") if request.query_params.get(k)}
    form.setdefault("occurred_at", datetime.now(ZoneInfo(view.relationship.time_zone)).strftime("%Y-%m-%dT%H:%M"))
    return await _new_page(request, actor, view, form, {})


@post("/relationships/{relationship_id:uuid}/deviations")
async def log_deviation(request: Request, actor: Actor, relationship_id: UUID, data: Form) -> Template | Redirect:
    view = await get_relationship_for(actor, relationship_id)
    try:
        deviation = await actions.do_log(actor=actor, view=view, data=data, relationship=view.relationship)
    except FieldErrors as exc:
        return await _new_page(request, actor, view, data, exc.errors, status_code=422)
    return Redirect(path=f"/deviations/{deviation.id}")


# -- one deviation ----------------------------------------------------------------------------

async def _detail(request: Request, actor: Actor, dv: actions.DeviationView, *, errors: dict | None = None,
                  failed: str = "", conflict: bool = False, form: dict | None = None,
                  status_code: int = 200) -> Template:
    d = dv.deviation
    relationship = dv.relationship.relationship
    version = None
    if d.agreement_version:
        version = await AgreementVersion.objects().where(AgreementVersion.id == d.agreement_version).first()
    content = content_of(version) if version else {}
    terms = content.get("terms") or {}
    events = await DeviationEvent.objects().where(DeviationEvent.deviation == d.id).order_by(
        DeviationEvent.created_at)
    files = await EvidenceFile.objects().where(EvidenceFile.deviation == d.id).order_by(EvidenceFile.created_at)
    rule = next((r for r in content.get("penalty_rules") or [] if r.get("id") == d.penalty_rule), None)
    return page(request, "deviations/detail.html", status_code=status_code, dv=dv, d=d, view=dv.relationship,
                tab="deviations", orgs=dv.relationship.orgs, version=version, rule=rule, events=events,
                files=files, comments=await actions.comments_of(d.id), proposal=dv.proposal,
                explanation=penalties.explain(d.penalty_steps) if d.penalty_steps else "",
                time_left=time_left(d, relationship.time_zone, parse_holidays(terms.get("holidays"))),
                errors=errors or {}, failed=failed, conflict=conflict, form=form or {},
                may_add_evidence=actions.may_add_evidence(dv), types=DEVIATION_TYPES, statuses=workflow.STATUSES,
                severities=workflow.SEVERITIES, labels=workflow.ACTION_LABELS, buttons=workflow.BUTTONS,
                outcomes=workflow.OUTCOMES, ladder=content.get("escalation") or [])


@get("/deviations/{deviation_id:uuid}")
async def deviation_page(request: Request, actor: Actor, deviation_id: UUID) -> Template:
    return await _detail(request, actor, await actions.get_deviation_for(actor, deviation_id))


def _uploads(form) -> list[UploadFile]:
    return [f for f in form.getall("evidence", []) if isinstance(f, UploadFile) and f.filename]


@post("/deviations/{deviation_id:uuid}/actions/{action:str}", request_max_body_size=UPLOAD_LIMIT)
async def act(request: Request, actor: Actor, deviation_id: UUID, action: str) -> Template | Redirect:
    dv = await actions.get_deviation_for(actor, deviation_id)
    form = await request.form()
    data = {k: v for k, v in form.items() if isinstance(v, str)}
    uploads = _uploads(form)
    stored: list[evidence.StoredEvidence] = []
    try:
        if uploads and not actions.may_add_evidence(dv):
            raise Forbidden()
        stored = await evidence.keep_uploads(uploads, dv.deviation.relationship)
        await actions.do_act(actor=actor, dv=dv, action=action, data=data, lock=form_int(data.get("lock")))
        for item in stored:
            await actions.add_evidence(actor=actor, dv=dv, stored=item)
    except evidence.EvidenceRefused as exc:
        return await _detail(request, actor, dv, errors={"evidence": str(exc)}, failed=action, form=data,
                             status_code=422)
    except FieldErrors as exc:
        await evidence.discard(stored, dv.deviation.relationship)
        return await _detail(request, actor, dv, errors=exc.errors, failed=action, form=data, status_code=422)
    except Conflict:
        await evidence.discard(stored, dv.deviation.relationship)
        fresh = await actions.get_deviation_for(actor, deviation_id)
        return await _detail(request, actor, fresh, conflict=True, status_code=409)
    except BaseException:
        await evidence.discard(stored, dv.deviation.relationship)
        raise
    return Redirect(path=f"/deviations/{deviation_id}")


@post("/deviations/{deviation_id:uuid}/evidence", request_max_body_size=UPLOAD_LIMIT)
async def upload_evidence(request: Request, actor: Actor, deviation_id: UUID) -> Template | Redirect:
    dv = await actions.get_deviation_for(actor, deviation_id)
    if not actions.may_add_evidence(dv):
        raise Forbidden()
    form = await request.form()
    uploads = _uploads(form)
    if not uploads:
        return await _detail(request, actor, dv, errors={"evidence": _("Choose a file first.")}, failed="evidence",
                             status_code=422)
    try:
        stored = await evidence.keep_uploads(uploads, dv.deviation.relationship)
    except evidence.EvidenceRefused as exc:
        return await _detail(request, actor, dv, errors={"evidence": str(exc)}, failed="evidence", status_code=422)
    try:
        for item in stored:
            await actions.add_evidence(actor=actor, dv=dv, stored=item)
    except BaseException:
        await evidence.discard(stored, dv.deviation.relationship)
        raise
    return Redirect(path=f"/deviations/{deviation_id}#evidence")


@get("/evidence/{evidence_id:uuid}", opt={"stream_through": True})
async def download_evidence(actor: Actor, evidence_id: UUID) -> Stream:
    item = await EvidenceFile.objects().where(EvidenceFile.id == evidence_id).first()
    if item is None:
        raise not_found()
    await get_relationship_for(actor, item.relationship)
    key = evidence.key_of(item.relationship, item.id)
    store = storage.current()
    if not await store.exists(key):
        raise not_found()
    return Stream(store.chunks(key), media_type=item.media_type, headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(item.filename)}",
        "Content-Length": str(item.size), "X-Content-Type-Options": "nosniff"})


@post("/deviations/{deviation_id:uuid}/comments")
async def add_comment(request: Request, actor: Actor, deviation_id: UUID, data: Form) -> Template:
    dv = await actions.get_deviation_for(actor, deviation_id)
    errors = {}
    try:
        await actions.do_comment(actor=actor, dv=dv, body=data.get("body", ""),
                                 visibility=data.get("visibility", "shared"))
    except FieldErrors as exc:
        errors = exc.errors
    return page(request, "deviations/_comments.html", status_code=422 if errors else 200, dv=dv, d=dv.deviation,
                comments=await actions.comments_of(deviation_id), errors=errors, form=data if errors else {})


# -- the penalty ledger -----------------------------------------------------------------------

def _period(request: Request, relationship: Relationship) -> str:
    period = request.query_params.get("period")
    if penalties.valid_period(period):
        return period
    return datetime.now(ZoneInfo(relationship.time_zone)).strftime("%Y-%m")


def _shift(period: str, months: int) -> str:
    year, month = (int(p) for p in period.split("-"))
    index = year * 12 + month - 1 + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


async def _ledger_page(request: Request, actor: Actor, view: RelationshipView, period: str, *,
                       errors: dict | None = None, status_code: int = 200) -> Template:
    ledger = await penalties.ledger(view.relationship.id, period, view.relationship.currency)
    value_row = await PeriodValue.objects().where(
        (PeriodValue.relationship == view.relationship.id) & (PeriodValue.period == period)).first()
    return page(request, "deviations/ledger.html", status_code=status_code, view=view, tab="penalties",
                orgs=view.orgs, ledger=ledger, period=period, previous=_shift(period, -1),
                next=_shift(period, 1), value_row=value_row, errors=errors or {}, types=DEVIATION_TYPES,
                statuses=workflow.STATUSES,
                can_set_value=actions.who_in(view, actor).acts_for(workflow.CLIENT))


@get("/relationships/{relationship_id:uuid}/penalties")
async def penalties_tab(request: Request, actor: Actor, relationship_id: UUID) -> Template:
    view = await get_relationship_for(actor, relationship_id)
    return await _ledger_page(request, actor, view, _period(request, view.relationship))


@post("/relationships/{relationship_id:uuid}/penalties/value")
async def set_period_value(request: Request, actor: Actor, relationship_id: UUID, data: Form) -> Template | Redirect:
    view = await get_relationship_for(actor, relationship_id)
    period = data.get("period") or ""
    if not penalties.valid_period(period):
        raise FieldErrors({"period": _("Enter a month as YYYY-MM.")})
    try:
        await penalties.do_set_period_value(actor=actor, view=view, period=period,
                                            raw=data.get("invoiced_value", ""), lock=form_int(data.get("lock")))
    except FieldErrors as exc:
        return await _ledger_page(request, actor, view, period, errors=exc.errors, status_code=422)
    return Redirect(path=f"/relationships/{relationship_id}/penalties", query_params={"period": period})


EXPORT_COLUMNS = ("deviation", "type", "occurred_at", "dispute_status", "penalty_status", "computed", "amount",
                  "charged", "capped_off", "currency", "calculation")


def _export_rows(ledger: penalties.Ledger, tz: str) -> list[list]:
    rows = []
    for line in ledger.lines:
        rows.append([f"D-{line.number}", line.type, line.occurred_at.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M"),
                     line.status, line.penalty_status, line.computed, line.amount, line.charged, line.capped_off,
                     ledger.currency, line.explanation])
    rows.append(["TOTAL", "", "", "", "confirmed", None, ledger.confirmed, ledger.charged, ledger.capped_off,
                 ledger.currency, ""])
    rows.append(["TOTAL", "", "", "", "pending", None, ledger.pending, None, None, ledger.currency, ""])
    rows.append(["TOTAL", "", "", "", "cancelled", None, ledger.cancelled, None, None, ledger.currency, ""])
    return rows


@get("/relationships/{relationship_id:uuid}/penalties/export")
async def export_ledger(request: Request, actor: Actor, relationship_id: UUID) -> Response:
    view = await get_relationship_for(actor, relationship_id)
    period = _period(request, view.relationship)
    fmt = request.query_params.get("format", "csv")
    if fmt not in ("csv", "xlsx"):
        raise not_found()
    token = i18n.set_locale("en")  # exported calculations read the same for both sides' tools
    try:
        ledger = await penalties.ledger(view.relationship.id, period, view.relationship.currency)
        rows = _export_rows(ledger, view.relationship.time_zone)
    finally:
        i18n._locale.reset(token)
    return table_response(f"penalties-{period}", EXPORT_COLUMNS, rows, fmt, sheet=period,
                          money_columns=("computed", "amount", "charged", "capped_off"))


routes = [deviations_tab, new_deviation, log_deviation, deviation_page, act, upload_evidence, download_evidence,
          add_comment, penalties_tab, set_period_value, export_ledger]
