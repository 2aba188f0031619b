"""Signing in through a company's identity provider, against real OpenID providers.

Two oidc-provider instances (Node) stand for two companies' IdPs: A for Envases Norte, B for Otra
Industria. Every failure case is produced with real tokens from them, tampered with where needed.
"""
import base64
import json
from urllib.parse import parse_qs, urlsplit

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from backend.runtime import free_port
from backend.sso import crypto, oidc
from backend.sso.oidc import SsoFailure
from e2e.idp import IdentityProvider, alogin_at_idp, write_jwks

CALLBACK = "https://testserver/sso/callback"
ACCOUNTS_A = {
    "nora@envases.example": {"sub": "nora-1", "email": "nora@envases.example", "email_verified": True,
                             "name": "Nora Vidal", "groups": []},
    "boss@envases.example": {"sub": "boss-1", "email": "boss@envases.example", "email_verified": True,
                             "name": "La Jefa", "groups": ["pacto-admins", "staff"]},
    "stranger": {"sub": "stranger-1", "email": "stranger@elsewhere.example", "email_verified": True, "name": "S"},
    "fake-bram": {"sub": "fake-bram", "email": "bram@envases.example", "email_verified": True, "name": "Not Bram"},
}
ACCOUNTS_B = {"otto@otra.example": {"sub": "otto-1", "email": "otto@otra.example", "email_verified": True,
                                   "name": "Otto Kramer"}}


def client(secret):
    return {"client_id": "pacto", "client_secret": secret, "redirect_uris": [CALLBACK],
            "post_logout_redirect_uris": ["https://testserver/login"]}


@pytest.fixture(scope="session")
def idp_a():
    with IdentityProvider(free_port(), clients=[client("secret-a")], accounts=ACCOUNTS_A) as idp:
        yield idp


@pytest.fixture(scope="session")
def idp_b():
    with IdentityProvider(free_port(), clients=[client("secret-b")], accounts=ACCOUNTS_B) as idp:
        yield idp


async def add_connection(owner, org_id, *, name, issuer, secret, domains, **extra):
    values = {"default_role": "member", "group_roles": json.dumps({"pacto-admins": "admin"}),
              "sso_required": False, "break_glass_user": None} | extra
    connection = await owner.fetchval(
        "INSERT INTO sso_connection (id, org, name, issuer, client_id, client_secret_encrypted, default_role,"
        " groups_claim, group_roles, sso_required, break_glass_user, show_on_login, enabled, version, created_at,"
        " updated_at) VALUES (gen_random_uuid(), $1, $2, $3, 'pacto', $4, $5, 'groups', $6, $7, $8, false, true, 1,"
        " now(), now()) RETURNING id",
        org_id, name, issuer, crypto.encrypt(secret), values["default_role"], values["group_roles"],
        values["sso_required"], values["break_glass_user"])
    for domain in domains:
        await owner.execute("INSERT INTO sso_domain (id, domain, connection, org) VALUES (gen_random_uuid(), $1, $2,"
                            " $3)", domain, connection, org_id)
    return connection


@pytest.fixture
async def connections(demo, owner, idp_a, idp_b):
    a = await add_connection(owner, demo["orgs"]["Envases Norte"], name="Envases Norte", issuer=idp_a.issuer,
                             secret="secret-a", domains=["envases.example"])
    b = await add_connection(owner, demo["orgs"]["Otra Industria"], name="Otra Industria", issuer=idp_b.issuer,
                             secret="secret-b", domains=["otra.example"])
    return {"a": a, "b": b}


async def go_to_idp(b, email):
    """E-mail first on the sign-in page → our /sso/.../start → the IdP's authorization URL."""
    step = await b.post("/login", {"email": email})
    assert step.status_code == 302 and step.headers["location"].startswith("/sso/"), step.text[:300]
    start = await b.get(step.headers["location"])
    assert start.status_code == 200, start.text[:500]
    return leaving_for(start)


