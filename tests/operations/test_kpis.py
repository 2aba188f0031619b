"""KPIs computed by hand: split deliveries, over-delivery, a delivery after local midnight, a
rejected quantity, a line never delivered, an empty period; ingestion is idempotent and the real
worker recomputes what an ingest touched."""
import asyncio
import csv
import gc
import io
import re
from decimal import Decimal

import asyncpg
import pytest
from openpyxl import load_workbook

from tests.disputes.conftest import sign

ANA, BRAM = "ana@lacteos.example", "bram@envases.example"
KPIS = [
    {"id": "k1", "metric": "otif", "measured_party": "supplier", "target": "96", "warning": "93", "period": "month",
     "weight": "40", "early_tolerance_days": 1, "late_tolerance_days": 0, "quantity_tolerance_pct": "2"},
    {"id": "k2", "metric": "on_time_delivery", "measured_party": "supplier", "target": "95", "warning": "50",
     "period": "month", "weight": "20"},
    {"id": "k3", "metric": "average_lead_time_days", "measured_party": "supplier", "target": "7", "warning": "10",
     "period": "month", "weight": "20"},
    {"id": "k4", "metric": "rejection_ppm", "measured_party": "supplier", "target": "500", "warning": "1000",
     "period": "quarter", "weight": "20"},
    {"id": "k5", "metric": "payment_on_time", "measured_party": "client", "target": "95", "warning": "90",
     "period": "month", "weight": "50"},
    {"id": "k6", "metric": "forecast_accuracy", "measured_party": "client", "target": "80", "warning": "70",
     "period": "month", "weight": "50"},
]
ORDERS = {"orders": [
    {"external_id": "PO-1", "ordered_at": "2026-11-01T08:00:00Z", "lines": [
        {"external_id": "PO-1/1", "item_code": "CUP", "qty_ordered": "10", "promised_date": "2026-11-10"},
        {"external_id": "PO-1/2", "item_code": "CUP", "qty_ordered": "10", "promised_date": "2026-11-10"},
        {"external_id": "PO-1/3", "item_code": "CUP", "qty_ordered": "10", "promised_date": "2026-11-12"}]},
    {"external_id": "PO-2", "ordered_at": "2026-11-02T08:00:00Z", "lines": [
        {"external_id": "PO-2/1", "item_code": "LID", "qty_ordered": "100", "promised_date": "2026-11-20"},
        {"external_id": "PO-2/2", "item_code": "LID", "qty_ordered": "50", "promised_date": "2026-11-25"}]}]}
DELIVERIES = {"deliveries": [
    # ordered 10, received 6 and then 4 before the date: on time and in full
    {"external_id": "DN-1", "line_external_id": "PO-1/1", "delivered_at": "2026-11-08T10:00:00Z", "qty_delivered": "6"},
    {"external_id": "DN-2", "line_external_id": "PO-1/1", "delivered_at": "2026-11-09T10:00:00Z", "qty_delivered": "4"},
    # over-delivery: in full, never above 100 % of the units
    {"external_id": "DN-3", "line_external_id": "PO-1/2", "delivered_at": "2026-11-10T10:00:00Z",
     "qty_delivered": "12"},
    # 23:30 UTC on the 12th is 00:30 on the 13th in Madrid: late
    {"external_id": "DN-4", "line_external_id": "PO-1/3", "delivered_at": "2026-11-12T23:30:00Z",
     "qty_delivered": "10"},
    # 5 of 100 rejected: 95 accepted < 98 needed, on time by its (last) delivery, never completed
    {"external_id": "DN-5", "line_external_id": "PO-2/1", "delivered_at": "2026-11-20T09:00:00Z",
     "qty_delivered": "100", "qty_rejected": "5"}]}
INVOICES = {"invoices": [
    {"external_id": "INV-1", "amount": "1000", "issued_on": "2026-11-05", "due_date": "2026-11-20",
     "paid_on": "2026-11-19"},
    {"external_id": "INV-2", "amount": "1000", "issued_on": "2026-11-06", "due_date": "2026-11-25",
     "paid_on": "2026-11-27"},
    {"external_id": "INV-3", "amount": "1000", "issued_on": "2026-11-10", "due_date": "2026-12-10",
     "disputed": True}]}
FORECASTS = {"forecasts": [
    {"external_id": "F-1", "item_code": "CUP", "period": "2026-11", "qty": "150"},
    {"external_id": "F-2", "item_code": "LID", "period": "2026-11", "qty": "100"}]}


