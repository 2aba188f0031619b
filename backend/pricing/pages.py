"""The Prices tab: the multi-year schedule as a timeline (price per year, each year's improvement
commitments and whether they were met), a price calculator, and evidence reports on commitments."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

from litestar import Request, get, post
from litestar.datastructures import UploadFile
from litestar.response import Redirect, Stream, Template

from backend import db
from backend.agreements.actions import content_of, in_force_on
from backend.agreements.sections import KPI_LABELS
from backend.audit.actions import record
from backend.disputes import evidence, storage
from backend.pricing import actions, schedule
from backend.pricing.api import quote_for
from backend.relationships.access import get_relationship_for
from backend.web.current import Actor
from backend.web.errors import Conflict, FieldErrors, Forbidden, not_found
from backend.web.i18n import gettext as _
from backend.web.i18n import lazy
from backend.web.templating import page

STEP_LABELS = {"base": lazy("base price"), "unconditional": lazy("unconditional"), "applied": lazy("applied"),
               "withheld": lazy("withheld: last year's commitments were missed"),
               "reduced": lazy("reduced: last year's commitments were missed"),
               "pending": lazy("conditional, decided at the year's start")}
COMMITMENT_LABELS = {"met": lazy("met"), "missed": lazy("missed"), "on_track": lazy("on track"),
                     "at_risk": lazy("at risk"), "reported": lazy("reported, awaiting confirmation"),
                     "awaiting_report": lazy("awaiting a report"), "no_data": lazy("no data yet")}
STATUS_TONE = {"met": "ok", "on_track": "ok", "missed": "danger", "at_risk": "warn", "reported": "warn",
               "awaiting_report": "muted", "no_data": "muted"}


@dataclass
class Chart:
    """An SVG timeline: one polyline of unit prices per item across the contract years."""
    width: int
    height: int
    lines: list[dict[str, Any]]
    years: list[dict[str, Any]]


def chart_of(years: list[actions.YearView]) -> Chart | None:
    items = sorted({code for y in years for code in y.prices})
    if not years or not items:
        return None
    width, height, left, top, bottom = 120 * len(years) + 60, 220, 50, 20, 160
    values = [y.prices[i] for y in years for i in items if i in y.prices]
    lo, hi = min(values), max(values)
    span = (hi - lo) or (hi or Decimal(1))

    def x(k: int) -> int:
        return left + 120 * (k - 1) + 40

    def y_of(v: Decimal) -> float:
        return round(float(bottom - (v - lo) / span * (bottom - top - 20)), 1)

    lines = [{"item": code, "points": " ".join(f"{x(y.year)},{y_of(y.prices[code])}" for y in years
                                               if code in y.prices),
              "dots": [(x(y.year), y_of(y.prices[code]), y.year, y.prices[code]) for y in years if code in y.prices]}
             for code in items]
    marks = []
    for y in years:
        for n, c in enumerate(y.commitments):
            marks.append({"x": x(y.year) - 20 + 14 * n, "y": bottom + 30, "status": c.status,
                          "tone": STATUS_TONE[c.status], "label": c.description})
    return Chart(width, height, lines, [{"x": x(y.year), "year": y.year, "step": y.step, "current": y.current,
                                         "marks": [m for m in marks if x(y.year) - 20 <= m["x"] < x(y.year) + 100]}
                                        for y in years])


async def _context(view, today):
    rel = view.relationship
    version = await in_force_on(rel.id, today) or await _first_signed(rel.id)
    if version is None or rel.start_date is None:
        return version, [], None
    years = await actions.schedule_of(rel, content_of(version), today)
    return version, years, chart_of(years)


async def _first_signed(relationship_id: UUID):
    from backend.agreements.tables import AgreementVersion

    row = await db.raw_one("SELECT * FROM agreement_version WHERE relationship = $1 AND status = 'signed'"
                           " ORDER BY effective_date, number LIMIT 1", relationship_id)
    return db.object_of(AgreementVersion, row) if row else None


@get("/relationships/{relationship_id:uuid}/prices")
async def prices_tab(request: Request, actor: Actor, relationship_id: UUID) -> Template:
    view = await get_relationship_for(actor, relationship_id)
    rel = view.relationship
    today = datetime.now(ZoneInfo(rel.time_zone)).date()
    version, years, chart = await _context(view, today)
    quote, quote_errors = None, {}
    params = request.query_params
    if params.get("item"):
        try:
            quote, _v = await quote_for(rel, params.get("item", ""), params.get("date", ""), params.get("qty", ""))
        except FieldErrors as e:
            quote_errors = e.errors
    template = "pricing/quote.html" if request.headers.get("hx-request") and params.get("item") else "pricing/schedule.html"
    return await _page(request, view, template, version, years, chart, today, quote=quote, quote_errors=quote_errors,
                       query=dict(params))


async def _page(request, view, template, version, years, chart, today, status_code: int = 200, **extra) -> Template:
    rel = view.relationship
    volumes = gains = None
    if version is not None and rel.start_date is not None and template == "pricing/schedule.html":
        year = max(schedule.contract_year(rel.start_date, today), 1)
        volumes = await actions.volumes_of(rel, content_of(version), year, today)
        gains = await actions.gains_of(rel.id)
        extra.setdefault("files", await files_of(rel.id))
    extra.setdefault("volumes", volumes)
    extra.setdefault("gains", gains or [])
    extra.setdefault("files", {})
    extra.setdefault("gain_errors", {})
    extra.setdefault("gain_form", {})
    extra.setdefault("query", {})
    extra.setdefault("quote", None)
    extra.setdefault("quote_errors", {})
    return page(request, template, status_code=status_code, view=view, tab="prices", orgs=view.orgs,
                version=version, years=years, chart=chart, today=today, kpi_labels=KPI_LABELS, tones=STATUS_TONE, step_labels=STEP_LABELS,
                commitment_labels=COMMITMENT_LABELS, items=(content_of(version).get("price_items") or []) if version else [],
                report_errors=extra.pop("report_errors", {}), report_form=extra.pop("report_form", {}), **extra)


UPLOAD_LIMIT = evidence.MAX_BYTES + 1024 * 1024  # the form fields around the file


def _files(form) -> list[UploadFile]:
    return [f for f in form.getall("evidence_file", []) if isinstance(f, UploadFile) and f.filename]


async def _keep_files(uploads: list[UploadFile], rel_id: UUID, errors: dict) -> list[evidence.StoredEvidence]:
    """The attached files checked and kept (all or none); a refusal becomes the field's error."""
    try:
        return await evidence.keep_uploads(uploads, rel_id)
    except evidence.EvidenceRefused as exc:
        errors["evidence_file"] = str(exc)
        return []


