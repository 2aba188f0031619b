"""SSO settings (org admins) and the sign-in round trip through a company's identity provider."""
from __future__ import annotations

import json
from uuid import UUID

from litestar import Request, Response, get, post
from litestar.response import Redirect, Template

from backend.config import settings
from backend.sso import access, actions, oidc
from backend.sso.oidc import SsoFailure
from backend.tenancy.access import colleagues_of, require_admin
from backend.tenancy.tables import ORG_ROLES
from backend.web import sessions
from backend.web.current import Actor, client_ip
from backend.web.errors import FieldErrors, not_found
from backend.web.i18n import gettext as _
from backend.web.middleware import keep_on_error
from backend.web.forms import Form, form_int, safe_next
from backend.web.templating import page



def _input(data: dict[str, str]) -> actions.ConnectionInput:
    return actions.ConnectionInput(
        name=data.get("name", ""), issuer=data.get("issuer", ""), client_id=data.get("client_id", ""),
        client_secret=data.get("client_secret", ""), domains=data.get("domains", ""),
        default_role=data.get("default_role", "member"), groups_claim=data.get("groups_claim", "groups"),
        group_roles=data.get("group_roles", ""), sso_required=data.get("sso_required") == "on",
        break_glass_user=data.get("break_glass_user", ""), show_on_login=data.get("show_on_login") == "on",
        enabled=data.get("enabled", "on") == "on")


def _form_of(connection, domains: list[str]) -> dict[str, str]:
    group_roles = connection.group_roles
    if isinstance(group_roles, str):  # Piccolo hands JSONB back as text
        group_roles = json.loads(group_roles or "{}")
    return {"name": connection.name, "issuer": connection.issuer, "client_id": connection.client_id,
            "domains": ", ".join(domains), "default_role": connection.default_role,
            "groups_claim": connection.groups_claim,
            "group_roles": "\n".join(f"{g} = {r}" for g, r in (group_roles or {}).items()),
            "sso_required": "on" if connection.sso_required else "",
            "break_glass_user": str(connection.break_glass_user or ""),
            "show_on_login": "on" if connection.show_on_login else "", "enabled": "on" if connection.enabled else ""}


async def _list_page(request: Request, actor: Actor, *, form=None, errors=None, status_code=200) -> Template:
    connections = await access.connections_of(actor)
    return page(request, "sso/connections.html", status_code=status_code, connections=connections,
                domains=await access.domains_of([c.id for c in connections]), form=form or {"enabled": "on"},
                errors=errors or {}, roles=ORG_ROLES, admins=[u for u in await colleagues_of(actor)
                                                              if u.org_role == "admin"],
                redirect_uri=actions.redirect_uri(), connection=None)


@get("/org/sso")
async def connections(request: Request, actor: Actor) -> Template:
    require_admin(actor)
    return await _list_page(request, actor)


@post("/org/sso")
async def create_connection(request: Request, actor: Actor, data: Form) -> Template | Redirect:
    require_admin(actor)
    try:
        connection = await actions.do_save_connection(actor=actor, data=_input(data))
    except FieldErrors as exc:
        return await _list_page(request, actor, form=data, errors=exc.errors, status_code=422)
    return Redirect(path=f"/org/sso/{connection.id}")


async def _edit_page(request: Request, actor: Actor, connection, *, form=None, errors=None,
                     status_code=200) -> Template:
    domains = (await access.domains_of([connection.id]))[connection.id]
    return page(request, "sso/connection.html", status_code=status_code, connection=connection,
                form=form or _form_of(connection, domains), errors=errors or {}, roles=ORG_ROLES,
                admins=[u for u in await colleagues_of(actor) if u.org_role == "admin"],
                redirect_uri=actions.redirect_uri())


@get("/org/sso/{connection_id:uuid}")
async def edit_connection(request: Request, actor: Actor, connection_id: UUID) -> Template:
    connection = await access.get_connection_for(actor, connection_id)
    return await _edit_page(request, actor, connection)


@post("/org/sso/{connection_id:uuid}")
async def update_connection(request: Request, actor: Actor, connection_id: UUID, data: Form) -> Template | Redirect:
    connection = await access.get_connection_for(actor, connection_id)
    try:
        await actions.do_save_connection(actor=actor, data=_input(data), current=connection,
                                         version=form_int(data.get("version")))
    except FieldErrors as exc:
        return await _edit_page(request, actor, connection, form=data, errors=exc.errors, status_code=422)
    return Redirect(path=f"/org/sso/{connection_id}?saved=1")


@post("/org/sso/{connection_id:uuid}/test")
async def test_connection(request: Request, actor: Actor, connection_id: UUID) -> Template:
    connection = await access.get_connection_for(actor, connection_id)
    try:
        found, failure = await oidc.check_connection(connection.issuer), None
    except SsoFailure as exc:
        found, failure = None, exc
    return page(request, "sso/_test_result.html", found=found, failure=failure, issuer=connection.issuer)