async def values(owner, rel, kind="month", start="2026-11-01"):
    rows = await owner.fetch("SELECT metric, value, numerator, denominator FROM kpi_value WHERE relationship = $1"
                             " AND period_kind = $2 AND period_start = $3::text::date", rel, kind, start)
    return {r["metric"]: r for r in rows}


async def ingest_all(ana, rel):
    for path, body in (("orders", ORDERS), ("deliveries", DELIVERIES), ("invoices", INVOICES),
                       ("forecasts", FORECASTS)):
        response = await ana.request("POST", f"/api/v1/relationships/{rel}/{path}", json=body)
        assert response.status_code == 200, response.text


async def wait_for(owner, rel, metrics, expected_lines=None):
    """Until the workers took every marked month (the mark is cleared in the recompute's transaction)."""
    for _ in range(200):
        got = await values(owner, rel)
        if not await owner.fetchval("SELECT count(*) FROM kpi_dirty") and set(metrics) <= set(got):
            return got
        await asyncio.sleep(0.05)
    raise AssertionError(f"not all of {metrics} computed: {await values(owner, rel)}")


async def test_kpis_by_hand_recomputed_by_the_worker(app, demo, owner, browser, worker):
    rel = demo["relationships"]["Yoghurt cups and lids"]
    await sign(owner, rel, {"kpis": KPIS})
    ana = await browser(ANA)
    await ingest_all(ana, rel)
    got = await wait_for(owner, rel, ["otif", "invoice_accuracy", "payment_on_time", "forecast_accuracy"],
                         Decimal(5))
    expected = {
        "on_time_delivery": (3, 5, "60"), "in_full": (3, 5, "60"), "otif": (2, 5, "40"),
        "unit_fill_rate": (125, 180, "69.4444"), "order_fill_rate": (1, 2, "50"), "perfect_order": (0, 2, "0"),
        "invoice_accuracy": (2, 3, "66.6667"), "payment_on_time": (1, 2, "50"),
        "forecast_accuracy": (170, 180, "5.5556"),
    }
    for metric, (numerator, denominator, value) in expected.items():
        row = got[metric]
        assert (row["numerator"], row["denominator"], row["value"]) == (
            Decimal(numerator), Decimal(denominator), Decimal(value)), metric
    # lead time: (8 d 2 h + 9 d 2 h + 11 d 15 h 30 min) / 3 completed lines
    assert got["average_lead_time_days"]["value"] == Decimal("9.6042")
    assert got["rejection_ppm"]["value"] == Decimal("37878.7879")  # 5 / 132 delivered
    quarter = await values(owner, rel, "quarter", "2026-10-01")
    assert quarter["otif"]["value"] == Decimal(40) and quarter["otif"]["denominator"] == 5
    # December has no line: no data, neither 0 % nor 100 %
    assert await values(owner, rel, "month", "2026-12-01") == {} or "otif" not in await values(
        owner, rel, "month", "2026-12-01")

    # sending everything again changes nothing
    counts = await owner.fetchrow("SELECT (SELECT count(*) FROM order_line) l, (SELECT count(*) FROM delivery) d,"
                                  " (SELECT count(*) FROM invoice) i, (SELECT count(*) FROM forecast) f")
    await ingest_all(ana, rel)
    assert await owner.fetchrow("SELECT (SELECT count(*) FROM order_line) l, (SELECT count(*) FROM delivery) d,"
                                " (SELECT count(*) FROM invoice) i, (SELECT count(*) FROM forecast) f") == counts
    # a correction: the late line's delivery was in fact on the 12th at 20:00 local time
    fixed = {"deliveries": [DELIVERIES["deliveries"][3] | {"delivered_at": "2026-11-12T20:00:00"}]}
    assert (await ana.request("POST", f"/api/v1/relationships/{rel}/deliveries", json=fixed)).status_code == 200
    await wait_for(owner, rel, ["otif"])
    assert (await values(owner, rel))["otif"]["value"] == Decimal(60)

    # both sides read the same numbers on the scorecard, and each can be explained
    bram = await browser(BRAM)
    for b in (ana, bram):
        page = await b.get(f"/relationships/{rel}/scorecard?period=2026-11")
        assert page.status_code == 200 and 'id="kpi-otif"' in page.text and "60.00 %" in page.text
        # the trend: one period with data, the twelfth, drawn at the bottom right of its box
        otif = page.text.split('id="kpi-otif"')[1].split("</article>")[0]
        assert '<polyline fill="none" stroke="currentColor" stroke-width="2" points="230,52.0"/>' in otif
        assert '<circle cx="230" cy="52.0" r="2.5"><title>November 2026: 60.00 %</title></circle>' in otif
    client_page = await ana.get(f"/relationships/{rel}/scorecard?period=2026-11&party=client")
    assert "50.00 %" in client_page.text and "5.56 %" in client_page.text
    explained = await ana.get(f"/relationships/{rel}/scorecard/explain?metric=otif&kind=month&start=2026-11-01"
                              "&only=not_otif")
    assert explained.status_code == 200
    assert "PO-2/1" in explained.text and "PO-2/2" in explained.text and "PO-1/1" not in explained.text
    assert "no delivery" in explained.text
    exported = await bram.get(f"/relationships/{rel}/scorecard/export?period=2026-11&format=csv")
    rows = {r["metric"]: r for r in csv.DictReader(io.StringIO(exported.text))}
    assert (rows["otif"]["value"], rows["otif"]["numerator"], rows["otif"]["denominator"], rows["otif"]["status"]) == (
        "60.0000", "3.0000", "5.0000", "red")
    assert rows["rejection_ppm"]["period_kind"] == "quarter" and "composite_score" in rows
    xlsx = await ana.get(f"/relationships/{rel}/scorecard/export?period=2026-11&format=xlsx&party=client")
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert [c.value for c in sheet[1]][:5] == ["metric", "measured_party", "period_kind", "period_start", "value"]
    assert {row[0].value: row[4].value for row in sheet.iter_rows(min_row=2)}["payment_on_time"] == 50


