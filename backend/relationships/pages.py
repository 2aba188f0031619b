"""Dashboard, the relationship page and its tabs: overview, members, designated contacts."""
from __future__ import annotations

from uuid import UUID

from litestar import Request, get, post
from litestar.response import Redirect, Response, Template

from backend.disputes.queries import waiting_for_me
from backend.relationships import access, actions, queries
from backend.relationships.tables import CONTACT_PURPOSES, MEMBER_ROLES, Contact
from backend.tenancy.access import colleagues_of
from backend.tenancy.actions import may_invite_supplier
from backend.web.current import Actor
from backend.web.errors import FieldErrors, Forbidden
from backend.web.forms import Form, form_int
from backend.web.templating import page




def _contact_input(data: dict[str, str]) -> actions.ContactInput:
    return actions.ContactInput(purpose=data.get("purpose", ""), name=data.get("name", ""),
                                email=data.get("email", ""), phone=data.get("phone", ""),
                                hours=data.get("hours", ""), escalation_level=data.get("escalation_level"),
                                user_id=data.get("user_id") or None)


@get("/")
async def dashboard(request: Request, actor: Actor) -> Template:
    cards = await queries.dashboard_cards(actor)
    waiting = await waiting_for_me({card.id: card.side for card in cards if card.may_act}, admin=actor.is_admin)
    return page(request, "relationships/dashboard.html", cards=cards, waiting=waiting,
                can_invite_supplier=await may_invite_supplier(actor))


@get("/relationships/{relationship_id:uuid}")
async def overview(request: Request, actor: Actor, relationship_id: UUID) -> Template:
    view = await access.get_relationship_for(actor, relationship_id)
    orgs = view.orgs
    counts = await queries.counts(view.relationship.id)
    return page(request, "relationships/overview.html", view=view, tab="overview", orgs=orgs, counts=counts)


@get("/relationships/{relationship_id:uuid}/members")
async def members(request: Request, actor: Actor, relationship_id: UUID) -> Template:
    view = await access.get_relationship_for(actor, relationship_id)
    return await _members_page(request, actor, view)


async def _members_page(request: Request, actor: Actor, view: access.RelationshipView, *, errors=None,
                        status_code: int = 200) -> Template:
    members = await queries.members(view.relationship.id)
    already = {m["user_id"] for m in members}
    return page(request, "relationships/members.html", status_code=status_code, view=view, tab="members",
                orgs=view.orgs, members=members,
                colleagues=[c for c in await colleagues_of(actor) if c.is_active and c.id not in already],
                roles=MEMBER_ROLES, errors=errors or {},
                may_manage=actor.is_admin or view.my_role in ("responsable", "manager"))


@post("/relationships/{relationship_id:uuid}/members")
async def add_member(request: Request, actor: Actor, relationship_id: UUID, data: Form) -> Template | Redirect:
    view = await access.get_relationship_for(actor, relationship_id)
    try:
        await actions.do_add_member(actor=actor, view=view, user_id=data.get("user_id", ""),
                                    role=data.get("role", ""))
    except FieldErrors as exc:
        return await _members_page(request, actor, view, errors=exc.errors, status_code=422)
    return Redirect(path=f"/relationships/{relationship_id}/members")


@post("/members/{member_id:uuid}")
async def change_member(request: Request, actor: Actor, member_id: UUID, data: Form) -> Template | Redirect:
    member, view, may_manage = await access.get_member_for(actor, member_id)
    if not may_manage:
        raise Forbidden()
    try:
        await actions.do_change_member_role(actor=actor, member=member, view=view, role=data.get("role", ""))
    except FieldErrors as exc:
        return await _members_page(request, actor, view, errors=exc.errors, status_code=422)
    return Redirect(path=f"/relationships/{view.relationship.id}/members")


@post("/members/{member_id:uuid}/remove")
async def remove_member(actor: Actor, member_id: UUID) -> Redirect:
    member, view, may_manage = await access.get_member_for(actor, member_id)
    if not may_manage:
        raise Forbidden()
    await actions.do_remove_member(actor=actor, member=member, view=view)
    return Redirect(path=f"/relationships/{view.relationship.id}/members")


# -- designated contacts (inline add / edit / remove with htmx) --------------------------------

