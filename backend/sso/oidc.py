"""The relying-party side of OpenID Connect: discovery, the authorization request (code flow,
PKCE S256, state, nonce), the code exchange and ID-token validation.

Discovery documents and key sets are cached per issuer; a token signed with a key id we do not
know makes us fetch the key set again once (the IdP rotated its keys).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import AsyncOAuth2Client
from joserfc import jwt
from joserfc.errors import (
    BadSignatureError,
    ExpiredTokenError,
    InvalidClaimError,
    InvalidKeyIdError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwk import KeySet

DISCOVERY_TTL = 3600
LEEWAY = 60  # seconds of clock skew tolerated on exp / iat
HTTP_TIMEOUT = 10.0
SIGNING_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"]


class SsoFailure(Exception):
    """A sign-in that must not go on. `reason` is a stable code (audited); `message` for people."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass
class Provider:
    issuer: str
    metadata: dict[str, Any]
    keys: KeySet | None = None
    fetched_at: float = field(default_factory=time.monotonic)

    @property
    def end_session_endpoint(self) -> str | None:
        return self.metadata.get("end_session_endpoint")


_providers: dict[str, Provider] = {}


def _http() -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=HTTP_TIMEOUT, follow_redirects=False)


async def discover(issuer: str, *, refresh: bool = False) -> Provider:
    """The issuer's discovery document (cached); SsoFailure('idp_unreachable' | 'bad_discovery')."""
    issuer = issuer.rstrip("/")
    cached = _providers.get(issuer)
    if cached and not refresh and time.monotonic() - cached.fetched_at < DISCOVERY_TTL:
        return cached
    url = issuer + "/.well-known/openid-configuration"
    try:
        async with _http() as client:
            response = await client.get(url)
    except httpx.HTTPError as exc:
        raise SsoFailure("idp_unreachable", f"{url}: {type(exc).__name__}") from exc
    if response.status_code != 200:
        raise SsoFailure("bad_discovery", f"{url} answered HTTP {response.status_code}")
    try:
        metadata = response.json()
    except ValueError as exc:
        raise SsoFailure("bad_discovery", f"{url} is not JSON") from exc
    if metadata.get("issuer", "").rstrip("/") != issuer:
        raise SsoFailure("bad_discovery", f"the document names issuer {metadata.get('issuer')!r}, not {issuer!r}")
    for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not metadata.get(key):
            raise SsoFailure("bad_discovery", f"the document has no {key}")
    provider = Provider(issuer=issuer, metadata=metadata)
    _providers[issuer] = provider
    return provider


async def key_set(provider: Provider, *, refresh: bool = False) -> KeySet:
    if provider.keys is not None and not refresh:
        return provider.keys
    try:
        async with _http() as client:
            response = await client.get(provider.metadata["jwks_uri"])
        response.raise_for_status()
        provider.keys = KeySet.import_key_set(response.json())
    except (httpx.HTTPError, ValueError, JoseError) as exc:
        raise SsoFailure("idp_unreachable", f"key set: {type(exc).__name__}") from exc
    return provider.keys


@dataclass
class AuthorizationRequest:
    url: str
    state: str
    nonce: str
    code_verifier: str


def authorization_request(provider: Provider, *, client_id: str, redirect_uri: str,
                          login_hint: str | None = None) -> AuthorizationRequest:
    state, nonce, verifier = generate_token(32), generate_token(32), generate_token(64)
    client = AsyncOAuth2Client(client_id=client_id, redirect_uri=redirect_uri, scope="openid email profile",
                               code_challenge_method="S256")
    extra = {"login_hint": login_hint} if login_hint else {}
    url, _ = client.create_authorization_url(provider.metadata["authorization_endpoint"], state=state,
                                             code_verifier=verifier, nonce=nonce, **extra)
    return AuthorizationRequest(url=url, state=state, nonce=nonce, code_verifier=verifier)


async def exchange_code(provider: Provider, *, client_id: str, client_secret: str, redirect_uri: str, code: str,
                        code_verifier: str) -> dict[str, Any]:
    methods = provider.metadata.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    auth_method = "client_secret_basic" if "client_secret_basic" in methods else "client_secret_post"
    try:
        async with AsyncOAuth2Client(client_id=client_id, client_secret=client_secret, redirect_uri=redirect_uri,
                                     token_endpoint_auth_method=auth_method, timeout=HTTP_TIMEOUT) as client:
            token = await client.fetch_token(provider.metadata["token_endpoint"], code=code,
                                             code_verifier=code_verifier, grant_type="authorization_code")
    except httpx.HTTPError as exc:
        raise SsoFailure("idp_unreachable", f"token endpoint: {type(exc).__name__}") from exc
    except Exception as exc:  # authlib raises OAuthError subclasses for error answers
        raise SsoFailure("token_exchange_failed", str(exc)[:200]) from exc
    if "id_token" not in token:
        raise SsoFailure("token_exchange_failed", "the answer holds no id_token")
    return dict(token)


async def validate_id_token(provider: Provider, id_token: str, *, client_id: str, nonce: str,
                            now: float | None = None) -> dict[str, Any]:
    """Signature (against the IdP's key set), iss, aud, exp, iat and nonce; returns the claims."""
    keys = await key_set(provider)
    try:
        try:
            token = jwt.decode(id_token, keys, algorithms=SIGNING_ALGORITHMS)
        except InvalidKeyIdError:
            token = jwt.decode(id_token, await key_set(provider, refresh=True), algorithms=SIGNING_ALGORITHMS)
    except InvalidKeyIdError as exc:
        raise SsoFailure("bad_signature", "signed with a key the identity provider does not publish") from exc
    except BadSignatureError as exc:
        raise SsoFailure("bad_signature", "the signature does not verify") from exc
    except (JoseError, ValueError) as exc:
        raise SsoFailure("bad_token", f"{type(exc).__name__}") from exc
    claims = token.claims
    registry = jwt.JWTClaimsRegistry(
        now=int(now if now is not None else time.time()), leeway=LEEWAY,
        iss={"essential": True, "value": provider.issuer},
        aud={"essential": True, "value": client_id},
        sub={"essential": True},
        exp={"essential": True},
        iat={"essential": True},
        nonce={"essential": True, "value": nonce},
    )
    try:
        registry.validate(claims)
    except ExpiredTokenError as exc:
        raise SsoFailure("expired_token", "the ID token has expired") from exc
    except (InvalidClaimError, MissingClaimError) as exc:
        claim = getattr(exc, "claim", "") or str(exc)
        reason = {"iss": "wrong_issuer", "aud": "wrong_audience", "nonce": "wrong_nonce",
                  "iat": "bad_issued_at"}.get(claim, "bad_claims")
        raise SsoFailure(reason, str(exc)) from exc
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if len(audiences) > 1 and claims.get("azp") != client_id:
        raise SsoFailure("wrong_audience", "several audiences and azp is not this client")
    return claims


async def check_connection(issuer: str) -> dict[str, Any]:
    """For the 'test connection' button: what discovery found, or SsoFailure saying why not."""
    provider = await discover(issuer, refresh=True)
    keys = await key_set(provider, refresh=True)
    return {
        "issuer": provider.issuer,
        "authorization_endpoint": provider.metadata["authorization_endpoint"],
        "token_endpoint": provider.metadata["token_endpoint"],
        "end_session_endpoint": provider.end_session_endpoint or "",
        "keys": len(keys.keys),
        "pkce_s256": "S256" in provider.metadata.get("code_challenge_methods_supported", []),
        "scopes": ", ".join(provider.metadata.get("scopes_supported", [])),
    }