async def test_a_bad_batch_is_rejected_whole_naming_rows_and_fields(app, demo, owner, browser):
    rel = demo["relationships"]["Yoghurt cups and lids"]
    ana = await browser(ANA)
    bad = {"orders": [
        {"external_id": "PO-9", "ordered_at": "2026-11-01T08:00:00Z", "lines": [
            {"external_id": "PO-9/1", "item_code": "CUP", "qty_ordered": "10", "promised_date": "2026-11-10"},
            {"external_id": "PO-9/2", "item_code": "", "qty_ordered": "ten", "promised_date": "2026-13-01"}]},
        {"external_id": "PO-10", "ordered_at": "yesterday", "lines": [
            {"external_id": "PO-9/1", "item_code": "CUP", "qty_ordered": "-1", "promised_date": "2026-11-10"}]}]}
    response = await ana.request("POST", f"/api/v1/relationships/{rel}/orders", json=bad)
    assert response.status_code == 422
    errors = {(e["row"], e["field"]) for e in response.json()["errors"]}
    assert errors == {(2, "item_code"), (2, "qty_ordered"), (2, "promised_date"), (3, "ordered_at"),
                      (3, "qty_ordered"), (3, "external_id")}
    assert "2 rows were rejected; nothing was saved." in response.json()["detail"]
    assert await owner.fetchval("SELECT count(*) FROM order_line") == 0
    assert await owner.fetchval("SELECT count(*) FROM purchase_order") == 0
    unknown = await ana.request("POST", f"/api/v1/relationships/{rel}/deliveries", json={"deliveries": [
        {"external_id": "DN-1", "line_external_id": "nope", "delivered_at": "2026-11-08T10:00:00Z",
         "qty_delivered": "6", "qty_rejected": "7"}]})
    assert unknown.status_code == 422
    assert {(e["row"], e["field"]) for e in unknown.json()["errors"]} == {(1, "line_external_id"),
                                                                        (1, "qty_rejected")}
    # a viewer cannot send data
    carlos = await browser("carlos@lacteos.example")
    assert (await carlos.request("POST", f"/api/v1/relationships/{rel}/forecasts",
                                 json={"forecasts": []})).status_code == 403


