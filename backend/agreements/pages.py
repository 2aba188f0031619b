"""The agreement tab: versions, section-by-section drafting (htmx), proposing, signing,
comparison, the printable view and the JSON export."""
from __future__ import annotations

from datetime import date
from uuid import UUID

from litestar import Request, Response, get, post
from litestar.response import Redirect, Template

from backend.agreements import access, actions, design
from backend.agreements.sections import BY_KEY, SECTIONS
from backend.agreements.tables import AgreementSignature, AgreementVersion
from backend.relationships.access import get_relationship_for
from backend.relationships.tables import Contact
from backend.web.current import Actor
from backend.web.errors import FieldErrors, not_found
from backend.web.forms import Form, form_int
from backend.web.templating import page


async def _contacts(relationship_id: UUID) -> dict[str, Contact]:
    return {str(c.id): c for c in await Contact.objects().where(Contact.relationship == relationship_id)}


async def _signatures(version_id: UUID) -> dict[str, AgreementSignature]:
    rows = await AgreementSignature.objects().where(AgreementSignature.agreement_version == version_id)
    return {s.side: s for s in rows}


@get("/relationships/{relationship_id:uuid}/agreement")
async def agreement_tab(request: Request, actor: Actor, relationship_id: UUID) -> Template:
    view = await get_relationship_for(actor, relationship_id)
    return await _index_page(request, view)


async def _index_page(request: Request, view, *, errors: dict | None = None, status_code: int = 200) -> Template:
    versions = await access.versions_of(view.relationship.id)
    return page(request, "agreements/index.html", status_code=status_code, view=view, tab="agreement",
                orgs=view.orgs, versions=versions, errors=errors or {},
                in_force=await actions.in_force_on(view.relationship.id, date.today()),
                open_version=next((v for v in versions if v.status in ("draft", "proposed")), None),
                latest_signed=next((v for v in versions if v.status == "signed"), None))


@post("/relationships/{relationship_id:uuid}/agreement/drafts")
async def start_draft(request: Request, actor: Actor, relationship_id: UUID, data: Form) -> Template | Redirect:
    view = await get_relationship_for(actor, relationship_id)
    based_on = None
    if data.get("based_on"):
        try:
            based_on = await AgreementVersion.objects().where(
                (AgreementVersion.id == UUID(data["based_on"])) & (AgreementVersion.relationship == relationship_id)
            ).first()
        except ValueError:
            based_on = None
        if based_on is None:
            raise not_found()
    try:
        version = await actions.do_start_draft(actor=actor, view=view, based_on=based_on)
    except FieldErrors as exc:
        return await _index_page(request, view, errors=exc.errors, status_code=422)
    return Redirect(path=f"/agreement-versions/{version.id}")


async def _version_context(actor: Actor, vv: access.VersionView) -> dict:
    return {"vv": vv, "view": vv.relationship, "tab": "agreement", "orgs": vv.relationship.orgs,
            "content": actions.content_of(vv.version), "sections": SECTIONS,
            "contacts": await _contacts(vv.version.relationship), "signatures": await _signatures(vv.version.id),
            "can_sign": actor.user.can_sign, "comments": await design.comments_of(vv.version.id)}


@get("/agreement-versions/{version_id:uuid}")
async def version_page(request: Request, actor: Actor, version_id: UUID) -> Template:
    vv = await access.get_version_for(actor, version_id)
    return page(request, "agreements/version.html", errors={}, **await _version_context(actor, vv))


async def _section_response(request: Request, actor: Actor, vv: access.VersionView, key: str, *,
                            errors: dict | None = None, form: dict | None = None, editing: str | None = None,
                            status_code: int = 200) -> Template:
    return page(request, "agreements/_section.html", status_code=status_code, section=BY_KEY[key],
                errors=errors or {}, form=form or {}, editing=editing, oob_lock=True,
                **await _version_context(actor, vv))


@get("/agreement-versions/{version_id:uuid}/sections/{key:str}")
async def section_partial(request: Request, actor: Actor, version_id: UUID, key: str,
                          edit: str | None = None) -> Template:
    vv = await access.get_version_for(actor, version_id)
    if key not in BY_KEY:
        raise not_found()
    return await _section_response(request, actor, vv, key, editing=edit if vv.editable else None)


@post("/agreement-versions/{version_id:uuid}/sections/{key:str}")
async def save_section_row(request: Request, actor: Actor, version_id: UUID, key: str, data: Form) -> Template:
    """Add a row (no row_id), replace a row (row_id) or, for an object section, replace it."""
    vv = await access.get_version_for(actor, version_id)
    if key not in BY_KEY:
        raise not_found()
    row_id = data.get("row_id") or None
    try:
        await actions.do_save_row(actor=actor, vv=vv, section_key=key, row_id=row_id, data=data,
                                  lock=form_int(data.get("lock")))
    except FieldErrors as exc:
        return await _section_response(request, actor, vv, key, errors=exc.errors, form=data,
                                       editing=row_id or ("object" if BY_KEY[key].kind == "object" else None),
                                       status_code=422)
    return await _section_response(request, actor, vv, key)


