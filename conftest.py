"""Test harness: real PostgreSQL and Redis (embedded unless DATABASE_URL / REDIS_URL are set),
a database per test cloned from a migrated template, the app driven in-process over ASGI."""
from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent
# Before the app is imported: configuration comes from the environment.
os.environ.setdefault("PACTO_DATA_DIR", str(ROOT / ".pacto" / "test"))
os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production")
os.environ.setdefault("SESSION_COOKIE_SECURE", "true")
os.environ.setdefault("BASE_URL", "https://testserver")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import asyncio  # noqa: E402
import re  # noqa: E402
import uuid  # noqa: E402
from dataclasses import dataclass  # noqa: E402

import asyncpg  # noqa: E402
import httpx  # noqa: E402
import pytest  # noqa: E402
from redis.asyncio import Redis  # noqa: E402

from backend import config, runtime, schema  # noqa: E402

TEMPLATE_DB = "pacto_template"


@dataclass
class Servers:
    admin_url: str  # superuser, maintenance database
    redis_url: str


@pytest.fixture(scope="session")
def servers():
    cfg = config.settings()
    started = []
    admin_url = os.environ.get("DATABASE_URL")
    if not admin_url:
        pg = runtime.start_postgres(cfg.data_dir)
        started.append(pg)
        admin_url = pg.admin_url
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        redis = runtime.start_redis(cfg.data_dir / "redis")
        started.append(redis)
        redis_url = redis.url
    yield Servers(admin_url=admin_url, redis_url=redis_url)
    for server in reversed(started):
        server.stop()


@pytest.fixture(scope="session")
async def template_db(servers):
    """A migrated database that each test's database is cloned from."""
    maint = runtime.with_credentials(servers.admin_url, database="postgres")
    conn = await asyncpg.connect(maint)
    try:
        for (name,) in await conn.fetch("SELECT datname FROM pg_database WHERE datname LIKE 'pacto_t_%'"):
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute('DROP DATABASE IF EXISTS "pacto_demo_template" WITH (FORCE)')
        await conn.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE_DB}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{TEMPLATE_DB}"')
    finally:
        await conn.close()
    admin = runtime.with_credentials(servers.admin_url, database=TEMPLATE_DB)
    await schema.migrate(admin)
    await schema.ensure_app_role(admin, schema.app_url(config.settings(), admin))
    from backend import db

    await db.close()
    return TEMPLATE_DB


@dataclass
class Database:
    name: str
    admin_url: str  # owner: sees every row (for assertions and fixtures)
    app_url: str  # the application's role: row-level security applies


DEMO_TEMPLATE_DB = "pacto_demo_template"


@pytest.fixture(scope="session")
async def demo_template_db(servers, template_db):
    """The migrated template plus the demo data, seeded once per session."""
    from backend import demo as demo_data

    maint = runtime.with_credentials(servers.admin_url, database="postgres")
    conn = await asyncpg.connect(maint)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{DEMO_TEMPLATE_DB}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{DEMO_TEMPLATE_DB}" TEMPLATE "{template_db}"')
    finally:
        await conn.close()
    await demo_data.seed(runtime.with_credentials(servers.admin_url, database=DEMO_TEMPLATE_DB))
    return DEMO_TEMPLATE_DB


@pytest.fixture
async def database(request, servers, template_db, demo_template_db):
    """A fresh database for one test: a copy of the demo template when the test uses `demo`."""
    source = demo_template_db if "demo" in request.fixturenames else template_db
    name = f"pacto_t_{uuid.uuid4().hex[:12]}"
    maint = runtime.with_credentials(servers.admin_url, database="postgres")
    conn = await asyncpg.connect(maint)
    await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
    await conn.close()
    admin = runtime.with_credentials(servers.admin_url, database=name)
    from backend.web import fragments

    fragments.clear_all()  # parts rendered for another test's rows
    yield Database(name=name, admin_url=admin, app_url=schema.app_url(config.settings(), admin))
    from backend import db

    await db.close()
    conn = await asyncpg.connect(maint)
    await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await conn.close()


@pytest.fixture
async def owner(database):
    """A superuser connection to the test database, for checking what was stored."""
    conn = await asyncpg.connect(database.admin_url)
    yield conn
    await conn.close()


