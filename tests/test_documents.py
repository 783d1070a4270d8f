"""Claim documents as files (issue 15): content checks, encrypted content-addressed storage,
upload / open / accept / reject in scope with an audit trail, the checklist by status, and the
console's upload, thumbnails and checks.

The first tests run on a fresh SQLite store with claim rows written directly (no Temporal); the
console tests use the suite's time-skipping server and worker (``tests/support/harness.py``)
through ``create_app`` with logged-in users, as ``tests/test_web_claims.py`` does.
"""

from __future__ import annotations

import asyncio
import base64
import io
import os
import re
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from PIL import Image
from pydantic import SecretStr
from pypdf import PdfWriter
from sqlalchemy import insert, select

from claims.domain import files
from claims.errors import ClaimNotFound, InputError, NotAllowed
from claims.infra.blobs import BlobError, LocalBlobStore
from claims.infra.settings import Settings, StoreSettings, TemporalSettings, get_settings
from claims.models import Actor, ClaimState, Role, Stage, WaivedDocument
from claims.services import accounts, documents
from claims.services.client import claim_state
from claims.services.context import Services
from claims.store.db import Claim, Household, InsuredPerson, Sessions, unit_of_work
from claims.store.documents import Document
from claims.web.app import create_app
from claims.services.demo import DemoClaim
from tests.support.harness import Harness, on_queue

COUNTY_A, VILLAGE_A, COUNTY_B = "宁乡市", "示范村甲", "醴陵市"
MARKER = b"GPS-MARKER-CAMERA-XJ9"
PASSWORD = "correct horse battery"


def key(kid: str) -> str:
    return f"{kid}:{base64.b64encode(os.urandom(32)).decode()}"


def gps_jpeg(size: tuple[int, int] = (640, 480)) -> bytes:
    """A JPEG whose EXIF holds a GPS position and a marker string (camera make)."""
    img = Image.new("RGB", size, (180, 40, 40))
    exif = Image.Exif()
    exif[0x010F] = MARKER.decode()  # Make
    exif[0x8825] = {1: "N", 2: (28.0, 15.0, 30.0), 3: "E", 4: (112.0, 33.0, 10.0)}  # GPSInfo
    out = io.BytesIO()
    img.save(out, format="JPEG", exif=exif.tobytes())
    data = out.getvalue()
    assert MARKER in data and Image.open(io.BytesIO(data)).getexif().get_ifd(0x8825)
    return data


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (50, 40), (0, 90, 200)).save(out, format="PNG")
    return out.getvalue()


def pdf(pages: int = 2) -> bytes:
    w = PdfWriter()
    for _ in range(pages):
        w.add_blank_page(595, 842)
    out = io.BytesIO()
    w.write(out)
    return out.getvalue()


def services_on(sessions: Sessions, tmp_path: Path, keys: str | None) -> Services:
    settings = Settings(
        store=StoreSettings(data_dir=tmp_path),
        temporal=TemporalSettings(payload_keys=SecretStr(keys) if keys else None),
    )
    return Services(settings, sessions=sessions)


def claims_rows(sessions: Sessions) -> None:
    """JS-A (宁乡市, assigned to handler.a), JS-B (醴陵市), JS-SHUT (closed)."""
    now = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)
    with unit_of_work(sessions) as s:
        s.execute(
            insert(Household),
            [dict(id=1, household_no="H1", county=COUNTY_A, township="大成桥镇", village=VILLAGE_A)],
        )
        s.execute(
            insert(InsuredPerson),
            [
                dict(
                    id=1,
                    person_ref="P1",
                    household_id=1,
                    name="张三丰",
                    id_number="430182197805200424",
                    sex="M",
                    birth_date=date(1978, 5, 20),
                )
            ],
        )
        s.execute(
            insert(Claim),
            [
                dict(
                    claim_number=n,
                    workflow_id=f"claim-{n}",
                    person_id=1,
                    accident_date=date(2026, 11, i + 1),
                    reported_on=date(2026, 11, 20),
                    policy_numbers="FA1",
                    outcome="death",
                    stage=stage,
                    county=county,
                    township="镇",
                    village=VILLAGE_A,
                    assigned_handler="handler.a",
                    green_channel=False,
                    sla_state="on_track",
                    reported_at=now,
                    updated_at=now,
                )
                for i, (n, county, stage) in enumerate(
                    [
                        ("JS-A", COUNTY_A, "documents"),
                        ("JS-B", COUNTY_B, "documents"),
                        ("JS-SHUT", COUNTY_A, "closed"),
                    ]
                )
            ],
        )


HANDLER_A = Actor(id="handler.a", role=Role.HANDLER, county=COUNTY_A)
SEC_A = Actor(id="sec.jia", role=Role.VILLAGE_SECRETARY, county=COUNTY_A, village=VILLAGE_A)
HANDLER_B = Actor(id="handler.b", role=Role.HANDLER, county=COUNTY_B)


# --------------------------------------------------------------------------- content checks


