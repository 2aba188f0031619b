"""Organization settings (users, roles, invitations) and accepting an invitation."""
from __future__ import annotations

from uuid import UUID

from litestar import Request, Response, get, post
from litestar.response import Redirect, Template

from backend.auth.pages import _session_cookie
from backend.config import settings
from backend.tenancy import access, actions
from backend.tenancy.tables import ORG_ROLES
from backend.web import sessions
from backend.web.current import Actor, client_ip
from backend.web.errors import FieldErrors
from backend.web.forms import Form, form_int
from backend.web.templating import page
from zoneinfo import available_timezones

TIME_ZONES = sorted(available_timezones())



@get("/org")
async def org_settings(request: Request, actor: Actor) -> Template:
    return await _org_page(request, actor)


async def _org_page(request: Request, actor: Actor, *, errors: dict | None = None, form: dict | None = None,
                    status_code: int = 200, flash: str = "") -> Template:
    return page(request, "tenancy/org.html", status_code=status_code, users=await access.colleagues_of(actor),
                invitations=await access.pending_invitations_of(actor) if actor.is_admin else [],
                roles=ORG_ROLES, errors=errors or {}, form=form or {}, flash=flash)


@post("/org/invitations")
async def invite_colleague(request: Request, actor: Actor, data: Form) -> Template:
    try:
        await actions.do_invite_colleague(actor=actor, email=data.get("email", ""), org_role=data.get("org_role", ""))
    except FieldErrors as exc:
        return await _org_page(request, actor, errors=exc.errors, form=data, status_code=422)
    return await _org_page(request, actor, flash="invited")


@post("/org/invitations/{invitation_id:uuid}/revoke")
async def revoke_invitation(actor: Actor, invitation_id: UUID) -> Redirect:
    access.require_admin(actor)
    invitation = await access.get_invitation_for(actor, invitation_id)
    await actions.do_revoke_invitation(actor=actor, invitation=invitation)
    return Redirect(path="/org")


@post("/org/users/{user_id:uuid}")
async def update_colleague(request: Request, actor: Actor, user_id: UUID, data: Form) -> Template | Redirect:
    access.require_admin(actor)
    user = await access.get_colleague_for(actor, user_id)
    version = form_int(data.get("version"))
    try:
        if "org_role" in data:
            await actions.do_change_role(actor=actor, user=user, org_role=data["org_role"], version=version)
        elif "is_active" in data:
            await actions.do_set_active(actor=actor, user=user, active=data["is_active"] == "1", version=version)
        elif "can_sign" in data:
            await actions.do_set_can_sign(actor=actor, user=user, can_sign=data["can_sign"] == "1", version=version)
    except FieldErrors as exc:
        return await _org_page(request, actor, errors=exc.errors, status_code=422)
    if request.headers.get("hx-request"):
        return page(request, "tenancy/_user_row.html", user=user, roles=ORG_ROLES, errors={})
    return Redirect(path="/org")


@get("/invite-supplier")
async def invite_supplier_form(request: Request, actor: Actor) -> Template:
    if not await actions.may_invite_supplier(actor):
        from backend.web.errors import Forbidden

        raise Forbidden()
    form = {"time_zone": actor.org.time_zone, "currency": actor.org.currency}
    return page(request, "tenancy/invite_supplier.html", form=form, errors={}, time_zones=TIME_ZONES,
                currencies=actions.CURRENCIES, sent=False)


@post("/invite-supplier")
async def invite_supplier(request: Request, actor: Actor, data: Form) -> Template:
    try:
        await actions.do_invite_supplier(
            actor=actor, email=data.get("email", ""), company_name=data.get("company_name", ""),
            relationship_name=data.get("relationship_name", ""), time_zone=data.get("time_zone", ""),
            currency=data.get("currency", ""), start_date=data.get("start_date", ""))
    except FieldErrors as exc:
        return page(request, "tenancy/invite_supplier.html", status_code=422, form=data, errors=exc.errors,
                    time_zones=TIME_ZONES, currencies=actions.CURRENCIES, sent=False)
    return page(request, "tenancy/invite_supplier.html", form={}, errors={}, time_zones=TIME_ZONES,
                currencies=actions.CURRENCIES, sent=True, email=data.get("email", ""))


