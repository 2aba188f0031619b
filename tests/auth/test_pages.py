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


async def test_logout_ends_the_session_server_side(demo, browser, owner):
    ana = await browser("ana@lacteos.example")
    token = ana.client.cookies.get(sessions.COOKIE)
    # the table keeps the cookie's hash, not the cookie
    assert await owner.fetchval("SELECT count(*) FROM app_session WHERE token_hash = $1", sessions.hash_of(token)) == 1
    assert await owner.fetchval("SELECT count(*) FROM app_session WHERE token_hash = $1", token) == 0
    stolen = await browser()
    stolen.client.cookies.set(sessions.COOKIE, token)
    assert (await stolen.get("/")).status_code == 200
    assert (await ana.post("/logout")).status_code == 302
    assert await owner.fetchval("SELECT count(*) FROM app_session WHERE token_hash = $1", sessions.hash_of(token)) == 0
    assert (await ana.get("/")).status_code == 302
    assert (await stolen.get("/")).status_code == 302  # the same cookie, kept elsewhere, is dead too


async def test_a_session_cookie_opens_only_its_own_organization_until_it_expires(demo, browser, owner):
    ana = await browser("ana@lacteos.example")
    token = ana.client.cookies.get(sessions.COOKIE)
    org, _, secret = token.partition(".")
    assert sessions.org_of(token) == demo["orgs"]["Lácteos del Valle"]
    other = demo["orgs"]["Envases Norte"]
    forged = await browser()
    for cookie in (f"{other}.{secret}", secret, f"{org}.", f"{org}.{secret}x", "not-a-uuid-at-all-but-36-characters." + secret,
                   f"{org}.{secret}"[:-1]):
        forged.client.cookies.set(sessions.COOKIE, cookie)
        assert (await forged.get("/")).status_code == 302, cookie
    # the same secret naming its own organization again works …
    forged.client.cookies.set(sessions.COOKIE, token)
    assert (await forged.get("/")).status_code == 200
    # … until the session expires
    await owner.execute("UPDATE app_session SET expires_at = now() - interval '1 second' WHERE token_hash = $1",
                        sessions.hash_of(token))
    assert (await forged.get("/")).status_code == 302
    assert (await ana.get("/")).status_code == 302
    # signing in again gives a new cookie and takes the user's expired sessions away
    again = await browser("ana@lacteos.example")
    assert again.client.cookies.get(sessions.COOKIE) != token
    assert await owner.fetchval("SELECT count(*) FROM app_session WHERE token_hash = $1", sessions.hash_of(token)) == 0


async def test_signing_in_as_another_company_ends_the_browsers_earlier_session(demo, browser, owner):
    b = await browser("ana@lacteos.example")
    first = b.client.cookies.get(sessions.COOKIE)
    response = await b.post("/login", {"email": "olga@otra.example", "password": "pacto-demo"})
    assert response.status_code == 302
    assert b.client.cookies.get(sessions.COOKIE) != first
    assert await owner.fetchval("SELECT count(*) FROM app_session WHERE token_hash = $1", sessions.hash_of(first)) == 0


async def test_password_reset_by_emailed_link(demo, browser, worker, servers, owner):
    from tests.mailsink import sink

    signed_in = await browser("eva@envases.example")  # elsewhere, before the reset
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
    assert (await signed_in.get("/")).status_code == 302  # a new password ends every session
    assert await owner.fetchval("SELECT count(*) FROM app_session s JOIN app_user u ON u.id = s.user_id"
                                " WHERE u.email = 'eva@envases.example'") == 0
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


async def test_expired_sessions_of_every_organization_go_at_night_on_a_real_worker(demo, browser, owner, servers,
                                                                                  database):
    from arq import create_pool
    from arq.connections import RedisSettings
    from arq.worker import Worker

    from workers.main import CRON_JOBS, worker_settings

    assert "expired_sessions" in {job.name.removeprefix("cron:") for job in CRON_JOBS}
    for email in ("ana@lacteos.example", "olga@otra.example"):
        await browser(email)
    bram = await browser("bram@envases.example")
    await owner.execute("UPDATE app_session SET expires_at = now() - interval '1 minute' WHERE user_id <> $1",
                        demo["users"]["bram@envases.example"])
    pool = await create_pool(RedisSettings.from_dsn(servers.redis_url))
    worker = Worker(**(worker_settings(database.app_url, servers.redis_url)
                       | {"burst": True, "handle_signals": False, "cron_jobs": []}))
    await pool.enqueue_job("expired_sessions", _job_id="test-expired-sessions")
    await worker.async_run()
    assert (worker.jobs_complete, worker.jobs_failed) == (1, 0)
    await worker.close()
    await pool.aclose()
    # two organizations' expired sessions went; the live one stays and still opens its pages
    assert [r["user_id"] for r in await owner.fetch("SELECT user_id FROM app_session")] == [
        demo["users"]["bram@envases.example"]]
    assert (await bram.get("/")).status_code == 200
