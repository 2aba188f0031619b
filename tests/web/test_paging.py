"""Long lists come in pages, newest first, each row on exactly one page (rows with the same time
included): the notification inbox (50 a page) and a relationship's imports (20 a page)."""
import base64
import re
from datetime import datetime, timedelta, timezone

from backend.web import paging

ANA, CARLOS = "ana@lacteos.example", "carlos@lacteos.example"
T0 = datetime(2026, 11, 1, 9, 0, tzinfo=timezone.utc)


def titles(page) -> list[str]:
    return re.findall(r"<li class=\"card[^\"]*\">\s*<p>(?:<span[^>]*>[^<]*</span> )?([^<]+)</p>", page.text)


def next_link(page) -> str | None:
    found = re.search(r'<a rel="next" href="([^"]+)"', page.text)
    return found.group(1).replace("&amp;", "&") if found else None


async def notify(owner, demo, email, number, at):
    await owner.execute(
        "INSERT INTO notification (id, org, \"user\", kind, title, body, link, created_at)"
        " SELECT gen_random_uuid(), org, id, 'test', $2, '', '', $3 FROM app_user WHERE email = $1",
        email, f"Notice {number:02}", at)


async def test_the_inbox_pages_newest_first(demo, owner, browser):
    for number in range(53):
        # notices 2 and 3 share their time, at the boundary between the first and second page
        await notify(owner, demo, ANA, number, T0 + timedelta(minutes=2 if number == 3 else number))
    await notify(owner, demo, CARLOS, 99, T0 + timedelta(days=1))  # someone else's: never in Ana's inbox
    ana = await browser(ANA)
    first = await ana.get("/notifications")
    assert first.status_code == 200
    shown = titles(first)
    assert len(shown) == 50 and shown[:3] == ["Notice 52", "Notice 51", "Notice 50"]
    assert "Mark all as read" in first.text and "Notice 99" not in first.text
    second = await ana.get(next_link(first))
    rest = titles(second)
    assert len(rest) == 3 and next_link(second) is None and 'href="/notifications">Newest<' in second.text
    assert sorted(shown + rest) == [f"Notice {n:02}" for n in range(53)]  # each once, none lost at the tie

    # a cursor that was not made here is the first page; past the last, an empty page says so
    assert titles(await ana.get("/notifications?cursor=not-a-cursor")) == shown
    for edge in ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"):  # well formed, off the calendar
        cursor = base64.urlsafe_b64encode(f"{edge}|{demo['users'][ANA]}".encode()).decode().rstrip("=")
        assert titles(await ana.get(f"/notifications?cursor={cursor}")) == shown
    beyond = paging.encode_cursor(T0 - timedelta(days=1), demo["users"][ANA])
    past = await ana.get(f"/notifications?cursor={beyond}")
    assert titles(past) == [] and "No older notifications." in past.text

    carlos = await browser(CARLOS)
    assert titles(await carlos.get("/notifications")) == ["Notice 99"]


async def test_a_relationships_imports_page_by_twenty(demo, owner, browser):
    rel = demo["relationships"]["Yoghurt cups and lids"]
    lacteos, envases = demo["orgs"]["Lácteos del Valle"], demo["orgs"]["Envases Norte"]
    for number in range(23):
        await owner.execute(
            "INSERT INTO import_job (id, relationship, org, kind, filename, mapping, status, total, processed,"
            " created_at, updated_at) VALUES (gen_random_uuid(), $1, $2, 'orders', $3, '{}', 'done', 10, 10, $4, $4)",
            rel, lacteos, f"orders-{number:02}.csv", T0 + timedelta(hours=number))
    await owner.execute(
        "INSERT INTO import_job (id, relationship, org, kind, filename, mapping, status, total, processed,"
        " created_at, updated_at) VALUES (gen_random_uuid(), $1, $2, 'deliveries', 'theirs.csv', '{}', 'done', 1, 1,"
        " $3, $3)", rel, envases, T0)
    ana = await browser(ANA)
    first = await ana.get(f"/relationships/{rel}/data")
    files = re.findall(r">(orders-\d\d\.csv|theirs\.csv)<", first.text)
    assert files == [f"orders-{n:02}.csv" for n in range(22, 2, -1)]
    second = await ana.get(next_link(first))
    assert re.findall(r">(orders-\d\d\.csv|theirs\.csv)<", second.text) == ["orders-02.csv", "orders-01.csv",
                                                                          "orders-00.csv"]
    assert next_link(second) is None and "Newest" in second.text

    # the other side sees its own imports only; an outsider, nothing at all
    bram = await browser("bram@envases.example")
    theirs = await bram.get(f"/relationships/{rel}/data")
    assert re.findall(r">(orders-\d\d\.csv|theirs\.csv)<", theirs.text) == ["theirs.csv"]
    olga = await browser("olga@otra.example")
    outsider = await olga.get(f"/relationships/{rel}/data?cursor={next_link(first).split('cursor=')[1]}")
    assert outsider.status_code == 404 and "orders-" not in outsider.text
