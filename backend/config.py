"""Configuration, read once from the environment.

Every variable is listed in README.md with its default; keep the two in step.
"""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = ROOT / "frontend" / "templates"
STATIC_DIR = ROOT / "frontend" / "static"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"

LOCALES = ("en", "es", "nl")


def _env(name: str, default: str) -> str:
    return os.environ.get(name) or default


def _flag(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str | None
    app_database_url: str | None
    app_db_password: str
    redis_url: str | None
    secret_key: str
    base_url: str
    host: str
    port: int
    smtp_url: str | None
    mail_from: str
    session_cookie_secure: bool
    session_max_age: int
    login_rate_per_ip: int
    login_rate_per_email: int
    login_rate_window: int
    invitation_days: int
    dev_mode: bool
    log_level: str
    sso_encryption_key: str
    extra: dict = field(default_factory=dict)


def load() -> Settings:
    data_dir = Path(os.environ.get("PACTO_DATA_DIR") or ROOT / ".pacto").resolve()
    secret = os.environ.get("SECRET_KEY") or ""
    if not secret:
        # Development only: a key kept under the data directory, so sessions survive restarts.
        key_file = data_dir / "secret_key"
        if key_file.exists():
            secret = key_file.read_text().strip()
        else:
            data_dir.mkdir(parents=True, exist_ok=True)
            secret = secrets.token_urlsafe(48)
            key_file.write_text(secret)
            key_file.chmod(0o600)
    host = _env("PACTO_HOST", "127.0.0.1")
    port = int(_env("PACTO_PORT", "8000"))
    return Settings(
        data_dir=data_dir,
        database_url=os.environ.get("DATABASE_URL") or None,
        app_database_url=os.environ.get("APP_DATABASE_URL") or None,
        app_db_password=_env("APP_DB_PASSWORD", "pacto_app"),
        redis_url=os.environ.get("REDIS_URL") or None,
        secret_key=secret,
        base_url=(os.environ.get("BASE_URL") or f"http://{host}:{port}").rstrip("/"),
        host=host,
        port=port,
        smtp_url=os.environ.get("SMTP_URL") or None,
        mail_from=_env("MAIL_FROM", "Pacto <no-reply@pacto.example>"),
        session_cookie_secure=_flag("SESSION_COOKIE_SECURE", True),
        session_max_age=int(_env("SESSION_MAX_AGE", str(12 * 3600))),
        login_rate_per_ip=int(_env("LOGIN_RATE_PER_IP", "20")),
        login_rate_per_email=int(_env("LOGIN_RATE_PER_EMAIL", "5")),
        login_rate_window=int(_env("LOGIN_RATE_WINDOW", "900")),
        invitation_days=int(_env("INVITATION_DAYS", "7")),
        dev_mode=_flag("PACTO_DEV", False),
        log_level=_env("LOG_LEVEL", "INFO"),
        sso_encryption_key=_env("SSO_ENCRYPTION_KEY", ""),
    )


_settings: Settings | None = None


def settings() -> Settings:
    global _settings
    if _settings is None:
        _settings = load()
    return _settings


def reset() -> None:
    """Forget the loaded settings (tests change the environment between apps)."""
    global _settings
    _settings = None