def leaving_for(response):
    """The URL a leave-for page sends the browser to (a meta refresh and a link)."""
    import html
    import re

    refresh = re.search(r'http-equiv="refresh" content="0;url=([^"]+)"', response.text).group(1)
    link = re.search(r'id="continue" class="btn btn-primary" href="([^"]+)"', response.text).group(1)
    assert refresh == link
    return html.unescape(link)


def local(url):
    parts = urlsplit(url)
    return parts.path + ("?" + parts.query if parts.query else "")


async def sso_sign_in(b, email, idp_login):
    callback = await alogin_at_idp(await go_to_idp(b, email), idp_login)
    assert callback.startswith(CALLBACK)
    return await b.get(local(callback))


async def failures(owner):
    rows = await owner.fetch("SELECT org, details FROM audit_entry WHERE action = 'sso.sign_in_failed' ORDER BY created_at")
    return [(row["org"], json.loads(row["details"])["reason"]) for row in rows]


# -- success ---------------------------------------------------------------------------------

async def test_first_sign_in_creates_the_user_in_the_connections_organization(connections, demo, browser, owner):
    b = await browser()
    done = await sso_sign_in(b, "nora@envases.example", "nora@envases.example")
    assert done.status_code == 302 and done.headers["location"] == "/"
    dashboard = await b.get("/")
    assert dashboard.status_code == 200 and "Nora Vidal" in dashboard.text and "Envases Norte" in dashboard.text
    user = await owner.fetchrow("SELECT id, org, org_role, password_hash FROM app_user WHERE email = 'nora@envases.example'")
    assert user["org"] == demo["orgs"]["Envases Norte"] and user["org_role"] == "member"
    assert user["password_hash"] is None
    identity = await owner.fetchrow("SELECT issuer, subject FROM sso_identity WHERE \"user\" = $1", user["id"])
    assert identity["subject"] == "nora-1" and identity["issuer"].startswith("http://localhost:")
    entry = await owner.fetchrow("SELECT details FROM audit_entry WHERE action = 'user.signed_in' AND target_id = $1",
                                 str(user["id"]))
    assert json.loads(entry["details"])["method"] == "sso" and json.loads(entry["details"])["created"] is True


async def test_a_mapped_group_gives_the_admin_role(connections, browser, owner):
    assert (await sso_sign_in(await browser(), "boss@envases.example", "boss@envases.example")).status_code == 302
    assert await owner.fetchval("SELECT org_role FROM app_user WHERE email = 'boss@envases.example'") == "admin"


async def test_later_sign_ins_update_name_and_email_matched_by_subject(demo, browser, owner, tmp_path):
    port, keys = free_port(), write_jwks(tmp_path / "keys.json")
    before = {"otto": {"sub": "otto-7", "email": "otto@otra.example", "email_verified": True, "name": "Otto"}}
    after = {"otto": {"sub": "otto-7", "email": "otto.kramer@otra.example", "email_verified": True,
                      "name": "Otto Kramer"}}
    with IdentityProvider(port, clients=[client("secret-c")], accounts=before, jwks_path=keys) as idp:
        await add_connection(owner, demo["orgs"]["Otra Industria"], name="Otra", issuer=idp.issuer,
                             secret="secret-c", domains=["otra.example"])
        assert (await sso_sign_in(await browser(), "otto@otra.example", "otto")).status_code == 302
    # the IdP now says something else about the same subject
    with IdentityProvider(port, clients=[client("secret-c")], accounts=after, jwks_path=keys):
        assert (await sso_sign_in(await browser(), "otto@otra.example", "otto")).status_code == 302
    rows = await owner.fetch("SELECT email, name FROM app_user WHERE email LIKE 'otto%'")
    assert [(r["email"], r["name"]) for r in rows] == [("otto.kramer@otra.example", "Otto Kramer")]


async def test_sign_out_also_ends_the_session_at_the_identity_provider(connections, browser, idp_a):
    b = await browser()
    await sso_sign_in(b, "nora@envases.example", "nora@envases.example")
    out = await b.post("/logout")
    assert out.status_code == 200
    target = leaving_for(out)
    assert target.startswith(idp_a.issuer) and "id_token_hint=" in target
    assert parse_qs(urlsplit(target).query)["post_logout_redirect_uri"] == ["https://testserver/login"]
    assert (await b.get("/")).status_code == 302  # signed out here too


