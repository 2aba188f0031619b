"""Who may see and manage an organization's users and invitations."""
from __future__ import annotations

from uuid import UUID

from backend.tenancy.tables import Invitation, User
from backend.web.current import Actor
from backend.web.errors import Forbidden, not_found


def require_admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise Forbidden()


async def get_colleague_for(actor: Actor, user_id: UUID) -> User:
    """A user of the actor's own organization; anyone else is 404."""
    user = await User.objects().where((User.id == user_id) & (User.org == actor.org.id)).first()
    if user is None:
        raise not_found()
    return user


async def colleagues_of(actor: Actor) -> list[User]:
    return await User.objects().where(User.org == actor.org.id).order_by(User.name)


async def get_invitation_for(actor: Actor, invitation_id: UUID) -> Invitation:
    invitation = await Invitation.objects().where(
        (Invitation.id == invitation_id) & (Invitation.org == actor.org.id)
    ).first()
    if invitation is None:
        raise not_found()
    return invitation


async def pending_invitations_of(actor: Actor) -> list[Invitation]:
    return await Invitation.objects().where(
        (Invitation.org == actor.org.id) & Invitation.accepted_at.is_null() & Invitation.revoked_at.is_null()
    ).order_by(Invitation.created_at, ascending=False)