async def test_deliveries_written_in_chunks_are_still_taken_whole(app, demo, owner, browser, monkeypatch):
    """Deliveries are written a chunk at a time while the next chunk is read: an error in a later
    chunk still leaves nothing saved, and a delivery sent again onto another line marks the month
    of the line it left as well as the new one's, whichever chunk it is in."""
    from backend.operations import ingest

    monkeypatch.setattr(ingest, "DELIVERY_CHUNK", 2)
    rel = demo["relationships"]["Yoghurt cups and lids"]
    ana = await browser(ANA)
    december = {"orders": [{"external_id": "PO-3", "ordered_at": "2026-11-03T08:00:00Z", "lines": [
        {"external_id": "PO-3/1", "item_code": "CUP", "qty_ordered": "5", "promised_date": "2026-12-05"}]}]}
    for body in (ORDERS, december):
        assert (await ana.request("POST", f"/api/v1/relationships/{rel}/orders", json=body)).status_code == 200
    rows = DELIVERIES["deliveries"]
    # rows 1-4 are two good chunks, written before row 5 is read; row 5 repeats row 2's id
    bad = await ana.request("POST", f"/api/v1/relationships/{rel}/deliveries",
                            json={"deliveries": rows[:4] + [rows[4] | {"external_id": "DN-2"}]})
    assert bad.status_code == 422, bad.text
    assert bad.json()["errors"] == [{"row": 5, "field": "external_id",
                                     "message": "The same external id is already in row 2."}]
    assert await owner.fetchval("SELECT count(*) FROM delivery") == 0
    moved = {"external_id": "DN-9", "line_external_id": "PO-3/1", "delivered_at": "2026-12-04T10:00:00Z",
             "qty_delivered": "5"}
    first = await ana.request("POST", f"/api/v1/relationships/{rel}/deliveries", json={"deliveries": [moved]})
    assert first.json() == {"rows": 1, "months": ["2026-12"]}
    again = await ana.request("POST", f"/api/v1/relationships/{rel}/deliveries", json={"deliveries": rows[:3] + [
        moved | {"line_external_id": "PO-1/3"}] + rows[3:]})
    assert again.status_code == 200, again.text
    assert again.json() == {"rows": 6, "months": ["2026-11", "2026-12"]}  # DN-9 left December's line
    stored = await owner.fetch("SELECT d.external_id, l.external_id AS line FROM delivery d"
                               " JOIN order_line l ON l.id = d.order_line ORDER BY d.external_id")
    assert [(r["external_id"], r["line"]) for r in stored] == [
        ("DN-1", "PO-1/1"), ("DN-2", "PO-1/1"), ("DN-3", "PO-1/2"), ("DN-4", "PO-1/3"), ("DN-5", "PO-2/1"),
        ("DN-9", "PO-1/3")]
    # the same batch again changes nothing, not even the rows' update time; one changed row changes
    before = {r["external_id"]: r["updated_at"] for r in await owner.fetch("SELECT external_id, updated_at FROM delivery")}
    batch = rows[:3] + [moved | {"line_external_id": "PO-1/3"}] + rows[3:]
    batch[0] = batch[0] | {"qty_delivered": "6.0004"}  # stored as 6.000, as before: not a change
    assert (await ana.request("POST", f"/api/v1/relationships/{rel}/deliveries",
                              json={"deliveries": batch})).json() == {"rows": 6, "months": ["2026-11"]}
    batch[2] = batch[2] | {"qty_delivered": "11"}
    assert (await ana.request("POST", f"/api/v1/relationships/{rel}/deliveries",
                              json={"deliveries": batch})).status_code == 200
    after = await owner.fetch("SELECT external_id, updated_at, qty_delivered FROM delivery ORDER BY external_id")
    assert [r["external_id"] for r in after if r["updated_at"] != before[r["external_id"]]] == ["DN-3"]
    assert [r["qty_delivered"] for r in after] == [6, 4, 11, 10, 100, 5]


async def test_the_same_deliveries_sent_twice_at_once_are_stored_once(app, demo, owner, browser):
    """Two ingests of one relationship's deliveries take turns: the second finds the first's rows
    and updates them instead of failing on the unique external id (two sessions of one organization:
    the other organization may not change these rows, test_operations_rows_belong_to_who_sent_them)."""
    rel = demo["relationships"]["Yoghurt cups and lids"]
    ana, ana_elsewhere = await browser(ANA), await browser(ANA)
    assert (await ana.request("POST", f"/api/v1/relationships/{rel}/orders", json=ORDERS)).status_code == 200
    answers = await asyncio.gather(*(who.request("POST", f"/api/v1/relationships/{rel}/deliveries", json=DELIVERIES)
                                     for who in (ana, ana_elsewhere)))
    assert [answer.status_code for answer in answers] == [200, 200], [answer.text for answer in answers]
    assert await owner.fetchval("SELECT count(*) FROM delivery WHERE relationship = $1", rel) == 5


