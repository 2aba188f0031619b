"""Bulk ingestion of operational rows: every row validated first (errors name the row and the
field), then written as upserts on the external id that touch only rows whose values changed
(deliveries in chunks, under one savepoint), so a file is taken whole or not at all and sending
it again changes nothing, not even `updated_at`. New rows take their ids from the tables'
default (time-ordered uuidv7). The months touched are marked for the KPI workers."""
from __future__ import annotations

import asyncio
import gc
from contextlib import contextmanager
from datetime import date, datetime, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import asyncpg
from litestar.exceptions import HTTPException

from backend import db
from backend.audit.actions import record
from backend.operations.kpis import mark_for_recompute
from backend.relationships.access import RelationshipView
from backend.web.current import Actor
from backend.web.errors import Forbidden, RowErrors
from backend.web.i18n import gettext as _

MAX_ROWS = 1_000_000
MAX_ERRORS = 200


class Reader:
    """Reads one row's fields, collecting errors instead of stopping at the first."""

    def __init__(self, row: dict, number: int, errors: list[dict], tz: str) -> None:
        self.row, self.index, self.errors, self.tz = row, number, errors, tz

    def fail(self, name: str, message: str) -> None:
        if len(self.errors) < MAX_ERRORS:
            self.errors.append({"row": self.index, "field": name, "message": message})

    def raw(self, name: str) -> str:
        value = self.row.get(name)
        return "" if value is None else str(value).strip()

    def text(self, name: str, required: bool = True, limit: int = 100) -> str:
        value = self.raw(name)
        if required and not value:
            self.fail(name, _("This field is required."))
        elif len(value) > limit:
            self.fail(name, _("Use at most %(n)s characters.", n=limit))
        return value

    def number(self, name: str, required: bool = True, minimum: Decimal = Decimal(0),
               below: Decimal = Decimal(10) ** 13, places: int = 3) -> Decimal | None:
        """A decimal number from `minimum` up to (not including) `below`, rounded half-up to `places`
        decimals as its column stores it: the columns hold 16 digits, 3 of them decimals (amounts
        2, unit prices 6), so a figure too large once rounded is this row's error, not the
        database's."""
        value = self.raw(name)
        if not value:
            if required:
                self.fail(name, _("This field is required."))
            return None
        try:
            number = Decimal(value)
            if not number.is_finite():
                raise InvalidOperation
        except InvalidOperation:
            self.fail(name, _("Enter a number, like 12.5."))
            return None
        if number < minimum:
            self.fail(name, _("Use a value of at least %(n)s.", n=minimum))
            return number
        if number < below:
            number = number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
        if number >= below:
            self.fail(name, _("Use a value below %(n)s.", n=below))
        return number

    def day(self, name: str, required: bool = True) -> date | None:
        value = self.raw(name)
        if not value:
            if required:
                self.fail(name, _("This field is required."))
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            self.fail(name, _("Enter a date as YYYY-MM-DD."))
            return None

    def moment(self, name: str) -> datetime | None:
        """A date-time; without an offset it is read in the relationship's time zone."""
        value = self.raw(name)
        if not value:
            self.fail(name, _("This field is required."))
            return None
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            self.fail(name, _("Enter a date and time as YYYY-MM-DDTHH:MM (ISO 8601)."))
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=ZoneInfo(self.tz))
        return moment.astimezone(timezone.utc)

    def flag(self, name: str) -> bool:
        value = self.raw(name).lower()
        if value in ("", "0", "false", "no", "n"):
            return False
        if value in ("1", "true", "yes", "y"):
            return True
        self.fail(name, _("Use true or false."))
        return False


def _may_ingest(actor: Actor, view: RelationshipView) -> None:
    if not view.can_write:
        raise Forbidden()


def _months(days) -> list[date]:
    return sorted({d.replace(day=1) for d in days if d is not None})


async def _finish(actor: Actor, view: RelationshipView, kind: str, count: int, months: list[date]) -> dict:
    rel = view.relationship.id
    await mark_for_recompute(rel, months)
    await record(f"operations.{kind}_ingested", actor=actor, relationship_id=rel, target_type=kind,
                 target_id=rel, target_label=kind, details={"rows": count, "months": [m.isoformat() for m in months]})
    return {"rows": count, "months": [m.strftime("%Y-%m") for m in months]}


