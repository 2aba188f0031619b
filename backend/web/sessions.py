"""Server-side sessions, in PostgreSQL (table app_session, migration 2026-11-29T12:00).

The cookie holds the organization's id and a random secret, "<org id>.<secret>". The table holds
the cookie's SHA-256 with the user, the organization and an expiry, so a leaked dump does not
hand out live cookies. The request's transaction acts as the organization the cookie names, and
the middleware reads the session with its user in the same statement (web/middleware.py): the
row-level policy shows only that organization's sessions, so a cookie that names another
organization than its own finds nothing. Signing in always issues a new cookie (no session
fixation); signing out deletes its row, and disabling a user or resetting a password deletes all
of theirs, in the transaction of that change.
"""
from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass, field
from uuid import UUID

from backend import db

COOKIE = "pacto_session"


@dataclass(frozen=True)
class Session:
    token: str  # the cookie's value ("" for a request signed with an API token)
    user_id: UUID
    org_id: UUID
    extra: dict = field(default_factory=dict)  # e.g. the SSO connection and ID token, for logout


def org_of(cookie: str | None) -> UUID | None:
    """The organization a session cookie names, or None for a cookie that is not one of ours."""
    if not cookie or len(cookie) > 100:
        return None
    org, dot, secret = cookie.partition(".")
    if not dot or not secret or len(org) != 36:
        return None
    try:
        return UUID(org)
    except ValueError:
        return None


def hash_of(cookie: str) -> str:
    return hashlib.sha256(cookie.encode()).hexdigest()


async def _as(org_id: UUID, sql: str, *args) -> None:
    """Run sql as org_id (the session's), then go on as the organization the transaction acted as:
    signing in creates the session before acting as its organization, and ends the one of whoever
    was signed in on the browser before, maybe of another organization."""
    acting = db.acting_org()
    if acting == org_id:
        await db.raw(sql, *args)
        return
    await db.raw("SELECT set_config('app.org_id', $1, true)", str(org_id))
    await db.raw(sql, *args)
    await db.raw("SELECT set_config('app.org_id', $1, true)", str(acting) if acting else "")


async def create(*, user_id: UUID, org_id: UUID, max_age: int, extra: dict | None = None) -> Session:
    """A new session of the user, valid for max_age seconds; the user's expired ones go."""
    token = f"{org_id}.{secrets.token_urlsafe(32)}"
    await _as(org_id, "WITH gone AS (DELETE FROM app_session WHERE user_id = $2 AND expires_at <= now())"
              " INSERT INTO app_session (token_hash, user_id, org, extra, expires_at)"
              " VALUES ($1, $2, $3, $4, now() + $5::int * interval '1 second')",
              hash_of(token), user_id, org_id, json.dumps(extra or {}), max_age)
    return Session(token=token, user_id=user_id, org_id=org_id, extra=extra or {})


async def destroy(session: Session) -> None:
    if session.token:
        await _as(session.org_id, "DELETE FROM app_session WHERE token_hash = $1", hash_of(session.token))


async def destroy_all_for(user_id: UUID, org_id: UUID) -> None:
    """End every session of a user (disabled, or password changed)."""
    await _as(org_id, "DELETE FROM app_session WHERE user_id = $1", user_id)


async def delete_expired() -> int:
    """Delete the expired sessions of every organization (nightly); how many went."""
    async with db.tenant_transaction(None):
        return (await db.raw_one("SELECT pacto_delete_expired_sessions() AS gone"))["gone"]
