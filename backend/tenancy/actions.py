"""State changes of organizations, users and invitations.

Each do_* runs inside the request's (or command's) tenant transaction, writes its audit entry
in that transaction and queues e-mail for after the commit.
"""
from __future__ import annotations

import hashlib
import re
import secrets
from datetime import date, datetime, timedelta, timezone
from uuid import UUID, uuid4
from zoneinfo import available_timezones

from backend import db
from backend.audit.actions import record
from backend.auth.passwords import hash_password, password_problem
from backend.config import LOCALES, settings
from backend.notifications import mail
from backend.tenancy.tables import ORG_ROLES, Invitation, Organization, User
from backend.web.current import Actor
from backend.web.errors import Conflict, FieldErrors, Forbidden
from backend.web.i18n import gettext as _

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
CURRENCIES = ("EUR", "USD", "GBP", "CHF", "SEK", "DKK", "NOK", "PLN", "MXN", "COP", "CLP", "ARS", "BRL")


def normalise_email(raw: str) -> str:
    return (raw or "").strip().lower()


def check_email(email: str, field: str = "email") -> dict[str, str]:
    if not email:
        return {field: _("Enter an e-mail address.")}
    if len(email) > 254 or not EMAIL_RE.match(email):
        return {field: _("Enter a valid e-mail address, like name@company.com.")}
    return {}


def check_name(name: str, field: str = "name") -> dict[str, str]:
    if not name.strip():
        return {field: _("This field is required.")}
    if len(name) > 200:
        return {field: _("Use at most %(n)s characters.", n=200)}
    return {}


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def email_taken(email: str) -> bool:
    return bool(await db.raw("SELECT 1 FROM pacto_login_lookup($1)", email))


# -- organizations and users ----------------------------------------------------------------

async def create_organization(*, name: str, default_locale: str = "en", currency: str = "EUR",
                              time_zone: str = "Europe/Madrid", actor: Actor | None = None) -> Organization:
    """Create an organization and act as it for the rest of the transaction."""
    errors = check_name(name)
    if errors:
        raise FieldErrors(errors)
    org = Organization(id=uuid4(), name=name.strip(), default_locale=default_locale, currency=currency,
                       time_zone=time_zone, created_at=datetime.now(timezone.utc))
    await db.bind_org(org.id)
    await org.save()
    await record("organization.created", actor=actor, org_id=org.id, target_type="organization",
                 target_id=org.id, target_label=org.name)
    return org


async def create_user(*, org_id: UUID, email: str, name: str, password: str | None = None,
                      org_role: str = "member", locale: str | None = None, actor: Actor | None = None) -> User:
    email = normalise_email(email)
    errors = check_email(email) | check_name(name)
    if password is not None and (problem := password_problem(password)):
        errors["password"] = problem
    if org_role not in ORG_ROLES:
        errors["org_role"] = _("Choose a role.")
    if not errors and await email_taken(email):
        errors["email"] = _("A user with this e-mail address already exists.")
    if errors:
        raise FieldErrors(errors)
    user = User(id=uuid4(), org=org_id, email=email, name=name.strip(),
                password_hash=hash_password(password) if password else None, org_role=org_role,
                locale=locale if locale in LOCALES else None, created_at=datetime.now(timezone.utc))
    await user.save()
    await record("user.created", actor=actor, org_id=org_id, target_type="user", target_id=user.id,
                 target_label=user.email, details={"org_role": org_role})
    return user


async def do_change_role(*, actor: Actor, user: User, org_role: str, version: int) -> User:
    if org_role not in ORG_ROLES:
        raise FieldErrors({"org_role": _("Choose a role.")})
    if user.id == actor.user.id and org_role != "admin":
        raise FieldErrors({"org_role": _("You cannot remove your own administrator role.")})
    await _update_user(user, version, org_role=org_role)
    await record("user.role_changed", actor=actor, target_type="user", target_id=user.id,
                 target_label=user.email, details={"org_role": org_role})
    return user


async def do_set_active(*, actor: Actor, user: User, active: bool, version: int) -> User:
    if user.id == actor.user.id:
        raise FieldErrors({"is_active": _("You cannot disable your own account.")})
    await _update_user(user, version, is_active=active)
    await record("user.enabled" if active else "user.disabled", actor=actor, target_type="user",
                 target_id=user.id, target_label=user.email)
    if not active:
        from backend.web import sessions

        from backend import jobs

        redis = jobs.redis()
        if redis is not None:
            db.after_commit(lambda: sessions.destroy_all_for(redis, user.id))
    return user