def _check_size(rows: list) -> None:
    if len(rows) > MAX_ROWS:
        raise RowErrors([{"row": MAX_ROWS + 1, "field": "", "message": _("Send at most %(n)s rows at once.",
                                                                         n=MAX_ROWS)}])


def _repeated(first_row: int) -> str:
    return _("The same external id is already in row %(n)s.", n=first_row)


def _unique(values: list[str], name: str, errors: list[dict], offset: int = 1) -> None:
    seen: dict[str, int] = {}
    for index, value in enumerate(values):
        if value and value in seen and len(errors) < MAX_ERRORS:
            errors.append({"row": index + offset, "field": name, "message": _repeated(seen[value] + offset)})
        seen.setdefault(value, index)


def _sent_by_other() -> str:
    return _("The other organization of this relationship sent this row; only it can change it.")


async def _check_owner(table: str, rel: UUID, org: UUID, externals: list[str], numbers: list[int],
                       errors: list[dict], field: str = "external_id") -> None:
    """A row already stored by the other organization is refused, naming the row (`numbers[i]` is
    the number of the row holding `externals[i]`); a row that no organization has sent keeps
    no owner until someone sends it."""
    taken = {r["external_id"] for r in await db.raw_planned(
        f"SELECT external_id FROM {table} WHERE relationship = $1 AND external_id = ANY($2)"  # noqa: S608 (ours)
        " AND source_org <> $3", rel, externals, org)}
    for external, number in zip(externals, numbers, strict=True):
        if external in taken and len(errors) < MAX_ERRORS:
            errors.append({"row": number, "field": field, "message": _sent_by_other()})


async def ingest_orders(*, actor: Actor, view: RelationshipView, orders: list[dict[str, Any]]) -> dict:
    """Orders with their lines. Rows are numbered by line (an order without lines is one row)."""
    _may_ingest(actor, view)
    tz = view.relationship.time_zone
    errors: list[dict] = []
    order_rows, line_rows, number, order_numbers, line_numbers = [], [], 0, [], []
    for order in orders:
        number += 1
        head = Reader(order, number, errors, tz)
        external, ordered_at = head.text("external_id"), head.moment("ordered_at")
        order_rows.append((external, ordered_at))
        order_numbers.append(number)
        lines = order.get("lines") or []
        if not isinstance(lines, list) or not lines:
            head.fail("lines", _("An order needs at least one line."))
            continue
        for index, line in enumerate(lines):
            if index:
                number += 1
            line_numbers.append(number)
            r = Reader(line if isinstance(line, dict) else {}, number, errors, tz)
            line_rows.append((external, r.text("external_id"), r.text("item_code"), r.number("qty_ordered"),
                              r.number("unit_price", required=False, below=Decimal(10) ** 10, places=6),
                              r.day("promised_date"), r.text("location", required=False, limit=200)))
    _check_size(line_rows)
    _unique([o[0] for o in order_rows], "external_id", errors)
    _unique([line[1] for line in line_rows], "external_id", errors)
    rel, org, now = view.relationship.id, actor.org.id, datetime.now(timezone.utc)
    if not errors:
        # one load of a relationship's orders at a time: the next one sees this one's rows, and their owner
        await _take_turn(f"orders:{rel}", None)
        await _check_owner("purchase_order", rel, org, [o[0] for o in order_rows], order_numbers, errors,
                           field="order_external_id")
        await _check_owner("order_line", rel, org, [line[1] for line in line_rows], line_numbers, errors)
    if errors:
        raise RowErrors(errors)
    await db.raw(
        "INSERT INTO purchase_order (relationship, external_id, ordered_at, updated_at, source_org)"
        " SELECT $1, e, o, $4, $5 FROM unnest($2::text[], $3::timestamptz[]) AS t(e, o)"
        " ON CONFLICT (relationship, external_id) DO UPDATE SET ordered_at = EXCLUDED.ordered_at,"
        " updated_at = EXCLUDED.updated_at, source_org = EXCLUDED.source_org"
        " WHERE (purchase_order.ordered_at, purchase_order.source_org)"
        " IS DISTINCT FROM (EXCLUDED.ordered_at, EXCLUDED.source_org)"
        " AND coalesce(purchase_order.source_org, $5) = $5",  # (another's row: checked above, and here)
        rel, [o[0] for o in order_rows], [o[1] for o in order_rows], now, org)
    previous = await db.raw_planned("SELECT promised_date FROM order_line WHERE relationship = $1"
                                    " AND external_id = ANY($2)", rel, [line[1] for line in line_rows])
    await db.raw_planned(
        "INSERT INTO order_line (relationship, purchase_order, external_id, item_code, qty_ordered, unit_price,"
        " promised_date, location, updated_at, source_org)"
        " SELECT $1, o.id, t.e, t.i, t.q, t.p, t.d, t.l, $9, $10"
        " FROM unnest($2::text[], $3::text[], $4::text[], $5::numeric[], $6::numeric[], $7::date[], $8::text[])"
        "   AS t(oe, e, i, q, p, d, l)"
        " JOIN purchase_order o ON o.relationship = $1 AND o.external_id = t.oe"
        " ON CONFLICT (relationship, external_id) DO UPDATE SET purchase_order = EXCLUDED.purchase_order,"
        " item_code = EXCLUDED.item_code, qty_ordered = EXCLUDED.qty_ordered, unit_price = EXCLUDED.unit_price,"
        " promised_date = EXCLUDED.promised_date, location = EXCLUDED.location, updated_at = EXCLUDED.updated_at,"
        " source_org = EXCLUDED.source_org"
        " WHERE (order_line.purchase_order, order_line.item_code, order_line.qty_ordered, order_line.unit_price,"
        " order_line.promised_date, order_line.location, order_line.source_org) IS DISTINCT FROM"
        " (EXCLUDED.purchase_order, EXCLUDED.item_code, EXCLUDED.qty_ordered, EXCLUDED.unit_price,"
        " EXCLUDED.promised_date, EXCLUDED.location, EXCLUDED.source_org)"
        " AND coalesce(order_line.source_org, $10) = $10",
        rel, *[list(column) for column in zip(*line_rows)], now, org) if line_rows else None
    months = _months([line[5] for line in line_rows] + [p["promised_date"] for p in previous])
    return await _finish(actor, view, "orders", len(line_rows), months)


