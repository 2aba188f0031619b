"""CSV imports through the pages: columns mapped (and remembered), a file with bad rows rejected
whole with each line and column named, a good one imported by a real worker and the KPIs
recomputed."""
import asyncio
import re

from tests.disputes.conftest import sign
from tests.operations.test_kpis import KPIS

ANA = "ana@lacteos.example"
ORDERS_CSV = """Pedido;Fecha pedido;Línea;Artículo;Cantidad;Fecha prometida
PO-1;2026-11-01T08:00:00Z;PO-1/1;CUP;10;2026-11-10
PO-1;2026-11-01T08:00:00Z;PO-1/2;CUP;diez;2026-11-10
PO-2;2026-11-02T08:00:00Z;PO-2/1;LID;100;2026-11-31
"""


async def upload(b, rel, kind, text, name="erp.csv"):
    response = await b.post(f"/relationships/{rel}/data", data={"kind": kind},
                            files={"file": (name, text.encode(), "text/csv")})
    assert response.status_code == 302, response.text
    return response.headers["location"]


async def finished(b, url):
    for _ in range(200):
        page = await b.get(url)
        if 'id="import-done"' in page.text or 'id="import-rejected"' in page.text:
            return page
        await asyncio.sleep(0.05)
    raise AssertionError(page.text)


MAPPING = {"map_order_external_id": "Pedido", "map_ordered_at": "Fecha pedido", "map_line_external_id": "Línea",
           "map_item_code": "Artículo", "map_qty_ordered": "Cantidad", "map_promised_date": "Fecha prometida"}


async def test_a_bad_file_is_rejected_whole_then_a_good_one_lands(app, demo, owner, browser, worker):
    rel = demo["relationships"]["Yoghurt cups and lids"]
    await sign(owner, rel, {"kpis": KPIS})
    ana = await browser(ANA)
    url = await upload(ana, rel, "orders", ORDERS_CSV)
    page = await ana.get(url)
    assert 'id="mapping"' in page.text and "Fecha prometida" in page.text
    missing = await ana.post(f"{url}/start", MAPPING | {"map_qty_ordered": ""})
    assert missing.status_code == 422 and "Choose the column that holds this field." in missing.text
    assert (await ana.post(f"{url}/start", MAPPING)).status_code == 302
    page = await finished(ana, url)
    assert 'id="import-rejected"' in page.text and "Nothing was imported: 2 problems were found." in page.text
    report = re.findall(r"<tr><td>(\d+)</td><td>([^<]+)</td><td>([^<]+)</td></tr>", page.text)
    assert report == [("3", "Cantidad", "Enter a number, like 12.5."),
                      ("4", "Fecha prometida", "Enter a date as YYYY-MM-DD.")]
    assert await owner.fetchval("SELECT count(*) FROM order_line") == 0
    # the corrected file: the mapping comes back on its own
    fixed = ORDERS_CSV.replace(";diez;", ";10;").replace("2026-11-31", "2026-11-20")
    url = await upload(ana, rel, "orders", fixed)
    page = await ana.get(url)
    assert '<option value="Fecha prometida" selected>' in page.text
    for column in MAPPING.values():
        assert f'<option value="{column}" selected>' in page.text
    assert (await ana.post(f"{url}/start", MAPPING)).status_code == 302
    page = await finished(ana, url)
    assert "Imported 3 rows." in page.text
    assert await owner.fetchval("SELECT count(*) FROM order_line") == 3
    for _ in range(200):
        if await owner.fetchval("SELECT count(*) FROM kpi_value WHERE metric = 'otif' AND period_kind = 'month'"
                                " AND denominator = 3") and not await owner.fetchval("SELECT count(*) FROM kpi_dirty"):
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("KPIs not recomputed")
    # another company's user sees neither the import nor its report
    olga = await browser("olga@otra.example")
    assert (await olga.get(url)).status_code == 404
    # the supplier's own imports are its own: the client's job is not visible to it
    bram = await browser("bram@envases.example")
    assert (await bram.get(url)).status_code == 404


async def test_an_empty_or_binary_file_is_refused_at_upload(app, demo, browser, owner):
    rel = demo["relationships"]["Yoghurt cups and lids"]
    ana = await browser(ANA)
    empty = await ana.post(f"/relationships/{rel}/data", data={"kind": "orders"},
                           files={"file": ("e.csv", b"", "text/csv")})
    assert empty.status_code == 422 and "The file is empty." in empty.text
    binary = await ana.post(f"/relationships/{rel}/data", data={"kind": "orders"},
                            files={"file": ("e.csv", b"\x00\x01\x02", "text/csv")})
    assert binary.status_code == 422 and "not a CSV text file" in binary.text
    assert await owner.fetchval("SELECT count(*) FROM import_job") == 0
