"""The Litestar application: collects each domain's routes and wires the request frame."""
from __future__ import annotations

import gc
import logging
from contextlib import asynccontextmanager

from arq import create_pool
from arq.connections import RedisSettings
from litestar import Litestar
from litestar.config.csrf import CSRFConfig
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.static_files import create_static_files_router
from litestar.template import TemplateConfig
from redis.asyncio import Redis

from backend import db, jobs
from backend.agreements import api as agreements_api
from backend.agreements import pages as agreements_pages
from backend.auth import pages as auth_pages
from backend.config import STATIC_DIR, settings
from backend.disputes import api as disputes_api
from backend.disputes import pages as disputes_pages
from backend.notifications import devmail
from backend.notifications import pages as notifications_pages
from backend.operations import api as operations_api
from backend.operations import pages as operations_pages
from backend.pricing import api as pricing_api
from backend.pricing import pages as pricing_pages
from backend.reviews import pages as review_pages
from backend.relationships import api as relationships_api
from backend.relationships import pages as relationships_pages
from backend.schema import check_app_role
from backend.sso import pages as sso_pages
from backend.tenancy import pages as tenancy_pages
from backend.web import health, sessions
from backend.web.current import provide_actor
from backend.web.errors import exception_handlers
from backend.web.middleware import security_headers_middleware, tenant_middleware
from backend.web.templating import template_engine

ROUTES = [
    *health.routes,
    *auth_pages.routes,
    *tenancy_pages.routes,
    *relationships_pages.routes,
    *relationships_api.routes,
    *sso_pages.routes,
    *agreements_pages.routes,
    *agreements_api.routes,
    *disputes_pages.routes,
    *disputes_api.routes,
    *operations_api.routes,
    *operations_pages.routes,
    *pricing_api.routes,
    *pricing_pages.routes,
    *review_pages.routes,
    *devmail.routes,
    *notifications_pages.routes,
]


_frozen = False


def _freeze_startup_objects() -> None:
    """What start-up loaded (modules, compiled templates, catalogs) lives as long as the process:
    keep it out of the collector's full passes, which otherwise walk it during requests. Once per
    process, after a collection (a process that builds several apps, like the tests, freezes no
    garbage of the earlier ones)."""
    global _frozen
    if not _frozen:
        gc.collect()
        gc.freeze()
        _frozen = True


def create_app(*, database_url: str | None = None, redis_url: str | None = None) -> Litestar:
    """Build the app. URLs default to APP_DATABASE_URL / REDIS_URL from the environment."""
    cfg = settings()
    logging.basicConfig(level=cfg.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    database_url = database_url or cfg.app_database_url
    redis_url = redis_url or cfg.redis_url
    if not database_url or not redis_url:
        raise RuntimeError("APP_DATABASE_URL and REDIS_URL must be set (`pacto run` sets them for you).")

    @asynccontextmanager
    async def lifespan(app: Litestar):
        await db.configure(database_url)
        await check_app_role()
        app.state.redis = Redis.from_url(redis_url)
        app.state.session_reader = sessions.Reader(app.state.redis)
        pool = await create_pool(RedisSettings.from_dsn(redis_url))
        jobs.set_pool(pool)
        _freeze_startup_objects()
        try:
            yield
        finally:
            jobs.set_pool(None)
            await pool.aclose()
            await app.state.session_reader.close()
            await app.state.redis.aclose()
            await db.close()

    return Litestar(
        route_handlers=[*ROUTES, create_static_files_router(path="/static", directories=[STATIC_DIR],
                                                            name="static", opt={"exclude_from_csrf": True})],
        lifespan=[lifespan],
        dependencies={"actor": Provide(provide_actor)},
        middleware=[security_headers_middleware, tenant_middleware],
        csrf_config=CSRFConfig(secret=cfg.secret_key, cookie_secure=cfg.session_cookie_secure,
                               cookie_httponly=False, header_name="x-csrftoken", cookie_name="pacto_csrf"),
        template_config=TemplateConfig(instance=template_engine()),
        exception_handlers=exception_handlers,
        openapi_config=OpenAPIConfig(title="Pacto API", version="1", path="/schema"),
        debug=False,
    )
