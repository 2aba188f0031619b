"""The ceilings of the page benchmark: each page's rows read with the same query, as the
application's role in a transaction that names the organization (the same database work), and
rendered by Jinja2 into a page of the same size — no session, no CSRF, no middleware, no
framework. `?size=N` pads the page with a comment to the application page's N bytes, so both
send the same amount over the same HTTP server.

    /deviations?rel=…&org=…&size=…   the deviations list's first page
    /scorecard?rel=…&org=…&size=…    the relationship's monthly KPI values of the last 12 months
    /tiles?rel=…&org=…&size=…&month=…&today=…
                                     the scorecard's own statement (backend.operations.pages.SCORECARD_TILES:
                                     the version in force, its supplier KPIs, twelve periods of each
                                     and their values) for the page's month and day
"""
from __future__ import annotations

import os
from datetime import date
from urllib.parse import parse_qs
from uuid import UUID

import asyncpg
from jinja2 import Environment

from backend.disputes.queries import LIST_COLUMNS
from backend.operations.pages import SCORECARD_TILES

ENV = Environment(autoescape=True)
DEVIATIONS = ENV.from_string(
    "<!doctype html><html><body><table>{% for d in items %}<tr><td><a href=\"/deviations/{{ d.id }}\">"
    "D-{{ d.number }}</a></td><td>{{ d.type }}</td><td>{{ d.occurred_at }}</td><td>{{ d.status }}</td>"
    "<td>{{ d.waiting_for }}</td><td>{{ d.penalty_status }}</td></tr>{% endfor %}</table></body></html>")
SCORECARD = ENV.from_string(
    "<!doctype html><html><body><table>{% for v in values %}<tr><td>{{ v.metric }}</td><td>{{ v.period_start }}"
    "</td><td>{{ v.value }}</td><td>{{ v.numerator }}</td><td>{{ v.denominator }}</td></tr>{% endfor %}"
    "</table></body></html>")
TILES = ENV.from_string(
    "<!doctype html><html><body><table>{% for r in rows %}<tr><td>{{ r.i }}</td><td>{{ r.start }}</td>"
    "<td>{{ r.value }}</td><td>{{ r.numerator }}</td><td>{{ r.denominator }}</td></tr>{% endfor %}"
    "</table></body></html>")
_pool = None


async def _deviations(conn, rel: str) -> str:
    rows = await conn.fetch(f"SELECT {LIST_COLUMNS} FROM deviation WHERE relationship = $1"
                            " ORDER BY occurred_at DESC, id DESC LIMIT 51", rel)
    return DEVIATIONS.render(items=rows[:50])


async def _scorecard(conn, rel: str) -> str:
    rows = await conn.fetch(
        "SELECT v.metric, v.period_start, v.value, v.numerator, v.denominator FROM kpi_value v"
        " WHERE v.relationship = $1 AND v.period_kind = 'month'"
        " AND v.period_start > (current_date - interval '12 months')", rel)
    return SCORECARD.render(values=rows)


async def _tiles(conn, rel: str, month: str, today: str) -> str:
    rows = await conn.fetch(SCORECARD_TILES, UUID(rel), date.fromisoformat(month), date.fromisoformat(today), "supplier")
    return TILES.render(rows=rows)


PAGES = {"/deviations": _deviations, "/scorecard": _scorecard, "/tiles": _tiles}


async def app(scope, receive, send):
    global _pool
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                _pool = await asyncpg.create_pool(os.environ["APP_DATABASE_URL"], min_size=2, max_size=10)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await _pool.close()
                await send({"type": "lifespan.shutdown.complete"})
                return
    query = parse_qs(scope["query_string"].decode())
    async with _pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT set_config('app.org_id', $1, true)", query["org"][0])
        extra = [query[name][0] for name in ("month", "today") if name in query]
        body = (await PAGES[scope["path"]](conn, query["rel"][0], *extra)).encode()
    size = int(query.get("size", ["0"])[0])
    if len(body) + 7 < size:
        body += b"<!--" + b" " * (size - len(body) - 7) + b"-->"
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/html; charset=utf-8"), (b"content-length", b"%d" % len(body))]})
    await send({"type": "http.response.body", "body": body})