async def test_the_sign_in_page_sends_sso_domains_to_their_idp_and_others_to_the_password_step(connections, browser):
    b = await browser()
    sso = await b.post("/login", {"email": "anyone@otra.example"})
    assert sso.status_code == 302 and sso.headers["location"].startswith(f"/sso/{connections['b']}/start")
    local_step = await b.post("/login", {"email": "ana@lacteos.example"})
    assert local_step.status_code == 200 and 'name="password"' in local_step.text


# -- failures: a clear page, an audit entry, nothing created -----------------------------------

async def test_an_email_domain_the_connection_does_not_allow_is_refused(connections, demo, browser, owner):
    b = await browser()
    refused = await sso_sign_in(b, "stranger@envases.example", "stranger")
    assert refused.status_code == 400 and "not in a domain this connection accepts" in refused.text
    assert await owner.fetchval("SELECT count(*) FROM app_user WHERE email LIKE 'stranger%'") == 0
    assert await failures(owner) == [(demo["orgs"]["Envases Norte"], "domain_not_allowed")]
    assert (await b.get("/")).status_code == 302  # not signed in


async def test_an_existing_account_is_never_taken_over_by_email(connections, demo, browser, owner):
    refused = await sso_sign_in(await browser(), "bram@envases.example", "fake-bram")
    assert refused.status_code == 400 and "already uses your e-mail address" in refused.text
    assert await owner.fetchval("SELECT count(*) FROM sso_identity") == 0
    assert await owner.fetchval("SELECT name FROM app_user WHERE email = 'bram@envases.example'") == "Bram de Vries"
    assert await failures(owner) == [(demo["orgs"]["Envases Norte"], "email_in_use")]


async def test_a_user_disabled_in_pacto_is_refused_even_if_the_idp_agrees(connections, demo, browser, owner):
    await sso_sign_in(await browser(), "nora@envases.example", "nora@envases.example")
    await owner.execute("UPDATE app_user SET is_active = false WHERE email = 'nora@envases.example'")
    b = await browser()
    refused = await sso_sign_in(b, "nora@envases.example", "nora@envases.example")
    assert refused.status_code == 400 and "Your Pacto account is disabled" in refused.text
    assert (await b.get("/")).status_code == 302
    assert await failures(owner) == [(demo["orgs"]["Envases Norte"], "user_disabled")]


async def test_missing_state_is_refused(connections, browser, owner):
    response = await (await browser()).get("/sso/callback?code=whatever")
    assert response.status_code == 400 and "could not be trusted" in response.text
    assert await owner.fetchval("SELECT count(*) FROM app_user WHERE email LIKE 'nora%'") == 0


async def test_a_replayed_answer_is_refused_and_audited(connections, demo, browser, owner):
    first = await browser()
    callback = await alogin_at_idp(await go_to_idp(first, "nora@envases.example"), "nora@envases.example")
    assert (await first.get(local(callback))).status_code == 302
    attacker = await browser()
    replay = await attacker.get(local(callback))
    assert replay.status_code == 400 and "could not be trusted" in replay.text
    assert (await attacker.get("/")).status_code == 302
    assert await failures(owner) == [(demo["orgs"]["Envases Norte"], "replayed_state")]


async def test_a_wrong_nonce_is_refused(connections, demo, browser, owner, redis):
    b = await browser()
    authorize = await go_to_idp(b, "nora@envases.example")
    state = parse_qs(urlsplit(authorize).query)["state"][0]
    stored = json.loads(await redis.get(f"sso:state:{state}"))
    stored["nonce"] = "a-different-nonce"  # as if the ID token had been minted for another request
    await redis.set(f"sso:state:{state}", json.dumps(stored), ex=600)
    refused = await b.get(local(await alogin_at_idp(authorize, "nora@envases.example")))
    assert refused.status_code == 400
    assert await owner.fetchval("SELECT count(*) FROM app_user WHERE email LIKE 'nora%'") == 0
    assert await failures(owner) == [(demo["orgs"]["Envases Norte"], "wrong_nonce")]


