"""Corporate SSO in a real browser: two companies, each with its own real OpenID provider
(oidc-provider on Node, on `localhost`), the app on 127.0.0.1."""
from __future__ import annotations

import json
import re

import asyncpg
import pytest
from cryptography.fernet import Fernet
from playwright.async_api import Page, expect

from backend.devidp import IdentityProvider, write_jwks
from backend.runtime import free_port
from e2e.conftest import SSO_ENCRYPTION_KEY

pytestmark = pytest.mark.e2e

ACCOUNTS_A = {"nora@envases.example": {"sub": "nora-1", "email": "nora@envases.example", "email_verified": True,
                                       "name": "Nora Vidal", "groups": ["pacto-admins"]}}
ACCOUNTS_B = {"otto@otra.example": {"sub": "otto-1", "email": "otto@otra.example", "email_verified": True,
                                    "name": "Otto Kramer", "groups": []}}


@pytest.fixture
async def idps(app_port, database, demo, tmp_path):
    base = f"http://127.0.0.1:{app_port}"
    clients = lambda secret: [{"client_id": "pacto", "client_secret": secret,  # noqa: E731
                               "redirect_uris": [f"{base}/sso/callback"],
                               "post_logout_redirect_uris": [f"{base}/login"]}]
    # keys made here, so that the IdP has less to do at start (one was once not ready within 60 s)
    keys_a, keys_b = write_jwks(tmp_path / "a.json", kid="a"), write_jwks(tmp_path / "b.json", kid="b")
    with IdentityProvider(free_port(), clients=clients("secret-a"), accounts=ACCOUNTS_A, jwks_path=keys_a) as a, \
            IdentityProvider(free_port(), clients=clients("secret-b"), accounts=ACCOUNTS_B, jwks_path=keys_b) as b:
        conn = await asyncpg.connect(database.admin_url)
        try:
            for org, idp, secret, domain, shown in [("Envases Norte", a, "secret-a", "envases.example", True),
                                                    ("Otra Industria", b, "secret-b", "otra.example", False)]:
                connection = await conn.fetchval(
                    "INSERT INTO sso_connection (id, org, name, issuer, client_id, client_secret_encrypted,"
                    " default_role, groups_claim, group_roles, sso_required, show_on_login, enabled, version,"
                    " created_at, updated_at) VALUES (gen_random_uuid(), $1, $2, $3, 'pacto', $4, 'member', 'groups',"
                    " $5, false, $6, true, 1, now(), now()) RETURNING id",
                    demo["orgs"][org], org, idp.issuer, Fernet(SSO_ENCRYPTION_KEY.encode()).encrypt(secret.encode()).decode(),
                    json.dumps({"pacto-admins": "admin"}), shown)
                await conn.execute("INSERT INTO sso_domain (id, domain, connection, org) VALUES (gen_random_uuid(),"
                                   " $1, $2, $3)", domain, connection, demo["orgs"][org])
        finally:
            await conn.close()
        yield {"a": a, "b": b}


async def sso_sign_in(page: Page, email: str, idp: IdentityProvider, login: str) -> None:
    await page.goto("/login")
    await page.get_by_label("E-mail").fill(email)
    await page.get_by_role("button", name="Continue").click()
    await expect(page).to_have_url(re.compile("^" + re.escape(idp.issuer)))  # at the company's IdP
    await page.get_by_label("Login").fill(login)
    await page.get_by_label("Password").fill("anything")
    await page.get_by_role("button", name="Sign in").click()


async def test_each_company_signs_in_with_its_own_identity_provider(idps, new_context, live_server):
    nora = await (await new_context()).new_page()
    await sso_sign_in(nora, "nora@envases.example", idps["a"], "nora@envases.example")
    await expect(nora.get_by_role("heading", level=1, name="My relationships")).to_be_visible()
    await expect(nora.locator(".user-menu")).to_contain_text("Nora Vidal · Envases Norte")
    await nora.goto("/org")
    await expect(nora.get_by_role("link", name="Single sign-on")).to_be_visible()  # pacto-admins → admin

    otto = await (await new_context()).new_page()
    await sso_sign_in(otto, "otto@otra.example", idps["b"], "otto@otra.example")
    await expect(otto.locator(".user-menu")).to_contain_text("Otto Kramer · Otra Industria")
    await otto.goto("/org")
    await expect(otto.get_by_role("link", name="Single sign-on")).to_have_count(0)  # default role: member
    await expect(otto.get_by_text("Nora Vidal")).to_have_count(0)


async def test_the_sign_in_page_offers_the_companys_button_and_sign_out_ends_the_idp_session(
        idps, new_context, live_server):
    page = await (await new_context()).new_page()
    await page.goto("/login")
    await page.get_by_role("link", name="Sign in with Envases Norte").click()
    await expect(page).to_have_url(re.compile("^" + re.escape(idps["a"].issuer)))
    await page.get_by_label("Login").fill("nora@envases.example")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator(".user-menu")).to_contain_text("Nora Vidal")
    await page.get_by_role("button", name="Sign out").click()
    # RP-initiated logout: through the IdP's end-session endpoint and back to our sign-in page
    await expect(page).to_have_url(re.compile(r"/login$"))
    await page.goto("/")
    await expect(page).to_have_url(re.compile(r"/login"))
    # the IdP session is gone too: starting again asks for the login
    await page.get_by_role("link", name="Sign in with Envases Norte").click()
    await expect(page.get_by_label("Login")).to_be_visible()


async def test_a_refused_sign_in_shows_a_clear_page(idps, new_context, live_server):
    page = await (await new_context()).new_page()
    await page.goto("/sso/callback?code=forged&state=forged")
    await expect(page.get_by_role("heading", name="Sign-in failed")).to_be_visible()
    await expect(page.get_by_text("could not be trusted")).to_be_visible()
