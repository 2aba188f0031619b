"""Organization API tokens for ERP integrations: `pacto_` + 32 random bytes, shown once, stored as
SHA-256; each limited to chosen relationships of its organization; revocable; last use recorded."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from uuid import UUID, uuid4

from backend import db
from backend.audit.actions import record
from backend.web.current import Actor
from backend.web.errors import FieldErrors, Forbidden, not_found
from backend.web.i18n import gettext as _

PREFIX = "pacto_"


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Found:
    token_id: UUID
    org_id: UUID
    user_id: UUID
    relationships: frozenset


async def authenticate(token: str) -> Found | None:
    if not token.startswith(PREFIX) or len(token) > 100:
        return None
    async with db.tenant_transaction(None):
        row = await db.raw_one("SELECT * FROM pacto_api_token_lookup($1)", digest(token))
    if row is None:
        return None
    return Found(row["token_id"], row["org_id"], row["user_id"], frozenset(row["relationships"] or []))


async def touch(token_id: UUID) -> None:
    await db.raw("UPDATE api_token SET last_used_at = now() WHERE id = $1", token_id)


async def do_create(*, actor: Actor, name: str, relationship_ids: list[str], allowed: set[UUID]) -> str:
    """The new token (shown once)."""
    if not actor.is_admin:
        raise Forbidden()
    errors = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = _("Name the token after the system that will use it.")
    elif len(name) > 100:
        errors["name"] = _("Use at most %(n)s characters.", n=100)
    chosen = []
    for raw in relationship_ids:
        try:
            value = UUID(raw)
        except ValueError:
            value = None
        if value is None or value not in allowed:
            errors["relationships"] = _("Choose relationships of your organization.")
            break
        chosen.append(value)
    if not chosen and "relationships" not in errors:
        errors["relationships"] = _("Choose at least one relationship.")
    if errors:
        raise FieldErrors(errors)
    token = PREFIX + secrets.token_urlsafe(32)
    token_id = uuid4()
    await db.raw(
        "INSERT INTO api_token (id, org, created_by, name, prefix, token_hash, relationships, created_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)", token_id, actor.org.id, actor.user.id, name, token[:12],
        digest(token), chosen, datetime.now(timezone.utc))
    await record("api_token.created", actor=actor, target_type="api_token", target_id=token_id, target_label=name,
                 details={"relationships": [str(c) for c in chosen], "prefix": token[:12]})
    return token


async def do_revoke(*, actor: Actor, token_id: UUID) -> None:
    if not actor.is_admin:
        raise not_found()
    row = await db.raw_one("UPDATE api_token SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL"
                           " RETURNING name", token_id)
    if row is None:
        raise not_found()
    await record("api_token.revoked", actor=actor, target_type="api_token", target_id=token_id,
                 target_label=row["name"])


async def tokens_of(actor: Actor) -> list[dict]:
    return [dict(r) for r in await db.raw(
        "SELECT t.*, u.name AS creator FROM api_token t JOIN app_user u ON u.id = t.created_by"
        " ORDER BY t.revoked_at NULLS FIRST, t.created_at DESC")]