DELIVERY_CHUNK = 50_000  # rows per INSERT: one is written while the next is being read
# rows read between two turns of the event loop. A chunk's INSERT is a few megabytes, and the socket takes
# a few hundred kilobytes at a time: the rest leaves at the loop's turns, and PostgreSQL starts only once
# all of it is in. Every 2,000 rows it idled for most of a chunk (PostgreSQL 60 % busy, a million rows at
# 41,000 rows/s); every 200 rows it starts after a few milliseconds (80-90 %, 52,000 rows/s).
YIELD_EVERY = 200
API_WAIT = "60s"  # how long an API request waits for another ingest of the same relationship


async def ingest_deliveries(*, actor: Actor, view: RelationshipView, deliveries: list[dict[str, Any]],
                            wait: str | None = "api") -> dict:
    """Deliveries of known order lines. The rows are read and written in chunks, each chunk's
    INSERT running in PostgreSQL while the next chunk is read here (the server and this process
    use different cores); the first error stops the writing, the rest is still read so that the
    report names every bad row, and everything written is rolled back (a savepoint), so the
    delivery rows are still taken whole or not at all. One ingest of a relationship's deliveries
    at a time: a second one waits up to `wait` (a PostgreSQL interval; "api": API_WAIT; None: as
    long as it takes), then gets a 409."""
    _may_ingest(actor, view)
    _check_size(deliveries)
    tz, rel, errors = view.relationship.time_zone, view.relationship.id, []
    await _take_turn(f"deliveries:{rel}", wait)
    # the ids are unique within the batch, so a chunk can only meet deliveries stored before it
    # began: when there were none (a first load), no chunk needs to look
    stored_before = (await db.raw_one("SELECT EXISTS (SELECT FROM delivery WHERE relationship = $1) AS any",
                                      rel))["any"]
    wanted = {str(value).strip() for item in deliveries if isinstance(item, dict)
              and (value := item.get("line_external_id")) is not None}
    lines = {row["external_id"]: (row["id"], row["promised_date"]) for row in await db.raw_planned(
        "SELECT id, external_id, promised_date FROM order_line WHERE relationship = $1 AND external_id = ANY($2)",
        rel, list(wanted))}
    seen: dict[str, int] = {}
    promised: set[date] = set()
    now = datetime.now(timezone.utc)
    writing: asyncio.Future | None = None
    await db.raw("SAVEPOINT pacto_ingest")
    try:
        with _collector_relaxed():
            for first in range(0, len(deliveries), DELIVERY_CHUNK):
                # the chunk by column, as the INSERT takes it; quantities as their text (PostgreSQL
                # reads it as exactly; asyncpg encodes a text in half the time of a Decimal)
                chunk: Columns = ([], [], [], [], [])
                externals, line_ids, moments, quantities, rejections = chunk
                for number, item in enumerate(deliveries[first:first + DELIVERY_CHUNK], start=first + 1):
                    if number % YIELD_EVERY == 0:
                        await asyncio.sleep(0)  # the pending INSERT's bytes go out, its answer comes in
                    r = Reader(item if isinstance(item, dict) else {}, number, errors, tz)
                    delivered = r.number("qty_delivered")
                    rejected = r.number("qty_rejected", required=False) or Decimal(0)
                    if delivered is not None and rejected > delivered:
                        r.fail("qty_rejected", _("Cannot exceed the quantity delivered."))
                    external, line_external = r.text("external_id"), r.text("line_external_id")
                    delivered_at = r.moment("delivered_at")
                    if external:
                        if external in seen:
                            r.fail("external_id", _repeated(seen[external]))
                        else:
                            seen[external] = number
                    line = lines.get(line_external)
                    if line is None:
                        if line_external:
                            r.fail("line_external_id", _("No order line with this external id; send the order first."))
                        continue
                    promised.add(line[1])
                    if errors:
                        continue  # nothing more is written; the rest is read for the report
                    externals.append(external)
                    line_ids.append(line[0])
                    moments.append(delivered_at)
                    quantities.append(str(delivered))
                    rejections.append(str(rejected))
                if errors:
                    continue
                if writing is not None:
                    promised.update(await writing)
                writing = asyncio.ensure_future(_write_deliveries(rel, actor.org.id, chunk, now, stored_before,
                                                                  seen))
                await asyncio.sleep(0)  # the INSERT leaves now, before the next chunk is read
            if writing is not None:
                written, writing = writing, None
                if errors:  # nothing is kept: the rows' errors are the answer, not a failed write's
                    await asyncio.gather(written, return_exceptions=True)
                else:
                    promised.update(await written)
        if errors:
            raise RowErrors(errors)
    except BaseException:
        if writing is not None:  # the connection takes one statement at a time: let it finish
            await asyncio.gather(writing, return_exceptions=True)
        await db.raw("ROLLBACK TO SAVEPOINT pacto_ingest")
        raise
    await db.raw("RELEASE SAVEPOINT pacto_ingest")
    return await _finish(actor, view, "deliveries", len(deliveries), _months(promised))


