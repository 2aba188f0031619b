"""The ceiling of the page benchmark: the deviations list rendered from the same query, as the
application's role in a transaction that names the organization (the same database work), with
Jinja2 and nothing else around it — no session, no CSRF, no middleware, no framework."""
from __future__ import annotations

import os
from urllib.parse import parse_qs

import asyncpg
from jinja2 import Environment

from backend.disputes.queries import LIST_COLUMNS

TEMPLATE = Environment(autoescape=True).from_string(
    "<!doctype html><html><body><table>{% for d in items %}<tr><td><a href=\"/deviations/{{ d.id }}\">"
    "D-{{ d.number }}</a></td><td>{{ d.type }}</td><td>{{ d.occurred_at }}</td><td>{{ d.status }}</td>"
    "<td>{{ d.waiting_for }}</td><td>{{ d.penalty_status }}</td></tr>{% endfor %}</table></body></html>")
_pool = None


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
        rows = await conn.fetch(f"SELECT {LIST_COLUMNS} FROM deviation WHERE relationship = $1"
                                " ORDER BY occurred_at DESC, id DESC LIMIT 51", query["rel"][0])
    body = TEMPLATE.render(items=rows[:50]).encode()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/html")]})
    await send({"type": "http.response.body", "body": body})
