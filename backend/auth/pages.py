"""Sign-in with e-mail and password, sign-out, password reset, language choice."""
from __future__ import annotations

import hashlib
import json
import secrets
from uuid import UUID

from litestar import Request, Response, get, post
from litestar.response import Redirect, Template

from backend import db
from backend.audit.actions import record
from backend.auth.passwords import hash_password, password_problem, verify_password
from backend.config import LOCALES, settings
from backend.notifications import mail
from backend.sso.actions import connection_for_email
from backend.sso.actions import logout_url as sso_logout_url
from backend.tenancy.actions import check_email, do_set_locale, normalise_email
from backend.tenancy.tables import User
from backend.web import ratelimit, sessions
from backend.web.current import Actor, client_ip
from backend.web.errors import FieldErrors
from backend.web.i18n import gettext as _
from backend.web.forms import Form, safe_next
from backend.web.templating import page

RESET_TTL = 3600



def _redis(request: Request):
    return request.app.state.redis


def _session_cookie(response: Response, token: str | None) -> Response:
    cfg = settings()
    if token is None:
        response.delete_cookie(sessions.COOKIE, path="/")
    else:
        response.set_cookie(sessions.COOKIE, token, max_age=cfg.session_max_age, path="/", secure=cfg.session_cookie_secure,
                            httponly=True, samesite="lax")
    return response


async def _sso_buttons() -> list[dict]:
    return [dict(row) for row in await db.raw("SELECT * FROM pacto_sso_login_buttons()")]


async def _login_page(request: Request, *, step: str, email: str = "", nxt: str = "/", errors: dict | None = None,
                      status_code: int = 200) -> Template:
    return page(request, "auth/login.html", status_code=status_code, step=step, email=email, next=nxt,
                errors=errors or {}, sso_buttons=await _sso_buttons())


@get("/login", name="login")
async def login_form(request: Request, next: str | None = None, password: bool = False) -> Template | Redirect:
    """The e-mail step; `?password=1`: the password step straight away, for someone whose company
    offers its identity provider without requiring it (the e-mail step would take them there)."""
    if request.scope["pacto"].user:
        return Redirect(path=safe_next(next))
    return await _login_page(request, step="password" if password else "email", nxt=safe_next(next))


@post("/login")
async def login(request: Request, data: Form) -> Template | Response:
    """E-mail first: a domain with an SSO connection goes to its identity provider, others get the
    password step. A form that already carries a password is the password step."""
    cfg = settings()
    email = normalise_email(data.get("email", ""))
    nxt = safe_next(data.get("next"))
    if "password" not in data:
        if errors := check_email(email):
            return await _login_page(request, step="email", email=email, nxt=nxt, errors=errors, status_code=422)
        connection_id = await connection_for_email(email)
        if connection_id:
            return Redirect(path=f"/sso/{connection_id}/start", query_params={"next": nxt, "login_hint": email})
        return await _login_page(request, step="password", email=email, nxt=nxt)
    redis = _redis(request)
    allowed_ip = await ratelimit.hit(redis, f"login:ip:{client_ip(request)}", limit=cfg.login_rate_per_ip,
                                     window=cfg.login_rate_window)
    allowed_email = await ratelimit.hit(redis, f"login:email:{email}", limit=cfg.login_rate_per_email,
                                        window=cfg.login_rate_window)
    if not (allowed_ip and allowed_email):
        return await _login_page(request, step="password", email=email, nxt=nxt, status_code=429,
                                 errors={"form": _("Too many attempts. Wait a few minutes and try again.")})
    row = await db.raw_one("SELECT * FROM pacto_login_lookup($1)", email)
    if not verify_password(row["password_hash"] if row else None, data.get("password", "")) or not row["is_active"]:
        return await _login_page(request, step="password", email=email, nxt=nxt, status_code=400,
                                 errors={"form": _("E-mail or password is not correct.")})
    allowed = await db.raw_one("SELECT pacto_password_allowed($1) AS ok", row["user_id"])
    if not allowed["ok"]:
        return await _login_page(request, step="password", email=email, nxt=nxt, status_code=400, errors={
            "form": _("Your organization signs in with its identity provider: continue with your e-mail only.")})
    await ratelimit.clear(redis, f"login:email:{email}")
    session = await sessions.create(redis, user_id=row["user_id"], org_id=row["org_id"], max_age=cfg.session_max_age)
    await db.bind_org(row["org_id"])
    user = await User.objects().where(User.id == row["user_id"]).first()
    await record("user.signed_in", org_id=row["org_id"], target_type="user", target_id=user.id,
                 target_label=user.email, details={"ip": client_ip(request), "method": "password"})
    old = request.scope["pacto"].session
    if old:
        await sessions.destroy(redis, old)
    return _session_cookie(Redirect(path=nxt), session.token)