async def _record_files(actor, rel_id: UUID, kind: str, report_id: UUID, stored: list) -> None:
    for item in stored:
        await db.raw(
            "INSERT INTO report_file (id, relationship, report_kind, report_id, org, uploaded_by, filename, kind,"
            " media_type, size, sha256, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            item.id, rel_id, kind, report_id, actor.org.id, actor.user.id, item.filename[:255], item.kind,
            item.media_type, item.size, item.sha256, datetime.now(timezone.utc))


async def files_of(relationship_id: UUID) -> dict[UUID, list[dict]]:
    files: dict[UUID, list[dict]] = {}
    for row in await db.raw("SELECT id, report_id, filename, size FROM report_file WHERE relationship = $1"
                            " ORDER BY created_at", relationship_id):
        files.setdefault(row["report_id"], []).append(dict(row))
    return files


def _decimal(text: str | None, field: str, errors: dict) -> Decimal | None:
    if not text:
        return None
    try:
        value = Decimal(text)
        if not value.is_finite():
            raise InvalidOperation
        return value
    except InvalidOperation:
        errors[field] = _("Use a number.")
        return None


@post("/relationships/{relationship_id:uuid}/prices/reports", request_max_body_size=UPLOAD_LIMIT)
async def report_commitment(request: Request, actor: Actor, relationship_id: UUID) -> Redirect | Template:
    """One side reports a commitment measured by evidence; the other side confirms or rejects it."""
    view = await get_relationship_for(actor, relationship_id)
    if not view.can_write:
        raise Forbidden()
    rel = view.relationship
    form = await request.form()
    data = {k: v for k, v in form.items() if isinstance(v, str)}
    today = datetime.now(ZoneInfo(rel.time_zone)).date()
    version, years, _chart = await _context(view, today)
    errors: dict[str, str] = {}
    try:
        year = int(data.get("year", ""))
    except ValueError:
        year = 0
    target = next((c for y in years if y.year == year for c in y.commitments if c.id == data.get("commitment")), None)
    if target is None or target.kpi_metric:
        raise FieldErrors({"commitment": _("Choose a commitment that is reported with evidence.")})
    if target.status in ("met", "missed"):
        errors["commitment"] = _("This commitment's year is closed.")
    if target.report and target.report["status"] == "reported":
        errors["commitment"] = _("A report is waiting for the other side's answer.")
    achieved = _decimal(data.get("achieved"), "achieved", errors)
    reference, uploads = (data.get("evidence") or "").strip(), _files(form)
    if not reference and not uploads:
        errors["evidence"] = _("Attach the evidence or say where it is (a document, a reference).")
    stored = [] if errors else await _keep_files(uploads, rel.id, errors)
    if errors:
        return await _page(request, view, "pricing/schedule.html", version, years, _chart, today, status_code=422,
                           report_errors={target.id: errors}, report_form={target.id: data})
    try:
        return await _save_report(actor, rel, year, target, achieved, data, reference, stored)
    except BaseException:
        await evidence.discard(stored, rel.id)  # nothing saved: keep no file either
        raise