async def _contacts_context(actor: Actor, view: access.RelationshipView) -> dict:
    contacts = await Contact.objects().where(Contact.relationship == view.relationship.id).order_by(
        Contact.side).order_by(Contact.purpose).order_by(Contact.escalation_level).order_by(Contact.name)
    return {"view": view, "tab": "contacts", "orgs": view.orgs,
            "contacts": contacts, "purposes": CONTACT_PURPOSES, "colleagues": await colleagues_of(actor)}


@get("/relationships/{relationship_id:uuid}/contacts")
async def contacts(request: Request, actor: Actor, relationship_id: UUID) -> Template:
    view = await access.get_relationship_for(actor, relationship_id)
    return page(request, "relationships/contacts.html", form={}, errors={}, **await _contacts_context(actor, view))


@post("/relationships/{relationship_id:uuid}/contacts")
async def add_contact(request: Request, actor: Actor, relationship_id: UUID, data: Form) -> Template | Redirect:
    view = await access.get_relationship_for(actor, relationship_id)
    try:
        await actions.do_add_contact(actor=actor, view=view, data=_contact_input(data))
    except FieldErrors as exc:
        ctx = await _contacts_context(actor, view)
        template = "relationships/_contacts_section.html" if request.headers.get("hx-request") else "relationships/contacts.html"
        return page(request, template, status_code=422, form=data, errors=exc.errors, **ctx)
    if request.headers.get("hx-request"):
        ctx = await _contacts_context(actor, view)
        return page(request, "relationships/_contacts_section.html", form={}, errors={}, added=True, **ctx)
    return Redirect(path=f"/relationships/{relationship_id}/contacts")


@get("/contacts/{contact_id:uuid}")
async def contact_row(request: Request, actor: Actor, contact_id: UUID) -> Template | Redirect:
    """The contact's row (htmx puts it back after an edit); a browser asking for it gets the list."""
    contact, view, can_edit = await access.get_contact_for(actor, contact_id)
    if not request.headers.get("hx-request"):
        return Redirect(path=f"/relationships/{view.relationship.id}/contacts")
    return page(request, "relationships/_contact_row.html", contact=contact, view=view, can_edit=can_edit)


@get("/contacts/{contact_id:uuid}/edit")
async def edit_contact(request: Request, actor: Actor, contact_id: UUID) -> Template:
    """The edit form: in place of the row for htmx, a page of its own otherwise (a new tab, no JavaScript)."""
    contact, view, can_edit = await access.get_contact_for(actor, contact_id)
    if not can_edit:
        raise Forbidden()
    template = "relationships/_contact_edit.html" if request.headers.get("hx-request") else \
        "relationships/contact_edit_page.html"
    return page(request, template, contact=contact, view=view, form=None, errors={}, purposes=CONTACT_PURPOSES,
                colleagues=await colleagues_of(actor), tab="contacts", orgs=view.orgs)


@post("/contacts/{contact_id:uuid}")
async def update_contact(request: Request, actor: Actor, contact_id: UUID, data: Form) -> Template | Redirect:
    contact, view, can_edit = await access.get_contact_for(actor, contact_id)
    if not can_edit:
        raise Forbidden()
    try:
        await actions.do_update_contact(actor=actor, contact=contact, view=view, data=_contact_input(data),
                                        version=form_int(data.get("version")))
    except FieldErrors as exc:
        template = "relationships/_contact_edit.html" if request.headers.get("hx-request") else \
            "relationships/contact_edit_page.html"
        return page(request, template, status_code=422, contact=contact, view=view, form=data, errors=exc.errors,
                    purposes=CONTACT_PURPOSES, colleagues=await colleagues_of(actor), tab="contacts", orgs=view.orgs)
    if request.headers.get("hx-request"):
        return page(request, "relationships/_contact_row.html", contact=contact, view=view, can_edit=True)
    return Redirect(path=f"/relationships/{view.relationship.id}/contacts")


@post("/contacts/{contact_id:uuid}/remove")
async def remove_contact(request: Request, actor: Actor, contact_id: UUID) -> Response | Redirect:
    contact, view, can_edit = await access.get_contact_for(actor, contact_id)
    if not can_edit:
        raise Forbidden()
    await actions.do_remove_contact(actor=actor, contact=contact, view=view)
    if request.headers.get("hx-request"):
        return Response(content="", media_type="text/html", status_code=200)
    return Redirect(path=f"/relationships/{view.relationship.id}/contacts")


routes = [dashboard, overview, members, add_member, change_member, remove_member, contacts, add_contact,
          contact_row, edit_contact, update_contact, remove_contact]
