"""Evidence files through the pages: kept under the data directory or in an S3-compatible store
(a real S3 HTTP server, moto's, with signed requests); a refused file leaves nothing anywhere."""
import hashlib
from datetime import datetime, timezone

import pytest
from moto.server import ThreadedMotoServer

from backend import runtime
from backend.disputes import storage
from backend.disputes.storage import S3Store, sign_v4

PDF = b"%PDF-1.4\n" + b"x" * 300_000 + b"\n%%EOF\n"
EXE = b"MZ\x90\x00" + b"\x00" * 500


@pytest.fixture
def s3(tmp_path):
    port = runtime.free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    store = S3Store(f"http://127.0.0.1:{port}", "pacto-evidence", "eu-west-1", "test-key", "test-secret",
                    tmp_path / "staging")
    storage.use(store)
    yield store
    storage.use(None)
    server.stop()


async def deviation(ana, rel):
    response = await ana.post(f"/relationships/{rel}/deviations", {
        "type": "other", "occurred_at": "2026-11-03T10:00", "description": "x"})
    return response.headers["location"].rsplit("/", 1)[1]


async def test_files_live_in_the_bucket_and_come_back_whole(app, demo, agreement, browser, owner, s3, tmp_path):
    await s3.create_bucket()
    ana, bram = await browser("ana@lacteos.example"), await browser("bram@envases.example")
    deviation_id = await deviation(ana, agreement["relationship"])
    uploaded = await bram.post(f"/deviations/{deviation_id}/evidence",
                               files={"evidence": ("proof.pdf", PDF, "application/pdf")})
    assert uploaded.status_code == 302, uploaded.text
    row = await owner.fetchrow("SELECT id, relationship, sha256, size FROM evidence_file")
    assert row["sha256"] == hashlib.sha256(PDF).hexdigest() and row["size"] == len(PDF)
    key = f"{row['relationship']}/{row['id']}"
    assert await s3.exists(key)
    assert not any(p.is_file() for p in (tmp_path / "staging").rglob("*"))  # nothing left behind locally
    download = await ana.get(f"/evidence/{row['id']}")
    assert download.status_code == 200 and download.content == PDF
    assert download.headers["content-disposition"] == "attachment; filename*=UTF-8''proof.pdf"
    # a refused file: nothing in the database, nothing in the bucket
    refused = await bram.post(f"/deviations/{deviation_id}/evidence",
                              files={"evidence": ("invoice.pdf", EXE, "application/pdf")})
    assert refused.status_code == 422 and "Only PDF, images, office documents and CSV files are accepted." in refused.text
    assert await owner.fetchval("SELECT count(*) FROM evidence_file") == 1


async def test_local_store_keeps_files_under_the_data_directory(app, demo, agreement, browser, owner, tmp_path):
    storage.use(storage.LocalStore(tmp_path / "evidence"))
    try:
        ana = await browser("ana@lacteos.example")
        deviation_id = await deviation(ana, agreement["relationship"])
        assert (await ana.post(f"/deviations/{deviation_id}/evidence",
                               files={"evidence": ("proof.pdf", PDF, "application/pdf")})).status_code == 302
        row = await owner.fetchrow("SELECT id, relationship FROM evidence_file")
        assert (tmp_path / "evidence" / str(row["relationship"]) / str(row["id"])).read_bytes() == PDF
        renamed = await ana.post(f"/deviations/{deviation_id}/evidence",
                                 files={"evidence": ("photo.png", PDF, "image/png")})
        assert renamed.status_code == 422 and "does not match its content" in renamed.text
        assert len(list((tmp_path / "evidence").rglob("*"))) == 2  # the folder and the one file
        outsider = await browser("olga@otra.example")
        assert (await outsider.get(f"/evidence/{row['id']}")).status_code == 404
    finally:
        storage.use(None)


def test_signature_v4_matches_the_aws_documentation_example():
    """The GET Object example of the S3 SigV4 documentation ("Example: GET Object")."""
    headers = sign_v4("GET", "https://examplebucket.s3.amazonaws.com/test.txt", {"range": "bytes=0-9"},
                      hashlib.sha256(b"").hexdigest(), region="us-east-1", access_key="AKIAIOSFODNN7EXAMPLE",
                      secret_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                      now=datetime(2013, 5, 24, tzinfo=timezone.utc))
    assert headers["authorization"].endswith(
        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
