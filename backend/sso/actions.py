"""SSO connections (org admins) and signing in through them.

The sign-in is split in two: begin() stores state, nonce and PKCE verifier in Redis and sends
the browser to the IdP; complete() takes the callback, validates everything and returns the user,
creating it on first sign-in (just-in-time). Every check happens before anything is written, so a
refused sign-in creates nothing.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID, uuid4

from redis.asyncio import Redis

from backend import db
from backend.audit.actions import record
from backend.config import settings
from backend.sso import crypto, oidc
from backend.sso.oidc import SsoFailure
from backend.sso.tables import SsoConnection, SsoDomain, SsoIdentity
from backend.tenancy.actions import check_name, create_user, email_taken, normalise_email
from backend.tenancy.tables import ORG_ROLES, User
from backend.web.current import Actor
from backend.web.errors import Conflict, FieldErrors, Forbidden
from backend.web.i18n import gettext as _

log = logging.getLogger("pacto.sso")

STATE_TTL = 600
DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def redirect_uri() -> str:
    return settings().base_url + "/sso/callback"


# -- connections (org admins) ------------------------------------------------------------------

@dataclass
class ConnectionInput:
    name: str
    issuer: str
    client_id: str
    client_secret: str
    domains: str
    default_role: str = "member"
    groups_claim: str = "groups"
    group_roles: str = ""  # one "group = role" per line
    sso_required: bool = False
    break_glass_user: str = ""
    show_on_login: bool = False
    enabled: bool = True


def parse_group_roles(text: str) -> tuple[dict[str, str], str | None]:
    mapping = {}
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        group, sep, role = line.partition("=")
        if not sep or not group.strip() or role.strip() not in ORG_ROLES:
            return {}, _("Line %(n)s: write “group = admin” or “group = member”.", n=number)
        mapping[group.strip()] = role.strip()
    return mapping, None


def _issuer_problem(issuer: str) -> str | None:
    parts = urlsplit(issuer)
    local = parts.hostname in ("localhost", "127.0.0.1", "::1")
    if parts.scheme != "https" and not (parts.scheme == "http" and local):
        return _("Use the issuer's https:// address (http:// only for localhost).")
    if not parts.hostname or parts.query or parts.fragment:
        return _("Enter the issuer URL exactly as your identity provider gives it.")
    return None


async def _validate(actor: Actor, data: ConnectionInput, current: SsoConnection | None) -> tuple[dict, dict]:
    errors = check_name(data.name)
    issuer = (data.issuer or "").strip().rstrip("/")
    if problem := _issuer_problem(issuer):
        errors["issuer"] = problem
    if not data.client_id.strip():
        errors["client_id"] = _("This field is required.")
    if current is None and not data.client_secret:
        errors["client_secret"] = _("This field is required.")
    domains = sorted({d.strip().lower() for d in re.split(r"[\s,;]+", data.domains or "") if d.strip()})
    bad = [d for d in domains if not DOMAIN_RE.match(d)]
    if not domains:
        errors["domains"] = _("Give at least one e-mail domain, like company.com.")
    elif bad:
        errors["domains"] = _("Not a domain: %(domains)s", domains=", ".join(bad))
    else:
        for domain in domains:
            owner = await db.raw_one("SELECT pacto_sso_for_domain($1) AS id", domain)
            if owner["id"] and (current is None or owner["id"] != current.id):
                errors["domains"] = _("%(domain)s already belongs to another connection.", domain=domain)
    if data.default_role not in ORG_ROLES:
        errors["default_role"] = _("Choose a role.")
    group_roles, problem = parse_group_roles(data.group_roles)
    if problem:
        errors["group_roles"] = problem
    break_glass = None
    if data.break_glass_user:
        try:
            break_glass = UUID(data.break_glass_user)
        except ValueError:
            break_glass = None
        admin = await User.exists().where((User.id == break_glass) & (User.org == actor.org.id)
                                          & (User.org_role == "admin")) if break_glass else False
        if not admin:
            errors["break_glass_user"] = _("Choose one of your organization's administrators.")
    if data.sso_required and not break_glass:
        errors["break_glass_user"] = _("When SSO is required, choose a break-glass administrator who may still "
                                       "use a password.")
    values = {
        "name": data.name.strip(), "issuer": issuer, "client_id": data.client_id.strip(),
        "default_role": data.default_role, "groups_claim": (data.groups_claim or "groups").strip()[:100],
        "group_roles": group_roles, "sso_required": data.sso_required, "break_glass_user": break_glass,
        "show_on_login": data.show_on_login, "enabled": data.enabled,
    }
    return {"values": values, "domains": domains}, errors


async def do_save_connection(*, actor: Actor, data: ConnectionInput, current: SsoConnection | None = None,
                             version: int | None = None) -> SsoConnection:
    if not actor.is_admin:
        raise Forbidden()
    cleaned, errors = await _validate(actor, data, current)
    if errors:
        raise FieldErrors(errors)
    values, domains = cleaned["values"], cleaned["domains"]
    now = datetime.now(timezone.utc)
    if data.client_secret:
        values["client_secret_encrypted"] = crypto.encrypt(data.client_secret)
    if current is None:
        connection = SsoConnection(id=uuid4(), org=actor.org.id, created_at=now, updated_at=now, **values)
        await connection.save()
        action = "sso.connection_created"
    else:
        columns = {getattr(SsoConnection, k): v for k, v in values.items()}
        columns[SsoConnection.version] = (version or 0) + 1
        columns[SsoConnection.updated_at] = now
        updated = await SsoConnection.update(columns).where(
            (SsoConnection.id == current.id) & (SsoConnection.version == (version or 0))).returning(SsoConnection.id)
        if not updated:
            raise Conflict()
        connection = await SsoConnection.objects().where(SsoConnection.id == current.id).first()
        action = "sso.connection_updated"
    await SsoDomain.delete().where(SsoDomain.connection == connection.id)
    for domain in domains:
        await SsoDomain(id=uuid4(), domain=domain, connection=connection.id, org=actor.org.id).save()
    details = {k: (str(v) if isinstance(v, UUID) else v) for k, v in values.items()
               if k != "client_secret_encrypted"}
    details |= {"domains": domains, "client_secret_changed": bool(data.client_secret)}
    await record(action, actor=actor, target_type="sso_connection", target_id=connection.id,
                 target_label=connection.name, details=details)
    return connection


async def do_delete_connection(*, actor: Actor, connection: SsoConnection) -> None:
    if not actor.is_admin:
        raise Forbidden()
    await SsoConnection.delete().where(SsoConnection.id == connection.id)
    await record("sso.connection_deleted", actor=actor, target_type="sso_connection", target_id=connection.id,
                 target_label=connection.name)


# -- signing in --------------------------------------------------------------------------------

async def connection_settings(connection_id: UUID) -> dict[str, Any] | None:
    row = await db.raw_one("SELECT pacto_sso_connection($1) AS c", connection_id)
    if row is None or row["c"] is None:
        return None
    conn = json.loads(row["c"]) if isinstance(row["c"], str) else row["c"]
    return conn if conn["enabled"] else None


async def connection_for_email(email: str) -> UUID | None:
    domain = normalise_email(email).rpartition("@")[2]
    if not domain:
        return None
    row = await db.raw_one("SELECT pacto_sso_for_domain($1) AS id", domain)
    return row["id"] if row else None


BROWSER_COOKIE = "pacto_sso"


def browser_binding(cookie: str | None) -> str:
    """The random value that ties sign-ins to the browser that starts them (kept in the
    BROWSER_COOKIE cookie): the one it already holds, else a new one."""
    if cookie and 40 <= len(cookie) <= 64 and re.fullmatch(r"[A-Za-z0-9_-]+", cookie):
        return cookie
    return secrets.token_urlsafe(32)


def _digest(binding: str) -> str:
    return hashlib.sha256(binding.encode()).hexdigest()


async def begin(redis: Redis, connection: dict[str, Any], *, next_path: str, login_hint: str | None,
                binding: str) -> str:
    """Store what the callback must check, with the digest of the browser's binding, and return
    the IdP's authorization URL."""
    provider = await oidc.discover(connection["issuer"])
    request = oidc.authorization_request(provider, client_id=connection["client_id"], redirect_uri=redirect_uri(),
                                         login_hint=login_hint)
    await redis.set(f"sso:state:{request.state}", json.dumps({
        "connection": connection["id"], "nonce": request.nonce, "verifier": request.code_verifier,
        "next": next_path, "browser": _digest(binding)}), ex=STATE_TTL)
    return request.url