# a chunk of deliveries by column: external ids, order line ids, delivery times (UTC), quantities
# delivered and rejected (as text)
Columns = tuple[list[str], list[UUID], list[datetime], list[str], list[str]]
BULK_GC_THRESHOLD = 200_000  # allocations between two young collections while a load runs (Python's: 700)
_loads = 0
_thresholds: tuple[int, ...] = ()


@contextmanager
def _collector_relaxed():
    """Python's cyclic garbage collector runs less often while bulk loads run (nested and
    concurrent loads share the setting; the last one out puts Python's back). A load allocates
    millions of short-lived objects that reference counting frees; with the usual threshold each
    700 of them start a collection, and the older ones walk the million objects of the parsed
    request: ~3 s of a million-row load. The collector stays on: cycles made meanwhile, by this
    request or another, are still collected."""
    global _loads, _thresholds
    if _loads == 0:
        _thresholds = gc.get_threshold()
        gc.set_threshold(BULK_GC_THRESHOLD, *_thresholds[1:])
    _loads += 1
    try:
        yield
    finally:
        _loads -= 1
        if _loads == 0:
            gc.set_threshold(*_thresholds)


async def _take_turn(key: str, wait: str | None) -> None:
    """Hold `key`'s lock until the transaction ends (so that a chunk's rows not stored yet are
    still not stored when they are inserted), waiting at most `wait` for another ingest's turn."""
    if wait is None:
        await db.raw("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", key)
        return
    before = (await db.raw_one("SELECT current_setting('lock_timeout') AS before,"
                               " set_config('lock_timeout', $1, true)", API_WAIT if wait == "api" else wait))["before"]
    try:
        await db.raw("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", key)
    except asyncpg.LockNotAvailableError:
        raise HTTPException(status_code=409, detail=_(
            "Another load of deliveries into this relationship is still running; send again in a minute.")) from None
    await db.raw("SELECT set_config('lock_timeout', $1, true)", before)


