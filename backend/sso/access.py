"""Who may see an organization's SSO connections: its admins only."""
from __future__ import annotations

from uuid import UUID

from backend.sso.tables import SsoConnection, SsoDomain
from backend.web.current import Actor
from backend.web.errors import not_found


async def get_connection_for(actor: Actor, connection_id: UUID) -> SsoConnection:
    """The actor's own organization's connection; 404 for anyone else, and for non-admins."""
    if not actor.is_admin:
        raise not_found()
    connection = await SsoConnection.objects().where(
        (SsoConnection.id == connection_id) & (SsoConnection.org == actor.org.id)).first()
    if connection is None:
        raise not_found()
    return connection


async def connections_of(actor: Actor) -> list[SsoConnection]:
    return await SsoConnection.objects().where(SsoConnection.org == actor.org.id).order_by(SsoConnection.name)


async def domains_of(connection_ids: list[UUID]) -> dict[UUID, list[str]]:
    result: dict[UUID, list[str]] = {cid: [] for cid in connection_ids}
    if connection_ids:
        for row in await SsoDomain.select(SsoDomain.connection, SsoDomain.domain).where(
                SsoDomain.connection.is_in(connection_ids)).order_by(SsoDomain.domain):
            result[row["connection"]].append(row["domain"])
    return result
