"""Local sign-in, sessions, rate limits, sign-out and password reset."""
import re

from backend.web import sessions


async def test_sign_in_shows_my_relationships_only(demo, browser):
    ana = await browser("ana@lacteos.example")
    page = await ana.get("/")
    assert page.status_code == 200
    assert "Yoghurt cups and lids" in page.text
    assert "Maintenance spare parts" not in page.text


async def test_session_cookie_is_secure_httponly_and_lax(demo, browser):
    b = await browser()
    await b.get("/login")
    response = await b.post("/login", {"email": "ana@lacteos.example", "password": "pacto-demo"})
    cookie = next(v for k, v in response.headers.multi_items() if k == "set-cookie" and v.startswith(sessions.COOKIE))
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")


async def test_wrong_password_is_refused_without_saying_which_part(demo, browser):
    b = await browser()
    response = await b.post("/login", {"email": "ana@lacteos.example", "password": "wrong-password"})
    assert response.status_code == 400
    assert "E-mail or password is not correct" in response.text
    assert (await b.get("/")).status_code == 302


async def test_pages_need_sign_in(demo, browser):
    b = await browser()
    response = await b.get("/org")
    assert response.status_code == 302
    assert response.headers["location"].startswith("/login?next=%2Forg")


async def test_post_without_csrf_token_is_refused(demo, app):
    import httpx

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://testserver") as c:
        response = await c.post("/login", data={"email": "ana@lacteos.example", "password": "pacto-demo"})
    assert response.status_code == 403


async def test_login_rate_limit_per_email(demo, browser, monkeypatch):
    b = await browser()
    for _ in range(5):
        assert (await b.post("/login", {"email": "bram@envases.example", "password": "nope-nope-nope"})).status_code == 400
    blocked = await b.post("/login", {"email": "bram@envases.example", "password": "pacto-demo"})
    assert blocked.status_code == 429
    # another address from the same IP is still allowed
    assert (await b.post("/login", {"email": "eva@envases.example", "password": "pacto-demo"})).status_code == 302


async def test_logout_ends_the_session_server_side(demo, browser, redis):
    ana = await browser("ana@lacteos.example")
    token = ana.client.cookies.get(sessions.COOKIE)
    assert await sessions.load(redis, token) is not None
    assert (await ana.post("/logout")).status_code == 302
    assert await sessions.load(redis, token) is None
    assert (await ana.get("/")).status_code == 302


async def test_password_reset_by_emailed_link(demo, browser, worker, servers, owner):
    from tests.mailsink import sink

    with sink() as box:
        b = await browser()
        response = await b.post("/password/forgot", {"email": "eva@envases.example"})
        assert response.status_code == 200
        message = await box.wait_for("eva@envases.example")
    link = re.search(r"https://testserver(/password/reset/\S+)", message.body).group(1)
    form = await b.get(link)
    assert "Choose a new password" in form.text
    short = await b.post(link, {"password": "short", "password_again": "short"})
    assert short.status_code == 422 and "at least 10 characters" in short.text
    done = await b.post(link, {"password": "a-new-password-1", "password_again": "a-new-password-1"})
    assert done.status_code == 302
    assert (await b.post(link, {"password": "another-one-22", "password_again": "another-one-22"})).status_code == 400
    await b.login("eva@envases.example", "a-new-password-1")
    assert await owner.fetchval(
        "SELECT count(*) FROM audit_entry WHERE action = 'user.password_reset'") == 1


async def test_unknown_address_gets_the_same_answer_and_no_mail(demo, browser):
    b = await browser()
    known = await b.post("/password/forgot", {"email": "eva@envases.example"})
    unknown = await b.post("/password/forgot", {"email": "nobody@nowhere.example"})
    assert known.status_code == unknown.status_code == 200
    assert known.text.replace("eva@envases.example", "X") == unknown.text.replace("nobody@nowhere.example", "X")


async def test_login_rate_limit_per_ip(demo, browser, monkeypatch):
    from backend import config

    monkeypatch.setenv("LOGIN_RATE_PER_IP", "3")
    config.reset()
    try:
        b = await browser()
        for email in ["a@x.example", "b@x.example", "c@x.example"]:
            assert (await b.post("/login", {"email": email, "password": "whatever-pw"})).status_code == 400
        blocked = await b.post("/login", {"email": "ana@lacteos.example", "password": "pacto-demo"})
        assert blocked.status_code == 429 and "Too many attempts" in blocked.text
    finally:
        monkeypatch.delenv("LOGIN_RATE_PER_IP")
        config.reset()
