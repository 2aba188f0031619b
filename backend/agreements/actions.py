"""State changes of agreement versions: drafting section by section, proposing, requesting
changes, signing. A version signed by both sides is in force from its effective date and never
changes again (the database refuses it too); an amendment is a new draft copied from it."""
from __future__ import annotations

import json
from datetime import date, datetime, timezone
from typing import Any
from uuid import UUID, uuid4

from backend import db
from backend.agreements.access import VersionView
from backend.agreements.sections import BY_KEY, clean_row, content_hash, empty_content, new_row_id
from backend.agreements.tables import AgreementSignature, AgreementVersion
from backend.audit.actions import record
from backend.relationships.access import RelationshipView
from backend.relationships.tables import Contact
from backend.web.current import Actor
from backend.web.errors import Conflict, FieldErrors, Forbidden, not_found
from backend.web.i18n import gettext as _


def content_of(version: AgreementVersion) -> dict[str, Any]:
    content = version.content
    if isinstance(content, str):  # Piccolo hands JSONB back as text
        content = json.loads(content or "{}")
    return empty_content() | (content or {})


def hash_of(version: AgreementVersion, content: dict[str, Any] | None = None) -> str:
    effective = version.effective_date.isoformat() if version.effective_date else None
    return content_hash(str(version.relationship), version.number, effective, content or content_of(version))


async def in_force_on(relationship_id: UUID, day: date) -> AgreementVersion | None:
    """The version in force on a day: the signed one with the latest effective date on or before it."""
    row = await db.raw_one(
        "SELECT * FROM agreement_version WHERE relationship = $1 AND status = 'signed' AND effective_date <= $2"
        " ORDER BY effective_date DESC, number DESC LIMIT 1", relationship_id, day)
    return db.object_of(AgreementVersion, row) if row else None


async def do_start_draft(*, actor: Actor, view: RelationshipView, based_on: AgreementVersion | None = None
                         ) -> AgreementVersion:
    if not view.can_write:
        raise Forbidden()
    rel = view.relationship.id
    open_version = await AgreementVersion.exists().where(
        (AgreementVersion.relationship == rel) & AgreementVersion.status.is_in(["draft", "proposed"]))
    if open_version:
        raise FieldErrors({"version": _("A draft or proposed version is already open; finish it first.")})
    if based_on is None:  # after the first signature, every new draft is an amendment
        based_on = await AgreementVersion.objects().where(
            (AgreementVersion.relationship == rel) & (AgreementVersion.status == "signed")
        ).order_by(AgreementVersion.number, ascending=False).first()
    if based_on is not None and based_on.status != "signed":
        raise FieldErrors({"version": _("An amendment starts from a signed version.")})
    await db.raw("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", f"agreement:{rel}")
    last = await db.raw_one("SELECT max(number) AS n FROM agreement_version WHERE relationship = $1", rel)
    now = datetime.now(timezone.utc)
    version = AgreementVersion(
        id=uuid4(), relationship=rel, number=(last["n"] or 0) + 1, status="draft",
        content=json.dumps(content_of(based_on) if based_on else empty_content()),
        based_on=based_on.id if based_on else None, created_by=actor.user.id, created_at=now, updated_at=now)
    await version.save()
    await record("agreement.draft_started", actor=actor, relationship_id=rel, target_type="agreement_version",
                 target_id=version.id, target_label=f"v{version.number}",
                 details={"based_on": f"v{based_on.number}" if based_on else None})
    return version


async def _write(vv: VersionView, lock: int, **columns: Any) -> None:
    version = vv.version
    values = {getattr(AgreementVersion, k): v for k, v in columns.items()}
    values[AgreementVersion.version] = lock + 1
    values[AgreementVersion.updated_at] = datetime.now(timezone.utc)
    updated = await AgreementVersion.update(values).where(
        (AgreementVersion.id == version.id) & (AgreementVersion.version == lock)).returning(AgreementVersion.id)
    if not updated:
        raise Conflict()
    for key, value in columns.items():
        setattr(version, key, value)
    version.version = lock + 1


def _require_draft(actor: Actor, vv: VersionView) -> None:
    if vv.version.status != "draft":
        raise Conflict()  # the version moved on (proposed or signed): it is not edited any more
    if not vv.relationship.can_write:
        raise Forbidden()


async def _contact_sides(relationship_id: UUID) -> dict[str, str]:
    rows = await Contact.select(Contact.id, Contact.side).where(Contact.relationship == relationship_id)
    return {str(row["id"]): row["side"] for row in rows}


async def do_save_row(*, actor: Actor, vv: VersionView, section_key: str, row_id: str | None,
                      data: dict[str, str], lock: int) -> dict[str, Any]:
    section = BY_KEY.get(section_key)
    if section is None:
        raise not_found()
    _require_draft(actor, vv)
    values, errors = clean_row(section, data, await _contact_sides(vv.version.relationship))
    if errors:
        raise FieldErrors(errors)
    content = content_of(vv.version)
    if section.kind == "object":
        before = content[section.key]
        content[section.key] = values
        row = values
    else:
        rows = content[section.key]
        if row_id is None:
            row = {"id": new_row_id()} | values
            rows.append(row)
            before = None
        else:
            index = next((i for i, r in enumerate(rows) if r.get("id") == row_id), None)
            if index is None:
                raise not_found()
            before = rows[index]
            row = {"id": row_id} | values
            rows[index] = row
    await _write(vv, lock, content=json.dumps(content))
    await record("agreement.section_edited", actor=actor, relationship_id=vv.version.relationship,
                 target_type="agreement_version", target_id=vv.version.id, target_label=f"v{vv.version.number}",
                 details={"section": section.key, "row": row.get("id"), "before": before, "after": row})
    return row


