"""The inbox."""
from __future__ import annotations

from litestar import Request, get, post
from litestar.response import Redirect, Template

from backend.notifications import actions
from backend.web.current import Actor
from backend.web.templating import page


@get("/notifications")
async def inbox(request: Request, actor: Actor) -> Template:
    cursor = request.query_params.get("cursor")
    notifications, next_cursor = await actions.inbox(actor, cursor)
    return page(request, "notifications/inbox.html", notifications=notifications, next_cursor=next_cursor,
                first_page=not cursor)


@post("/notifications/read")
async def mark_all_read(actor: Actor) -> Redirect:
    await actions.do_mark_all_read(actor=actor)
    return Redirect(path="/notifications")


routes = [inbox, mark_all_read]