async def test_a_second_load_waits_its_turn_then_gives_up_clearly(app, demo, owner, browser, monkeypatch, database):
    """While another load of the relationship's deliveries holds its turn, an API load waits
    (here 0.2 s), then answers 409 saying so and keeps nothing; once the turn is free it lands."""
    from backend.operations import ingest

    monkeypatch.setattr(ingest, "API_WAIT", "200ms")
    rel = demo["relationships"]["Yoghurt cups and lids"]
    ana = await browser(ANA)
    assert (await ana.request("POST", f"/api/v1/relationships/{rel}/orders", json=ORDERS)).status_code == 200
    other = await asyncpg.connect(database.admin_url)
    try:
        await other.execute("SELECT pg_advisory_lock(hashtextextended($1, 0))", f"deliveries:{rel}")
        busy = await ana.request("POST", f"/api/v1/relationships/{rel}/deliveries", json=DELIVERIES)
        assert busy.status_code == 409, busy.text
        assert busy.json()["detail"] == ("Another load of deliveries into this relationship is still running;"
                                         " send again in a minute.")
        assert await owner.fetchval("SELECT count(*) FROM delivery") == 0
    finally:
        await other.close()
    assert (await ana.request("POST", f"/api/v1/relationships/{rel}/deliveries", json=DELIVERIES)).status_code == 200
    assert await owner.fetchval("SELECT count(*) FROM delivery") == 5


async def test_a_figure_too_large_for_its_column_is_the_rows_error(app, demo, owner, browser):
    rel = demo["relationships"]["Yoghurt cups and lids"]
    ana = await browser(ANA)
    assert (await ana.request("POST", f"/api/v1/relationships/{rel}/orders", json=ORDERS)).status_code == 200
    rows = [dict(row) for row in DELIVERIES["deliveries"]]
    rows[1]["qty_delivered"] = "10000000000000"
    rows[2]["qty_delivered"] = "9999999999999.9995"  # below the bound, but not once rounded as stored
    answer = await ana.request("POST", f"/api/v1/relationships/{rel}/deliveries", json={"deliveries": rows})
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"] == [
        {"row": 2, "field": "qty_delivered", "message": "Use a value below 10000000000000."},
        {"row": 3, "field": "qty_delivered", "message": "Use a value below 10000000000000."}]
    big = {"invoices": [{"external_id": "INV-9", "amount": "99999999999999.995", "issued_on": "2026-11-05",
                         "due_date": "2026-11-20"}]}
    answer = await ana.request("POST", f"/api/v1/relationships/{rel}/invoices", json=big)
    assert [(e["row"], e["field"]) for e in answer.json()["errors"]] == [(1, "amount")]
    assert await owner.fetchval("SELECT count(*) FROM delivery") + await owner.fetchval(
        "SELECT count(*) FROM invoice") == 0
    # a figure smaller than PostgreSQL's numeric can hold is stored as it rounds: 0; halves go up
    rows = [dict(row) for row in DELIVERIES["deliveries"]]
    rows[0]["qty_rejected"], rows[1]["qty_delivered"] = "1E-16384", "3.9995"
    answer = await ana.request("POST", f"/api/v1/relationships/{rel}/deliveries", json={"deliveries": rows})
    assert answer.status_code == 200, answer.text
    assert await owner.fetchval("SELECT qty_rejected FROM delivery WHERE external_id = 'DN-1'") == Decimal("0.000")
    assert await owner.fetchval("SELECT qty_delivered FROM delivery WHERE external_id = 'DN-2'") == Decimal("4.000")


async def test_a_delivery_cannot_name_another_relationships_line(app, demo, owner, browser):
    """The database itself refuses a delivery whose relationship is not its order line's."""
    rel = demo["relationships"]["Yoghurt cups and lids"]
    other = demo["relationships"]["Maintenance spare parts"]
    ana = await browser(ANA)
    assert (await ana.request("POST", f"/api/v1/relationships/{rel}/orders", json=ORDERS)).status_code == 200
    line = await owner.fetchval("SELECT id FROM order_line WHERE relationship = $1 AND external_id = 'PO-1/1'", rel)
    insert = ("INSERT INTO delivery (id, relationship, order_line, external_id, delivered_at, qty_delivered,"
              " updated_at) VALUES (gen_random_uuid(), $1, $2, 'DN-X', now(), 1, now())")
    with pytest.raises(asyncpg.ForeignKeyViolationError):
        await owner.execute(insert, other, line)
    await owner.execute(insert, rel, line)
    assert await owner.fetchval("SELECT relationship FROM delivery WHERE external_id = 'DN-X'") == rel


