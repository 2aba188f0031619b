"""The request's frame: security headers, session, one tenant-scoped transaction, locale.

Each HTTP request runs inside one database transaction that acts as the signed-in user's
organization. The response is held back until the transaction has committed: a client never
sees "saved" for something that was rolled back. Responses of 400 and above roll back, so a
rejected form or a failed API call leaves nothing half-saved (keep_on_error() is for a handler
that wrote only the audit entry of a refusal).
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from litestar.middleware.csrf import generate_csrf_token
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from backend import db
from backend.config import settings
from backend.relationships import access
from backend.tenancy import api_tokens
from backend.tenancy.tables import Organization, User
from backend.web import i18n, sessions

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]
# Paths that need neither the database nor a session.
UNSCOPED_PREFIXES = ("/static/", "/healthz", "/readyz", "/favicon.ico")


@dataclass
class RequestContext:
    session: sessions.Session | None
    user: User | None
    org: Organization | None
    locale: str
    unread: int = 0  # notifications waiting, shown in the header
    relationships: frozenset | None = None  # an API token's relationships (None: no such limit)


def keep_on_error(scope: Scope) -> None:
    """Commit this request's transaction even though it answers with an error status."""
    scope["pacto.keep_on_error"] = True


def _cookies(scope: Scope) -> dict[str, str]:
    """The request's cookies, {name: value}: `name=value` pairs split at ";" (as browsers send them; a
    value in double quotes loses them, and a name sent twice keeps its last value, as SimpleCookie
    reads them; a pair without "=" is skipped). SimpleCookie took 1.5 % of a page to read three."""
    cookies = {}
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            for pair in value.decode("latin-1").split(";"):
                key, equals, text = pair.partition("=")
                # only spaces and tabs around a name or value (RFC 6265): str.strip() would also take
                # "\xa0" and make "\xa0pacto_session", a cookie of its own to a browser, ours
                key, text = key.strip(" \t"), text.strip(" \t")
                if equals and key:
                    if len(text) > 1 and text[0] == text[-1] == '"':
                        text = text[1:-1]
                    cookies[key] = text
    return cookies


# the signed-in user (if still active), their organization and their unread notifications: one round trip
_SIGNED_IN_COLUMNS = (
    f"SELECT {db.columns_of(User, 'u')}, {db.columns_of(Organization, 'o')},"
    ' (SELECT count(*) FROM notification n WHERE n."user" = u.id AND n.read_at IS NULL) AS unread')
_SIGNED_IN_FROM = f" FROM {User._meta.tablename} u JOIN organization o ON o.id = u.org"
_SIGNED_IN_WHERE = " WHERE u.id = $1 AND u.org = $2 AND u.is_active"
_SIGNED_IN = _SIGNED_IN_COLUMNS + _SIGNED_IN_FROM + _SIGNED_IN_WHERE
# … and on a relationship's page, that relationship as the page's get_relationship_for() reads it
_SIGNED_IN_ON_RELATIONSHIP = (
    f"{_SIGNED_IN_COLUMNS}, rel.*{_SIGNED_IN_FROM}"
    f" LEFT JOIN LATERAL ({access.relationship_query('$3', 'u.id')}) rel ON true{_SIGNED_IN_WHERE}")


def _header(scope: Scope, wanted: bytes) -> str | None:
    for name, value in scope.get("headers", []):
        if name == wanted:
            return value.decode("latin-1")
    return None


def security_headers_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend(h for h in SECURITY_HEADERS if h[0] not in present)
                if settings().session_cookie_secure:
                    headers.append((b"strict-transport-security", b"max-age=31536000"))
                message = {**message, "headers": headers}
            await send(message)

        await app(scope, receive, send_with_headers)

    return middleware


async def _unauthorized(send: Send) -> None:
    body = json.dumps({"type": "about:blank", "title": "Sign-in required", "status": 401,
                       "detail": "The API token is unknown or revoked."}).encode()
    await send({"type": "http.response.start", "status": 401, "headers": [
        (b"content-type", b"application/problem+json"), (b"www-authenticate", b'Bearer realm="pacto"')]})
    await send({"type": "http.response.body", "body": body})


def tenant_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(UNSCOPED_PREFIXES):
            await app(scope, receive, send)
            return
        token_scope = None
        bearer = _header(scope, b"authorization")
        if bearer and bearer.lower().startswith("bearer ") and scope["path"].startswith("/api/"):
            found = await api_tokens.authenticate(bearer[7:].strip())
            if found is None:
                await _unauthorized(send)
                return
            session = sessions.Session(token="", user_id=found.user_id, org_id=found.org_id, extra={})
            token_scope = found.relationships
            # A request carrying its own credential has no ambient cookie to forge: give the
            # double-submit CSRF check a matching pair, and drop any cookie the client sent.
            pair = generate_csrf_token(settings().secret_key)
            scope["headers"] = [(k, v) for k, v in scope["headers"] if k not in (b"cookie", b"x-csrftoken")] + [
                (b"cookie", f"pacto_csrf={pair}".encode()), (b"x-csrftoken", pair.encode())]
            cookies = _cookies(scope)  # the pair just set, not the client's
        else:
            found = None
            cookies = _cookies(scope)
            session = await sessions.load(scope["app"].state.session_reader, cookies.get(sessions.COOKIE))
        held: list[Message] = []
        status = 500

        async def hold(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            held.append(message)

        async with db.tenant_transaction(session.org_id if session else None) as tx:
            user = org = None
            unread = 0
            ahead = None  # (relationship id, user id, row) read with the user on a relationship's page
            if session:
                relationship_id = access.page_relationship(scope["method"], scope["path"])
                if relationship_id is None:
                    row = await db.raw_one(_SIGNED_IN, session.user_id, session.org_id)
                else:
                    row = await db.raw_one(_SIGNED_IN_ON_RELATIONSHIP, session.user_id, session.org_id,
                                           relationship_id)
                if row is None:
                    session = None
                    await db.bind_org(None)
                else:
                    data = dict(row)
                    user, org = db.row_of(User, data, "u"), db.row_of(Organization, data, "o")
                    unread = data.pop("unread")
                    if relationship_id is not None:
                        ahead = relationship_id, user.id, data if data["pacto_is_member"] is not None else None
            locale = i18n.negotiate(
                user.locale if user else None, cookies.get("pacto_lang"), _header(scope, b"accept-language")
            )
            if found is not None and user is not None:
                await api_tokens.touch(found.token_id)
            scope["pacto"] = RequestContext(session=session, user=user, org=org, locale=locale, unread=unread,
                                            relationships=token_scope)
            token = i18n.set_locale(locale)
            ahead_token = access.read_ahead(*ahead) if ahead else None
            # A download that only reads (opt `stream_through`) streams as it goes: holding its body
            # would keep a streamed response from ever completing.
            handler = scope.get("route_handler")
            through = scope["method"] in ("GET", "HEAD") and handler is not None and handler.opt.get("stream_through")
            try:
                await app(scope, receive, send if through else hold)
            finally:
                i18n._locale.reset(token)
                if ahead_token is not None:
                    access.end_read_ahead(ahead_token)
            # A handler that refused something may still keep its audit entry of the refusal.
            if status >= 400 and not scope.get("pacto.keep_on_error"):
                await tx.rollback()
        for message in held:
            await send(message)

    return middleware