def test_the_type_is_read_from_the_bytes_and_each_refusal_says_why() -> None:
    with pytest.raises(files.FileRefused) as e:
        files.check_file(png(), "死亡证明.pdf")
    assert e.value.code == "file.type_not_allowed"
    assert (
        str(e.value) == "file: 死亡证明.pdf: its content is image/png although its name says .pdf; "
        "send the file under its own type"
    )
    with pytest.raises(files.FileRefused) as e:
        files.check_file(b"GIF89a" + b"\0" * 100, "photo.jpg")
    assert "its content is image/gif although its name says .jpg" in str(e.value)
    with pytest.raises(files.FileRefused) as e:
        files.check_file(b"PK\x03\x04 a zip", "invoice.pdf")
    assert e.value.code == "file.type_not_allowed"
    with pytest.raises(files.FileRefused) as e:
        files.check_file(b"", "empty.jpg")
    assert (e.value.code, str(e.value)) == ("file.empty", "file: empty.jpg is empty (0 bytes)")
    with pytest.raises(files.FileRefused) as e:
        files.check_file(gps_jpeg()[:400], "cut.jpg")
    assert e.value.code == "file.corrupt" and "not a readable image" in str(e.value)
    with pytest.raises(files.FileRefused) as e:
        files.check_file(b"%PDF-1.7\n garbage", "broken.pdf")
    assert e.value.code == "file.corrupt"
    big = b"\xff\xd8\xff" + b"\0" * (files.MAX_BYTES)
    with pytest.raises(files.FileRefused) as e:
        files.check_file(big, "huge.jpg")
    assert e.value.code == "file.too_large" and "at most 15 MB" in str(e.value)


def test_images_are_re_encoded_without_exif_and_pdfs_counted() -> None:
    kept = files.check_file(gps_jpeg(), "IMG_0001.JPG")
    assert kept.content_type == "image/jpeg" and MARKER not in kept.content
    back = Image.open(io.BytesIO(kept.content))
    assert (back.size, dict(back.getexif())) == ((640, 480), {})
    assert Image.open(io.BytesIO(kept.thumbnail or b"")).format == "PNG"
    doc = files.check_file(pdf(3), "invoice.pdf")
    assert (doc.content_type, doc.pages) == ("application/pdf", 3)
    assert doc.thumbnail is not None  # the first page drawn by pypdfium2
    # a phone's HEIC photo (pillow-heif) is kept as JPEG
    import pillow_heif

    heic = io.BytesIO()
    pillow_heif.from_pillow(Image.new("RGB", (64, 48), (10, 200, 10))).save(heic, quality=60)
    photo = files.check_file(heic.getvalue(), "IMG_0002.HEIC")
    assert (photo.received_type, photo.content_type) == ("image/heic", "image/jpeg")


# --------------------------------------------------------------------------- storage


def test_blobs_are_encrypted_addressed_by_hash_and_keys_rotate(tmp_path: Path) -> None:
    old = key("k2025")
    store = LocalBlobStore(tmp_path, old)
    digest, kid = store.put(b"%PDF-1.4 marker-in-clear " + MARKER)
    raw = store.path_of(digest).read_bytes()
    assert kid == "k2025" and MARKER not in raw and not raw.startswith(b"%PDF")
    assert store.put(b"%PDF-1.4 marker-in-clear " + MARKER) == (digest, "k2025")  # stored once
    rotated = LocalBlobStore(tmp_path, f"{key('k2026')},{old}")
    assert rotated.get(digest).endswith(MARKER)  # an old key still decrypts
    assert rotated.put(b"new")[1] == "k2026"  # the first key encrypts
    with pytest.raises(BlobError, match="k2025"):
        LocalBlobStore(tmp_path, key("k2026")).get(digest)  # the old key dropped: refused by name
    tampered = bytearray(raw)
    tampered[-1] ^= 1
    store.path_of(digest).write_bytes(bytes(tampered))
    with pytest.raises(BlobError, match="does not authenticate"):
        store.get(digest)


# --------------------------------------------------------------------------- services


def test_a_gps_photo_is_stored_encrypted_and_served_back_without_gps(
    sqlite_sessions: Sessions, tmp_path: Path
) -> None:
    claims_rows(sqlite_sessions)
    services = services_on(sqlite_sessions, tmp_path, key("k1"))
    (row,) = documents.upload(
        services, SEC_A, "JS-A", [documents.Upload("death_certificate", "IMG_0001.jpg", gps_jpeg())]
    )
    assert (row.kind, row.content_type, row.status, row.uploaded_by, row.key_id) == (
        "death_certificate",
        "image/jpeg",
        "uploaded",
        "sec.jia",
        "k1",
    )
    on_disk = list((tmp_path / "documents").rglob(row.sha256))
    assert len(on_disk) == 1
    raw = on_disk[0].read_bytes()
    assert (
        not raw.startswith(b"\xff\xd8\xff")
        and MARKER not in raw
        and b"JFIF" not in raw
        and b"Exif" not in raw
    )
    got, data = documents.open_document(services, HANDLER_A, "JS-A", row.id)
    assert got == row and data.startswith(b"\xff\xd8\xff") and MARKER not in data
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(0x8825) == {}
    thumb = documents.thumbnail(services, HANDLER_A, "JS-A", row.id)
    assert thumb and Image.open(io.BytesIO(thumb)).size[0] <= 320
    trail = [(e.action, e.actor, e.document_id) for e in documents.audit_trail(services, HANDLER_A, "JS-A")]
    assert trail == [
        ("upload", "sec.jia", row.id),
        ("download", "handler.a", row.id),
        ("thumbnail", "handler.a", row.id),
    ]