@pytest.fixture
async def one_connection(database):
    """The application's database module on a pool of one connection (the app's role, row-level
    security applies), so that each transaction gets the previous one's connection."""
    from backend import db

    await db.configure(database.app_url, max_size=1)
    yield
    await db.close()


@pytest.fixture
async def redis(servers):
    client = Redis.from_url(servers.redis_url)
    await client.flushdb()
    yield client
    await client.aclose()


@pytest.fixture
async def demo(database):
    """The demo world: Lácteos (ana admin+responsable, carlos viewer), Envases (bram, eva),
    Otra Industria (olga) with its own relationship with Suministros Sur (sergio)."""
    conn = await asyncpg.connect(database.admin_url)
    try:
        rows = await conn.fetch("SELECT id, name FROM relationship")
        users = await conn.fetch("SELECT id, email FROM app_user")
        orgs = await conn.fetch("SELECT id, name FROM organization")
    finally:
        await conn.close()
    return {
        "relationships": {r["name"]: r["id"] for r in rows},
        "users": {u["email"]: u["id"] for u in users},
        "orgs": {o["name"]: o["id"] for o in orgs},
    }


@pytest.fixture
async def app(database, redis, servers):
    from backend.app import create_app

    application = create_app(database_url=database.app_url, redis_url=servers.redis_url)
    # The lifespan is entered and left in one task (anyio's cancel scopes insist on it), while
    # pytest-asyncio may set a fixture up and tear it down in different tasks.
    started, stop = asyncio.Event(), asyncio.Event()

    async def run_lifespan():
        async with application.lifespan():
            started.set()
            await stop.wait()

    task = asyncio.create_task(run_lifespan())
    await asyncio.wait([task, asyncio.create_task(started.wait())], return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        task.result()  # raises the startup error
    yield application
    stop.set()
    await task


@pytest.fixture
async def worker(app, database, servers):
    """A real arq worker running in this event loop against the test database and Redis."""
    from arq.worker import Worker

    from workers.main import worker_settings

    settings = worker_settings(database.app_url, servers.redis_url)
    settings["handle_signals"] = False
    w = Worker(**settings)
    task = asyncio.create_task(w.async_run())
    yield w
    task.cancel()
    try:
        await task
    except (asyncio.CancelledError, Exception):
        pass
    # A job still running when the test ends is cancelled with the worker; its CancelledError must
    # not leak into the session's event loop (it would break every later test).
    try:
        await w.close()
    except (asyncio.CancelledError, Exception):
        pass


CSRF_RE = re.compile(r'name="csrf-token" content="([^"]+)"')


class Browser:
    """An httpx client that behaves like a browser: keeps cookies, sends the CSRF token."""

    def __init__(self, app) -> None:
        self.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=("10.1.2.3", 1234)),
                                        base_url="https://testserver", follow_redirects=False)
        self.csrf = ""

    async def get(self, url: str, **kwargs) -> httpx.Response:
        response = await self.client.get(url, **kwargs)
        if match := CSRF_RE.search(response.text):
            self.csrf = match.group(1)
        return response

    async def post(self, url: str, data: dict | None = None, htmx: bool = False, **kwargs) -> httpx.Response:
        if not self.csrf:
            await self.get("/login")
        headers = {"x-csrftoken": self.csrf} | ({"hx-request": "true"} if htmx else {})
        headers |= kwargs.pop("headers", {})
        return await self.client.post(url, data=data, headers=headers, **kwargs)

    async def request(self, method: str, url: str, **kwargs) -> httpx.Response:
        if not self.csrf:
            await self.get("/login")
        headers = {"x-csrftoken": self.csrf} | kwargs.pop("headers", {})
        return await self.client.request(method, url, headers=headers, **kwargs)

    async def login(self, email: str, password: str = "pacto-demo") -> httpx.Response:
        await self.get("/login")
        response = await self.post("/login", {"email": email, "password": password})
        assert response.status_code == 302, response.text
        return response

    async def aclose(self) -> None:
        await self.client.aclose()


@pytest.fixture
async def browser(app):
    """Make signed-in (or anonymous) clients: `await browser("ana@lacteos.example")`."""
    made = []

    async def make(email: str | None = None) -> Browser:
        b = Browser(app)
        made.append(b)
        if email:
            await b.login(email)
        return b

    yield make
    for b in made:
        await b.aclose()