async def _write_deliveries(rel: UUID, org: UUID, chunk: Columns, now: datetime, stored_before: bool,
                            numbers: dict[str, int]) -> set[date]:
    """Write one chunk: the deliveries not stored yet by a plain INSERT (an upsert's speculative
    insertion costs a sixth more), the ones stored before by an UPDATE where something changed.
    Returns the promised dates of the lines those were on before (a delivery sent again may have
    moved to another line, whose month changes too). Safe because ingestion of a relationship's
    deliveries is serialized (ingest_deliveries holds a lock) and the unique index stands behind it.
    A delivery the other organization sent is refused (RowErrors naming its row: `numbers`)."""
    if not chunk[0]:
        return set()
    if not stored_before:
        await _insert_deliveries(rel, org, chunk, now)
        return set()
    stored = await db.raw_planned(
        "SELECT d.external_id, d.source_org, l.promised_date FROM delivery d JOIN order_line l ON l.id = d.order_line"
        " WHERE d.relationship = $1 AND d.external_id = ANY($2)", rel, chunk[0])
    if taken := sorted(numbers[r["external_id"]] for r in stored if r["source_org"] not in (None, org)):
        raise RowErrors([{"row": number, "field": "external_id", "message": _sent_by_other()}
                         for number in taken[:MAX_ERRORS]])
    known = {r["external_id"] for r in stored}
    fresh = chunk
    if known:
        again = [i for i, external in enumerate(chunk[0]) if external in known]
        await db.raw_planned(
            "UPDATE delivery d SET order_line = t.l, delivered_at = t.d, qty_delivered = t.q::numeric,"
            " qty_rejected = t.r::numeric, updated_at = $7, source_org = $8"
            " FROM unnest($2::text[], $3::uuid[], $4::timestamptz[], $5::text[], $6::text[]) AS t(e, l, d, q, r)"
            " WHERE d.relationship = $1 AND d.external_id = t.e"
            " AND (d.order_line, d.delivered_at, d.qty_delivered, d.qty_rejected, d.source_org)"
            " IS DISTINCT FROM (t.l, t.d, t.q::numeric(16, 3), t.r::numeric(16, 3), $8)"  # as stored: rounded
            " AND coalesce(d.source_org, $8) = $8",
            rel, *[[column[i] for i in again] for column in chunk], now, org)
        fresh = tuple([value for value, external in zip(column, chunk[0]) if external not in known]
                      for column in chunk)
    if fresh[0]:
        await _insert_deliveries(rel, org, fresh, now)
    return {r["promised_date"] for r in stored}


async def _insert_deliveries(rel: UUID, org: UUID, chunk: Columns, now: datetime) -> None:
    await db.raw(
        "INSERT INTO delivery (relationship, order_line, external_id, delivered_at, qty_delivered,"
        " qty_rejected, updated_at, source_org)"
        " SELECT $1, t.l, t.e, t.d, t.q::numeric, t.r::numeric, $7, $8"
        " FROM unnest($2::text[], $3::uuid[], $4::timestamptz[], $5::text[], $6::text[])"
        " AS t(e, l, d, q, r)", rel, *chunk, now, org)


