"""Client secrets of SSO connections, encrypted at rest (Fernet: AES-128-CBC + HMAC-SHA256).

The key is SSO_ENCRYPTION_KEY (a Fernet key). Without it, one is derived from SECRET_KEY, so a
development setup works out of the box; production sets its own and keeps it out of the database.
"""
from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from backend.config import settings


def _fernet() -> Fernet:
    cfg = settings()
    if cfg.sso_encryption_key:
        return Fernet(cfg.sso_encryption_key.encode())
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"pacto", info=b"sso-client-secret").derive(
        cfg.secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


def encrypt(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ValueError("the client secret cannot be decrypted with this SSO_ENCRYPTION_KEY") from exc
