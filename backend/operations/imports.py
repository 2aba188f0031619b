"""CSV imports: the file is streamed to disk, its columns mapped to fields (the mapping is
remembered per relationship, organization and kind), then a worker reads it with progress and
hands the rows to the same ingestion as the API: the file is taken whole, or rejected with every
bad row and column named."""
from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime, timezone
from pathlib import Path
from uuid import UUID, uuid4

from backend import db, jobs
from backend.config import settings
from backend.operations import ingest
from backend.operations.tables import CsvMapping, ImportJob
from backend.relationships.access import RelationshipView, get_relationship_for
from backend.tenancy.tables import Organization, User
from backend.web.current import Actor
from backend.web.errors import FieldErrors, Forbidden, RowErrors
from backend.web.i18n import gettext as _
from backend.web.i18n import lazy

MAX_BYTES = 512 * 1024 * 1024
PROGRESS_EVERY = 5000
KINDS = {"orders": lazy("Orders and order lines"), "deliveries": lazy("Deliveries and receipts"),
         "invoices": lazy("Invoices"), "forecasts": lazy("Forecasts")}
STATUSES = {"uploaded": lazy("Waiting for its columns"), "queued": lazy("Queued"), "running": lazy("Importing"),
            "done": lazy("Imported"), "rejected": lazy("Rejected")}
FIELD_LABELS = {
    "order_external_id": lazy("Order id"), "ordered_at": lazy("Ordered at"), "line_external_id": lazy("Order line id"),
    "item_code": lazy("Item code"), "qty_ordered": lazy("Quantity ordered"), "promised_date": lazy("Promised date"),
    "unit_price": lazy("Unit price"), "location": lazy("Delivery location"), "external_id": lazy("Id in your ERP"),
    "delivered_at": lazy("Delivered at"), "qty_delivered": lazy("Quantity delivered"),
    "qty_rejected": lazy("Quantity rejected"), "amount": lazy("Amount"), "issued_on": lazy("Issued on"),
    "due_date": lazy("Due date"), "paid_on": lazy("Paid on"), "disputed": lazy("Disputed (true or false)"),
    "period": lazy("Month (YYYY-MM)"), "qty": lazy("Quantity"),
}
# (field, required)
FIELDS = {
    "orders": [("order_external_id", True), ("ordered_at", True), ("line_external_id", True), ("item_code", True),
               ("qty_ordered", True), ("promised_date", True), ("unit_price", False), ("location", False)],
    "deliveries": [("external_id", True), ("line_external_id", True), ("delivered_at", True),
                   ("qty_delivered", True), ("qty_rejected", False)],
    "invoices": [("external_id", True), ("amount", True), ("issued_on", True), ("due_date", True),
                 ("paid_on", False), ("disputed", False)],
    "forecasts": [("external_id", True), ("item_code", True), ("period", True), ("qty", True)],
}


def folder() -> Path:
    path = settings().data_dir / "imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def guess(kind: str, columns: list[str], remembered: dict | None) -> dict[str, str]:
    """The remembered mapping where its columns still exist, else columns named like the field."""
    by_norm = {_norm(c): c for c in columns}
    mapping = {}
    for field, _required in FIELDS[kind]:
        if remembered and remembered.get(field) in columns:
            mapping[field] = remembered[field]
        elif _norm(field) in by_norm:
            mapping[field] = by_norm[_norm(field)]
    return mapping


def _dialect(sample: str) -> type[csv.Dialect] | csv.Dialect:
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        return csv.excel


