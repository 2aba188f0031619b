"""The `pacto` command.

Without DATABASE_URL / REDIS_URL the commands use an embedded PostgreSQL and Redis whose data
lives under PACTO_DATA_DIR (default `.pacto/` in the checkout).
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

from backend import config

DEMO_LOGINS = [
    ("ana@lacteos.example", "Lácteos del Valle — org admin, client responsable"),
    ("bram@envases.example", "Envases Norte — supplier account manager"),
    ("olga@otra.example", "Otra Industria — an unrelated company"),
]
DEMO_PASSWORD = "pacto-demo"


@dataclass
class Servers:
    admin_url: str
    app_url: str
    redis_url: str | None


@contextlib.contextmanager
def servers(*, need_redis: bool) -> Iterator[Servers]:
    """The configured servers, or embedded ones (started here, stopped on exit if we started them)."""
    from backend import runtime, schema

    cfg = config.settings()
    started = []
    try:
        # web and worker may be given only the application's role (APP_DATABASE_URL)
        admin_url = cfg.database_url or cfg.app_database_url
        if not admin_url:
            already = (cfg.data_dir / "postgres" / "postmaster.pid").exists()
            pg = runtime.start_postgres(cfg.data_dir)
            if not already:
                started.append(pg)
            admin_url = runtime.with_credentials(pg.admin_url, database=runtime.DATABASE_NAME)
            asyncio.run(schema.create_database(admin_url))
        redis_url = cfg.redis_url
        if need_redis and not redis_url:
            redis = runtime.start_redis(cfg.data_dir / "redis")
            started.append(redis)
            redis_url = redis.url
        yield Servers(admin_url=admin_url, app_url=schema.app_url(cfg, admin_url), redis_url=redis_url)
    finally:
        for server in reversed(started):
            server.stop()


async def _migrate(s: Servers) -> list[str]:
    from backend import db, schema

    applied = await schema.migrate(s.admin_url)
    await schema.ensure_app_role(s.admin_url, s.app_url)
    await db.close()
    return applied


def cmd_migrate(args) -> int:
    with servers(need_redis=False) as s:
        applied = asyncio.run(_migrate(s))
    print(f"Applied {len(applied)} migration(s)." if applied else "The database is up to date.")
    return 0


def cmd_seed_demo(args) -> int:
    from backend import demo

    with servers(need_redis=False) as s:
        asyncio.run(_migrate(s))
        created = asyncio.run(demo.seed(s.admin_url))
        created = asyncio.run(demo.seed_agreement(s.admin_url)) or created
        created = asyncio.run(demo.seed_disputes(s.admin_url)) or created
        created = asyncio.run(demo.seed_operations(s.admin_url)) or created
    print("Demo data created." if created else "Demo data already present; nothing changed.")
    return 0


def cmd_create_org(args) -> int:
    from backend import db
    from backend.tenancy.actions import create_organization

    async def go(url: str) -> str:
        await db.configure(url, pool=False)
        async with db.tenant_transaction(None):
            org = await create_organization(name=args.name, default_locale=args.locale, currency=args.currency,
                                            time_zone=args.time_zone)
        await db.close()
        return str(org.id)

    with servers(need_redis=False) as s:
        print(asyncio.run(go(s.admin_url)))
    return 0


def cmd_create_user(args) -> int:
    from uuid import UUID

    from backend import db
    from backend.tenancy.actions import create_user

    password = os.environ.get("PACTO_NEW_PASSWORD") or (getpass.getpass("Password: ") if args.password else None)

    async def go(url: str) -> str:
        await db.configure(url, pool=False)
        async with db.tenant_transaction(UUID(args.org)):
            user = await create_user(org_id=UUID(args.org), email=args.email, name=args.name, password=password,
                                     org_role="admin" if args.admin else "member", locale=args.locale)
        await db.close()
        return str(user.id)

    with servers(need_redis=False) as s:
        try:
            print(asyncio.run(go(s.admin_url)))
        except Exception as exc:  # FieldErrors: say which field
            errors = getattr(exc, "errors", None)
            print("error: " + ("; ".join(f"{k}: {v}" for k, v in errors.items()) if errors else str(exc)),
                  file=sys.stderr)
            return 1
    return 0


def cmd_audit_verify(args) -> int:
    import asyncpg

    from backend.audit.actions import verify

    async def go(url: str):
        conn = await asyncpg.connect(url)
        try:
            return await verify(conn)
        finally:
            await conn.close()

    with servers(need_redis=False) as s:
        count, problems = asyncio.run(go(s.admin_url))
    for p in problems:
        print(f"BROKEN {p.chain} seq {p.seq} (entry {p.entry_id}): {p.reason}")
    print(f"{count} audit entries checked, {len(problems)} problem(s).")
    return 1 if problems else 0


def cmd_web(args) -> int:
    import uvicorn

    from backend.app import create_app

    cfg = config.settings()
    with servers(need_redis=True) as s:
        app = create_app(database_url=s.app_url, redis_url=s.redis_url)
        uvicorn.run(app, host=args.host or cfg.host, port=args.port or cfg.port, log_level=cfg.log_level.lower(),
                    proxy_headers=True)
    return 0


def cmd_worker(args) -> int:
    from arq.worker import Worker

    import logging

    from workers.main import worker_settings

    logging.basicConfig(level=config.settings().log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    with servers(need_redis=True) as s:
        worker = Worker(**worker_settings(s.app_url, s.redis_url))
        worker.run()
    return 0


def cmd_run(args) -> int:
    """Everything for development: servers, migrations, demo data, web, worker, mail sink."""
    from backend import demo, runtime
    from backend.notifications import devmail

    cfg = config.settings()
    began = time.monotonic()
    children: list[subprocess.Popen] = []
    sink = None
    with servers(need_redis=True) as s:
        asyncio.run(_migrate(s))
        if args.demo:
            asyncio.run(demo.seed(s.admin_url))
            asyncio.run(demo.seed_agreement(s.admin_url))
            asyncio.run(demo.seed_disputes(s.admin_url))
            asyncio.run(demo.seed_operations(s.admin_url))
        idp, idp_note = _start_demo_idp(s, cfg) if args.demo else (None, "")
        env = dict(os.environ, DATABASE_URL=s.admin_url, APP_DATABASE_URL=s.app_url, REDIS_URL=s.redis_url,
                   PACTO_DEV="1" if args.demo or cfg.dev_mode else os.environ.get("PACTO_DEV", ""))
        mail_note = f"e-mail goes to {cfg.smtp_url}"
        if not cfg.smtp_url:
            port = runtime.free_port()
            sink = devmail.start_sink(cfg.data_dir / "mail", port)
            env["SMTP_URL"] = f"smtp://127.0.0.1:{port}"
            env["PACTO_DEV"] = "1"
            mail_note = f"e-mail is kept for you at {cfg.base_url}/dev/mail"
        children.append(subprocess.Popen([sys.executable, "-m", "backend.cli", "web"], env=env))
        if not args.no_worker:
            children.append(subprocess.Popen([sys.executable, "-m", "backend.cli", "worker"], env=env))
        if not _wait_for_http(f"http://{cfg.host}:{cfg.port}/healthz", children, timeout=60):
            print("The web server did not start; see the messages above.", file=sys.stderr)
            _stop(children)
            return 1
        print(f"\n  Pacto is running at {cfg.base_url}  (ready in {time.monotonic() - began:.1f} s)")
        if args.demo:
            print(f"  Demo logins (password: {DEMO_PASSWORD}):")
            for email, who in DEMO_LOGINS:
                print(f"    {email:24} {who}")
        if idp_note:
            print(f"  {idp_note}")
        print(f"  {mail_note}\n  Press Ctrl-C to stop.\n", flush=True)
        stop = {"now": False}

        def request_stop(signum, frame):
            stop["now"] = True

        signal.signal(signal.SIGINT, request_stop)
        signal.signal(signal.SIGTERM, request_stop)
        while not stop["now"] and all(child.poll() is None for child in children):
            time.sleep(0.2)
        print("\nStopping…", flush=True)
        _stop(children)
        if sink is not None:
            sink.stop()
        if idp is not None:
            idp.stop()
    print("Stopped.")
    return 0


def _start_demo_idp(s: Servers, cfg: config.Settings):
    """A demo identity provider for Envases Norte, when Node.js is there (else the demo goes on
    without SSO and says why)."""
    import shutil

    from backend import demo, devidp, runtime

    if shutil.which("node") is None:
        return None, "SSO demo skipped: Node.js is not installed."
    try:
        devidp.ensure_installed()
        keys = cfg.data_dir / "dev-idp-keys.json"
        if not keys.exists():
            devidp.write_jwks(keys)
        wanted = int(os.environ.get("PACTO_DEMO_IDP_PORT") or 8001)
        port = wanted if _port_free(wanted) else runtime.free_port()
        idp = devidp.IdentityProvider(port, clients=[{
            "client_id": demo.IDP_CLIENT_ID, "client_secret": demo.IDP_CLIENT_SECRET,
            "redirect_uris": [cfg.base_url + "/sso/callback"],
            "post_logout_redirect_uris": [cfg.base_url + "/login"]}], accounts=demo.IDP_ACCOUNTS, jwks_path=keys,
            log_path=cfg.data_dir / "dev-idp.log")
        asyncio.run(demo.seed_sso(s.admin_url, issuer=idp.issuer))
    except devidp.IdpError as exc:
        return None, f"SSO demo skipped: {str(exc).splitlines()[0]}"
    return idp, (f"Demo identity provider at {idp.issuer}: \"Sign in with Envases Norte\" as "
                 "bram@envases.example, eva@envases.example or nora@envases.example (any password); "
                 "\"Sign in with a password instead\" on the sign-in page for their Pacto passwords.")


def _port_free(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def _wait_for_http(url: str, children: list[subprocess.Popen], timeout: float) -> bool:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(child.poll() is not None for child in children):
            return False
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return True
        except OSError:
            time.sleep(0.2)
    return False


def _stop(children: list[subprocess.Popen]) -> None:
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    for child in children:
        try:
            child.wait(15)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pacto", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", help="development: embedded servers, migrations, web and worker in one",
                       description="Start everything for development. Uses DATABASE_URL / REDIS_URL when set, "
                                   "else starts an embedded PostgreSQL and Redis under PACTO_DATA_DIR.")
    p.add_argument("--demo", action="store_true", help="seed the demo companies and users first")
    p.add_argument("--no-worker", action="store_true", help="do not start an arq worker")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("web", help="serve HTTP (production: one of many stateless processes)")
    p.add_argument("--host", default=None, help="bind address (default PACTO_HOST)")
    p.add_argument("--port", type=int, default=None, help="port (default PACTO_PORT)")
    p.set_defaults(func=cmd_web)

    p = sub.add_parser("worker", help="run an arq worker for background jobs")
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("migrate", help="apply database migrations and prepare the application's role")
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser("seed-demo", help="create the demo companies, users and relationships (idempotent)")
    p.set_defaults(func=cmd_seed_demo)

    p = sub.add_parser("create-org", help="create an organization; prints its id")
    p.add_argument("--name", required=True)
    p.add_argument("--currency", default="EUR")
    p.add_argument("--time-zone", default="Europe/Madrid")
    p.add_argument("--locale", default="en", choices=config.LOCALES)
    p.set_defaults(func=cmd_create_org)

    p = sub.add_parser("create-user", help="create a user in an organization (e.g. its first admin); prints its id",
                       description="The password is read from PACTO_NEW_PASSWORD, or asked for with --password.")
    p.add_argument("--org", required=True, help="organization id (from create-org)")
    p.add_argument("--email", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--admin", action="store_true", help="make the user an org admin")
    p.add_argument("--password", action="store_true", help="prompt for a password")
    p.add_argument("--locale", default=None, choices=config.LOCALES)
    p.set_defaults(func=cmd_create_user)

    p = sub.add_parser("audit", help="audit log tools")
    audit_sub = p.add_subparsers(dest="audit_command", required=True)
    v = audit_sub.add_parser("verify", help="recompute every hash chain; exit 1 if an entry was rewritten")
    v.set_defaults(func=cmd_audit_verify)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args) or 0


if __name__ == "__main__":
    sys.exit(main())