async def _save_report(actor, rel, year, target, achieved, data, reference, stored) -> Redirect:
    evidence_text = reference or ", ".join(item.filename for item in stored)
    now = datetime.now(timezone.utc)
    report_id = uuid4()
    await db.raw(
        "INSERT INTO improvement_report (id, relationship, year, commitment, org, reported_by, achieved, note, evidence,"
        " status, version, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'reported', 1, $10, $10)",
        report_id, rel.id, year, target.id, actor.org.id, actor.user.id, achieved, (data.get("note") or "")[:2000],
        evidence_text[:300], now)
    await _record_files(actor, rel.id, "improvement", report_id, stored)
    await record("price.commitment_reported", actor=actor, relationship_id=rel.id, target_type="improvement_report",
                 target_id=str(report_id), target_label=target.description[:200],
                 details={"year": year, "achieved": None if achieved is None else str(achieved),
                          "evidence": evidence_text[:300], "files": [[i.filename, i.sha256] for i in stored]})
    return Redirect(f"/relationships/{rel.id}/prices#year-{year}")


def _decision_of(data: dict) -> tuple[str, int]:
    """(confirmed | rejected, the version the person saw) of a confirmation form."""
    decision = data.get("decision")
    if decision not in ("confirmed", "rejected"):
        raise FieldErrors({"decision": _("Choose a value from the list.")})
    try:
        return decision, int(data.get("version", ""))
    except ValueError:
        return decision, -1


@post("/improvement-reports/{report_id:uuid}/decision")
async def decide_report(request: Request, actor: Actor, report_id: UUID) -> Redirect:
    report = await db.raw_one("SELECT * FROM improvement_report WHERE id = $1", report_id)
    if report is None:
        raise not_found()
    view = await get_relationship_for(actor, report["relationship"])
    data = dict(await request.form())
    if not view.can_write or report["org"] == actor.org.id:
        raise Forbidden()  # the other side confirms
    decision, expected = _decision_of(data)
    rows = await db.raw(
        "UPDATE improvement_report SET status = $2, decided_by = $3, decision_note = $4, version = version + 1,"
        " updated_at = $5 WHERE id = $1 AND version = $6 AND status = 'reported' RETURNING id",
        report_id, decision, actor.user.id, (data.get("note") or "")[:2000], datetime.now(timezone.utc), expected)
    if not rows:
        raise Conflict(_("Someone else acted on this report a moment ago. Nothing of yours was saved."))
    await record(f"price.commitment_{decision}", actor=actor, relationship_id=report["relationship"],
                 target_type="improvement_report", target_id=str(report_id), target_label=report["commitment"],
                 details={"year": report["year"], "note": (data.get("note") or "")[:500]})
    return Redirect(f"/relationships/{report['relationship']}/prices#year-{report['year']}")


