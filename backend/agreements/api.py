"""JSON API: the agreement version in force on a date."""
from __future__ import annotations

import json
from datetime import date
from uuid import UUID

from litestar import Response, get

from backend.agreements import actions
from backend.agreements.tables import AgreementSignature, AgreementVersion
from backend.relationships.access import get_relationship_for
from backend.web.current import Actor
from backend.web.errors import FieldErrors, not_found


async def version_document(version: AgreementVersion) -> dict:
    signatures = await AgreementSignature.objects().where(AgreementSignature.agreement_version == version.id)
    return {
        "id": str(version.id), "relationship_id": str(version.relationship), "number": version.number,
        "status": version.status,
        "effective_date": version.effective_date.isoformat() if version.effective_date else None,
        "content_hash": version.content_hash or None,
        "signatures": [{"side": s.side, "name": s.signer_name, "email": s.signer_email,
                        "signed_at": s.signed_at.isoformat(), "content_hash": s.content_hash}
                       for s in sorted(signatures, key=lambda s: s.side)],
        "content": actions.content_of(version),
    }


@get("/api/v1/relationships/{relationship_id:uuid}/agreement")
async def agreement_in_force(actor: Actor, relationship_id: UUID, at: str | None = None) -> Response:
    """The version in force on `at` (YYYY-MM-DD, default today), with its signatures and hash."""
    view = await get_relationship_for(actor, relationship_id)
    try:
        day = date.fromisoformat(at) if at else date.today()
    except ValueError:
        raise FieldErrors({"at": "Enter a date as YYYY-MM-DD."}) from None
    version = await actions.in_force_on(view.relationship.id, day)
    if version is None:
        raise not_found()
    return Response(content=json.dumps(await version_document(version), ensure_ascii=False),
                    media_type="application/json")


routes = [agreement_in_force]
