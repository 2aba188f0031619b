"""The development OpenID provider (`infra/dev-idp/server.mjs`, oidc-provider on Node) for tests.

    with IdentityProvider(runtime.free_port(), clients=[...], accounts={...}) as idp:
        ... idp.issuer, idp.discovery_url ...
        callback_url = login_at_idp(authorize_url, "bram@envases.example")

`login_at_idp` / `alogin_at_idp` walk the IdP's login form the way a browser would (cookies kept,
redirects followed inside the IdP only) and return the URL the IdP finally sends the user to: the
client's redirect_uri with `code`, `state` and `iss`. A login the IdP does not know raises `LoginRefused`.
`python -m e2e.idp ensure` installs the Node packages (as `ensure_installed()` does).
"""
from __future__ import annotations

import sys
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from backend.devidp import IDP_DIR, IdentityProvider, IdpError, ensure_installed, write_jwks  # noqa: F401

HTTP_TIMEOUT = 10.0
MAX_HOPS = 20


class LoginRefused(IdpError):
    """The IdP's login form refused the login (an unknown account)."""

    def __init__(self, login: str, message: str) -> None:
        super().__init__(f"the IdP refused the login {login!r}: {message}")
        self.login = login
        self.message = message


# ---------------------------------------------------------------- walking the login form

class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[dict[str, Any]] = []
        self.errors: list[str] = []
        self._error_depth = 0
        self._current: dict[str, Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v or "") for k, v in attrs}
        if tag == "form":
            self._current = {"action": a.get("action", ""), "method": a.get("method", "get").lower(),
                             "fields": [], "submit": None}
            self.forms.append(self._current)
        elif tag in ("input", "button", "select", "textarea") and self._current is not None:
            kind = a.get("type", "submit" if tag == "button" else "text").lower()
            if kind in ("submit", "image"):
                if self._current["submit"] is None:
                    self._current["submit"] = (a.get("name"), a.get("value", ""))
            elif kind not in ("button", "reset", "file") and a.get("name"):
                if kind in ("checkbox", "radio") and "checked" not in a:
                    return
                self._current["fields"].append((a["name"], kind, a.get("value", "")))
        if self._error_depth:
            self._error_depth += 1
        elif "error" in a.get("class", "").split() or a.get("role") == "alert":
            self._error_depth = 1
            self.errors.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None
        if self._error_depth:
            self._error_depth -= 1

    def handle_data(self, data: str) -> None:
        if self._error_depth:
            self.errors[-1] += data


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme.lower(), (parts.hostname or "").lower(), port


class _LoginWalk:
    """The browser-like steps, independent of sync or async I/O: each step turns the last response
    into the next request (method, url, form data) or into the final URL outside the IdP."""

    def __init__(self, authorize_url: str, login: str) -> None:
        self.origin = _origin(authorize_url)
        self.authorize_url = authorize_url
        self.login = login
        self.posted = False
        self.hops = 0

    def first(self) -> tuple[str, str, dict[str, str] | None]:
        return "GET", self.authorize_url, None

    def next(self, response: httpx.Response) -> tuple[str, str, dict[str, str] | None] | str:
        self.hops += 1
        if self.hops > MAX_HOPS:
            raise IdpError(f"more than {MAX_HOPS} steps at the IdP, last at {response.url}")
        here = str(response.url)
        if response.is_redirect:
            target = urljoin(here, response.headers["location"])
            if _origin(target) != self.origin:
                return target
            return "GET", target, None
        parser = _Forms()
        if "html" in response.headers.get("content-type", ""):
            parser.feed(response.text)
        form = next((f for f in parser.forms if any(name == "login" for name, _, _ in f["fields"])), None)
        message = " ".join(" ".join(e.split()) for e in parser.errors if e.strip())
        if form is not None and self.posted:
            raise LoginRefused(self.login, message or f"HTTP {response.status_code}, the login form again")
        if form is not None and response.status_code == 200:
            self.posted = True
            data: dict[str, str] = {}
            for name, kind, value in form["fields"]:
                data[name] = self.login if name == "login" else "pacto-dev" if kind == "password" else value
            data.setdefault("password", "pacto-dev")
            if form["submit"] and form["submit"][0]:
                data[form["submit"][0]] = form["submit"][1]
            action = urljoin(here, form["action"] or here)
            if _origin(action) != self.origin:
                raise IdpError(f"the login form at {here} posts outside the IdP, to {action}")
            return form["method"].upper() if form["method"] == "post" else "GET", action, data
        text = " ".join(message.split()) or " ".join(response.text.split())[:500]
        raise IdpError(f"unexpected answer from the IdP: HTTP {response.status_code} at {here}: {text}")


def login_at_idp(authorize_url: str, login: str) -> str:
    """Sign in at the IdP as `login` (any password) with a fresh httpx.Client; return the URL the IdP
    redirects to outside itself (the client's callback with `code` and `state`)."""
    walk = _LoginWalk(authorize_url, login)
    step: tuple[str, str, dict[str, str] | None] | str = walk.first()
    with httpx.Client(follow_redirects=False, timeout=HTTP_TIMEOUT) as client:
        while not isinstance(step, str):
            method, url, data = step
            response = client.request(method, url, data=data) if data is not None else client.request(method, url)
            step = walk.next(response)
    return step


async def alogin_at_idp(authorize_url: str, login: str) -> str:
    """`login_at_idp` with an httpx.AsyncClient."""
    walk = _LoginWalk(authorize_url, login)
    step: tuple[str, str, dict[str, str] | None] | str = walk.first()
    async with httpx.AsyncClient(follow_redirects=False, timeout=HTTP_TIMEOUT) as client:
        while not isinstance(step, str):
            method, url, data = step
            if data is not None:
                response = await client.request(method, url, data=data)
            else:
                response = await client.request(method, url)
            step = walk.next(response)
    return step


if __name__ == "__main__":
    if sys.argv[1:] == ["ensure"]:
        ensure_installed()
        sys.exit(0)
    print("usage: python -m e2e.idp ensure", file=sys.stderr)
    sys.exit(2)
