"""Operational rows belong to the organization that sent them: the other side of the relationship
may add rows of its own, but sending a row the other organization sent is refused, naming the row,
and nothing of that load is kept (found in review: a supplier could move the client's promised
dates, the inputs of its own on-time figures)."""
from tests.operations.test_csv import MAPPING, ORDERS_CSV, finished, upload

ANA, BRAM = "ana@lacteos.example", "bram@envases.example"
ORDERS = {"orders": [{"external_id": "PO-900", "ordered_at": "2026-11-01T08:00:00Z", "lines": [
    {"external_id": "PO-900-1", "item_code": "CUP", "qty_ordered": "1000", "promised_date": "2026-11-10"},
    {"external_id": "PO-900-2", "item_code": "CUP", "qty_ordered": "500", "promised_date": "2026-11-12"}]}]}
MOVED = {"orders": [{"external_id": "PO-901", "ordered_at": "2026-11-01T08:00:00Z", "lines": [
    {"external_id": "PO-901-1", "item_code": "LID", "qty_ordered": "5", "promised_date": "2026-11-10"}]},
    {"external_id": "PO-900", "ordered_at": "2026-11-01T08:00:00Z", "lines": [
        {"external_id": "PO-900-1", "item_code": "CUP", "qty_ordered": "10", "promised_date": "2026-12-31"}]}]}
THEIRS = "The other organization of this relationship sent this row; only it can change it."


async def send(who, rel, path, body):
    return await who.request("POST", f"/api/v1/relationships/{rel}/{path}", json=body)


def refused_rows(response):
    assert response.status_code == 422, response.text
    return [(e["row"], e["field"], e["message"]) for e in response.json()["errors"]]


async def test_the_other_side_cannot_rewrite_rows_it_did_not_send(app, demo, owner, browser):
    rel = demo["relationships"]["Yoghurt cups and lids"]
    ana, bram = await browser(ANA), await browser(BRAM)
    assert (await send(ana, rel, "orders", ORDERS)).status_code == 200
    # row 2: PO-900 (the second order) and its line; PO-901, row 1, is new and not the problem
    assert refused_rows(await send(bram, rel, "orders", MOVED)) == [(2, "order_external_id", THEIRS), (2, "external_id", THEIRS)]
    assert await owner.fetchval("SELECT count(*) FROM order_line WHERE external_id = 'PO-901-1'") == 0  # all or nothing
    line = await owner.fetchrow("SELECT qty_ordered, promised_date::text, source_org FROM order_line"
                                " WHERE external_id = 'PO-900-1'")
    assert (line["qty_ordered"], line["promised_date"]) == (1000, "2026-11-10")
    assert line["source_org"] == demo["orgs"]["Lácteos del Valle"]
    # the sender may send its rows again (harmless) and change them
    assert (await send(ana, rel, "orders", ORDERS)).status_code == 200
    # the supplier adds deliveries of its own to the client's lines; the client cannot rewrite them
    deliveries = {"deliveries": [
        {"external_id": "D-1", "line_external_id": "PO-900-1", "delivered_at": "2026-11-10T09:00:00Z",
         "qty_delivered": "1000"},
        {"external_id": "D-2", "line_external_id": "PO-900-2", "delivered_at": "2026-11-12T09:00:00Z",
         "qty_delivered": "500"}]}
    assert (await send(bram, rel, "deliveries", deliveries)).status_code == 200
    mine = {"deliveries": [{"external_id": "R-1", "line_external_id": "PO-900-1",
                            "delivered_at": "2026-11-10T10:00:00Z", "qty_delivered": "0"}]
            + [d | {"qty_rejected": "100"} for d in deliveries["deliveries"][1:]]}
    assert refused_rows(await send(ana, rel, "deliveries", mine)) == [(2, "external_id", THEIRS)]
    assert await owner.fetchval("SELECT count(*) FROM delivery") == 2
    assert await owner.fetchval("SELECT qty_rejected FROM delivery WHERE external_id = 'D-2'") == 0
    # invoices and forecasts alike
    invoice = {"invoices": [{"external_id": "INV-1", "amount": "100.00", "issued_on": "2026-11-01",
                             "due_date": "2026-12-01"}]}
    assert (await send(bram, rel, "invoices", invoice)).status_code == 200
    paid = {"invoices": [invoice["invoices"][0] | {"paid_on": "2026-12-20"}]}
    assert refused_rows(await send(ana, rel, "invoices", paid)) == [(1, "external_id", THEIRS)]
    assert await owner.fetchval("SELECT paid_on FROM invoice WHERE external_id = 'INV-1'") is None
    forecast = {"forecasts": [{"external_id": "F-1", "item_code": "CUP", "period": "2026-12", "qty": "900"}]}
    assert (await send(ana, rel, "forecasts", forecast)).status_code == 200
    inflated = {"forecasts": [forecast["forecasts"][0] | {"qty": "99999"}]}
    assert refused_rows(await send(bram, rel, "forecasts", inflated)) == [(1, "external_id", THEIRS)]
    assert await owner.fetchval("SELECT qty FROM forecast WHERE external_id = 'F-1'") == 900