async def do_set_can_sign(*, actor: Actor, user: User, can_sign: bool, version: int) -> User:
    """Grant or withdraw the permission to sign agreements for the organization."""
    if not actor.is_admin:
        raise Forbidden()
    await _update_user(user, version, can_sign=can_sign)
    await record("user.signing_granted" if can_sign else "user.signing_withdrawn", actor=actor,
                 target_type="user", target_id=user.id, target_label=user.email)
    return user


async def do_set_locale(*, actor: Actor, locale: str) -> None:
    if locale not in LOCALES:
        raise FieldErrors({"locale": _("Choose a language.")})
    await User.update({User.locale: locale}).where(User.id == actor.user.id)
    await record("user.locale_changed", actor=actor, target_type="user", target_id=actor.user.id,
                 target_label=actor.user.email, details={"locale": locale})


async def _update_user(user: User, version: int, **values) -> None:
    columns = {getattr(User, key): value for key, value in values.items()}
    columns[User.version] = version + 1
    updated = await User.update(columns).where((User.id == user.id) & (User.version == version)).returning(User.id)
    if not updated:
        raise Conflict()
    for key, value in values.items():
        setattr(user, key, value)
    user.version = version + 1


# -- invitations ----------------------------------------------------------------------------

async def _new_invitation(*, actor: Actor, kind: str, email: str, org_role: str = "member",
                          details: dict | None = None) -> tuple[Invitation, str]:
    token = secrets.token_urlsafe(32)
    invitation = Invitation(
        id=uuid4(), org=actor.org.id, kind=kind, email=email, org_role=org_role,
        token_hash=token_digest(token), invited_by=actor.user.id, details=details or {},
        expires_at=datetime.now(timezone.utc) + timedelta(days=settings().invitation_days),
        created_at=datetime.now(timezone.utc),
    )
    await invitation.save()
    return invitation, token


async def do_invite_colleague(*, actor: Actor, email: str, org_role: str) -> Invitation:
    if not actor.is_admin:
        raise Forbidden()
    email = normalise_email(email)
    errors = check_email(email)
    if org_role not in ORG_ROLES:
        errors["org_role"] = _("Choose a role.")
    if not errors and await email_taken(email):
        errors["email"] = _("A user with this e-mail address already exists.")
    if errors:
        raise FieldErrors(errors)
    invitation, token = await _new_invitation(actor=actor, kind="colleague", email=email, org_role=org_role)
    await record("invitation.sent", actor=actor, target_type="invitation", target_id=invitation.id,
                 target_label=email, details={"kind": "colleague", "org_role": org_role})
    mail.queue(email, "invite_colleague", locale=actor.user.locale, inviter=actor.user.name,
               org_name=actor.org.name, token=token, days=settings().invitation_days)
    return invitation


async def may_invite_supplier(actor: Actor) -> bool:
    if actor.is_admin:
        return True
    return bool(await db.raw(
        "SELECT 1 FROM relationship_member m JOIN relationship r ON r.id = m.relationship"
        " WHERE m.\"user\" = $1 AND m.role = 'responsable' AND r.client_org = $2 LIMIT 1",
        actor.user.id, actor.org.id,
    ))


def check_relationship_terms(*, name: str, time_zone: str, currency: str, start_date: str) -> tuple[dict, date | None]:
    errors = check_name(name, "relationship_name")
    if time_zone not in available_timezones():
        errors["time_zone"] = _("Choose a time zone from the list.")
    if currency not in CURRENCIES:
        errors["currency"] = _("Choose a currency from the list.")
    parsed = None
    try:
        parsed = date.fromisoformat(start_date)
    except (TypeError, ValueError):
        errors["start_date"] = _("Enter a date as YYYY-MM-DD.")
    return errors, parsed


async def do_invite_supplier(*, actor: Actor, email: str, company_name: str, relationship_name: str,
                             time_zone: str, currency: str, start_date: str) -> Invitation:
    if not await may_invite_supplier(actor):
        raise Forbidden()
    email = normalise_email(email)
    errors = check_email(email) | check_name(company_name, "company_name")
    terms_errors, start = check_relationship_terms(name=relationship_name, time_zone=time_zone,
                                                   currency=currency, start_date=start_date)
    errors |= terms_errors
    if not errors and email.split("@")[1] == actor.user.email.split("@")[1]:
        errors["email"] = _("This address is in your own company's domain; invite a colleague instead.")
    if errors:
        raise FieldErrors(errors)
    details = {"company_name": company_name.strip(), "relationship_name": relationship_name.strip(),
               "time_zone": time_zone, "currency": currency, "start_date": start.isoformat()}
    invitation, token = await _new_invitation(actor=actor, kind="supplier", email=email, details=details)
    await record("invitation.sent", actor=actor, target_type="invitation", target_id=invitation.id,
                 target_label=email, details={"kind": "supplier"} | details)
    mail.queue(email, "invite_supplier", locale=actor.user.locale, inviter=actor.user.name,
               org_name=actor.org.name, token=token, details=details, days=settings().invitation_days)
    return invitation