def _signed_in(request: Request) -> Actor | None:
    ctx = request.scope["pacto"]
    return Actor(user=ctx.user, org=ctx.org, ip=client_ip(request)) if ctx.user else None


@get("/invitations/{token:str}")
async def invitation_form(request: Request, token: str) -> Template:
    invitation = await actions.peek_invitation(token)
    return page(request, "tenancy/accept.html", status_code=200 if invitation else 404, invitation=invitation,
                token=token, form={}, errors={}, signed_in=_signed_in(request))


@post("/invitations/{token:str}")
async def accept_invitation(request: Request, token: str, data: Form) -> Template | Response:
    signed_in = _signed_in(request)
    try:
        user, relationship_id = await actions.do_accept_invitation(
            token, signed_in=signed_in, name=data.get("name", ""), password=data.get("password", ""),
            company_name=data.get("company_name", ""))
    except FieldErrors as exc:
        invitation = await actions.peek_invitation(token)
        return page(request, "tenancy/accept.html", status_code=422, invitation=invitation, token=token,
                    form=data, errors=exc.errors, signed_in=signed_in)
    target = f"/relationships/{relationship_id}" if relationship_id else "/"
    if signed_in:
        return Redirect(path=target)
    session = await sessions.create(request.app.state.redis, user_id=user.id, org_id=user.org,
                                    max_age=settings().session_max_age)
    return _session_cookie(Redirect(path=target), session.token)


routes = [org_settings, invite_colleague, revoke_invitation, update_colleague, invite_supplier_form,
          invite_supplier, invitation_form, accept_invitation]


# -- API tokens ---------------------------------------------------------------------------------

async def _tokens_page(request: Request, actor: Actor, *, errors: dict | None = None, new_token: str = "",
                       status_code: int = 200) -> Template:
    from backend import db
    from backend.relationships.access import visible_relationship_ids
    from backend.tenancy import api_tokens

    if not actor.is_admin:
        from backend.web.errors import not_found

        raise not_found()
    ids = await visible_relationship_ids(actor)
    relationships = [dict(r) for r in await db.raw("SELECT id, name FROM relationship WHERE id = ANY($1::uuid[])"
                                                   " ORDER BY name", ids)]
    names = {r["id"]: r["name"] for r in relationships}
    return page(request, "tenancy/api_tokens.html", status_code=status_code, tokens=await api_tokens.tokens_of(actor),
                relationships=relationships, names=names, errors=errors or {}, new_token=new_token)


@get("/org/api-tokens")
async def api_tokens_page(request: Request, actor: Actor) -> Template:
    return await _tokens_page(request, actor)


@post("/org/api-tokens")
async def create_api_token(request: Request, actor: Actor) -> Template:
    from backend.relationships.access import visible_relationship_ids
    from backend.tenancy import api_tokens

    form = await request.form()
    try:
        token = await api_tokens.do_create(actor=actor, name=str(form.get("name", "")),
                                           relationship_ids=[str(v) for v in form.getall("relationships", [])],
                                           allowed=set(await visible_relationship_ids(actor)))
    except FieldErrors as exc:
        return await _tokens_page(request, actor, errors=exc.errors, status_code=422)
    return await _tokens_page(request, actor, new_token=token, status_code=201)


@post("/org/api-tokens/{token_id:uuid}/revoke")
async def revoke_api_token(request: Request, actor: Actor, token_id: UUID) -> Redirect:
    from backend.tenancy import api_tokens

    await api_tokens.do_revoke(actor=actor, token_id=token_id)
    return Redirect(path="/org/api-tokens")


routes += [api_tokens_page, create_api_token, revoke_api_token]
