"""Deviation lists: filters, whose move, keyset pages that stay index-driven at 50,000 rows, and
the dashboard's "waiting for me" with counts and ageing."""
import json
import re
from datetime import datetime, timedelta, timezone

import asyncpg

from backend.disputes import queries

ANA, BRAM, CARLOS = "ana@lacteos.example", "bram@envases.example", "carlos@lacteos.example"


async def bulk(owner, rel, n, start=1):
    """n deviations straight into the table, spread over two years, statuses and types mixed."""
    await owner.execute(
        """
        INSERT INTO deviation (id, relationship, number, type, occurred_at, period, description, status,
                               waiting_for, due_at, created_at, updated_at)
        SELECT gen_random_uuid(), $1, $3 + g,
               (ARRAY['late_delivery','short_delivery','quality_rejection','other'])[1 + g % 4],
               t, to_char(t AT TIME ZONE 'Europe/Madrid', 'YYYY-MM'), 'bulk ' || g,
               (ARRAY['accepted','open','contested','withdrawn','settled'])[1 + g % 5],
               (ARRAY['','supplier','client','',''])[1 + g % 5],
               CASE WHEN g % 5 IN (1, 2) THEN now() + interval '2 days' END, now(), now() - (g % 30) * interval '1 day'
        FROM generate_series(0, $2 - 1) AS g, LATERAL (SELECT timestamptz '2024-12-01' + g * interval '21 minutes' AS t) x
        """, rel, n, start)
    await owner.execute("ANALYZE deviation")


async def test_pages_follow_each_other_without_gaps_or_repeats(app, demo, agreement, browser, owner):
    rel = agreement["relationship"]
    await bulk(owner, rel, 50_000)
    ana = await browser(ANA)
    seen, cursor = [], None
    for _ in range(4):
        body = (await ana.get(f"/api/v1/relationships/{rel}/deviations",
                              params={"limit": 200} | ({"cursor": cursor} if cursor else {}))).json()
        seen += [(item["occurred_at"], item["id"]) for item in body["items"]]
        cursor = body["next_cursor"]
    assert len(seen) == 800 and len(set(seen)) == 800
    assert seen == sorted(seen, reverse=True)
    # the page in HTML: 50 rows and a link to the next page
    page = await ana.get(f"/relationships/{rel}/deviations?type=quality_rejection&status=contested")
    assert page.text.count('href="/deviations/') == 50
    next_link = re.search(r'rel="next" href="([^"]+)"', page.text).group(1).replace("&amp;", "&")
    second = await ana.get(next_link)
    assert second.status_code == 200 and second.text.count('href="/deviations/') == 50
    first_ids = set(re.findall(r'href="/deviations/([0-9a-f-]+)"', page.text))
    assert not first_ids & set(re.findall(r'href="/deviations/([0-9a-f-]+)"', second.text))
    # whose move: 'client' rows are ours for Ana
    mine = (await ana.get(f"/api/v1/relationships/{rel}/deviations", params={"waiting": "client"})).json()
    assert mine["items"] and {i["waiting_for"] for i in mine["items"]} <= {"client", "both"}
    period = (await ana.get(f"/api/v1/relationships/{rel}/deviations", params={"period": "2025-03"})).json()
    assert period["items"] and {i["period"] for i in period["items"]} == {"2025-03"}


async def test_deep_pages_are_read_from_the_index_not_sorted(app, demo, agreement, owner, database):
    rel = agreement["relationship"]
    await bulk(owner, rel, 50_000)
    middle = await owner.fetchrow("SELECT occurred_at, id FROM deviation ORDER BY occurred_at DESC, id DESC"
                                  " OFFSET 40000 LIMIT 1")
    cursor = queries.encode_cursor(middle["occurred_at"], middle["id"])
    conn = await asyncpg.connect(database.app_url)  # the application's role: row-level security applies
    try:
        async with conn.transaction():
            await conn.execute("SELECT set_config('app.org_id', $1, true)", str(demo["orgs"]["Lácteos del Valle"]))
            for filters in (queries.Filters(), queries.Filters(status="contested"),
                            queries.Filters(type="other"), queries.Filters(period="2025-06")):
                sql, args = await _page_sql(rel, filters, cursor)
                plan = json.loads(await conn.fetchval(f"EXPLAIN (FORMAT JSON) {sql}", *args))
                text = json.dumps(plan)
                assert '"Node Type": "Sort"' not in text, (filters, text)
                assert "Index Scan" in text, (filters, text)
    finally:
        await conn.close()


async def _page_sql(rel, filters, cursor):
    """The SQL page_of() runs, captured by running it against a recording stand-in."""
    captured = {}

    async def record(sql, *args):
        captured["sql"], captured["args"] = sql, args
        return []

    original = queries.db.raw
    queries.db.raw = record
    try:
        await queries.page_of(rel, filters, cursor)
    finally:
        queries.db.raw = original
    return captured["sql"], captured["args"]


async def test_the_dashboard_counts_what_waits_for_me_with_ageing(app, demo, agreement, browser, owner):
    rel = agreement["relationship"]
    ana, bram, carlos = await browser(ANA), await browser(BRAM), await browser(CARLOS)
    for day in ("03", "04", "05"):
        response = await ana.post(f"/relationships/{rel}/deviations", {
            "type": "other", "occurred_at": f"2026-11-{day}T10:00", "description": "x"})
        assert response.status_code == 302
    await owner.execute("UPDATE deviation SET updated_at = now() - interval '9 days' WHERE number = 1")
    await owner.execute("UPDATE deviation SET due_at = now() - interval '1 hour' WHERE number = 2")
    supplier = await bram.get("/")
    assert "3 deviations waiting for you" in supplier.text
    assert "1 overdue" in supplier.text and "oldest waiting 9 days" in supplier.text
    client = await ana.get("/")
    assert "waiting for you" not in client.text.split("Yoghurt cups and lids")[1].split("</article>")[0]
    version = await owner.fetchval("SELECT version FROM deviation WHERE number = 3")
    deviation = await owner.fetchval("SELECT id FROM deviation WHERE number = 3")
    await bram.request("POST", f"/api/v1/deviations/{deviation}/actions",
                       json={"action": "contest", "version": version, "note": "No."})
    assert "1 deviation waiting for you" in (await ana.get("/")).text
    assert "2 deviations waiting for you" in (await bram.get("/")).text
    # a viewer takes no move, so nothing waits for him
    assert "waiting for you" not in (await carlos.get("/")).text
    # the list says whose move and the time left
    listing = await bram.get(f"/relationships/{rel}/deviations?waiting=supplier")
    assert listing.text.count('href="/deviations/') == 2
    assert "Overdue" in listing.text and "business days left" in listing.text
    assert "No deviation matches these filters." in (
        await bram.get(f"/relationships/{rel}/deviations?type=kpi_shortfall")).text


def test_cursors_survive_a_round_trip_and_reject_garbage():
    when = datetime(2026, 3, 1, 10, 30, tzinfo=timezone.utc) + timedelta(microseconds=5)
    ident = __import__("uuid").uuid4()
    assert queries.decode_cursor(queries.encode_cursor(when, ident)) == (when, ident)
    assert queries.decode_cursor("not-a-cursor") is None and queries.decode_cursor(None) is None