async def test_an_unreachable_idp_gives_a_clear_page(demo, owner, browser):
    await add_connection(owner, demo["orgs"]["Otra Industria"], name="Down", issuer=f"http://127.0.0.1:{free_port()}",
                         secret="x", domains=["down.example"])
    b = await browser()
    step = await b.post("/login", {"email": "someone@down.example"})
    response = await b.get(step.headers["location"])
    assert response.status_code == 502 and "could not be reached" in response.text
    assert await failures(owner) == [(demo["orgs"]["Otra Industria"], "idp_unreachable")]


async def test_company_a_answer_presented_for_company_b_is_refused(connections, demo, browser, owner):
    # A code minted by A's IdP, delivered with the state of a sign-in that B's connection started.
    b_flow = await browser()
    state_b = parse_qs(urlsplit(await go_to_idp(b_flow, "otto@otra.example")).query)["state"][0]
    a_flow = await browser()
    callback_a = await alogin_at_idp(await go_to_idp(a_flow, "nora@envases.example"), "nora@envases.example")
    code_a = parse_qs(urlsplit(callback_a).query)["code"][0]
    refused = await b_flow.get(f"/sso/callback?code={code_a}&state={state_b}")
    assert refused.status_code == 400
    assert await owner.fetchval("SELECT count(*) FROM app_user WHERE email IN ('nora@envases.example',"
                                " 'otto@otra.example')") == 0
    assert await failures(owner) == [(demo["orgs"]["Otra Industria"], "token_exchange_failed")]


async def test_password_sign_in_refused_when_sso_is_required_except_break_glass(connections, demo, browser, owner):
    await owner.execute("UPDATE sso_connection SET sso_required = true, break_glass_user = $1 WHERE id = $2",
                        demo["users"]["bram@envases.example"], connections["a"])
    eva = await browser()
    refused = await eva.post("/login", {"email": "eva@envases.example", "password": "pacto-demo"})
    assert refused.status_code == 400 and "signs in with its identity provider" in refused.text
    await (await browser()).login("bram@envases.example")  # the break-glass admin still may


# -- ID-token validation with real tokens, tampered --------------------------------------------

async def real_token(idp, login, secret):
    provider = await oidc.discover(idp.issuer)
    request = oidc.authorization_request(provider, client_id="pacto", redirect_uri=CALLBACK)
    code = parse_qs(urlsplit(await alogin_at_idp(request.url, login)).query)["code"][0]
    token = await oidc.exchange_code(provider, client_id="pacto", client_secret=secret, redirect_uri=CALLBACK,
                                     code=code, code_verifier=request.code_verifier)
    return provider, token["id_token"], request.nonce


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def test_id_token_validation_against_real_tokens(idp_a, idp_b):
    provider, token, nonce = await real_token(idp_a, "nora@envases.example", "secret-a")
    claims = await oidc.validate_id_token(provider, token, client_id="pacto", nonce=nonce)
    assert claims["email"] == "nora@envases.example" and claims["sub"] == "nora-1"

    async def reason(value=token, *, client_id="pacto", nonce_=nonce, now=None, against=provider):
        with pytest.raises(SsoFailure) as failure:
            await oidc.validate_id_token(against, value, client_id=client_id, nonce=nonce_, now=now)
        return failure.value.reason

    header, payload, signature = token.split(".")
    assert await reason(client_id="someone-else") == "wrong_audience"
    assert await reason(nonce_="another-nonce") == "wrong_nonce"
    assert await reason(now=claims["exp"] + 3600) == "expired_token"
    assert await reason(now=claims["iat"] - 3600) == "bad_issued_at"
    flipped = signature[:-4] + ("AAAA" if not signature.endswith("AAAA") else "BBBB")
    assert await reason(f"{header}.{payload}.{flipped}") == "bad_signature"
    forged = _b64(claims | {"email": "ceo@envases.example"})
    assert await reason(f"{header}.{forged}.{signature}") == "bad_signature"
    evil = RSAKey.generate_key(2048, parameters={"kid": "evil"}, private=True)
    assert await reason(jwt.encode({"alg": "RS256", "kid": "evil"}, claims, evil)) == "bad_signature"
    unsigned = _b64({"alg": "none", "typ": "JWT"}) + "." + _b64(claims) + "."
    assert await reason(unsigned) in {"bad_token", "bad_signature"}
    # company A's token checked as if it came from company B's IdP
    provider_b = await oidc.discover(idp_b.issuer)
    assert await reason(against=provider_b) in {"bad_signature", "wrong_issuer"}


