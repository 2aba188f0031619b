"""The request frame: health probes, security headers, static files, error pages."""
import httpx


async def _get(app, path, **kwargs):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://testserver") as c:
        return await c.get(path, **kwargs)


async def test_health_and_readiness(app):
    assert (await _get(app, "/healthz")).json() == {"status": "ok"}
    ready = await _get(app, "/readyz")
    assert ready.status_code == 200 and ready.json() == {"status": "ok", "database": "ok", "redis": "ok"}


async def test_readiness_reports_a_lost_redis(app):
    await app.state.redis.aclose()
    app.state.redis = __import__("redis.asyncio", fromlist=["Redis"]).Redis(host="127.0.0.1", port=1)
    ready = await _get(app, "/readyz")
    assert ready.status_code == 503 and ready.json()["redis"].startswith("error") and ready.json()["database"] == "ok"


async def test_strict_security_headers_on_pages(app):
    response = await _get(app, "/login")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "<script>" not in response.text and " on" + "click=" not in response.text


async def test_htmx_2_is_vendored_and_served(app):
    response = await _get(app, "/static/htmx.min.js")
    assert response.status_code == 200
    assert 'version:"2.0.' in response.text.replace(" ", "")


async def test_unknown_page_is_a_plain_404(app):
    response = await _get(app, "/no/such/page")
    assert response.status_code == 404 and "Not found" in response.text
