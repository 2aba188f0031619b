"""The Reviews tab: the cadence's dates, each review's pack, attendees, decisions and action items,
and a printable pack."""
from __future__ import annotations

from datetime import date, datetime
from uuid import UUID
from zoneinfo import ZoneInfo

from litestar import Request, get, post
from litestar.response import Redirect, Template

from backend import db
from backend.agreements.actions import content_of, in_force_on
from backend.relationships.access import get_relationship_for
from backend.relationships.queries import members
from backend.reviews import actions
from backend.web.current import Actor
from backend.web.errors import FieldErrors
from backend.web.i18n import gettext as _
from backend.web.templating import page


@get("/relationships/{relationship_id:uuid}/reviews")
async def reviews_tab(request: Request, actor: Actor, relationship_id: UUID) -> Template:
    view = await get_relationship_for(actor, relationship_id)
    rel = view.relationship
    today = datetime.now(ZoneInfo(rel.time_zone)).date()
    version = await in_force_on(rel.id, today)
    dates = actions.cadence((content_of(version).get("terms") or {}) if version else {}, today)
    held = {r["scheduled_for"]: dict(r) for r in await db.raw(
        "SELECT id, scheduled_for, status, pack_generated_at FROM review WHERE relationship = $1", rel.id)}
    return page(request, "reviews/list.html", view=view, tab="reviews", orgs=view.orgs, version=version,
                dates=dates, held=held, today=today,
                older=[r for d, r in sorted(held.items(), reverse=True) if d not in dates])


@post("/relationships/{relationship_id:uuid}/reviews")
async def prepare_review(request: Request, actor: Actor, relationship_id: UUID) -> Redirect:
    view = await get_relationship_for(actor, relationship_id)
    data = dict(await request.form())
    try:
        day = date.fromisoformat(data.get("scheduled_for", ""))
    except ValueError:
        raise FieldErrors({"scheduled_for": _("Use a date as YYYY-MM-DD.")}) from None
    review_id = await actions.do_prepare(actor=actor, view=view, scheduled_for=day)
    return Redirect(f"/reviews/{review_id}")


async def _review_page(request, actor, review_id, template, errors=None, form=None, status_code=200) -> Template:
    review, view = await actions.get_review_for(actor, review_id)
    items = [dict(r) for r in await db.raw(
        "SELECT a.*, u.name AS owner_name FROM review_action a LEFT JOIN app_user u ON u.id = a.owner"
        " WHERE a.review = $1 ORDER BY a.due_date, a.created_at", review_id)]
    return page(request, template, status_code=status_code, view=view, tab="reviews",
                orgs=view.orgs, review=review, pack=review["pack"], items=items,
                people=await members(view.relationship.id), errors=errors or {}, form=form or {},
                today=datetime.now(ZoneInfo(view.relationship.time_zone)).date())


@get("/reviews/{review_id:uuid}")
async def review_detail(request: Request, actor: Actor, review_id: UUID) -> Template:
    return await _review_page(request, actor, review_id, "reviews/detail.html")


@get("/reviews/{review_id:uuid}/print")
async def review_print(request: Request, actor: Actor, review_id: UUID) -> Template:
    return await _review_page(request, actor, review_id, "reviews/print.html")


@post("/reviews/{review_id:uuid}/record")
async def record_review(request: Request, actor: Actor, review_id: UUID) -> Redirect | Template:
    review, view = await actions.get_review_for(actor, review_id)
    data = dict(await request.form())
    try:
        await actions.do_record(actor=actor, view=view, review=review, attendees=data.get("attendees", ""),
                                decisions=data.get("decisions", ""), version=data.get("version", ""))
    except FieldErrors as e:
        return await _review_page(request, actor, review_id, "reviews/detail.html", e.errors, data, 422)
    return Redirect(f"/reviews/{review_id}")


@post("/reviews/{review_id:uuid}/actions")
async def add_action(request: Request, actor: Actor, review_id: UUID) -> Redirect | Template:
    review, view = await actions.get_review_for(actor, review_id)
    data = dict(await request.form())
    try:
        await actions.do_add_action(actor=actor, view=view, review=review, text=data.get("text", ""),
                                    owner=data.get("owner", ""), due_date=data.get("due_date", ""))
    except FieldErrors as e:
        return await _review_page(request, actor, review_id, "reviews/detail.html", e.errors, data, 422)
    return Redirect(f"/reviews/{review_id}#actions")


@post("/review-actions/{action_id:uuid}/done")
async def finish_action(request: Request, actor: Actor, action_id: UUID) -> Redirect:
    data = dict(await request.form())
    row = await actions.do_finish_action(actor=actor, action_id=action_id, version=data.get("version", ""))
    return Redirect(f"/reviews/{row['review']}#actions")


routes = [reviews_tab, prepare_review, review_detail, review_print, record_review, add_action, finish_action]