def check_browser(stored: dict[str, Any], cookie: str | None) -> None:
    """The answer comes back to the browser that started the sign-in. Otherwise someone could
    start a sign-in with their own account, keep the IdP's answer and have another person open it,
    who would then work in their account (login CSRF)."""
    if not cookie or not hmac.compare_digest(_digest(cookie), stored.get("browser") or ""):
        raise SsoFailure("other_browser", "the sign-in answer reached a browser that did not start the sign-in")


@dataclass
class SignedIn:
    user: User
    org_id: UUID
    connection_id: UUID
    id_token: str
    next_path: str
    created: bool


async def take_state(redis: Redis, state: str | None) -> dict[str, Any]:
    """The stored request behind `state`, once: a second use is a replay."""
    if not state:
        raise SsoFailure("missing_state", "the identity provider's answer has no state")
    raw = await redis.getdel(f"sso:state:{state}")
    if raw is None:
        used = await redis.get(f"sso:used:{state}")
        if used is not None:
            raise SsoFailure("replayed_state", "this sign-in answer was already used") from None
        raise SsoFailure("unknown_state", "this sign-in answer is unknown or too old")
    stored = json.loads(raw)
    await redis.set(f"sso:used:{state}", stored["connection"], ex=STATE_TTL)
    return stored


async def replayed_connection(redis: Redis, state: str | None) -> str | None:
    if not state:
        return None
    value = await redis.get(f"sso:used:{state}")
    return value.decode() if value else None