async def do_upload(*, actor: Actor, view: RelationshipView, kind: str, filename: str, chunks) -> ImportJob:
    if not view.can_write:
        raise Forbidden()
    if kind not in FIELDS:
        raise FieldErrors({"kind": _("Choose a value from the list.")})
    job_id = uuid4()
    path = folder() / f"{job_id}.csv"
    size, head = 0, b""
    try:
        with path.open("wb") as out:
            async for chunk in chunks:
                size += len(chunk)
                if size > MAX_BYTES:
                    raise FieldErrors({"file": _("The file is larger than %(mb)s MB.", mb=MAX_BYTES // (1024 * 1024))})
                if len(head) < 65536:
                    head += chunk[: 65536 - len(head)]
                out.write(chunk)
        if size == 0:
            raise FieldErrors({"file": _("The file is empty.")})
        try:
            text = head.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = head[:-3].decode("utf-8-sig", errors="strict") if len(head) == 65536 else None
        if text is None or "\x00" in text:
            raise FieldErrors({"file": _("The file is not a CSV text file in UTF-8.")})
        columns = next(csv.reader(io.StringIO(text), _dialect(text)), [])
        columns = [c.strip() for c in columns if c.strip()]
        if not columns:
            raise FieldErrors({"file": _("The first line must name the columns.")})
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    remembered = await CsvMapping.objects().where(
        (CsvMapping.relationship == view.relationship.id) & (CsvMapping.org == actor.org.id)
        & (CsvMapping.kind == kind)).first()
    saved = json.loads(remembered.mapping) if remembered and isinstance(remembered.mapping, str) else (
        remembered.mapping if remembered else None)
    now = datetime.now(timezone.utc)
    job = ImportJob(id=job_id, relationship=view.relationship.id, org=actor.org.id, created_by=actor.user.id,
                    kind=kind, filename=(filename or "upload.csv")[:255],
                    mapping=json.dumps(guess(kind, columns, saved)), status="uploaded",
                    result=json.dumps({"columns": columns, "bytes": size}), created_at=now, updated_at=now)
    await job.save()
    return job


async def get_job_for(actor: Actor, job_id: UUID) -> tuple[ImportJob, RelationshipView]:
    from backend.web.errors import not_found

    job = await ImportJob.objects().where(ImportJob.id == job_id).first()  # row-level security: own org only
    if job is None:
        raise not_found()
    return job, await get_relationship_for(actor, job.relationship)


def _loads(value):
    return json.loads(value) if isinstance(value, str) else value


async def do_start(*, actor: Actor, job: ImportJob, view: RelationshipView, data: dict) -> None:
    if not view.can_write:
        raise Forbidden()
    if job.status != "uploaded":
        from backend.web.errors import Conflict

        raise Conflict()
    columns = _loads(job.result)["columns"]
    mapping, errors = {}, {}
    for field, required in FIELDS[job.kind]:
        column = (data.get(f"map_{field}") or "").strip()
        if column and column not in columns:
            errors[f"map_{field}"] = _("Choose one of the file's columns.")
        elif column:
            mapping[field] = column
        elif required:
            errors[f"map_{field}"] = _("Choose the column that holds this field.")
    if errors:
        raise FieldErrors(errors)
    now = datetime.now(timezone.utc)
    await db.raw(
        "INSERT INTO csv_mapping (id, relationship, org, kind, mapping, updated_at) VALUES ($1, $2, $3, $4, $5, $6)"
        " ON CONFLICT (relationship, org, kind) DO UPDATE SET mapping = EXCLUDED.mapping,"
        " updated_at = EXCLUDED.updated_at", uuid4(), job.relationship, actor.org.id, job.kind, json.dumps(mapping),
        now)
    await db.raw("UPDATE import_job SET status = 'queued', mapping = $2, updated_at = $3 WHERE id = $1",
                 job.id, json.dumps(mapping), now)

    async def enqueue() -> None:
        await jobs.enqueue("run_import", str(job.id), _job_id=f"import:{job.id}")

    db.after_commit(enqueue)


def _rows(kind: str, mapping: dict[str, str], path: Path):
    """(csv line number, {field: value}) for each data row."""
    with path.open(newline="", encoding="utf-8-sig") as source:
        sample = source.read(65536)
        source.seek(0)
        reader = csv.DictReader(source, dialect=_dialect(sample))
        reader.fieldnames = [f.strip() for f in reader.fieldnames or []]
        for row in reader:
            yield reader.line_num, {field: (row.get(column) or "").strip() for field, column in mapping.items()}


async def run(job_id: UUID) -> str:
    """The worker's part: read, map, hand over to ingestion; record progress and the outcome."""
    async with db.tenant_transaction(None):
        org_id = (await db.raw_one("SELECT pacto_import_job_org($1) AS org", job_id))["org"]
    if org_id is None:
        return "missing"
    async with db.tenant_transaction(org_id):
        job = await ImportJob.objects().where(ImportJob.id == job_id).first()
        if job.status not in ("queued", "running"):
            return job.status  # done before (a retried job changes nothing)
        await db.raw("UPDATE import_job SET status = 'running', processed = 0, updated_at = now() WHERE id = $1",
                     job_id)
    mapping, path = _loads(job.mapping), folder() / f"{job.id}.csv"
    rows, lines = [], []
    for line, row in _rows(job.kind, mapping, path):
        rows.append(row)
        lines.append(line)
        if len(rows) % PROGRESS_EVERY == 0:
            async with db.tenant_transaction(org_id):
                await db.raw("UPDATE import_job SET processed = $2, updated_at = now() WHERE id = $1", job_id,
                             len(rows))
    async with db.tenant_transaction(org_id) as tx:
        user = await User.objects().where(User.id == job.created_by).first()
        org = await Organization.objects().where(Organization.id == org_id).first()
        actor = Actor(user=user, org=org)
        view = await get_relationship_for(actor, job.relationship)
        try:
            if job.kind == "orders":
                payload, order_lines = _orders(rows, lines)
                result = await ingest.ingest_orders(actor=actor, view=view, orders=payload)
                lines = order_lines
            elif job.kind == "deliveries":
                result = await ingest.ingest_deliveries(actor=actor, view=view, deliveries=rows, wait=None)
            elif job.kind == "invoices":
                result = await ingest.ingest_invoices(actor=actor, view=view, invoices=rows)
            else:
                result = await ingest.ingest_forecasts(actor=actor, view=view, forecasts=rows)
        except RowErrors as exc:
            await tx.rollback()
            report = [{"line": lines[e["row"] - 1] if 0 < e["row"] <= len(lines) else e["row"],
                       "column": _column(job.kind, mapping, e["field"]), "message": e["message"]}
                      for e in exc.errors]
        else:
            report = None
            await db.raw("UPDATE import_job SET status = 'done', total = $2, processed = $2, result = $3,"
                         " updated_at = now() WHERE id = $1", job_id, len(rows),
                         json.dumps(_loads(job.result) | result))
    if report is not None:
        async with db.tenant_transaction(org_id):
            await db.raw("UPDATE import_job SET status = 'rejected', total = $2, processed = $2, errors = $3,"
                         " updated_at = now() WHERE id = $1", job_id, len(rows), json.dumps(report))
        path.unlink(missing_ok=True)
        return "rejected"
    path.unlink(missing_ok=True)
    return "done"


def _column(kind: str, mapping: dict, field: str) -> str:
    if kind == "orders" and field == "external_id":
        return mapping.get("line_external_id", field)
    if kind == "orders" and field == "lines":
        return mapping.get("order_external_id", field)
    return mapping.get(field, field)


def _orders(rows: list[dict], lines: list[int]) -> tuple[list[dict], list[int]]:
    """Flat CSV rows → orders with lines (in order of first appearance), and the CSV line of each
    ingestion row (ingestion numbers the lines of all orders one after another)."""
    orders: dict[str, dict] = {}
    where: dict[str, list[int]] = {}
    for row, line in zip(rows, lines):
        key = row.get("order_external_id", "")
        order = orders.setdefault(key, {"external_id": key, "ordered_at": row.get("ordered_at", ""), "lines": []})
        order["lines"].append({"external_id": row.get("line_external_id", ""), "item_code": row.get("item_code", ""),
                               "qty_ordered": row.get("qty_ordered", ""), "promised_date": row.get("promised_date", ""),
                               "unit_price": row.get("unit_price", ""), "location": row.get("location", "")})
        where.setdefault(key, []).append(line)
    return list(orders.values()), [line for key in orders for line in where[key]]