def test_a_refused_file_refuses_the_batch_and_stores_nothing(
    sqlite_sessions: Sessions, tmp_path: Path
) -> None:
    claims_rows(sqlite_sessions)
    services = services_on(sqlite_sessions, tmp_path, key("k1"))
    batch = [
        documents.Upload("claim_form", "form.jpg", gps_jpeg()),
        documents.Upload("bank_card", "bank.pdf", png()),
    ]
    with pytest.raises(files.FileRefused) as e:
        documents.upload(services, SEC_A, "JS-A", batch)
    assert "bank.pdf: its content is image/png although its name says .pdf" in str(e.value)
    with unit_of_work(sqlite_sessions) as s:
        assert s.scalars(select(Document)).all() == []
    assert not (tmp_path / "documents").exists()
    with pytest.raises(InputError) as e:
        documents.upload(services, SEC_A, "JS-A", [documents.Upload("x\n", "a.jpg", gps_jpeg())])
    assert e.value.field == "kind"
    with pytest.raises(NotAllowed):
        documents.upload(services, Actor(id="aud", role=Role.AUDITOR, county=COUNTY_A), "JS-A", batch[:1])
    with pytest.raises(NotAllowed) as e:
        documents.upload(services, HANDLER_A, "JS-SHUT", batch[:1])
    assert e.value.code == "document.claim_closed"


def test_another_countys_handler_finds_neither_the_claim_nor_its_document(
    sqlite_sessions: Sessions, tmp_path: Path
) -> None:
    claims_rows(sqlite_sessions)
    services = services_on(sqlite_sessions, tmp_path, key("k1"))
    (row,) = documents.upload(services, HANDLER_A, "JS-A", [documents.Upload("claim_form", "f.pdf", pdf())])
    for call in (
        lambda: documents.open_document(services, HANDLER_B, "JS-A", row.id),
        lambda: documents.list_documents(services, HANDLER_B, "JS-A"),
        lambda: documents.reject(services, HANDLER_B, "JS-A", row.id, "unreadable"),
        lambda: documents.open_document(
            services, HANDLER_B, "JS-B", row.id
        ),  # their own claim, another's file
        lambda: documents.open_document(
            services, SEC_A.model_copy(update={"village": "示范村乙"}), "JS-A", row.id
        ),
    ):
        with pytest.raises(ClaimNotFound):
            call()
    assert [e.action for e in documents.audit_trail(services, HANDLER_A, "JS-A")] == ["upload"]


def _state(**kw: object) -> ClaimState:
    return ClaimState(
        claim_number="JS-A",
        stage=Stage.DOCUMENTS,
        county=COUNTY_A,
        township="镇",
        village=VILLAGE_A,
        accident_date=date(2026, 11, 1),
        reported_at=datetime(2026, 11, 20, tzinfo=UTC),
        policies=["FA1"],
        **kw,  # type: ignore[arg-type]
    )


def test_a_rejected_photo_is_missing_again_and_the_checklist_shows_each_status(
    sqlite_sessions: Sessions, tmp_path: Path
) -> None:
    claims_rows(sqlite_sessions)
    services = services_on(sqlite_sessions, tmp_path, key("k1"))
    up = documents.upload(
        services,
        SEC_A,
        "JS-A",
        [
            documents.Upload("death_certificate", "death.jpg", gps_jpeg()),
            documents.Upload("claim_form", "form.pdf", pdf(1)),
            documents.Upload("claimant_id", "id.png", png()),
        ],
    )
    death, form, ident = up
    with pytest.raises(NotAllowed):  # a village secretary does not check documents
        documents.reject(services, SEC_A, "JS-A", death.id, "unreadable")
    with pytest.raises(NotAllowed) as e:  # nor a handler of another claim
        documents.accept(services, Actor(id="handler.z", role=Role.HANDLER, county=COUNTY_A), "JS-A", form.id)
    assert e.value.code == "step.not_assigned"
    with pytest.raises(InputError) as e:
        documents.reject(services, HANDLER_A, "JS-A", death.id, "ugly")
    assert e.value.field == "reason"
    rejected = documents.reject(services, HANDLER_A, "JS-A", death.id, "unreadable", "照片模糊，请重拍")
    assert (rejected.status, rejected.reason, rejected.note, rejected.decided_by) == (
        "rejected",
        "unreadable",
        "照片模糊，请重拍",
        "handler.a",
    )
    documents.accept(services, HANDLER_A, "JS-A", form.id)
    state = _state(
        documents_required=[
            "claim_form",
            "claimant_id",
            "bank_card",
            "death_certificate",
            "household_register_cancellation",
        ],
        documents_received=["death_certificate"],  # recorded by name before the file was checked
        documents_waived=[WaivedDocument(document="household_register_cancellation", reason="村委会核实")],
    )
    docs = documents.list_documents(services, HANDLER_A, "JS-A")
    got = {i.kind: i.status for i in documents.checklist(state, docs)}
    assert got == {
        "claim_form": "accepted",
        "claimant_id": "uploaded",
        "bank_card": "required",
        "death_certificate": "rejected",
        "household_register_cancellation": "waived",
    }
    assert documents.missing(state, docs) == ["bank_card", "death_certificate"]
    # a new photo of the rejected item: uploaded (to be checked), no longer missing
    documents.upload(
        services, SEC_A, "JS-A", [documents.Upload("death_certificate", "death2.jpg", gps_jpeg((800, 600)))]
    )
    docs = documents.list_documents(services, HANDLER_A, "JS-A")
    assert documents.missing(state, docs) == ["bank_card"]
    trail = [(e.action, e.actor, e.detail) for e in documents.audit_trail(services, HANDLER_A, "JS-A")]
    assert ("reject", "handler.a", "unreadable 照片模糊，请重拍") in trail
    assert [a for a, _, _ in trail] == ["upload", "upload", "upload", "reject", "accept", "upload"]
    assert ident.status == "uploaded"
    # the supervisor's counter: files to check on open claims of the county, per claim
    sup = Actor(id="sup.a", role=Role.SUPERVISOR, county=COUNTY_A)
    assert documents.awaiting_check(services, sup) == {"JS-A": 2}  # the ID photo and the new death photo
    assert documents.awaiting_check(services, Actor(id="sup.b", role=Role.SUPERVISOR, county=COUNTY_B)) == {}