@post("/logout")
async def logout(request: Request) -> Response:
    """Sign out here; after an SSO sign-in, also at the identity provider when it offers that."""
    ctx = request.scope["pacto"]
    idp_logout = None
    if ctx.session:
        idp_logout = await sso_logout_url(ctx.session.extra)
        await sessions.destroy(_redis(request), ctx.session)
        if ctx.user:
            await record("user.signed_out", org_id=ctx.org.id, target_type="user", target_id=ctx.user.id,
                         target_label=ctx.user.email)
    if idp_logout:
        from backend.sso.pages import leave_for

        return _session_cookie(leave_for(request, idp_logout, _("Signing you out at your company's identity "
                                                              "provider…")), None)
    return _session_cookie(Redirect(path="/login"), None)


@post("/language")
async def choose_language(request: Request, data: Form) -> Response:
    """Switch language: saved on the user when signed in, else in a cookie."""
    locale = data.get("locale", "")
    if locale not in LOCALES:
        raise FieldErrors({"locale": _("Choose a language.")})
    ctx = request.scope["pacto"]
    if ctx.user:
        await do_set_locale(actor=Actor(user=ctx.user, org=ctx.org, ip=client_ip(request)), locale=locale)
    response = Redirect(path=safe_next(data.get("next")))
    response.set_cookie("pacto_lang", locale, max_age=365 * 86400, path="/", secure=settings().session_cookie_secure,
                        httponly=True, samesite="lax")
    return response


# -- password reset ---------------------------------------------------------------------------

def _reset_key(token: str) -> str:
    return "pwreset:" + hashlib.sha256(token.encode()).hexdigest()


@get("/password/forgot")
async def forgot_form(request: Request) -> Template:
    return page(request, "auth/forgot.html", sent=False, email="", errors={})


@post("/password/forgot")
async def forgot(request: Request, data: Form) -> Template:
    email = normalise_email(data.get("email", ""))
    redis = _redis(request)
    if await ratelimit.hit(redis, f"reset:{email}", limit=3, window=3600):
        row = await db.raw_one("SELECT * FROM pacto_login_lookup($1)", email)
        if row and row["is_active"]:
            token = secrets.token_urlsafe(32)
            await redis.set(_reset_key(token), json.dumps({"user_id": str(row["user_id"]),
                                                           "org_id": str(row["org_id"])}), ex=RESET_TTL)
            await db.bind_org(row["org_id"])
            user = await User.objects().where(User.id == row["user_id"]).first()
            mail.queue(email, "password_reset", locale=user.locale, name=user.name, token=token)
    # The same answer whether or not the address is known.
    return page(request, "auth/forgot.html", sent=True, email=email, errors={})


@get("/password/reset/{token:str}")
async def reset_form(request: Request, token: str) -> Template:
    valid = await _redis(request).exists(_reset_key(token))
    return page(request, "auth/reset.html", token=token, valid=bool(valid), errors={})


@post("/password/reset/{token:str}")
async def reset(request: Request, token: str, data: Form) -> Template | Response:
    redis = _redis(request)
    password = data.get("password", "")
    errors = {}
    if problem := password_problem(password):
        errors["password"] = problem
    elif password != data.get("password_again", ""):
        errors["password_again"] = _("The two passwords do not match.")
    if errors:
        valid = await redis.exists(_reset_key(token))
        return page(request, "auth/reset.html", status_code=422, token=token, valid=bool(valid), errors=errors)
    raw = await redis.getdel(_reset_key(token))  # single use
    if raw is None:
        return page(request, "auth/reset.html", status_code=400, token=token, valid=False, errors={})
    data_ = json.loads(raw)
    user_id, org_id = UUID(data_["user_id"]), UUID(data_["org_id"])
    await db.bind_org(org_id)
    await User.update({User.password_hash: hash_password(password), User.version: User.version + 1}).where(
        User.id == user_id)
    await record("user.password_reset", org_id=org_id, target_type="user", target_id=user_id)
    await sessions.destroy_all_for(redis, user_id)
    return _session_cookie(Redirect(path="/login?reset=1"), None)


routes = [login_form, login, logout, choose_language, forgot_form, forgot, reset_form, reset]
