"""Evidence uploads: kinds recognised by content, names that must match, limits, nothing half-kept."""
import io
import zipfile

import pytest

from backend.disputes.evidence import EvidenceRefused, chunks_of, store

PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def zip_with(*names: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, "<x/>")
    return buffer.getvalue()


@pytest.mark.parametrize("filename, data, kind", [
    ("delivery-note.pdf", PDF, "pdf"),
    ("photo.PNG", PNG, "png"),
    ("rejections.csv", "lote;rechazadas\nA-17;120\nA-18;0\n".encode(), "csv"),
    ("report.docx", zip_with("[Content_Types].xml", "word/document.xml"), "docx"),
    ("figures.xlsx", zip_with("[Content_Types].xml", "xl/workbook.xml"), "xlsx"),
])
async def test_accepted_kinds_are_recognised_by_content(tmp_path, filename, data, kind):
    stored = await store(chunks_of(data, 7), filename=filename, folder=tmp_path)
    assert stored.kind == kind and stored.size == len(data) and stored.path.read_bytes() == data
    assert [p.name for p in tmp_path.iterdir()] == [str(stored.id)]


@pytest.mark.parametrize("filename, data, message", [
    ("invoice.pdf", b"MZ\x90\x00" + b"\x00" * 100, "Only PDF, images, office documents and CSV"),
    ("photo.png", PDF, r"does not match its content \(PDF\)"),
    ("archive.docx", zip_with("payload.exe"), "Only PDF, images, office documents and CSV"),
    ("data.csv", b"a,b\n\x00\x01\x02", "Only PDF, images, office documents and CSV"),
    ("empty.pdf", b"", "The file is empty."),
])
async def test_refused_files_leave_nothing_behind(tmp_path, filename, data, message):
    with pytest.raises(EvidenceRefused, match=message):
        await store(chunks_of(data), filename=filename, folder=tmp_path)
    assert list(tmp_path.iterdir()) == []


async def test_the_size_limit_stops_the_stream(tmp_path):
    with pytest.raises(EvidenceRefused, match="larger than 1 MB"):
        await store(chunks_of(PDF + b"0" * (2 * 1024 * 1024)), filename="big.pdf", folder=tmp_path,
                    max_bytes=1024 * 1024)
    assert list(tmp_path.iterdir()) == []


async def test_a_path_in_the_name_is_ignored(tmp_path):
    stored = await store(chunks_of(PDF), filename="../../etc/passwd.pdf", folder=tmp_path)
    assert stored.filename == "passwd.pdf" and stored.path.parent == tmp_path
