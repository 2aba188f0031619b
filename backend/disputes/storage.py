"""Where evidence files are kept: under the data directory (default) or in an S3-compatible
object store (EVIDENCE_STORE=s3 with S3_ENDPOINT_URL, S3_BUCKET, S3_REGION, S3_ACCESS_KEY_ID,
S3_SECRET_ACCESS_KEY). Uploads are first streamed to a local file (checked, hashed, size-limited by
evidence.store), then kept: moved into place, or sent to the bucket with their SHA-256.

Requests to S3 are signed with AWS Signature Version 4 (path-style URLs, so MinIO, Ceph, R2 and
the like work as well as AWS).
"""
from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote, urlsplit

import httpx

from backend.config import settings
from backend.disputes.evidence import StoredEvidence

CHUNK = 256 * 1024


class LocalStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def staging(self, relationship_key: str) -> Path:
        return self.root / relationship_key

    async def keep(self, stored: StoredEvidence, key: str) -> None:
        target = self.root / key
        if stored.path != target:
            target.parent.mkdir(parents=True, exist_ok=True)
            stored.path.replace(target)

    async def discard(self, key: str) -> None:
        (self.root / key).unlink(missing_ok=True)

    async def exists(self, key: str) -> bool:
        return (self.root / key).exists()

    async def chunks(self, key: str) -> AsyncIterator[bytes]:
        with (self.root / key).open("rb") as source:
            while chunk := source.read(CHUNK):
                yield chunk


class S3Store:
    def __init__(self, endpoint: str, bucket: str, region: str, access_key: str, secret_key: str,
                 staging_root: Path) -> None:
        self.endpoint, self.bucket, self.region = endpoint.rstrip("/"), bucket, region
        self.access_key, self.secret_key = access_key, secret_key
        self.staging_root = staging_root

    def staging(self, relationship_key: str) -> Path:
        return self.staging_root / relationship_key

    def _url(self, key: str = "") -> str:
        return f"{self.endpoint}/{quote(self.bucket)}" + (f"/{quote(key)}" if key else "")

    def _headers(self, method: str, url: str, payload_sha256: str, extra: dict | None = None) -> dict[str, str]:
        return sign_v4(method, url, extra or {}, payload_sha256, region=self.region, access_key=self.access_key,
                       secret_key=self.secret_key, now=datetime.now(timezone.utc))

    async def create_bucket(self) -> None:
        """For setting up (and for tests); production buckets are usually made by their operators."""
        body = b"" if self.region == "us-east-1" else (
            '<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LocationConstraint>'
            f"{self.region}</LocationConstraint></CreateBucketConfiguration>").encode()
        async with httpx.AsyncClient(timeout=30) as client:
            response = await client.put(self._url(), content=body, headers=self._headers(
                "PUT", self._url(), hashlib.sha256(body).hexdigest()))
            if response.status_code not in (200, 409):
                response.raise_for_status()

    async def keep(self, stored: StoredEvidence, key: str) -> None:
        url = self._url(key)
        headers = self._headers("PUT", url, stored.sha256, {"content-type": stored.media_type,
                                                            "content-length": str(stored.size)})

        async def body():
            with stored.path.open("rb") as source:
                while chunk := source.read(CHUNK):
                    yield chunk

        try:
            async with httpx.AsyncClient(timeout=120) as client:
                response = await client.put(url, content=body(), headers=headers)
                response.raise_for_status()
        finally:
            stored.path.unlink(missing_ok=True)

    async def discard(self, key: str) -> None:
        url = self._url(key)
        async with httpx.AsyncClient(timeout=30) as client:
            await client.delete(url, headers=self._headers("DELETE", url, hashlib.sha256(b"").hexdigest()))

    async def exists(self, key: str) -> bool:
        url = self._url(key)
        async with httpx.AsyncClient(timeout=30) as client:
            response = await client.head(url, headers=self._headers("HEAD", url, hashlib.sha256(b"").hexdigest()))
            return response.status_code == 200

    async def chunks(self, key: str) -> AsyncIterator[bytes]:
        url = self._url(key)
        headers = self._headers("GET", url, hashlib.sha256(b"").hexdigest())
        async with httpx.AsyncClient(timeout=120) as client, client.stream("GET", url, headers=headers) as response:
            response.raise_for_status()
            async for chunk in response.aiter_bytes(CHUNK):
                yield chunk


def sign_v4(method: str, url: str, headers: dict[str, str], payload_sha256: str, *, region: str, access_key: str,
            secret_key: str, now: datetime, service: str = "s3") -> dict[str, str]:
    """The request's headers with x-amz-date, x-amz-content-sha256 and the Authorization of
    AWS Signature Version 4."""
    parts = urlsplit(url)
    amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    signed = {k.lower(): str(v).strip() for k, v in headers.items()}
    signed |= {"host": parts.netloc, "x-amz-date": amz_date, "x-amz-content-sha256": payload_sha256}
    names = sorted(signed)
    query = "&".join(sorted(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, _, v in
                            (pair.partition("=") for pair in parts.query.split("&") if pair)))
    canonical = "\n".join([method, quote(parts.path or "/", safe="/-_.~%"), query,
                           "".join(f"{name}:{signed[name]}\n" for name in names), ";".join(names), payload_sha256])
    scope = f"{day}/{region}/{service}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + secret_key).encode()
    for part in (day, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return signed | {"authorization": f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, "
                                      f"SignedHeaders={';'.join(names)}, Signature={signature}"}


_store: LocalStore | S3Store | None = None


def current() -> LocalStore | S3Store:
    """The configured store (built from the environment on first use)."""
    global _store
    if _store is None:
        root = settings().data_dir
        if os.environ.get("EVIDENCE_STORE", "local").lower() == "s3":
            _store = S3Store(os.environ["S3_ENDPOINT_URL"], os.environ["S3_BUCKET"],
                             os.environ.get("S3_REGION") or "us-east-1", os.environ["S3_ACCESS_KEY_ID"],
                             os.environ["S3_SECRET_ACCESS_KEY"], root / "evidence-upload")
        else:
            _store = LocalStore(root / "evidence")
    return _store


def use(store: LocalStore | S3Store | None) -> None:
    """Choose the store explicitly (None: back to the environment's)."""
    global _store
    _store = store
