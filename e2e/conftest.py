"""Browser stories: the real `pacto web` and `pacto worker` as subprocesses, driven by Chromium.

Each test gets its own database (cloned from the migrated template, with the demo world seeded),
a flushed Redis, its own web server and worker, and fresh browser contexts.
"""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from backend import runtime
from backend.runtime import terminate
from e2e import browser as e2e_browser

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
PAGE_TIMEOUT_MS = 10_000


class ServerProcess:
    """One child process whose output goes to a file, so it can be shown when something fails."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_path: Path) -> None:
        self.name = name
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.process = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL)

    def output(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        terminate(self.process, STOP_TIMEOUT)
        self._log.close()


def _describe(processes: list[ServerProcess]) -> str:
    return "\n".join(f"----- {p.name} (exit code {p.process.poll()}) -----\n{p.output()}" for p in processes)


async def _wait_until_healthy(base_url: str, processes: list[ServerProcess]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    async with httpx.AsyncClient(timeout=1.0) as client:
        while True:
            dead = [p for p in processes if p.process.poll() is not None]
            if dead:
                pytest.fail(f"{', '.join(p.name for p in dead)} exited while starting:\n{_describe(processes)}",
                            pytrace=False)
            try:
                response = await client.get(f"{base_url}/healthz")
                if response.status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"{base_url}/healthz did not answer 200 within {START_TIMEOUT:.0f} s:\n"
                            f"{_describe(processes)}", pytrace=False)
            await asyncio.sleep(0.1)


# A Fernet key shared by the test (which stores SSO connections) and the server (which reads them).
SSO_ENCRYPTION_KEY = "dGVzdC1vbmx5LXNzby1rZXktMzItYnl0ZXMtbG9uZyE="


@pytest.fixture
def app_port() -> int:
    """The port the live server will listen on (known before it starts, for IdP redirect URIs)."""
    return runtime.free_port()


@pytest.fixture
async def live_server(servers, database, demo, redis, tmp_path, app_port) -> AsyncIterator[str]:
    """Base URL of a real web server (plus a worker) on this test's database, with the demo data."""
    port = app_port
    base_url = f"http://127.0.0.1:{port}"
    env = dict(
        os.environ,
        DATABASE_URL=database.admin_url,
        APP_DATABASE_URL=database.app_url,
        REDIS_URL=servers.redis_url,
        PACTO_HOST="127.0.0.1",
        PACTO_PORT=str(port),
        BASE_URL=base_url,
        SECRET_KEY="e2e-secret-key-not-for-production-0123456789",
        SESSION_COOKIE_SECURE="true",
        PACTO_DEV="1",
        SSO_ENCRYPTION_KEY=SSO_ENCRYPTION_KEY,
        LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
    )
    processes = [
        ServerProcess("web", [sys.executable, "-m", "backend.cli", "web", "--port", str(port)], env,
                      tmp_path / "web.log"),
        ServerProcess("worker", [sys.executable, "-m", "backend.cli", "worker"], env, tmp_path / "worker.log"),
    ]
    try:
        await _wait_until_healthy(base_url, processes)
        yield base_url
        died = [p for p in processes if p.process.poll() is not None]
    finally:
        for p in processes:
            p.stop()
    # Shown by pytest with the failure report of the test ("Captured stdout teardown").
    print(_describe(processes))
    if died:
        pytest.fail(f"{', '.join(p.name for p in died)} exited during the test:\n{_describe(processes)}",
                    pytrace=False)


@pytest.fixture(scope="session")
async def chromium() -> AsyncIterator[Browser]:
    playwright = await async_playwright().start()
    browser = await playwright.chromium.launch(**e2e_browser.launch_options())
    yield browser
    await browser.close()
    await playwright.stop()


@pytest.fixture
async def new_context(chromium, live_server) -> AsyncIterator[Callable[..., Awaitable[BrowserContext]]]:
    """Make fresh browser contexts (separate cookie jars) on the live server; closed at the end."""
    made: list[BrowserContext] = []

    async def make(**options) -> BrowserContext:
        options = {"base_url": live_server, "locale": "en-US"} | options
        context = await chromium.new_context(**options)
        context.set_default_timeout(PAGE_TIMEOUT_MS)
        made.append(context)
        return context

    yield make
    for context in made:
        await context.close()


@pytest.fixture
async def page(new_context) -> Page:
    """A page in its own fresh context."""
    context = await new_context()
    return await context.new_page()