async def test_sending_everything_again_changes_nothing_but_what_changed(app, demo, owner, browser):
    rel = demo["relationships"]["Yoghurt cups and lids"]
    ana = await browser(ANA)
    await ingest_all(ana, rel)
    tables = ("purchase_order", "order_line", "delivery", "invoice", "forecast")

    async def stamps():
        return {(table, row["external_id"]): row["updated_at"] for table in tables
                for row in await owner.fetch(f"SELECT external_id, updated_at FROM {table}")}

    before = await stamps()
    await ingest_all(ana, rel)
    assert await stamps() == before
    changed = {"invoices": [dict(INVOICES["invoices"][1], paid_on="2026-11-24")]}
    assert (await ana.request("POST", f"/api/v1/relationships/{rel}/invoices", json=changed)).status_code == 200
    after = await stamps()
    assert [key for key in after if after[key] != before[key]] == [("invoice", "INV-2")]


async def test_a_line_keeps_its_deliveries_as_a_foreign_key_would(app, demo, owner, browser, database):
    """The statement-level check of a delivery's line does what the foreign key did: it locks the
    lines a load names until the load ends, deleting a line deletes its deliveries, a line whose key
    changes takes them along, and a TRUNCATE cannot leave them without their lines."""
    rel = demo["relationships"]["Yoghurt cups and lids"]
    ana = await browser(ANA)
    assert (await ana.request("POST", f"/api/v1/relationships/{rel}/orders", json=ORDERS)).status_code == 200
    assert (await ana.request("POST", f"/api/v1/relationships/{rel}/deliveries", json=DELIVERIES)).status_code == 200
    # ids in time order, made by the table
    assert await owner.fetchval("SELECT bool_and(uuid_extract_version(id) = 7) FROM delivery")
    line = await owner.fetchval("SELECT id FROM order_line WHERE relationship = $1 AND external_id = 'PO-1/3'", rel)

    # an unfinished load holds its lines: a delete of one waits for it
    loading, deleting = await asyncpg.connect(database.admin_url), await asyncpg.connect(database.admin_url)
    try:
        async with loading.transaction():
            await loading.execute("INSERT INTO delivery (relationship, order_line, external_id, delivered_at,"
                                  " qty_delivered, updated_at) VALUES ($1, $2, 'DN-9', now(), 1, now())", rel, line)
            await deleting.execute("SET lock_timeout = '200ms'")
            with pytest.raises(asyncpg.LockNotAvailableError):
                await deleting.execute("DELETE FROM order_line WHERE id = $1", line)
        assert await owner.fetchval("SELECT count(*) FROM delivery WHERE order_line = $1", line) == 2
        await deleting.execute("DELETE FROM order_line WHERE id = $1", line)
    finally:
        await loading.close()
        await deleting.close()
    assert await owner.fetchval("SELECT count(*) FROM delivery WHERE order_line = $1", line) == 0
    assert await owner.fetchval("SELECT count(*) FROM delivery") == 4

    moved = await owner.fetchval("SELECT id FROM order_line WHERE relationship = $1 AND external_id = 'PO-1/1'", rel)
    new_id = await owner.fetchval("UPDATE order_line SET id = gen_random_uuid() WHERE id = $1 RETURNING id", moved)
    assert sorted(await owner.fetch("SELECT external_id FROM delivery WHERE order_line = $1", new_id)) == [
        ("DN-1",), ("DN-2",)]

    with pytest.raises(asyncpg.ForeignKeyViolationError):
        await owner.execute("UPDATE delivery SET order_line = $1 WHERE external_id = 'DN-1'", moved)
    # a snapshot older than the statement could miss a delivery committed since: refused
    for isolation in ("repeatable_read", "serializable"):
        with pytest.raises(asyncpg.ObjectNotInPrerequisiteStateError, match="READ COMMITTED only"):
            async with owner.transaction(isolation=isolation):
                await owner.execute("DELETE FROM order_line WHERE id = $1", new_id)
        async with owner.transaction(isolation=isolation):  # a delete of nothing is harmless
            await owner.execute("DELETE FROM order_line WHERE id = $1", moved)
    with pytest.raises(asyncpg.ForeignKeyViolationError, match="delivery_line_of_relationship"):
        await owner.execute("TRUNCATE order_line CASCADE")
    assert await owner.fetchval("SELECT count(*) FROM order_line WHERE relationship = $1", rel) == 4


def test_bulk_loads_relax_the_cyclic_collector_and_give_its_setting_back():
    from backend.operations.ingest import BULK_GC_THRESHOLD, _collector_relaxed

    before = gc.get_threshold()
    with _collector_relaxed():
        assert gc.isenabled() and gc.get_threshold() == (BULK_GC_THRESHOLD, *before[1:])
        with _collector_relaxed():  # a second load at the same time
            assert gc.get_threshold()[0] == BULK_GC_THRESHOLD
        assert gc.get_threshold()[0] == BULK_GC_THRESHOLD  # the first is still running
    assert gc.get_threshold() == before
    with pytest.raises(RuntimeError), _collector_relaxed():  # a load that fails
        raise RuntimeError
    assert gc.get_threshold() == before