# --------------------------------------------------------------------------- the console


async def _same(payloads: list[object]) -> list[object]:
    return payloads


class Browser:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.token = ""

    async def login(self, user: str) -> None:
        page = await self.client.get("/login")
        r = await self.client.post(
            "/login",
            data={"username": user, "password": PASSWORD, "csrftoken": token_of(page.text), "next": ""},
        )
        assert r.status_code == 303, r.text
        self.token = token_of((await self.client.get("/inbox")).text)

    async def post(self, url: str, data: dict[str, object] | None = None, **kw: object) -> httpx.Response:
        return await self.client.post(url, data={"csrftoken": self.token, **(data or {})}, **kw)  # type: ignore[arg-type]


def token_of(html: str) -> str:
    m = re.search(r'name="csrftoken" value="([^"]+)"', html)
    assert m, "no CSRF token on the page"
    return m.group(1)


class Console:
    def __init__(self, harness: Harness, services: Services) -> None:
        self.harness = harness
        self.services = services
        self.app = create_app(services)
        self._clients: list[httpx.AsyncClient] = []

    async def as_user(
        self, user: str, role: str, county: str | None = None, village: str | None = None
    ) -> Browser:
        accounts.add_user(self.services, user, role, PASSWORD, county=county, village=village)
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url="http://console.test"
        )
        self._clients.append(client)
        b = Browser(client)
        await b.login(user)
        return b

    async def close(self) -> None:
        for c in self._clients:
            await c.aclose()


@pytest_asyncio.fixture(loop_scope="session")
async def console(
    harness: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Console]:
    monkeypatch.setenv("CLAIMS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CLAIMS_PAYLOAD_KEYS", key("web1"))
    get_settings.cache_clear()
    # reports filed through the console's form start on the harness's queue
    client = on_queue(harness.client, harness.task_queue)
    services = Services(get_settings(), sessions=harness.sessions, client=client)
    c = Console(harness, services)
    yield c
    await c.close()
    get_settings.cache_clear()


