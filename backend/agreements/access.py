"""Who may see and change a relationship's agreement versions."""
from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from backend.agreements.tables import AgreementVersion
from backend.relationships.access import RelationshipView, get_relationship_for
from backend.web.current import Actor
from backend.web.errors import not_found


@dataclass
class VersionView:
    version: AgreementVersion
    relationship: RelationshipView

    @property
    def editable(self) -> bool:
        """Drafts are written by both sides' members who may write."""
        return self.version.status == "draft" and self.relationship.can_write


async def get_version_for(actor: Actor, version_id: UUID) -> VersionView:
    version = await AgreementVersion.objects().where(AgreementVersion.id == version_id).first()
    if version is None:
        raise not_found()
    return VersionView(version, await get_relationship_for(actor, version.relationship))


async def versions_of(relationship_id: UUID) -> list[AgreementVersion]:
    return await AgreementVersion.objects().where(AgreementVersion.relationship == relationship_id).order_by(
        AgreementVersion.number, ascending=False)