async def test_a_row_no_one_has_sent_goes_to_the_first_who_sends_it(app, demo, owner, browser):
    """Rows stored before organizations were recorded have none: the next sender takes them."""
    rel = demo["relationships"]["Yoghurt cups and lids"]
    ana, bram = await browser(ANA), await browser(BRAM)
    assert (await send(ana, rel, "orders", ORDERS)).status_code == 200
    await owner.execute("UPDATE purchase_order SET source_org = NULL")
    await owner.execute("UPDATE order_line SET source_org = NULL")
    assert (await send(bram, rel, "orders", ORDERS)).status_code == 200
    assert {r["source_org"] for r in await owner.fetch("SELECT source_org FROM order_line")} == {
        demo["orgs"]["Envases Norte"]}
    assert refused_rows(await send(ana, rel, "orders", ORDERS))[0] == (1, "order_external_id", THEIRS)


async def test_a_csv_file_with_the_other_sides_rows_is_rejected_whole(app, demo, owner, browser, worker):
    rel = demo["relationships"]["Yoghurt cups and lids"]
    ana, bram = await browser(ANA), await browser(BRAM)
    fixed = ORDERS_CSV.replace(";diez;", ";10;").replace("2026-11-31", "2026-11-20")
    url = await upload(ana, rel, "orders", fixed)
    assert (await ana.post(f"{url}/start", MAPPING)).status_code == 302
    assert "Imported 3 rows." in (await finished(ana, url)).text
    url = await upload(bram, rel, "orders", fixed)
    assert (await bram.post(f"{url}/start", MAPPING)).status_code == 302
    page = await finished(bram, url)
    assert 'id="import-rejected"' in page.text and THEIRS in page.text
    assert await owner.fetchval("SELECT count(*) FROM order_line WHERE source_org = $1",
                                demo["orgs"]["Lácteos del Valle"]) == 3


async def test_two_loads_at_once_cannot_slip_a_line_into_the_other_sides_order(app, demo, owner):
    """Ana's load of PO-R has written but not committed when Bram sends PO-R too: his waits for
    hers, then finds her order and is refused, instead of adding his line to it."""
    import asyncio

    import pytest

    from backend import db
    from backend.operations import ingest
    from backend.relationships.access import get_relationship_for
    from backend.tenancy.tables import Organization, User
    from backend.web.current import Actor
    from backend.web.errors import RowErrors

    rel = demo["relationships"]["Yoghurt cups and lids"]

    def order(line):
        return [{"external_id": "PO-R", "ordered_at": "2026-11-01T08:00:00Z", "lines": [
            {"external_id": line, "item_code": "CUP", "qty_ordered": "10", "promised_date": "2026-11-10"}]}]

    async def load(email, orders, written=None, release=None):
        org_id = demo["orgs"]["Lácteos del Valle" if email == ANA else "Envases Norte"]
        async with db.tenant_transaction(org_id):
            user = await User.objects().where(User.email == email).first()
            actor = Actor(user=user, org=await Organization.objects().where(Organization.id == org_id).first())
            result = await ingest.ingest_orders(actor=actor, view=await get_relationship_for(actor, rel), orders=orders)
            if written:
                written.set()
                await release.wait()
            return result

    written, release = asyncio.Event(), asyncio.Event()
    first = asyncio.create_task(load(ANA, order("L-A"), written, release))
    await asyncio.wait_for(written.wait(), 10)
    second = asyncio.create_task(load(BRAM, order("L-B")))
    await asyncio.sleep(0.3)
    assert not second.done()  # waiting for Ana's load to end
    release.set()
    assert (await first)["rows"] == 1
    with pytest.raises(RowErrors) as refused:
        await second
    assert [(e["row"], e["field"]) for e in refused.value.errors] == [(1, "order_external_id")]
    assert [r["external_id"] for r in await owner.fetch("SELECT external_id FROM order_line")] == ["L-A"]