@pytest.mark.asyncio(loop_scope="session")
async def test_photos_uploaded_checked_and_rejected_in_the_console(console: Console, tmp_path: Path) -> None:
    number = await console.harness.report(console.harness.cases[0])  # 宁乡市 示范村甲
    handler = await console.as_user("handler.ningxiang", "handler", county=COUNTY_A)
    assert (await handler.post(f"/claims/{number}/steps/register")).status_code == 303

    page = await handler.client.get(f"/claims/{number}")
    assert f'hx-get="/claims/{number}/documents"' in page.text  # the claim page loads the documents panel

    sec = await console.as_user("sec.jia", "village_secretary", county=COUNTY_A, village=VILLAGE_A)
    panel = await sec.client.get(f"/claims/{number}/documents")
    assert panel.status_code == 200
    assert 'accept="image/*,application/pdf" capture="environment" multiple' in panel.text
    assert (
        'name="file:disability_assessment"' in panel.text and "/accept" not in panel.text
    )  # no checks for a secretary

    # a PNG named .pdf: 422 with the reason, nothing kept
    bad = await sec.post(
        f"/claims/{number}/documents", files=[("file:bank_card", ("bank.pdf", png(), "application/pdf"))]
    )
    assert bad.status_code == 422
    assert "bank.pdf: its content is image/png although its name says .pdf" in bad.text
    assert (
        documents.list_documents(
            console.services, HANDLER_A.model_copy(update={"id": "handler.ningxiang"}), number
        )
        == []
    )

    # two photos and a PDF in one go, each tagged with its item
    ok = await sec.post(
        f"/claims/{number}/documents",
        files=[
            ("file:disability_assessment", ("IMG_0001.jpg", gps_jpeg(), "image/jpeg")),
            ("file:claimant_id", ("IMG_0002.jpg", gps_jpeg((300, 200)), "image/jpeg")),
            ("file:claim_form", ("form.pdf", pdf(2), "application/pdf")),
        ],
    )
    assert ok.status_code == 303, ok.text
    panel = await handler.client.get(f"/claims/{number}/documents", headers={"HX-Request": "true"})
    assert panel.status_code == 200 and panel.text.startswith('<section id="documents-panel"')
    ids = re.findall(r'id="file-(D[0-9a-f]{20})"', panel.text)
    assert len(ids) == 3
    assert panel.text.count('data-status="uploaded"') == 3 and "已上传·待审核" in panel.text
    death = re.search(r'id="doc-disability_assessment".*?id="file-(D[0-9a-f]{20})"', panel.text, re.S)
    assert death
    doc_id = death.group(1)

    thumb = await handler.client.get(f"/claims/{number}/documents/{doc_id}/thumb")
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/png"
    got = await handler.client.get(f"/claims/{number}/documents/{doc_id}")
    assert got.status_code == 200 and got.headers["content-type"] == "image/jpeg"
    assert "attachment" in got.headers["content-disposition"] and MARKER not in got.content
    assert Image.open(io.BytesIO(got.content)).getexif().get_ifd(0x8825) == {}
    on_disk = (tmp_path / "documents").rglob(got.headers["x-content-sha256"])
    raw = next(on_disk).read_bytes()
    assert not raw.startswith(b"\xff\xd8") and MARKER not in raw

    # the handler rejects the unreadable photo: the item is missing again
    rejected = await handler.post(
        f"/claims/{number}/documents/{doc_id}/reject", {"reason": "unreadable", "note": "看不清"}
    )
    assert rejected.status_code == 303
    panel = await handler.client.get(f"/claims/{number}/documents", headers={"HX-Request": "true"})
    row = re.search(r'<tr id="doc-disability_assessment".*?</tr>', panel.text, re.S)
    assert (
        row
        and 'data-status="rejected"' in row.group(0)
        and "无法辨认" in row.group(0)
        and "看不清" in row.group(0)
    )
    state = await claim_state(console.harness.client, number)
    docs = documents.list_documents(
        console.services, HANDLER_A.model_copy(update={"id": "handler.ningxiang"}), number
    )
    assert "disability_assessment" in documents.missing(state, docs)
    # the claim's reject_document step recorded the file and the reason
    (sent_back,) = state.documents_rejected
    assert (sent_back.file.id, sent_back.file.kind, sent_back.reason.value, sent_back.by) == (
        doc_id,
        "disability_assessment",
        "unreadable",
        "handler.ningxiang",
    )
    (entry,) = [t for t in state.timeline if t.event == "document_rejected"]
    assert entry.detail.startswith(f"disability_assessment: file {doc_id} sha256 ") and "看不清" in entry.detail

    # accepting the claim form receives it on the claim with the file (id, item, sha256)
    form_id = re.search(r'id="doc-claim_form".*?id="file-(D[0-9a-f]{20})"', panel.text, re.S)
    assert form_id
    accepted = await handler.post(f"/claims/{number}/documents/{form_id.group(1)}/accept", {"note": "清晰"})
    assert accepted.status_code == 303, accepted.text
    state = await claim_state(console.harness.client, number)
    assert (
        "claim_form" in state.documents_received and "disability_assessment" not in state.documents_received
    )
    (form,) = [d for d in documents.list_documents(console.services, HANDLER_A.model_copy(update={"id": "handler.ningxiang"}), number) if d.id == form_id.group(1)]
    assert [f.model_dump() for f in state.documents_files] == [
        {"id": form.id, "kind": "claim_form", "sha256": form.sha256}
    ]
    (entry,) = [t for t in state.timeline if t.event == "documents_received"]
    assert (entry.actor.id, entry.detail) == (
        "handler.ningxiang",
        f"claim_form; file {form.id} (claim_form) sha256 {form.sha256}",
    )
    history = await console.harness.client.get_workflow_handle(f"claim-{number}").fetch_history()
    # the step's input in the history names the file (id and sha256), never its bytes
    codec = console.harness.client.data_converter.payload_codec
    inputs = [
        p.data
        for e in history.events
        if e.HasField("workflow_execution_update_accepted_event_attributes")
        for p in await (codec.decode if codec else _same)(
            list(e.workflow_execution_update_accepted_event_attributes.accepted_request.input.args.payloads)
        )
    ]
    (received,) = [i for i in inputs if b"claim_form" in i and b"sha256" in i]
    assert form_id.group(1).encode() in received and MARKER not in received
    panel = await handler.client.get(f"/claims/{number}/documents", headers={"HX-Request": "true"})
    assert re.search(r'<tr id="doc-claim_form".*?data-status="accepted"', panel.text, re.S)

    # a secretary may not check; another county's handler finds nothing
    assert (await sec.post(f"/claims/{number}/documents/{ids[1]}/accept")).status_code == 403
    other = await console.as_user("handler.liling", "handler", county=COUNTY_B)
    assert (await other.client.get(f"/claims/{number}/documents/{doc_id}")).status_code == 404
    assert (await other.client.get(f"/claims/{number}/documents/{doc_id}/thumb")).status_code == 404
    assert (await other.post(f"/claims/{number}/documents/{doc_id}/accept")).status_code == 404
    auditor = await console.as_user("auditor.a", "auditor", county=COUNTY_A)
    assert (await auditor.client.get(f"/claims/{number}/documents/{doc_id}?inline=1")).status_code == 200
    assert (
        await auditor.post(
            f"/claims/{number}/documents", files=[("file:bank_card", ("b.png", png(), "image/png"))]
        )
    ).status_code == 403
    actions = [
        (e.action, e.actor)
        for e in documents.audit_trail(
            console.services, HANDLER_A.model_copy(update={"id": "handler.ningxiang"}), number
        )
    ]
    assert actions.count(("upload", "sec.jia")) == 3
    assert ("download", "handler.ningxiang") in actions and ("reject", "handler.ningxiang") in actions
    assert ("view", "auditor.a") in actions