async def test_a_line_left_out_by_an_agreed_outcome_leaves_both_terms(app, demo, owner, browser, worker):
    rel = demo["relationships"]["Yoghurt cups and lids"]
    await sign(owner, rel, {"kpis": KPIS})
    ana, bram = await browser(ANA), await browser(BRAM)
    await ingest_all(ana, rel)
    await wait_for(owner, rel, ["otif"], Decimal(5))
    logged = await ana.request("POST", f"/api/v1/relationships/{rel}/deviations", json={
        "type": "late_delivery", "occurred_at": "2026-11-13T00:30:00", "description": "Late.",
        "subject_kind": "order_line", "subject_ref": "PO-1/3"})
    deviation = logged.json()["id"]

    async def act(who, action, version, **extra):
        response = await who.request("POST", f"/api/v1/deviations/{deviation}/actions",
                                     json={"action": action, "version": version} | extra)
        assert response.status_code == 200, response.text

    await act(bram, "contest", 1, note="Our truck waited at the closed gate from 23:00.")
    await act(ana, "propose_settlement", 2, amount="0", note="No penalty.",
              exclusion_reason="The gate was closed: the delay was ours.")
    assert await owner.fetchval("SELECT kpi_exclusion FROM deviation") == ""  # not agreed yet
    await act(bram, "accept_settlement", 3)
    for _ in range(200):
        got = await values(owner, rel)
        if got["otif"]["denominator"] == 4 and not await owner.fetchval("SELECT count(*) FROM kpi_dirty"):
            break
        await asyncio.sleep(0.05)
    assert (got["otif"]["numerator"], got["otif"]["denominator"]) == (2, 4)
    assert got["on_time_delivery"]["value"] == Decimal(75)  # 3 of the 4 remaining lines
    page = await bram.get(f"/relationships/{rel}/scorecard/explain?metric=otif&kind=month&start=2026-11-01")
    assert "PO-1/3: The gate was closed: the delay was ours." in page.text
    # an exclusion is only for a deviation about an order line
    other = await ana.request("POST", f"/api/v1/relationships/{rel}/deviations", json={
        "type": "other", "occurred_at": "2026-11-13T10:00:00", "description": "x"})
    other_id = other.json()["id"]
    await bram.request("POST", f"/api/v1/deviations/{other_id}/actions",
                       json={"action": "contest", "version": 1, "note": "No."})
    refused = await ana.request("POST", f"/api/v1/deviations/{other_id}/actions", json={
        "action": "propose_settlement", "version": 2, "amount": "0", "exclusion_reason": "x"})
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "exclusion_reason"