@post("/relationships/{relationship_id:uuid}/prices/gains", request_max_body_size=UPLOAD_LIMIT)
async def report_gain(request: Request, actor: Actor, relationship_id: UUID) -> Redirect | Template:
    """The supplier reports an efficiency gain with its evidence; the client confirms it."""
    view = await get_relationship_for(actor, relationship_id)
    rel = view.relationship
    if not view.can_write or view.side != "supplier":
        raise Forbidden()
    form = await request.form()
    data = {k: v for k, v in form.items() if isinstance(v, str)}
    today = datetime.now(ZoneInfo(rel.time_zone)).date()
    errors: dict[str, str] = {}
    amount = _decimal(data.get("amount"), "amount", errors)
    if amount is None and "amount" not in errors:
        errors["amount"] = _("Give the gain's amount.")
    elif amount is not None and amount <= 0:
        errors["amount"] = _("Use an amount above 0.")
    description = (data.get("description") or "").strip()
    if not description:
        errors["description"] = _("Say what was improved.")
    reference, uploads = (data.get("evidence") or "").strip(), _files(form)
    if not reference and not uploads:
        errors["evidence"] = _("Attach the evidence or say where it is (a document, a reference).")
    stored = [] if errors else await _keep_files(uploads, rel.id, errors)
    if errors:
        version, years, chart = await _context(view, today)
        return await _page(request, view, "pricing/schedule.html", version, years, chart, today, status_code=422,
                           gain_errors=errors, gain_form=data)
    year = max(schedule.contract_year(rel.start_date, today), 1) if rel.start_date else 1
    try:
        return await _save_gain(actor, rel, year, description, amount, reference, stored)
    except BaseException:
        await evidence.discard(stored, rel.id)  # nothing saved: keep no file either
        raise


async def _save_gain(actor, rel, year, description, amount, reference, stored) -> Redirect:
    gain_id, now = uuid4(), datetime.now(timezone.utc)
    await db.raw(
        "INSERT INTO gain_report (id, relationship, year, description, amount, evidence, org, reported_by, status,"
        " version, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'reported', 1, $9, $9)",
        gain_id, rel.id, year, description[:2000], schedule.money(amount),
        (reference or ", ".join(item.filename for item in stored))[:300], actor.org.id, actor.user.id, now)
    await _record_files(actor, rel.id, "gain", gain_id, stored)
    await record("price.gain_reported", actor=actor, relationship_id=rel.id, target_type="gain_report",
                 target_id=str(gain_id), target_label=description[:200],
                 details={"year": year, "amount": str(schedule.money(amount)), "evidence": reference[:300],
                          "files": [[i.filename, i.sha256] for i in stored]})
    return Redirect(f"/relationships/{rel.id}/prices#gains")


@post("/gain-reports/{gain_id:uuid}/decision")
async def decide_gain(request: Request, actor: Actor, gain_id: UUID) -> Redirect:
    gain = await db.raw_one("SELECT * FROM gain_report WHERE id = $1", gain_id)
    if gain is None:
        raise not_found()
    view = await get_relationship_for(actor, gain["relationship"])
    if not view.can_write or view.side != "client":
        raise Forbidden()
    data = dict(await request.form())
    decision, expected = _decision_of(data)
    supplier = client = None
    if decision == "confirmed":
        today = datetime.now(ZoneInfo(view.relationship.time_zone)).date()
        version = await in_force_on(view.relationship.id, today)
        supplier, client = schedule.gain_split(content_of(version) if version else {}, gain["amount"])
    rows = await db.raw(
        "UPDATE gain_report SET status = $2, decided_by = $3, decision_note = $4, supplier_share = $5, client_share = $6,"
        " version = version + 1, updated_at = $7 WHERE id = $1 AND version = $8 AND status = 'reported' RETURNING id",
        gain_id, decision, actor.user.id, (data.get("note") or "")[:2000], supplier, client,
        datetime.now(timezone.utc), expected)
    if not rows:
        raise Conflict(_("Someone else acted on this report a moment ago. Nothing of yours was saved."))
    await record(f"price.gain_{decision}", actor=actor, relationship_id=gain["relationship"], target_type="gain_report",
                 target_id=str(gain_id), target_label=gain["description"][:200],
                 details={"amount": str(gain["amount"]), "supplier_share": None if supplier is None else str(supplier),
                          "client_share": None if client is None else str(client)})
    return Redirect(f"/relationships/{gain['relationship']}/prices#gains")


@get("/report-files/{file_id:uuid}", opt={"stream_through": True})
async def download_report_file(actor: Actor, file_id: UUID) -> Stream:
    row = await db.raw_one("SELECT * FROM report_file WHERE id = $1", file_id)
    if row is None:
        raise not_found()
    await get_relationship_for(actor, row["relationship"])
    key = evidence.key_of(row["relationship"], row["id"])
    bucket = storage.current()
    if not await bucket.exists(key):
        raise not_found()
    return Stream(bucket.chunks(key), media_type=row["media_type"], headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(row['filename'])}",
        "Content-Length": str(row["size"]), "X-Content-Type-Options": "nosniff"})


routes = [download_report_file, prices_tab, report_commitment, decide_report, report_gain, decide_gain]