async def do_revoke_invitation(*, actor: Actor, invitation: Invitation) -> None:
    if invitation.invited_by != actor.user.id and not actor.is_admin:
        raise Forbidden()
    await Invitation.update({Invitation.revoked_at: datetime.now(timezone.utc)}).where(
        (Invitation.id == invitation.id) & Invitation.accepted_at.is_null()
    )
    await record("invitation.revoked", actor=actor, target_type="invitation", target_id=invitation.id,
                 target_label=invitation.email)


async def peek_invitation(token: str) -> dict | None:
    """The invitation behind a token, if it can still be accepted (else None)."""
    import json

    row = await db.raw_one("SELECT pacto_invitation_peek($1) AS inv", token_digest(token or ""))
    if row is None or row["inv"] is None:
        return None
    invitation = json.loads(row["inv"]) if isinstance(row["inv"], str) else row["inv"]
    if invitation["accepted_at"] or invitation["revoked_at"]:
        return None
    if datetime.fromisoformat(invitation["expires_at"]) <= datetime.now(timezone.utc):
        return None
    return invitation


async def do_accept_invitation(token: str, *, signed_in: Actor | None, name: str = "", password: str = "",
                               company_name: str = "") -> tuple[User, UUID | None]:
    """Accept a colleague or supplier invitation. Returns (the user who accepted, relationship id)."""
    from backend.relationships.actions import create_relationship

    invitation = await peek_invitation(token)
    if invitation is None:
        raise FieldErrors({"token": _("This invitation is no longer valid.")})
    if signed_in is not None:
        if signed_in.user.email != invitation["email"]:
            raise FieldErrors({"token": _("This invitation was sent to another e-mail address.")})
        if invitation["kind"] == "colleague":
            raise FieldErrors({"token": _("You already belong to an organization.")})
    elif await email_taken(invitation["email"]):
        raise FieldErrors({"token": _("An account with this e-mail exists: sign in first, then open the link again.")})

    errors = {}
    if signed_in is None:
        errors |= check_name(name)
        if problem := password_problem(password or ""):
            errors["password"] = problem
        if invitation["kind"] == "supplier":
            errors |= check_name(company_name, "company_name")
    if errors:
        raise FieldErrors(errors)

    claimed = await db.raw_one("SELECT pacto_invitation_claim($1) AS id", token_digest(token))
    if claimed is None or claimed["id"] is None:
        raise FieldErrors({"token": _("This invitation is no longer valid.")})

    inviting_org = UUID(invitation["org_id"])
    if invitation["kind"] == "colleague":
        await db.bind_org(inviting_org)
        user = await create_user(org_id=inviting_org, email=invitation["email"], name=name, password=password,
                                 org_role=invitation["org_role"])
        await record("invitation.accepted", org_id=inviting_org, target_type="invitation",
                     target_id=invitation["id"], target_label=user.email, details={"user": str(user.id)})
        return user, None

    details = invitation["details"]
    if signed_in is not None:
        user, supplier_org_id = signed_in.user, signed_in.org.id
        if supplier_org_id == inviting_org:
            raise FieldErrors({"token": _("This invitation was sent to another e-mail address.")})
    else:
        org = await create_organization(name=company_name, currency=details["currency"],
                                        time_zone=details["time_zone"])
        supplier_org_id = org.id
        user = await create_user(org_id=org.id, email=invitation["email"], name=name, password=password,
                                 org_role="admin")
    await db.bind_org(supplier_org_id)
    members = [(user.id, supplier_org_id, "manager")]
    if invitation["invited_by"]:
        members.append((UUID(invitation["invited_by"]), inviting_org, "responsable"))
    relationship = await create_relationship(
        client_org_id=inviting_org, supplier_org_id=supplier_org_id, name=details["relationship_name"],
        time_zone=details["time_zone"], currency=details["currency"],
        start_date=date.fromisoformat(details["start_date"]), members=members,
    )
    await record("invitation.accepted", org_id=supplier_org_id, relationship_id=relationship.id,
                 target_type="invitation", target_id=invitation["id"], target_label=user.email)
    return user, relationship.id