@post("/agreement-versions/{version_id:uuid}/sections/{key:str}/remove")
async def remove_section_row(request: Request, actor: Actor, version_id: UUID, key: str, data: Form) -> Template:
    vv = await access.get_version_for(actor, version_id)
    await actions.do_remove_row(actor=actor, vv=vv, section_key=key, row_id=data.get("row_id", ""),
                                lock=form_int(data.get("lock")))
    return await _section_response(request, actor, vv, key)


async def _transition(request: Request, actor: Actor, version_id: UUID, data: dict, do) -> Template | Redirect:
    vv = await access.get_version_for(actor, version_id)
    try:
        await do(vv)
    except FieldErrors as exc:
        return page(request, "agreements/version.html", status_code=422, errors=exc.errors,
                    **await _version_context(actor, vv))
    return Redirect(path=f"/agreement-versions/{version_id}")


@post("/agreement-versions/{version_id:uuid}/effective-date")
async def set_effective_date(request: Request, actor: Actor, version_id: UUID, data: Form) -> Template | Redirect:
    return await _transition(request, actor, version_id, data, lambda vv: actions.do_set_effective_date(
        actor=actor, vv=vv, raw=data.get("effective_date", ""), lock=form_int(data.get("lock"))))


@post("/agreement-versions/{version_id:uuid}/propose")
async def propose(request: Request, actor: Actor, version_id: UUID, data: Form) -> Template | Redirect:
    return await _transition(request, actor, version_id, data, lambda vv: actions.do_propose(
        actor=actor, vv=vv, lock=form_int(data.get("lock"))))


@post("/agreement-versions/{version_id:uuid}/request-changes")
async def request_changes(request: Request, actor: Actor, version_id: UUID, data: Form) -> Template | Redirect:
    return await _transition(request, actor, version_id, data, lambda vv: actions.do_request_changes(
        actor=actor, vv=vv, comment=data.get("comment", ""), lock=form_int(data.get("lock"))))


@post("/agreement-versions/{version_id:uuid}/sign")
async def sign(request: Request, actor: Actor, version_id: UUID, data: Form) -> Template | Redirect:
    return await _transition(request, actor, version_id, data, lambda vv: actions.do_sign(
        actor=actor, vv=vv, lock=form_int(data.get("lock"))))


@get("/agreement-versions/{version_id:uuid}/print")
async def print_view(request: Request, actor: Actor, version_id: UUID) -> Template:
    vv = await access.get_version_for(actor, version_id)
    return page(request, "agreements/print.html", recomputed=actions.hash_of(vv.version),
                **await _version_context(actor, vv))


@get("/agreement-versions/{version_id:uuid}/export.json")
async def export_json(actor: Actor, version_id: UUID) -> Response:
    vv = await access.get_version_for(actor, version_id)
    from backend.agreements.api import version_document

    document = await version_document(vv.version)
    filename = f"agreement-v{vv.version.number}.json"
    return Response(content=document, media_type="application/json",
                    headers={"content-disposition": f'attachment; filename="{filename}"'})


@get("/relationships/{relationship_id:uuid}/agreement/compare")
async def compare(request: Request, actor: Actor, relationship_id: UUID, a: UUID | None = None,
                  b: UUID | None = None) -> Template:
    view = await get_relationship_for(actor, relationship_id)
    versions = {v.id: v for v in await access.versions_of(relationship_id)}
    if a not in versions or b not in versions:
        raise not_found()
    left, right = versions[a], versions[b]
    return page(request, "agreements/compare.html", view=view, tab="agreement", orgs=view.orgs,
                left=left, right=right, sections=SECTIONS, contacts=await _contacts(relationship_id),
                diff=diff_versions(actions.content_of(left), actions.content_of(right)))


def diff_versions(old: dict, new: dict) -> dict[str, list[dict]]:
    """Per section: rows as (status, old row, new row) with status added | removed | changed | same."""
    result = {}
    for section in SECTIONS:
        if section.kind == "object":
            before, after = old.get(section.key) or {}, new.get(section.key) or {}
            status = "same" if before == after else ("added" if not before else "changed")
            result[section.key] = [{"status": status, "old": before, "new": after,
                                    "fields": {f.name for f in section.fields if before.get(f.name) != after.get(f.name)}}]
            continue
        before = {r["id"]: r for r in old.get(section.key, [])}
        after = {r["id"]: r for r in new.get(section.key, [])}
        rows = []
        for row_id in list(before) + [i for i in after if i not in before]:
            b, n = before.get(row_id), after.get(row_id)
            status = "removed" if n is None else "added" if b is None else "same" if b == n else "changed"
            rows.append({"status": status, "old": b or {}, "new": n or {},
                         "fields": {f.name for f in section.fields if (b or {}).get(f.name) != (n or {}).get(f.name)}})
        result[section.key] = rows
    return result