def _role_from_groups(connection: dict[str, Any], claims: dict[str, Any]) -> str:
    groups = claims.get(connection["groups_claim"] or "groups") or []
    if isinstance(groups, str):
        groups = [groups]
    roles = {connection["group_roles"].get(group) for group in groups}
    if "admin" in roles:
        return "admin"
    if "member" in roles:
        return "member"
    return connection["default_role"]


async def complete(stored: dict[str, Any], connection: dict[str, Any], *, code: str | None) -> SignedIn:
    """Validate the IdP's answer and sign the user in (creating the user on first sign-in)."""
    if not code:
        raise SsoFailure("missing_code", "the identity provider sent no authorization code")
    provider = await oidc.discover(connection["issuer"])
    token = await oidc.exchange_code(
        provider, client_id=connection["client_id"],
        client_secret=crypto.decrypt(connection["client_secret_encrypted"]), redirect_uri=redirect_uri(),
        code=code, code_verifier=stored["verifier"])
    claims = await oidc.validate_id_token(provider, token["id_token"], client_id=connection["client_id"],
                                          nonce=stored["nonce"])
    email = normalise_email(claims.get("email") or "")
    if not email:
        raise SsoFailure("no_email", "the ID token carries no e-mail address")
    if claims.get("email_verified") is False:
        raise SsoFailure("email_not_verified", email)
    if email.rpartition("@")[2] not in connection["domains"]:
        raise SsoFailure("domain_not_allowed", email)
    org_id = UUID(connection["org_id"])
    name = (claims.get("name") or email.split("@")[0]).strip()[:200]
    role = _role_from_groups(connection, claims)

    await db.bind_org(org_id)
    found = await db.raw_one("SELECT * FROM pacto_sso_identity($1, $2)", provider.issuer, str(claims["sub"]))
    now = datetime.now(timezone.utc)
    if found is not None:
        if found["org_id"] != org_id:
            raise SsoFailure("wrong_organization", "this identity belongs to another organization")
        user = await User.objects().where(User.id == found["user_id"]).first()
        if user is None or not user.is_active:
            raise SsoFailure("user_disabled", email)
        changes = {}
        if user.name != name:
            changes[User.name] = name
        if user.email != email:
            if await email_taken(email):
                raise SsoFailure("email_in_use", email)
            changes[User.email] = email
        if changes:
            await User.update({**changes, User.version: User.version + 1}).where(User.id == user.id)
            user = await User.objects().where(User.id == user.id).first()
        await SsoIdentity.update({SsoIdentity.last_login_at: now}).where(
            (SsoIdentity.issuer == provider.issuer) & (SsoIdentity.subject == str(claims["sub"])))
        created = False
    else:
        if await email_taken(email):
            # Never matched by e-mail alone: an existing account is linked by an admin, not by the IdP.
            raise SsoFailure("email_in_use", email)
        user = await create_user(org_id=org_id, email=email, name=name, org_role=role)
        await SsoIdentity(id=uuid4(), user=user.id, org=org_id, connection=UUID(connection["id"]),
                          issuer=provider.issuer, subject=str(claims["sub"]), created_at=now,
                          last_login_at=now).save()
        created = True
    await record("user.signed_in", org_id=org_id, target_type="user", target_id=user.id, target_label=user.email,
                 details={"method": "sso", "connection": connection["id"], "issuer": provider.issuer,
                          "created": created})
    return SignedIn(user=user, org_id=org_id, connection_id=UUID(connection["id"]), id_token=token["id_token"],
                    next_path=stored.get("next") or "/", created=created)


async def record_failure(connection: dict[str, Any] | None, failure: SsoFailure, ip: str) -> None:
    """Audit a refused sign-in in the connection's organization. Without a state we cannot tell
    which organization it concerned: such a request is logged, not audited."""
    if connection is None:
        log.warning("SSO callback refused (%s: %s) from %s; no connection known", failure.reason,
                    failure.detail, ip)
        return
    org_id = UUID(connection["org_id"])
    await db.bind_org(org_id)
    await record("sso.sign_in_failed", org_id=org_id, target_type="sso_connection", target_id=connection["id"],
                 target_label=connection["name"],
                 details={"reason": failure.reason, "detail": failure.detail[:300], "ip": ip})


async def logout_url(session_extra: dict[str, Any]) -> str | None:
    """The IdP's end-session URL for RP-initiated logout, when it offers one."""
    connection_id = session_extra.get("sso_connection")
    if not connection_id:
        return None
    connection = await connection_settings(UUID(connection_id))
    if connection is None:
        return None
    try:
        provider = await oidc.discover(connection["issuer"])
    except SsoFailure:
        return None
    if not provider.end_session_endpoint:
        return None
    from urllib.parse import urlencode

    query = urlencode({"id_token_hint": session_extra.get("id_token", ""), "client_id": connection["client_id"],
                       "post_logout_redirect_uri": settings().base_url + "/login"})
    return f"{provider.end_session_endpoint}?{query}"