async def test_an_unknown_key_id_refreshes_the_cached_key_set_once(idp_a):
    provider, token, nonce = await real_token(idp_a, "nora@envases.example", "secret-a")
    stale = RSAKey.generate_key(2048, parameters={"kid": "retired"})
    provider.keys = KeySet([stale])  # as if the IdP had rotated since we cached its keys
    claims = await oidc.validate_id_token(provider, token, client_id="pacto", nonce=nonce)
    assert claims["sub"] == "nora-1" and "retired" not in [k.kid for k in provider.keys.keys]



async def test_an_answer_naming_another_issuer_is_refused(connections, demo, browser, owner):
    b = await browser()
    callback = await alogin_at_idp(await go_to_idp(b, "nora@envases.example"), "nora@envases.example")
    forged = callback.replace("iss=http%3A%2F%2Flocalhost", "iss=http%3A%2F%2Fevil.localhost")
    assert forged != callback
    refused = await b.get(local(forged))
    assert refused.status_code == 400
    assert await failures(owner) == [(demo["orgs"]["Envases Norte"], "wrong_issuer")]
    assert await owner.fetchval("SELECT count(*) FROM app_user WHERE email LIKE 'nora%'") == 0


async def test_an_answer_opened_in_another_browser_is_refused(connections, demo, browser, owner):
    """Login CSRF: someone starts a sign-in with their own account, keeps the IdP's answer and has
    another person open it. That browser did not start the sign-in: refused, and its user stays."""
    attacker = await browser()
    answer = await alogin_at_idp(await go_to_idp(attacker, "nora@envases.example"), "nora@envases.example")
    victim = await browser("ana@lacteos.example")
    refused = await victim.get(local(answer))
    assert refused.status_code == 400 and "started in another browser" in refused.text
    assert "pacto_session" not in refused.headers.get("set-cookie", "")
    page = await victim.get("/")
    assert page.status_code == 200 and "Ana" in page.text and "Nora" not in page.text
    assert await owner.fetchval("SELECT count(*) FROM app_user WHERE email = 'nora@envases.example'") == 0
    assert await failures(owner) == [(demo["orgs"]["Envases Norte"], "other_browser")]


async def test_signing_in_ends_the_session_the_browser_had(connections, browser):
    b = await browser("ana@lacteos.example")
    before = b.client.cookies.get("pacto_session")
    anas = await browser()  # another client holding Ana's session cookie
    anas.client.cookies.set("pacto_session", before)
    assert (await anas.get("/")).status_code == 200
    assert (await sso_sign_in(b, "nora@envases.example", "nora@envases.example")).status_code == 302
    assert b.client.cookies.get("pacto_session") not in (None, before)
    assert (await anas.get("/")).status_code == 302  # Ana's session is over


async def test_where_sso_is_offered_not_required_the_password_step_stays_within_reach(connections, browser):
    """The e-mail step takes envases.example to its IdP; its link leads to the password step, and
    a password is accepted where the company does not require its IdP."""
    b = await browser()
    page = await b.get("/login")
    assert 'id="use-password" href="/login?password=1&amp;next=/"' in page.text
    step = await b.get("/login?password=1")
    assert 'name="password"' in step.text and 'name="email"' in step.text
    signed_in = await b.post("/login", {"email": "bram@envases.example", "password": "pacto-demo"})
    assert signed_in.status_code == 302
    assert "Bram de Vries" in (await b.get("/")).text
