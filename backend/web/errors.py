"""Errors as users and API clients see them.

Pages get a plain HTML page; `/api/` gets RFC 9457 problem details naming the field (and row).
"Does not exist" and "not yours" are the same 404.
"""
from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, NotFoundException, ValidationException
from litestar.response import Redirect
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from backend.web.i18n import gettext as _

log = logging.getLogger("pacto.errors")


class NotAuthenticated(HTTPException):
    status_code = 401
    detail = "Sign-in required"


class Forbidden(HTTPException):
    """Seen, but not allowed to change. Only for objects the user may already read."""

    status_code = 403
    detail = "Not allowed"


class Conflict(HTTPException):
    """Someone changed the object since it was loaded (optimistic lock)."""

    status_code = 409
    detail = "Changed by someone else"


def not_found() -> NotFoundException:
    return NotFoundException(detail="Not found")


class RowErrors(Exception):
    """Invalid rows of bulk input: [{"row": n, "field": name, "message": text}], rows from 1."""

    def __init__(self, errors: list[dict]) -> None:
        super().__init__(errors)
        self.errors = errors


class FieldErrors(Exception):
    """Invalid input: {field: message}, with an optional row for bulk input."""

    def __init__(self, errors: dict[str, str], row: int | None = None) -> None:
        super().__init__(errors)
        self.errors = errors
        self.row = row


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def problem(status: int, title: str, detail: str = "", **extra: Any) -> Response:
    body = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update(extra)
    return Response(content=body, status_code=status, media_type="application/problem+json")


def http_exception_handler(request: Request, exc: HTTPException) -> Response:
    status = exc.status_code
    if _is_api(request):
        extra = {}
        if isinstance(exc, ValidationException) and exc.extra:
            extra["errors"] = [
                {"field": (e.get("key") or "").lstrip("$."), "message": e.get("message", "")}
                for e in (exc.extra if isinstance(exc.extra, list) else [exc.extra])
                if isinstance(e, dict)
            ]
        return problem(status, _title(status), str(exc.detail or ""), **extra)
    if isinstance(exc, NotAuthenticated):
        nxt = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if request.headers.get("hx-request"):
            return Response(content="", status_code=401, headers={"HX-Redirect": "/login"})
        return Redirect(path="/login", query_params={"next": nxt})
    return _error_page(request, status)


def field_errors_handler(request: Request, exc: FieldErrors) -> Response:
    errors = [{"field": field, "message": message} | ({"row": exc.row} if exc.row else {})
              for field, message in exc.errors.items()]
    return problem(422, _("Invalid input"), "; ".join(f"{e['field']}: {e['message']}" for e in errors),
                   errors=errors)


def row_errors_handler(request: Request, exc: RowErrors) -> Response:
    rows = sorted({e["row"] for e in exc.errors})
    return problem(422, _("Invalid input"), _("%(n)s rows were rejected; nothing was saved.", n=len(rows)),
                   errors=exc.errors)


def internal_error_handler(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    if _is_api(request):
        return problem(500, _title(500))
    return _error_page(request, HTTP_500_INTERNAL_SERVER_ERROR)


def _error_page(request: Request, status: int) -> Response:
    from backend.web.templating import page

    return page(request, "error.html", status_code=status, status=status, title=_title(status),
                detail=_detail(status))


def _title(status: int) -> str:
    return {
        400: _("Bad request"),
        401: _("Sign-in required"),
        403: _("Not allowed"),
        404: _("Not found"),
        405: _("Method not allowed"),
        409: _("Changed by someone else"),
        413: _("Too large"),
        422: _("Invalid input"),
        429: _("Too many attempts"),
    }.get(status, _("Something went wrong"))


def _detail(status: int) -> str:
    return {
        403: _("Your role does not allow this action."),
        404: _("This page does not exist, or it is not shared with your organization."),
        409: _("Someone else changed this in the meantime. Reload to see the current version."),
        429: _("Too many attempts. Wait a few minutes and try again."),
    }.get(status, _("Please try again. If it keeps happening, tell your administrator."))


exception_handlers = {
    HTTPException: http_exception_handler,
    FieldErrors: field_errors_handler,
    RowErrors: row_errors_handler,
    HTTP_500_INTERNAL_SERVER_ERROR: internal_error_handler,
}