# -- designing together ------------------------------------------------------------------------

async def _design_context(actor: Actor, view) -> dict:
    from backend.relationships.queries import members

    return {"view": view, "tab": "agreement", "orgs": view.orgs,
            "requirements": await design.requirements_of(view.relationship.id), "answers": design.ANSWERS,
            "team": await members(view.relationship.id),
            "may_manage_team": actor.is_admin or view.my_role in ("responsable", "manager")}


@get("/relationships/{relationship_id:uuid}/agreement/design")
async def design_page(request: Request, actor: Actor, relationship_id: UUID) -> Template:
    view = await get_relationship_for(actor, relationship_id)
    return page(request, "agreements/design.html", errors={}, form={}, editing=None,
                **await _design_context(actor, view))


@post("/relationships/{relationship_id:uuid}/agreement/requirements")
async def add_requirement(request: Request, actor: Actor, relationship_id: UUID, data: Form) -> Template:
    view = await get_relationship_for(actor, relationship_id)
    try:
        await design.do_add_requirement(actor=actor, view=view, text=data.get("text", ""))
    except FieldErrors as exc:
        return page(request, "agreements/_requirements.html", status_code=422, errors=exc.errors, form=data,
                    editing=None, **await _design_context(actor, view))
    return page(request, "agreements/_requirements.html", errors={}, form={}, editing=None,
                **await _design_context(actor, view))


@post("/requirements/{requirement_id:uuid}/answer")
async def answer_requirement(request: Request, actor: Actor, requirement_id: UUID, data: Form) -> Template:
    from backend.agreements.tables import Requirement

    found = await Requirement.objects().where(Requirement.id == requirement_id).first()
    if found is None:
        raise not_found()
    view = await get_relationship_for(actor, found.relationship)
    requirement = await design.get_requirement_for(view, requirement_id)
    try:
        await design.do_answer_requirement(actor=actor, view=view, requirement=requirement,
                                           answer=data.get("answer", ""), answer_text=data.get("answer_text", ""),
                                           lock=form_int(data.get("version")))
    except FieldErrors as exc:
        return page(request, "agreements/_requirements.html", status_code=422, errors=exc.errors, form=data,
                    editing=str(requirement_id), **await _design_context(actor, view))
    return page(request, "agreements/_requirements.html", errors={}, form={}, editing=None,
                **await _design_context(actor, view))


@post("/members/{member_id:uuid}/kickoff")
async def set_kickoff(actor: Actor, member_id: UUID, data: Form) -> Redirect:
    from backend.relationships.access import get_member_for

    member, view, _ = await get_member_for(actor, member_id)
    await design.do_set_kickoff(actor=actor, view=view, member=member, kickoff=data.get("kickoff") == "1")
    return Redirect(path=f"/relationships/{view.relationship.id}/agreement/design")


@post("/agreement-versions/{version_id:uuid}/comments/{section:str}")
async def add_comment(request: Request, actor: Actor, version_id: UUID, section: str, data: Form) -> Template:
    vv = await access.get_version_for(actor, version_id)
    errors = {}
    try:
        await design.do_comment(actor=actor, vv=vv, section=section, body=data.get("body", ""),
                                visibility=data.get("visibility", "shared"))
    except FieldErrors as exc:
        errors = exc.errors
    return page(request, "agreements/_comments.html", status_code=422 if errors else 200, section_key=section,
                errors=errors, form=data if errors else {}, **await _version_context(actor, vv))


# -- commitments register ----------------------------------------------------------------------

@get("/commitments")
async def commitments_register(request: Request, actor: Actor) -> Template:
    from backend.agreements.commitments import my_obligations

    return page(request, "agreements/commitments.html", obligations=await my_obligations(actor), errors={},
                form={}, failed=None)


@post("/relationships/{relationship_id:uuid}/commitments/{commitment_id:str}/executions")
async def record_execution(request: Request, actor: Actor, relationship_id: UUID, commitment_id: str,
                           data: Form) -> Template | Redirect:
    from backend.agreements.commitments import do_record_execution, my_obligations

    view = await get_relationship_for(actor, relationship_id)
    try:
        await do_record_execution(actor=actor, view=view, commitment_id=commitment_id,
                                  due_date=data.get("due_date", ""), executed_on=data.get("executed_on", ""),
                                  note=data.get("note", ""), evidence=data.get("evidence", ""))
    except FieldErrors as exc:
        return page(request, "agreements/commitments.html", status_code=422, obligations=await my_obligations(actor),
                    errors=exc.errors, form=data, failed=commitment_id)
    return Redirect(path=f"/commitments#c-{commitment_id}")


routes = [commitments_register, record_execution, design_page, add_requirement, answer_requirement, set_kickoff, add_comment, agreement_tab, start_draft, version_page, section_partial, save_section_row, remove_section_row,
          set_effective_date, propose, request_changes, sign, print_view, export_json, compare]