async def ingest_invoices(*, actor: Actor, view: RelationshipView, invoices: list[dict[str, Any]]) -> dict:
    _may_ingest(actor, view)
    _check_size(invoices)
    tz, errors, rows = view.relationship.time_zone, [], []
    for number, item in enumerate(invoices, start=1):
        r = Reader(item if isinstance(item, dict) else {}, number, errors, tz)
        rows.append((r.text("external_id"), r.number("amount", below=Decimal(10) ** 14, places=2),
                     r.day("issued_on"), r.day("due_date"), r.day("paid_on", required=False), r.flag("disputed")))
    _unique([row[0] for row in rows], "external_id", errors)
    rel, org = view.relationship.id, actor.org.id
    if not errors:
        await _take_turn(f"invoices:{rel}", None)
        await _check_owner("invoice", rel, org, [row[0] for row in rows], list(range(1, len(rows) + 1)), errors)
    if errors:
        raise RowErrors(errors)
    previous = await db.raw_planned("SELECT issued_on, due_date FROM invoice WHERE relationship = $1"
                                    " AND external_id = ANY($2)", rel, [row[0] for row in rows])
    if rows:
        await db.raw(
            "INSERT INTO invoice (relationship, external_id, amount, issued_on, due_date, paid_on, disputed,"
            " updated_at, source_org) SELECT $1, t.*, $8, $9 FROM unnest($2::text[], $3::numeric[], $4::date[],"
            " $5::date[], $6::date[], $7::boolean[]) AS t"
            " ON CONFLICT (relationship, external_id) DO UPDATE SET amount = EXCLUDED.amount,"
            " issued_on = EXCLUDED.issued_on, due_date = EXCLUDED.due_date, paid_on = EXCLUDED.paid_on,"
            " disputed = EXCLUDED.disputed, updated_at = EXCLUDED.updated_at, source_org = EXCLUDED.source_org"
            " WHERE (invoice.amount, invoice.issued_on, invoice.due_date, invoice.paid_on, invoice.disputed,"
            " invoice.source_org) IS DISTINCT FROM (EXCLUDED.amount, EXCLUDED.issued_on, EXCLUDED.due_date,"
            " EXCLUDED.paid_on, EXCLUDED.disputed, EXCLUDED.source_org)"
            " AND coalesce(invoice.source_org, $9) = $9",
            rel, *[list(column) for column in zip(*rows)], datetime.now(timezone.utc), org)
    days = [r[2] for r in rows] + [r[3] for r in rows] + [p["issued_on"] for p in previous] + [
        p["due_date"] for p in previous]
    return await _finish(actor, view, "invoices", len(rows), _months(days))


async def ingest_forecasts(*, actor: Actor, view: RelationshipView, forecasts: list[dict[str, Any]]) -> dict:
    _may_ingest(actor, view)
    _check_size(forecasts)
    tz, errors, rows = view.relationship.time_zone, [], []
    for number, item in enumerate(forecasts, start=1):
        r = Reader(item if isinstance(item, dict) else {}, number, errors, tz)
        period = r.text("period", limit=7)
        try:
            month = date.fromisoformat(f"{period}-01") if period else None
        except ValueError:
            r.fail("period", _("Enter a month as YYYY-MM."))
            month = None
        rows.append((r.text("external_id"), r.text("item_code"), period, r.number("qty"), month))
    _unique([row[0] for row in rows], "external_id", errors)
    rel, org = view.relationship.id, actor.org.id
    if not errors:
        await _take_turn(f"forecasts:{rel}", None)
        await _check_owner("forecast", rel, org, [row[0] for row in rows], list(range(1, len(rows) + 1)), errors)
    if errors:
        raise RowErrors(errors)
    if rows:
        await db.raw(
            "INSERT INTO forecast (relationship, external_id, item_code, period, qty, updated_at, source_org)"
            " SELECT $1, t.*, $6, $7 FROM unnest($2::text[], $3::text[], $4::text[], $5::numeric[]) AS t"
            " ON CONFLICT (relationship, external_id) DO UPDATE SET item_code = EXCLUDED.item_code,"
            " period = EXCLUDED.period, qty = EXCLUDED.qty, updated_at = EXCLUDED.updated_at,"
            " source_org = EXCLUDED.source_org"
            " WHERE (forecast.item_code, forecast.period, forecast.qty, forecast.source_org)"
            " IS DISTINCT FROM (EXCLUDED.item_code, EXCLUDED.period, EXCLUDED.qty, EXCLUDED.source_org)"
            " AND coalesce(forecast.source_org, $7) = $7",
            rel, [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows],
            [r[3] for r in rows], datetime.now(timezone.utc), org)
    return await _finish(actor, view, "forecasts", len(rows), _months([r[4] for r in rows]))


async def recompute_dirty(relationship_id: UUID, now: datetime | None = None) -> int:
    """Recompute the months marked since the last run (the worker's part), in the current transaction."""
    from backend.operations.kpis import recompute

    # one recompute of a relationship at a time; the next one finds what is left
    await db.raw("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", f"kpi:{relationship_id}")
    months = [r["period_start"] for r in await db.raw(
        "DELETE FROM kpi_dirty WHERE relationship = $1 RETURNING period_start", relationship_id)]
    if not months:
        return 0
    from backend.operations.proposals import propose_for

    written = await recompute(relationship_id, months, now)
    await propose_for(relationship_id, months, now)
    return written