@post("/org/sso/{connection_id:uuid}/delete")
async def delete_connection(actor: Actor, connection_id: UUID) -> Redirect:
    connection = await access.get_connection_for(actor, connection_id)
    await actions.do_delete_connection(actor=actor, connection=connection)
    return Redirect(path="/org/sso")


# -- the sign-in round trip --------------------------------------------------------------------


# Public by design: anyone may start a sign-in with a connection (it only leads to that
# company's identity provider); an unknown or disabled connection is 404.
@get("/sso/{connection_id:uuid}/start", opt={"public_id_route": "starts a sign-in; reveals nothing"})
async def start(request: Request, connection_id: UUID, next: str | None = None,
                login_hint: str | None = None) -> Response:
    connection = await actions.connection_settings(connection_id)
    if connection is None:
        raise not_found()
    binding = actions.browser_binding(request.cookies.get(actions.BROWSER_COOKIE))
    try:
        url = await actions.begin(request.app.state.redis, connection, next_path=safe_next(next),
                                  login_hint=login_hint, binding=binding)
    except SsoFailure as failure:
        return await _failed(request, connection, failure)
    response = leave_for(request, url, _("Taking you to your company's sign-in page…"))
    # sent back on the IdP's redirect to the callback (a top-level GET: SameSite=Lax lets it through)
    response.set_cookie(actions.BROWSER_COOKIE, binding, max_age=actions.STATE_TTL, path="/sso/",
                        secure=settings().session_cookie_secure, httponly=True, samesite="lax")
    return response


def leave_for(request: Request, url: str, title: str) -> Template:
    """A page that sends the browser to another site (see sso/redirect.html for why not a 302)."""
    return page(request, "sso/redirect.html", url=url, title=title)


@get("/sso/callback")
async def callback(request: Request) -> Response:
    params = request.query_params  # `state` is a reserved parameter name in Litestar
    state, code, error = params.get("state"), params.get("code"), params.get("error")
    error_description = params.get("error_description")
    redis = request.app.state.redis
    connection = None
    try:
        try:
            stored = await actions.take_state(redis, state)
        except SsoFailure:
            replayed = await actions.replayed_connection(redis, state)
            connection = await actions.connection_settings(UUID(replayed)) if replayed else None
            raise
        connection = await actions.connection_settings(UUID(stored["connection"]))
        actions.check_browser(stored, request.cookies.get(actions.BROWSER_COOKIE))
        if connection is None:
            raise SsoFailure("connection_disabled", "the connection was disabled or removed")
        iss = params.get("iss")  # RFC 9207: the IdP names itself in its answer
        if iss and iss.rstrip("/") != connection["issuer"].rstrip("/"):
            raise SsoFailure("wrong_issuer", f"the answer comes from {iss}")
        if error:
            raise SsoFailure("idp_refused", f"{error}: {error_description or ''}".strip(": "))
        signed_in = await actions.complete(stored, connection, code=code)
    except SsoFailure as failure:
        return await _failed(request, connection, failure)
    session = await sessions.create(redis, user_id=signed_in.user.id, org_id=signed_in.org_id,
                                    max_age=settings().session_max_age,
                                    extra={"sso_connection": str(signed_in.connection_id),
                                           "id_token": signed_in.id_token})
    old = request.scope["pacto"].session  # whoever was signed in on this browser before
    if old:
        await sessions.destroy(redis, old)
    from backend.auth.pages import _session_cookie

    return _session_cookie(Redirect(path=signed_in.next_path), session.token)


async def _failed(request: Request, connection: dict | None, failure: SsoFailure) -> Template:
    await actions.record_failure(connection, failure, client_ip(request))
    keep_on_error(request.scope)  # keep the audit entry; nothing else was written
    messages = {
        "idp_unreachable": _("Your company's identity provider could not be reached. Try again in a few minutes."),
        "bad_discovery": _("Your company's identity provider is not configured correctly."),
        "domain_not_allowed": _("Your e-mail address is not in a domain this connection accepts."),
        "user_disabled": _("Your Pacto account is disabled. Ask your organization's administrator."),
        "email_in_use": _("Another Pacto account already uses your e-mail address. Ask your administrator to link it."),
        "expired_token": _("The sign-in took too long or your clock is off. Please try again."),
        "other_browser": _("This sign-in was started in another browser, or its cookie has expired. Start again "
                           "from the sign-in page in this browser."),
    }
    message = messages.get(failure.reason, _("The answer from the identity provider could not be trusted, so "
                                             "you were not signed in."))
    return page(request, "sso/failed.html", status_code=502 if failure.reason == "idp_unreachable" else 400,
                message=message, reason=failure.reason)


routes = [connections, create_connection, edit_connection, update_connection, test_connection, delete_connection,
          start, callback]