def report_form(case: DemoClaim) -> dict[str, str]:
    """The report form's fields for the seed's first case (宁乡市, grade-1 disability), the
    first photo tagged as the claimant's identity card."""
    return {
        "policy_numbers": case.report.policy_numbers[0],
        "id_number": case.report.id_number,
        "accident_date": "2021-06-26",
        "reported_on": "2022-03-08",
        "outcome": "disability",
        "cause": "fall_from_height",
        "disability_grade": "1",
        "description": "从大棚架上摔下",
        "kind": "claimant_id",
    }


@pytest.mark.asyncio(loop_scope="session")
async def test_the_report_form_takes_the_first_photos_and_keeps_what_was_typed(console: Console) -> None:
    case = console.harness.cases[0]
    sec = await console.as_user("sec.jia", "village_secretary", county=COUNTY_A, village=VILLAGE_A)
    form = await sec.client.get("/claims/new")
    assert 'action="/claims/new/documents" enctype="multipart/form-data"' in form.text
    assert (
        'name="photos" type="file" accept="image/*,application/pdf" capture="environment" multiple'
        in form.text
    )
    typed = report_form(case)
    refused = await sec.post(
        "/claims/new/documents", typed, files=[("photos", ("id.pdf", png(), "application/pdf"))]
    )
    assert refused.status_code == 422
    assert 'id="err-photos"' in refused.text and "its content is image/png" in refused.text
    assert "从大棚架上摔下</textarea>" in refused.text and f'value="{case.report.id_number}"' in refused.text
    ok = await sec.post(
        "/claims/new/documents", typed, files=[("photos", ("id.jpg", gps_jpeg(), "image/jpeg"))]
    )
    assert ok.status_code == 303, ok.text
    number = ok.headers["location"].removeprefix("/claims/")
    assert number.startswith("JS20210626-")
    (doc,) = documents.list_documents(console.services, SEC_A, number)
    assert (doc.kind, doc.uploaded_by, doc.content_type) == ("claimant_id", "sec.jia", "image/jpeg")


# --------------------------------------------------------------------------- the command line


