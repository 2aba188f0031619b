"""Who is acting: the signed-in user, and the request details an audit entry records."""
from __future__ import annotations

from dataclasses import dataclass

from litestar import Request

from backend.tenancy.tables import Organization, User
from backend.web.errors import NotAuthenticated


@dataclass(frozen=True)
class Actor:
    user: User
    org: Organization
    ip: str = ""
    user_agent: str = ""
    relationships: frozenset | None = None  # an API token's relationships; None: no such limit

    @property
    def is_admin(self) -> bool:
        return self.user.org_role == "admin"


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


async def provide_actor(request: Request) -> Actor:
    ctx = request.scope.get("pacto")
    if ctx is None or ctx.user is None or ctx.org is None:
        raise NotAuthenticated()
    return Actor(user=ctx.user, org=ctx.org, ip=client_ip(request),
                 user_agent=(request.headers.get("user-agent") or "")[:300], relationships=ctx.relationships)
