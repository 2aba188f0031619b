"""Evidence files: only PDF, images, office documents and CSV, recognised by their content (not
only by their name), streamed to the data directory within a size limit.

An upload is written to a temporary file and moved into place only when it is complete and
accepted, so a failed or refused upload leaves nothing behind.
"""
from __future__ import annotations

import hashlib
import io
import os
import zipfile
from collections.abc import AsyncIterable
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID, uuid4

MAX_BYTES = 20 * 1024 * 1024
ALLOWED = {
    "pdf": ({".pdf"}, "application/pdf"),
    "png": ({".png"}, "image/png"),
    "jpeg": ({".jpg", ".jpeg"}, "image/jpeg"),
    "gif": ({".gif"}, "image/gif"),
    "webp": ({".webp"}, "image/webp"),
    "docx": ({".docx"}, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    "xlsx": ({".xlsx"}, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "pptx": ({".pptx"}, "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
    "odf": ({".odt", ".ods", ".odp"}, "application/vnd.oasis.opendocument"),
    "ole": ({".doc", ".xls", ".ppt"}, "application/octet-stream"),
    "csv": ({".csv", ".txt"}, "text/csv"),
}


class EvidenceRefused(ValueError):
    """Why a file is not accepted, in words for the person who sent it."""


def sniff(head: bytes, path: Path | None = None) -> str | None:
    """The kind of file the content shows, or None. Zip containers are opened (from `path`) to tell
    an office document from any other zip."""
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "ole"
    if head.startswith(b"PK\x03\x04") and path is not None:
        return _office_zip(path)
    if _looks_like_csv(head):
        return "csv"
    return None


def _office_zip(path: Path) -> str | None:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if "mimetype" in names and archive.read("mimetype").startswith(b"application/vnd.oasis.opendocument"):
                return "odf"
            if "[Content_Types].xml" in names:
                for prefix, kind in (("word/", "docx"), ("xl/", "xlsx"), ("ppt/", "pptx")):
                    if any(name.startswith(prefix) for name in names):
                        return kind
    except (zipfile.BadZipFile, OSError, KeyError):
        return None
    return None


def _looks_like_csv(head: bytes) -> bool:
    if not head or b"\x00" in head:
        return False
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        try:
            text = head[:-3].decode("utf-8")  # the sample may cut a character in two
        except UnicodeDecodeError:
            return False
    printable = sum(ch.isprintable() or ch in "\r\n\t" for ch in text)
    return printable / max(len(text), 1) > 0.98 and any(sep in text for sep in (",", ";", "\t"))


@dataclass(frozen=True)
class StoredEvidence:
    id: UUID
    path: Path
    filename: str
    kind: str
    media_type: str
    size: int
    sha256: str


async def store(chunks: AsyncIterable[bytes], *, filename: str, folder: Path, max_bytes: int = MAX_BYTES
                ) -> StoredEvidence:
    """Stream an upload into `folder`; EvidenceRefused (and nothing kept) when it is too big, empty,
    or not a kind we accept, or when its name does not match its content."""
    from backend.web.i18n import gettext as _

    name = os.path.basename(filename or "").strip() or "evidence"
    extension = Path(name).suffix.lower()
    folder.mkdir(parents=True, exist_ok=True)
    evidence_id = uuid4()
    partial = folder / f".{evidence_id}.part"
    digest, size, head = hashlib.sha256(), 0, b""
    try:
        with partial.open("wb") as out:
            async for chunk in chunks:
                size += len(chunk)
                if size > max_bytes:
                    raise EvidenceRefused(_("The file is larger than %(mb)s MB.", mb=max_bytes // (1024 * 1024)))
                if len(head) < 8192:
                    head += chunk[: 8192 - len(head)]
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise EvidenceRefused(_("The file is empty."))
        kind = sniff(head, partial)
        if kind is None:
            raise EvidenceRefused(_("Only PDF, images, office documents and CSV files are accepted."))
        extensions, media_type = ALLOWED[kind]
        if extension not in extensions:
            raise EvidenceRefused(_("The file's name (%(ext)s) does not match its content (%(kind)s).",
                                    ext=extension or "—", kind=kind.upper()))
        final = folder / str(evidence_id)
        partial.replace(final)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return StoredEvidence(evidence_id, final, name, kind, media_type, size, digest.hexdigest())


def key_of(relationship_id: UUID, evidence_id: UUID) -> str:
    """Where a kept file lives in the store (files of every kind share the scheme)."""
    return f"{relationship_id}/{evidence_id}"


async def keep_uploads(uploads: list, relationship_id: UUID) -> list[StoredEvidence]:
    """Stream each upload (a Litestar UploadFile) to a checked local file, then keep it in the
    configured store. A refusal (or any failure) keeps nothing of the batch."""
    from backend.disputes import storage  # storage imports this module's StoredEvidence

    bucket = storage.current()
    stored: list[StoredEvidence] = []
    kept: list[str] = []
    try:
        for upload in uploads:
            async def chunks(upload=upload):
                while chunk := await upload.read(65536):
                    yield chunk
            item = await store(chunks(), filename=upload.filename, folder=bucket.staging(str(relationship_id)))
            stored.append(item)
            await bucket.keep(item, key_of(relationship_id, item.id))
            kept.append(key_of(relationship_id, item.id))
    except BaseException:
        for item in stored:
            item.path.unlink(missing_ok=True)
        for key in kept:
            await bucket.discard(key)
        raise
    return stored


async def discard(stored: list[StoredEvidence], relationship_id: UUID) -> None:
    """Remove kept files again (their transaction failed)."""
    from backend.disputes import storage

    for item in stored:
        await storage.current().discard(key_of(relationship_id, item.id))


async def chunks_of(data: bytes, size: int = 65536):
    """Feed bytes to store() in pieces, as a streamed request body would."""
    stream = io.BytesIO(data)
    while chunk := stream.read(size):
        yield chunk