async def test_closed_periods_are_frozen_until_an_audited_reopen(app, demo, owner, browser, worker, servers,
                                                                  database):
    from workers.kpis import reconcile_kpis

    rel = demo["relationships"]["Yoghurt cups and lids"]
    await sign(owner, rel, {"kpis": KPIS})
    ana, carlos = await browser(ANA), await browser("carlos@lacteos.example")
    await ingest_all(ana, rel)
    await wait_for(owner, rel, ["otif"], Decimal(5))
    # the nightly job of 15 December freezes November (ended more than 10 days before)
    await reconcile_kpis({}, "2026-12-15T02:15:00+00:00")
    assert await owner.fetchval("SELECT count(*) FROM kpi_value WHERE period_kind = 'month'"
                                " AND period_start = '2026-11-01' AND frozen_at IS NULL") == 0
    # late data does not move the snapshot
    late = {"deliveries": [{"external_id": "DN-9", "line_external_id": "PO-2/2", "delivered_at": "2026-11-25T09:00:00Z",
                            "qty_delivered": "50"}]}
    assert (await ana.request("POST", f"/api/v1/relationships/{rel}/deliveries", json=late)).status_code == 200
    await wait_for(owner, rel, ["otif"])
    assert (await values(owner, rel))["otif"]["numerator"] == 2
    page = await ana.get(f"/relationships/{rel}/scorecard?period=2026-11")
    assert "Closed period: snapshot of" in page.text and "Reopen this period" in page.text
    assert "Reopen this period" not in (await carlos.get(f"/relationships/{rel}/scorecard?period=2026-11")).text
    # only an admin reopens, saying why; the period is measured again
    assert (await carlos.post(f"/relationships/{rel}/scorecard/reopen",
                              {"kind": "month", "start": "2026-11-01", "reason": "x"})).status_code == 403
    # a refusal comes back on the page the form was on (the client's KPIs of November), open on its tile
    no_reason = await ana.post(f"/relationships/{rel}/scorecard/reopen", {"kind": "month", "start": "2026-11-01",
                                                                          "party": "client", "period": "2026-11",
                                                                          "tile": "k5"})
    assert no_reason.status_code == 422 and "Say why the period is reopened." in no_reason.text
    assert "Scorecard of the client, November 2026" in no_reason.text
    tile = no_reason.text.split('id="kpi-payment_on_time"')[1].split("</article>")[0]
    assert "<details open>" in tile and 'aria-invalid="true"' in tile
    assert no_reason.text.count("Say why the period is reopened.") == 1  # on that tile only
    far = await ana.post(f"/relationships/{rel}/scorecard/reopen", {"kind": "month", "start": "9999-12-01",
                                                                    "reason": "x"})
    assert far.status_code == 422 and "Choose a period." in far.text
    assert (await ana.get(f"/relationships/{rel}/scorecard?period=9999-12")).status_code == 200  # this month
    reopened = await ana.post(f"/relationships/{rel}/scorecard/reopen",
                              {"kind": "month", "start": "2026-11-01", "reason": "Delivery note DN-9 arrived late.",
                               "party": "client", "period": "2026-11"})
    assert reopened.status_code == 302
    assert reopened.headers["location"].endswith("/scorecard?party=client&period=2026-11&reopened=month")
    assert "Period reopened." in (await ana.get(reopened.headers["location"])).text
    # from a page grown stale (the period is open now), the answer says so at the top of the page
    stale = await ana.post(f"/relationships/{rel}/scorecard/reopen", {
        "kind": "month", "start": "2026-11-01", "reason": "again", "party": "supplier", "period": "2026-11"})
    assert stale.status_code == 422 and 'id="period-error">This period is not closed.<' in stale.text
    assert f'href="/relationships/{rel}/scorecard?party=supplier&amp;period=2026-10"' in stale.text  # not ?…
    await wait_for(owner, rel, ["otif"])
    assert (await values(owner, rel))["otif"]["numerator"] == 3  # PO-2/2 now on time and in full
    audit = await owner.fetchrow("SELECT details FROM audit_entry WHERE action = 'scorecard.reopened'")
    assert "Delivery note DN-9 arrived late." in audit["details"]


async def test_the_scorecard_measures_against_the_version_in_force_in_its_month(app, demo, owner, browser):
    rel = demo["relationships"]["Yoghurt cups and lids"]
    ana = await browser(ANA)
    page = await ana.get(f"/relationships/{rel}/scorecard?period=2026-05")
    assert page.status_code == 200 and "No agreement version is in force" in page.text
    await sign(owner, rel, {"kpis": [KPIS[0]]}, number=1, effective="2026-03-01")
    await sign(owner, rel, {"kpis": [KPIS[1], KPIS[5]]}, number=2, effective="2026-09-01")
    await sign(owner, rel, {"kpis": [KPIS[2]]}, number=3, effective="2099-01-01")  # signed, not yet in force
    today = await owner.fetchval("SELECT (now() AT TIME ZONE time_zone)::date FROM relationship WHERE id = $1", rel)
    assert "2026-09-01" <= today.isoformat() < "2099-01-01"

    def tiles(page) -> set[str]:
        assert page.status_code == 200
        return set(re.findall(r'<article class="card tile [^"]*" id="kpi-(\w+)"', page.text))

    expectations = {
        "2026-05": {"otif"},  # version 1, in force in May
        "2026-10": {"on_time_delivery"},  # version 2
        "2025-06": {"on_time_delivery"},  # before any version: the one in force today
        "2099-03": {"average_lead_time_days"},  # a future month: the version in force then
    }
    for period, expected in expectations.items():
        assert tiles(await ana.get(f"/relationships/{rel}/scorecard?period={period}")) == expected, period
    # the client's side of version 2
    assert tiles(await ana.get(f"/relationships/{rel}/scorecard?period=2026-10&party=client")) == {
        "forecast_accuracy"}
    # the export reads the same version
    export = await ana.get(f"/relationships/{rel}/scorecard/export?period=2026-05&format=csv")
    assert export.status_code == 200 and [row["metric"] for row in csv.DictReader(io.StringIO(export.text))] == [
        "otif", "composite_score"]
