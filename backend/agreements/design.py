"""Designing the agreement together: the kick-off team of both sides, the client's requirements
and the supplier's answer to each, and comments beside the sections of a version."""
from __future__ import annotations

from datetime import datetime, timezone
from uuid import UUID, uuid4

from backend.agreements.access import VersionView
from backend.agreements.sections import BY_KEY
from backend.agreements.tables import AgreementComment, Requirement
from backend.audit.actions import record
from backend.relationships.access import RelationshipView
from backend.relationships.tables import RelationshipMember
from backend.web.current import Actor
from backend.web.errors import Conflict, FieldErrors, Forbidden, not_found
from backend.web.i18n import gettext as _
from backend.web.i18n import lazy

ANSWERS = {"complies": lazy("Complies"), "conditions": lazy("Complies with conditions"),
           "cannot": lazy("Cannot comply")}


async def requirements_of(relationship_id: UUID) -> list[Requirement]:
    return await Requirement.objects().where(Requirement.relationship == relationship_id).order_by(
        Requirement.created_at)


async def get_requirement_for(view: RelationshipView, requirement_id: UUID) -> Requirement:
    requirement = await Requirement.objects().where(
        (Requirement.id == requirement_id) & (Requirement.relationship == view.relationship.id)).first()
    if requirement is None:
        raise not_found()
    return requirement


async def do_add_requirement(*, actor: Actor, view: RelationshipView, text: str) -> Requirement:
    """The client hands over its value proposal, one requirement at a time."""
    if view.side != "client" or not view.can_write:
        raise Forbidden()
    text = (text or "").strip()
    if not text:
        raise FieldErrors({"text": _("This field is required.")})
    if len(text) > 2000:
        raise FieldErrors({"text": _("Use at most %(n)s characters.", n=2000)})
    requirement = Requirement(id=uuid4(), relationship=view.relationship.id, text=text, created_by=actor.user.id,
                              created_at=datetime.now(timezone.utc))
    await requirement.save()
    await record("requirement.added", actor=actor, relationship_id=view.relationship.id, target_type="requirement",
                 target_id=requirement.id, target_label=text[:200])
    return requirement


async def do_answer_requirement(*, actor: Actor, view: RelationshipView, requirement: Requirement, answer: str,
                                answer_text: str, lock: int) -> Requirement:
    """The supplier answers: complies (how), complies with conditions (implication), or cannot."""
    if view.side != "supplier" or not view.can_write:
        raise Forbidden()
    answer_text = (answer_text or "").strip()
    errors = {}
    if answer not in ANSWERS:
        errors["answer"] = _("Choose an answer.")
    elif answer in ("conditions", "cannot") and not answer_text:
        errors["answer_text"] = _("Say which conditions apply, or why not.")
    if len(answer_text) > 2000:
        errors["answer_text"] = _("Use at most %(n)s characters.", n=2000)
    if errors:
        raise FieldErrors(errors)
    now = datetime.now(timezone.utc)
    updated = await Requirement.update({
        Requirement.answer: answer, Requirement.answer_text: answer_text, Requirement.answered_by: actor.user.id,
        Requirement.answered_at: now, Requirement.version: lock + 1,
    }).where((Requirement.id == requirement.id) & (Requirement.version == lock)).returning(Requirement.id)
    if not updated:
        raise Conflict()
    await record("requirement.answered", actor=actor, relationship_id=view.relationship.id,
                 target_type="requirement", target_id=requirement.id, target_label=requirement.text[:200],
                 details={"answer": answer, "text": answer_text})
    requirement.answer, requirement.answer_text, requirement.version = answer, answer_text, lock + 1
    return requirement


async def do_set_kickoff(*, actor: Actor, view: RelationshipView, member: RelationshipMember, kickoff: bool) -> None:
    if member.org != actor.org.id or not (actor.is_admin or view.my_role in ("responsable", "manager")):
        raise Forbidden()
    await RelationshipMember.update({RelationshipMember.kickoff: kickoff}).where(RelationshipMember.id == member.id)
    await record("member.kickoff_changed", actor=actor, relationship_id=view.relationship.id, target_type="member",
                 target_id=member.id, details={"kickoff": kickoff})


async def comments_of(version_id: UUID) -> dict[str, list[AgreementComment]]:
    """By section. Row-level security already leaves out the other side's private comments."""
    by_section: dict[str, list[AgreementComment]] = {}
    for comment in await AgreementComment.objects().where(
            AgreementComment.agreement_version == version_id).order_by(AgreementComment.created_at):
        by_section.setdefault(comment.section, []).append(comment)
    return by_section


async def do_comment(*, actor: Actor, vv: VersionView, section: str, body: str, visibility: str) -> AgreementComment:
    if section not in BY_KEY and section != "general":
        raise not_found()
    if not vv.relationship.can_write:
        raise Forbidden()
    body = (body or "").strip()
    errors = {}
    if not body:
        errors["body"] = _("Write a comment first.")
    elif len(body) > 4000:
        errors["body"] = _("Use at most %(n)s characters.", n=4000)
    if visibility not in ("shared", "private"):
        errors["visibility"] = _("Choose who sees it.")
    if errors:
        raise FieldErrors(errors)
    comment = AgreementComment(
        id=uuid4(), agreement_version=vv.version.id, relationship=vv.version.relationship, section=section,
        org=actor.org.id, author=actor.user.id, author_name=actor.user.name, body=body, visibility=visibility,
        created_at=datetime.now(timezone.utc))
    await comment.save()
    # A private note's text stays out of the shared audit chain.
    await record("agreement.commented", actor=actor, relationship_id=vv.version.relationship,
                 target_type="agreement_version", target_id=vv.version.id, target_label=f"v{vv.version.number}",
                 details={"section": section, "visibility": visibility,
                          "body": body if visibility == "shared" else None})
    return comment