def test_claims_doc_add_list_get(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    import starter
    from claims.store.db import make_engine, make_sessionmaker, upgrade_database

    url = f"sqlite:///{tmp_path / 'claims.db'}"
    upgrade_database(url)
    engine = make_engine(url)
    claims_rows(make_sessionmaker(engine))
    engine.dispose()
    for name, value in {
        "DATABASE_URL": url,
        "CLAIMS_DATA_DIR": str(tmp_path),
        "CLAIMS_PAYLOAD_KEYS": key("cli1"),
        "CLAIMS_ACTOR": "handler.a",
        "CLAIMS_ROLE": "handler",
        "CLAIMS_COUNTY": COUNTY_A,
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    (tmp_path / "IMG_0001.jpg").write_bytes(gps_jpeg())
    (tmp_path / "bank.pdf").write_bytes(png())
    (tmp_path / "form.pdf").write_bytes(pdf(2))

    def run(*args: str) -> object:
        return CliRunner().invoke(starter.cli, list(args), catch_exceptions=False)

    try:
        bad = run("doc", "add", "JS-A", "--kind", "bank_card", str(tmp_path / "bank.pdf"))
        assert bad.exit_code == 2
        assert "bank.pdf: its content is image/png although its name says .pdf" in bad.output
        added = run(
            "doc",
            "add",
            "JS-A",
            "--kind",
            "claim_form",
            str(tmp_path / "IMG_0001.jpg"),
            str(tmp_path / "form.pdf"),
        )
        assert added.exit_code == 0, added.output
        lines = added.output.splitlines()
        assert (
            len(lines) == 2
            and " claim_form  image/jpeg  1p " in lines[0]
            and "application/pdf  2p" in lines[1]
        )
        doc_id = lines[0].split()[0]
        listed = run("doc", "list", "JS-A")
        assert listed.exit_code == 0 and listed.output.count("  uploaded  ") == 2
        out = tmp_path / "back.jpg"
        got = run("doc", "get", "JS-A", doc_id, "--out", str(out))
        assert got.exit_code == 0, got.output
        assert out.read_bytes().startswith(b"\xff\xd8\xff") and MARKER not in out.read_bytes()
        assert oct(out.stat().st_mode & 0o777) == "0o600"
        # sending a file back is a step of the claim's workflow (a test with one: see
        # test_a_file_sent_back_is_missing_again_and_asked_for_again_without_a_second_notice);
        # a reason not on the list is refused before anything is looked up
        assert run("doc", "reject", "JS-A", doc_id, "--reason", "ugly").exit_code == 2
        # the step itself takes no file typed by hand: doc reject reads it from the store
        raw = run("step", "reject-document", "JS-A")
        assert raw.exit_code == 2 and "use `claims doc reject N DOC_ID --reason R`" in raw.output
        monkeypatch.setenv("CLAIMS_COUNTY", COUNTY_B)
        get_settings.cache_clear()
        elsewhere = run("doc", "get", "JS-A", doc_id, "--out", str(tmp_path / "x"))
        assert elsewhere.exit_code == 1 and "no claim 'JS-A'" in elsewhere.output
    finally:
        get_settings.cache_clear()


# --------------------------------------------------------------------------- files on the claim


@pytest.mark.asyncio(loop_scope="session")
async def test_a_claim_runs_from_the_phone_report_to_payout_on_files_checked_in_the_console(
    console: Console, tmp_path: Path
) -> None:
    """Every checklist item uploaded as a file and accepted in the console; one photo sent back
    and asked for again (a re-request, not a second art. 22 notice); the decision bundle names
    the accepted files; ``claims show --json`` lists each file with its sha256 and status."""
    import json

    from claims.models import (
        AdjudicateInput,
        ApprovePayoutInput,
        ClearReviewInput,
        PayInput,
        RecordInvestigationInput,
    )
    from claims.services.client import perform_step
    from claims.store.archive import load_archive
    from tests.support.env import BIN, REPO, TEST_PAYLOAD_KEYS

    case = console.harness.cases[0]  # 宁乡市 示范村甲: grade-1 disability, reported late (investigation)
    sec = await console.as_user("sec.jia", "village_secretary", county=COUNTY_A, village=VILLAGE_A)
    handler = await console.as_user("handler.ningxiang", "handler", county=COUNTY_A)
    me = HANDLER_A.model_copy(update={"id": "handler.ningxiang"})

    # the village secretary reports from the phone form with the claimant's identity card
    typed = report_form(case)
    reported = await sec.post(
        "/claims/new/documents", typed, files=[("photos", ("id.jpg", gps_jpeg(), "image/jpeg"))]
    )
    assert reported.status_code == 303, reported.text
    number = reported.headers["location"].removeprefix("/claims/")
    assert (await handler.post(f"/claims/{number}/steps/register")).status_code == 303
    state = await claim_state(console.harness.client, number)
    required = state.documents_required
    assert state.stage == Stage.DOCUMENTS and "claimant_id" in required and "disability_assessment" in required

    # one notice of everything still missing (art. 22)
    others = [k for k in required if k != "claimant_id"]
    asked = await handler.post(f"/claims/{number}/steps/request_documents", {"documents": others})
    assert asked.status_code == 303, asked.text

    # the secretary uploads a photo for every other item; the handler checks every file
    uploaded = await sec.post(
        f"/claims/{number}/documents",
        files=[(f"file:{k}", (f"{k}.jpg", gps_jpeg((320 + i, 240)), "image/jpeg")) for i, k in enumerate(others)],
    )
    assert uploaded.status_code == 303, uploaded.text
    files = {d.kind: d for d in documents.list_documents(console.services, me, number)}
    assert set(files) == set(required)
    blurred = files["disability_assessment"]
    sent_back = await handler.post(
        f"/claims/{number}/documents/{blurred.id}/reject", {"reason": "unreadable", "note": "看不清"}
    )
    assert sent_back.status_code == 303, sent_back.text
    for k, d in files.items():
        if k != "disability_assessment":
            ok = await handler.post(f"/claims/{number}/documents/{d.id}/accept")
            assert ok.status_code == 303, (k, ok.text)
    state = await claim_state(console.harness.client, number)
    assert [d for d in state.documents_requested if d not in state.documents_received] == ["disability_assessment"]
    # 资料齐全 is refused while the sent-back item is missing
    early = await handler.post(f"/claims/{number}/steps/complete_documents")
    assert early.status_code == 422 and "disability_assessment" in early.text

    # asked for again: a re-request of what was sent back, not a second notice
    again = await handler.post(
        f"/claims/{number}/steps/request_documents", {"documents": ["disability_assessment"]}
    )
    assert again.status_code == 303, again.text
    state = await claim_state(console.harness.client, number)
    notices = [t.detail for t in state.timeline if t.event == "documents_requested"]
    assert len(notices) == 2 and "REPEATED" not in notices[1]
    assert notices[1].startswith("re-request of documents sent back (not a second notice): disability_assessment")

    retaken = await sec.post(
        f"/claims/{number}/documents",
        files=[("file:disability_assessment", ("assessment.pdf", pdf(3), "application/pdf"))],
    )
    assert retaken.status_code == 303, retaken.text
    (new,) = [
        d
        for d in documents.list_documents(console.services, me, number)
        if d.kind == "disability_assessment" and d.status == "uploaded"
    ]
    assert (await handler.post(f"/claims/{number}/documents/{new.id}/accept")).status_code == 303
    done = await handler.post(f"/claims/{number}/steps/complete_documents")
    assert done.status_code == 303, done.text

    # investigation, adjudication, payment (the workflow's own steps)
    client = console.harness.client
    state = await claim_state(client, number)
    assert state.stage == Stage.INVESTIGATION
    inv = case.investigation
    assert inv is not None
    await perform_step(
        client,
        number,
        RecordInvestigationInput(
            actor=Actor(id=inv.investigator, role=Role.INVESTIGATOR),
            findings=inv.findings,
            covered_event=inv.covered_event,
        ),
    )
    state = await perform_step(client, number, AdjudicateInput(actor=me, facts=case.facts))
    assert state.stage == Stage.PAYOUT and state.decision is not None
    accepted = sorted(
        (d.id, d.kind, d.sha256)
        for d in documents.list_documents(console.services, me, number)
        if d.status == "accepted"
    )
    assert len(accepted) == len(required)
    assert sorted((f.id, f.kind, f.sha256) for f in state.decision_documents or []) == accepted
    assert blurred.id not in {f.id for f in state.documents_files}
    boss = Actor(id="sup.ningxiang", role=Role.SUPERVISOR, county=COUNTY_A)
    if state.payout_authority_limit is not None and state.decision.total > state.payout_authority_limit:
        state = await perform_step(client, number, ApprovePayoutInput(actor=boss))
    if state.review is not None and state.review.open:
        state = await perform_step(client, number, ClearReviewInput(actor=boss, note="复核：资料与金额无误"))
    state = await perform_step(client, number, PayInput(actor=me, transfer_ref=case.transfer_ref))
    assert state.stage == Stage.CLOSED
    assert state.payments[0].amount == state.decision.total == Decimal("40000.00")

    # the decision bundle lists the files accepted when the claim was decided
    for _ in range(100):
        with console.harness.sessions() as s:
            archived = load_archive(s, number)
        if archived is not None:
            break
        await asyncio.sleep(0.1)
    assert archived is not None
    assert sorted((f.id, f.kind, f.sha256) for f in archived.bundle.documents) == accepted

    # claims show --json lists each file with its sha256 and status
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CLAIMS_")},
        "TEMPORAL_ADDRESS": client.service_client.config.target_host,
        "DATABASE_URL": console.harness.sessions.kw["bind"].url.render_as_string(hide_password=False),
        "CLAIMS_PAYLOAD_KEYS": TEST_PAYLOAD_KEYS,
        "CLAIMS_DATA_DIR": str(tmp_path),
        "CLAIMS_ACTOR": "handler.ningxiang",
        "CLAIMS_ROLE": "handler",
        "CLAIMS_COUNTY": COUNTY_A,
    }
    # run without blocking this loop: the harness's worker (in this loop) answers the query
    proc = await asyncio.create_subprocess_exec(
        str(BIN / "claims"), "show", number, "--json", cwd=REPO, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 0, err.decode()[-2000:]
    listed = json.loads(out)["documents"]
    by_id = {d["id"]: d for d in listed}
    assert len(listed) == len(required) + 1  # the sent-back photo stays on record
    assert (by_id[blurred.id]["status"], by_id[blurred.id]["reason"]) == ("rejected", "unreadable")
    assert sorted((i, d["kind"], d["sha256"]) for i, d in by_id.items() if d["status"] == "accepted") == accepted


@pytest.mark.asyncio(loop_scope="session")
async def test_a_file_is_sent_back_once_only_as_received_and_never_takes_back_a_paper_original(
    console: Console,
) -> None:
    """The claim's ``reject_document`` validator and the document service refuse what would
    make the claim and the store disagree (a fresh-clone review forged each of these)."""
    from claims.errors import StepRejected
    from claims.models import DocumentFile, ReceiveDocumentsInput, RegisterInput, RejectDocumentInput, RejectReason
    from claims.services.client import perform_step

    client = console.harness.client
    number = await console.harness.report(console.harness.cases[0])
    me = HANDLER_A.model_copy(update={"id": "handler.ningxiang"})
    await perform_step(client, number, RegisterInput(actor=me))
    # the claimant's identity card handed in on paper; then a photo of it and the claim form
    await perform_step(client, number, ReceiveDocumentsInput(actor=me, documents=["claimant_id"]))
    photo, form = documents.upload(
        console.services,
        SEC_A,
        number,
        [
            documents.Upload("claimant_id", "id.jpg", gps_jpeg()),
            documents.Upload("claim_form", "form.pdf", pdf(1)),
        ],
    )
    await documents.accept_and_receive(console.services, me, number, form.id)

    # the extra photo, never accepted, is sent back: the paper original stays received
    await documents.reject_and_return(console.services, me, number, photo.id, "wrong_document")
    state = await claim_state(client, number)
    assert state.documents_received == ["claimant_id", "claim_form"]
    assert [r.file.id for r in state.documents_rejected] == [photo.id]

    # a second 退回 of the same file: refused by the service (nothing recorded twice) ...
    with pytest.raises(NotAllowed) as twice:
        await documents.reject_and_return(console.services, me, number, photo.id, "unreadable")
    assert twice.value.code == "document.already_rejected"
    # ... and by the claim itself when the step is sent directly
    again = RejectDocumentInput(actor=me, file=documents.file_of(photo), reason=RejectReason.UNREADABLE)
    with pytest.raises(StepRejected) as direct:
        await perform_step(client, number, again)
    assert direct.value.code == "document.already_rejected"
    # an accepted file named with another item or hash: not the file the claim received
    forged = DocumentFile(id=form.id, kind="claim_form", sha256="a" * 64)
    with pytest.raises(StepRejected) as mismatch:
        await perform_step(client, number, RejectDocumentInput(actor=me, file=forged, reason=RejectReason.OTHER))
    assert mismatch.value.code == "document.mismatch"
    # accepting twice and an overlong note are refused before anything is recorded
    with pytest.raises(NotAllowed) as accepted_twice:
        await documents.accept_and_receive(console.services, me, number, form.id)
    assert accepted_twice.value.code == "document.already_accepted"
    with pytest.raises(InputError) as long_note:
        await documents.reject_and_return(console.services, me, number, form.id, "other", "说" * 501)
    assert long_note.value.field == "note"
    state = await claim_state(client, number)
    assert [t.event for t in state.timeline].count("document_rejected") == 1
    assert [f.id for f in state.documents_files] == [form.id]
    statuses = {d.id: d.status for d in documents.list_documents(console.services, me, number)}
    assert statuses == {photo.id: "rejected", form.id: "accepted"}