async def do_remove_row(*, actor: Actor, vv: VersionView, section_key: str, row_id: str, lock: int) -> None:
    section = BY_KEY.get(section_key)
    if section is None or section.kind != "list":
        raise not_found()
    _require_draft(actor, vv)
    content = content_of(vv.version)
    removed = [r for r in content[section.key] if r.get("id") == row_id]
    if not removed:
        raise not_found()
    content[section.key] = [r for r in content[section.key] if r.get("id") != row_id]
    await _write(vv, lock, content=json.dumps(content))
    await record("agreement.row_removed", actor=actor, relationship_id=vv.version.relationship,
                 target_type="agreement_version", target_id=vv.version.id, target_label=f"v{vv.version.number}",
                 details={"section": section.key, "row": removed[0]})


async def do_set_effective_date(*, actor: Actor, vv: VersionView, raw: str, lock: int) -> None:
    _require_draft(actor, vv)
    try:
        effective = date.fromisoformat((raw or "").strip())
    except ValueError:
        raise FieldErrors({"effective_date": _("Enter a date as YYYY-MM-DD.")}) from None
    previous = await in_force_on(vv.version.relationship, date.max)
    if previous is not None and effective <= previous.effective_date:
        raise FieldErrors({"effective_date": _("Must come after %(date)s, when version %(n)s took effect.",
                                               date=previous.effective_date.isoformat(), n=previous.number)})
    await _write(vv, lock, effective_date=effective)
    await record("agreement.effective_date_set", actor=actor, relationship_id=vv.version.relationship,
                 target_type="agreement_version", target_id=vv.version.id, target_label=f"v{vv.version.number}",
                 details={"effective_date": effective.isoformat()})


async def do_propose(*, actor: Actor, vv: VersionView, lock: int) -> None:
    _require_draft(actor, vv)
    if vv.version.effective_date is None:
        raise FieldErrors({"effective_date": _("Set the effective date before proposing.")})
    digest = hash_of(vv.version)
    await _write(vv, lock, status="proposed", content_hash=digest, proposed_by_org=actor.org.id,
                 proposed_at=datetime.now(timezone.utc))
    await record("agreement.proposed", actor=actor, relationship_id=vv.version.relationship,
                 target_type="agreement_version", target_id=vv.version.id, target_label=f"v{vv.version.number}",
                 details={"content_hash": digest})


async def do_request_changes(*, actor: Actor, vv: VersionView, comment: str, lock: int) -> None:
    """The other side sends a proposed version back to draft, saying what should change."""
    if vv.version.status != "proposed":
        raise Conflict()
    if not vv.relationship.can_write or vv.version.proposed_by_org == actor.org.id:
        raise Forbidden()
    comment = (comment or "").strip()
    if not comment:
        raise FieldErrors({"comment": _("Say what should change.")})
    if await AgreementSignature.exists().where(AgreementSignature.agreement_version == vv.version.id):
        raise FieldErrors({"comment": _("This version already carries a signature; it can no longer go back.")})
    await _write(vv, lock, status="draft", content_hash="", proposed_by_org=None, proposed_at=None)
    await record("agreement.changes_requested", actor=actor, relationship_id=vv.version.relationship,
                 target_type="agreement_version", target_id=vv.version.id, target_label=f"v{vv.version.number}",
                 details={"comment": comment[:2000]})


async def do_sign(*, actor: Actor, vv: VersionView, lock: int) -> AgreementSignature:
    version = vv.version
    if version.status != "proposed":
        raise Conflict()
    if not actor.user.can_sign:
        raise Forbidden()
    side = vv.relationship.side
    # Both sides may sign at the same moment: serialise so that the second sees the first.
    await db.raw("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", f"agreement-sign:{version.id}")
    if await AgreementSignature.exists().where(
            (AgreementSignature.agreement_version == version.id) & (AgreementSignature.side == side)):
        raise FieldErrors({"sign": _("Your side has already signed this version.")})
    digest = hash_of(version)
    if digest != version.content_hash:  # cannot happen while the database guards proposed content
        raise Conflict()
    signature = AgreementSignature(
        id=uuid4(), agreement_version=version.id, relationship=version.relationship, org=actor.org.id, side=side,
        user=actor.user.id, signer_name=actor.user.name, signer_email=actor.user.email, content_hash=digest,
        signed_at=datetime.now(timezone.utc))
    await signature.save()
    sides = {row["side"] for row in await AgreementSignature.select(AgreementSignature.side).where(
        AgreementSignature.agreement_version == version.id)}
    if sides == {"client", "supplier"}:
        await _write(vv, lock, status="signed")
    await record("agreement.signed", actor=actor, relationship_id=version.relationship,
                 target_type="agreement_version", target_id=version.id, target_label=f"v{version.number}",
                 details={"side": side, "content_hash": digest, "in_force": sides == {"client", "supplier"}})
    return signature
