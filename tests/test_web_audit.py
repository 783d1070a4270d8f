"""The auditor's pages, the codec endpoint for Temporal's UI and the investigator's queue.

Against ``create_app`` through httpx's ``ASGITransport``: the audit pages over the suite's
time-skipping Temporal server, a worker and a fresh SQLite store (``tests/support/harness.py``),
the codec endpoint over a store alone (it needs no Temporal). Users log in with the login
form; every form POST carries the CSRF token the page handed out; the codec POST is JSON
without a token, as the Temporal UI sends it.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from temporalio.converter import default as default_converter

from claims.audit import audit_claim
from claims.domain.timeutil import local
from claims.infra.codec import AesGcmCodec
from claims.infra.settings import get_settings
from claims.models import Actor, RegisterInput, Role, Stage
from claims.services import accounts
from claims.services.client import claim_state, perform_step
from claims.services.context import Services
from claims.store.db import Sessions
from claims.web.app import create_app
from tests.conftest import BIN, REPO, TEST_PAYLOAD_KEYS
from tests.support.harness import Harness, complete_documents, ended_state

PASSWORD = "correct horse battery"
COUNTY_A, COUNTY_B = "宁乡市", "醴陵市"
UI = "http://localhost:8233"


class Browser:
    """An httpx client on the app with one person's session (cookies kept)."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.token = ""

    async def login(self, user: str) -> httpx.Response:
        page = await self.client.get("/login")
        r = await self.client.post(
            "/login",
            data={"username": user, "password": PASSWORD, "csrftoken": token_of(page.text), "next": ""},
        )
        assert r.status_code == 303, r.text
        self.token = token_of((await self.client.get(r.headers["location"])).text)
        return r

    async def get(self, url: str, **kw: object) -> httpx.Response:
        return await self.client.get(url, **kw)  # type: ignore[arg-type]

    async def post(self, url: str, data: dict[str, object] | None = None, **kw: object) -> httpx.Response:
        return await self.client.post(url, data={**(data or {}), "csrftoken": self.token}, **kw)  # type: ignore[arg-type]


def token_of(html: str) -> str:
    m = re.search(r'name="csrftoken" value="([^"]+)"', html)
    assert m, "no CSRF token on the page"
    return m.group(1)


class Console:
    def __init__(self, services: Services, harness: Harness | None = None) -> None:
        self.services = services
        self.harness = harness
        self.app = create_app(services)
        self._clients: list[httpx.AsyncClient] = []

    def anonymous(self) -> httpx.AsyncClient:
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url="http://console.test"
        )
        self._clients.append(client)
        return client

    async def as_user(self, user: str, role: str, county: str | None = None) -> Browser:
        accounts.add_user(self.services, user, role, PASSWORD, county=county)
        b = Browser(self.anonymous())
        b.landing = (await b.login(user)).headers["location"]  # type: ignore[attr-defined]
        return b

    async def close(self) -> None:
        for c in self._clients:
            await c.aclose()


@pytest_asyncio.fixture(loop_scope="session")
async def console(
    harness: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Console]:
    monkeypatch.setenv("CLAIMS_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    c = Console(Services(get_settings(), sessions=harness.sessions, client=harness.client), harness)
    yield c
    await c.close()


@pytest_asyncio.fixture(loop_scope="session")
async def codec_console(
    sqlite_sessions: Sessions, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Console]:
    """The console with the test payload key configured and no Temporal at all."""
    monkeypatch.setenv("CLAIMS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CLAIMS_PAYLOAD_KEYS", TEST_PAYLOAD_KEYS)
    get_settings.cache_clear()
    c = Console(Services(get_settings(), sessions=sqlite_sessions))
    yield c
    await c.close()


# --------------------------------------------------------------------------- the audit pages


def _claims_command(number: str, harness: Harness, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "TEMPORAL_ADDRESS": harness.client.service_client.config.target_host,
        "CLAIMS_PAYLOAD_KEYS": TEST_PAYLOAD_KEYS,
        "CLAIMS_ACTOR": "audit.cli",
        "CLAIMS_ROLE": "auditor",
        "CLAIMS_DATA_DIR": str(data_dir),
        "CLAIMS_LOG_FORMAT": "json",
    }
    return subprocess.run(
        [str(BIN / "claims"), "audit", number, "--json"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


@pytest.mark.asyncio(loop_scope="session")
async def test_an_auditor_reads_exports_and_replays_a_paid_claim(console: Console, tmp_path: Path) -> None:
    h = console.harness
    assert h is not None
    number = (await h.drive(h.cases[2])).claim_number  # road accident, green channel, 45,000 paid
    state = await ended_state(h.client, number)
    assert state.stage == Stage.CLOSED  # and the workflow has finished: its history is final
    report = await audit_claim(h.client, h.sessions, number, Actor(id="t", role=Role.AUDITOR))
    county = report.claim.county  # type: ignore[union-attr]

    auditor = await console.as_user("audit.county", "auditor", county=county)
    assert auditor.landing == "/audit"  # type: ignore[attr-defined]
    home = await auditor.get("/audit")
    assert home.status_code == 200 and f'href="/audit/{number}"' in home.text  # recently closed
    assert 'href="/audit" aria-current="page">审计</a>' in home.text  # the nav link
    found = await auditor.get(f"/audit?q={number[:12]}")
    assert found.status_code == 200 and "查找结果" in found.text and f'href="/audit/{number}"' in found.text
    assert (await auditor.get("/audit?q=" + "x" * 60)).status_code == 422

    page = await auditor.get(f"/audit/{number}")
    assert page.status_code == 200
    # the registration, by whom and when (Asia/Shanghai), as the history records it
    registered = next(e for e in report.entries if e.kind == "step" and e.name == "register")
    assert registered.actor is not None and registered.actor.role == Role.HANDLER
    row = re.search(
        r'<tr class="entry-step">\s*<td><time[^>]*>([^<]+)</time></td>\s*'
        r'<td class="event">立案</td>\s*<td class="who">([^<]+)</td>',
        page.text,
    )
    assert row, "no 立案 row on the audit timeline"
    assert row.group(1) == local(registered.at)
    assert row.group(2).strip() == f"理赔员 {registered.actor.id}"
    assert "45,000.00" in page.text and 'class="stage">结案<' in page.text
    rule_ids = {r for e in report.entries for r in e.rule_ids}
    assert rule_ids and all(f"<code>{r}</code>" in page.text for r in rule_ids)
    # read-only: no step form, no step route anywhere on the page
    assert "/steps/" not in page.text and 'class="step' not in page.text
    assert re.findall(r'<form method="post" action="([^"]+)"', page.text) == [
        "/logout",
        "/lang",
        f"/audit/{number}/replay",
    ]

    # the export is exactly what the command prints
    exported = await auditor.get(f"/audit/{number}.json")
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("application/json")
    command = await asyncio.to_thread(_claims_command, number, h, tmp_path)
    assert command.returncode == 0, command.stderr[-2000:]
    assert exported.text == command.stdout
    assert json.loads(exported.text)["payouts"][0]["amount"] == "45000.00"

    # replay against the current code: the outcome on the page
    replayed = await auditor.post(f"/audit/{number}/replay")
    assert replayed.status_code == 200
    assert "历史可按当前代码重放，核定结果与当前规则一致" in replayed.text
    assert '<span class="badge badge-ok">ok</span>' in replayed.text
    fragment = await auditor.post(f"/audit/{number}/replay", headers={"HX-Request": "true"})
    assert fragment.text.startswith('<section id="audit-replay"') and "<html" not in fragment.text

    # a supervisor of the county reads it too; a step POST of the auditor stays refused
    supervisor = await console.as_user("sup.county", "supervisor", county=county)
    assert (await supervisor.get(f"/audit/{number}")).status_code == 200
    assert (
        await auditor.post(f"/claims/{number}/steps/pay", {"transfer_ref": "TRF-AUDIT"})
    ).status_code == 403


@pytest.mark.asyncio(loop_scope="session")
async def test_others_are_refused_and_other_counties_not_found(console: Console) -> None:
    h = console.harness
    assert h is not None
    number = await h.report(h.cases[0])  # 宁乡市
    handler = await console.as_user("handler.ningxiang", "handler", county=COUNTY_A)
    for url in ("/audit", f"/audit/{number}", f"/audit/{number}.json"):
        assert (await handler.get(url)).status_code == 403, url
    assert (await handler.post(f"/audit/{number}/replay")).status_code == 403
    decode = await handler.client.post("/codec/decode", json={"payloads": []})
    assert decode.status_code == 403

    elsewhere = await console.as_user("audit.liling", "auditor", county=COUNTY_B)
    assert (await elsewhere.get(f"/audit/{number}")).status_code == 404
    assert (await elsewhere.get(f"/audit/{number}.json")).status_code == 404
    assert (await elsewhere.post(f"/audit/{number}/replay")).status_code == 404
    assert f"/audit/{number}" not in (await elsewhere.get(f"/audit?q={number}")).text
    mine = await console.as_user("audit.ningxiang", "auditor", county=COUNTY_A)
    assert f'href="/audit/{number}"' in (await mine.get(f"/audit?q={number}")).text
    page = await mine.get(f"/audit/{number}")
    assert page.status_code == 200 and 'class="stage">报案<' in page.text
    assert (await mine.get("/audit/JS19000101-NOPE")).status_code == 404
    # the auditor's step POST: 403, nothing changes
    assert (await mine.post(f"/claims/{number}/steps/register")).status_code == 403
    assert (await claim_state(h.client, number)).stage == Stage.REPORTED
    # without a session: the login page for a page, 401 for the codec
    anon = console.anonymous()
    r = await anon.get(f"/audit/{number}")
    assert r.status_code == 303 and r.headers["location"] == f"/login?next=/audit/{number}"


# --------------------------------------------------------------------------- the investigator's queue


@pytest.mark.asyncio(loop_scope="session")
async def test_an_investigator_lands_on_the_county_investigations(console: Console) -> None:
    h = console.harness
    assert h is not None
    number = await h.report(h.cases[0])  # 宁乡市
    handler = Actor(id="handler.ningxiang", role=Role.HANDLER, county=COUNTY_A)
    await perform_step(h.client, number, RegisterInput(actor=handler))
    # reported eight months late: triage planned an investigation; it starts with the documents complete
    await complete_documents(h.client, number, handler)
    assert (await claim_state(h.client, number)).stage == Stage.INVESTIGATION
    waiting = await h.report(h.cases[1])  # 醴陵市, not under investigation

    inv = await console.as_user("inv.ningxiang", "investigator", county=COUNTY_A)
    assert inv.landing == "/inbox"  # type: ignore[attr-defined]
    inbox = await inv.get("/inbox")
    assert inbox.status_code == 200
    assert 'href="/inbox" aria-current="page">调查任务</a>' in inbox.text
    assert f'href="/claims/{number}"' in inbox.text and f"/claims/{waiting}" not in inbox.text
    page = await inv.get(f"/claims/{number}")
    assert re.findall(r'action="/claims/[^"]+/steps/([a-z_]+)"', page.text) == ["record_investigation"]
    other = await console.as_user("inv.liling", "investigator", county=COUNTY_B)
    assert f"/claims/{number}" not in (await other.get("/inbox")).text
    assert (await other.get(f"/claims/{number}")).status_code == 404


# --------------------------------------------------------------------------- the codec endpoint


async def _sealed(value: object) -> tuple[dict[str, object], bytes]:
    (plain,) = default_converter().payload_converter.to_payloads([value])
    (sealed,) = await AesGcmCodec.from_spec(TEST_PAYLOAD_KEYS).encode([plain])
    as_json = {
        "metadata": {k: base64.b64encode(v).decode() for k, v in sealed.metadata.items()},
        "data": base64.b64encode(sealed.data).decode(),
    }
    return as_json, plain.data


@pytest.mark.asyncio(loop_scope="session")
async def test_the_codec_decodes_for_an_auditor_of_the_temporal_ui(codec_console: Console) -> None:
    original = {"claim_number": "JS20220518-P0004", "note": "户主甲 溺水", "amount": "132000.00"}
    sealed, plain = await _sealed(original)
    assert base64.b64decode(sealed["metadata"]["encoding"]) == b"binary/encrypted"  # type: ignore[index]

    anon = codec_console.anonymous()
    assert (await anon.post("/codec/decode", json={"payloads": [sealed]})).status_code == 401

    auditor = await codec_console.as_user("audit.province", "auditor")
    r = await auditor.client.post(
        "/codec/decode", json={"payloads": [sealed]}, headers={"Origin": UI, "X-Namespace": "default"}
    )
    assert r.status_code == 200, r.text
    (out,) = r.json()["payloads"]
    assert json.loads(base64.b64decode(out["data"])) == original
    assert base64.b64decode(out["data"]) == plain
    assert base64.b64decode(out["metadata"]["encoding"]) == b"json/plain"
    assert r.headers["access-control-allow-origin"] == UI
    assert r.headers["access-control-allow-credentials"] == "true"
    # a payload that is not encrypted passes through; a tampered one is refused by name
    (clear,) = default_converter().payload_converter.to_payloads(["明文"])
    clear_json = {
        "metadata": {"encoding": base64.b64encode(b"json/plain").decode()},
        "data": base64.b64encode(clear.data).decode(),
    }
    assert (await auditor.client.post("/codec/decode", json={"payloads": [clear_json]})).json() == {
        "payloads": [clear_json]
    }
    tampered = {**sealed, "data": base64.b64encode(b"\0" * 40).decode()}
    bad = await auditor.client.post("/codec/decode", json={"payloads": [tampered]})
    assert bad.status_code == 422 and "does not authenticate" in bad.json()["error"]
    bad = await auditor.client.post("/codec/decode", json={"payloads": [{"data": "not base64!"}]})
    assert (bad.status_code, bad.json()["field"]) == (400, "payloads[0].data")

    # CORS: the configured origin only
    other = await auditor.client.post(
        "/codec/decode", json={"payloads": [sealed]}, headers={"Origin": "http://evil.example"}
    )
    assert other.status_code == 403 and "access-control-allow-origin" not in other.headers
    pre = await auditor.client.options(
        "/codec/decode",
        headers={
            "Origin": UI,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-namespace",
        },
    )
    assert pre.status_code == 204
    assert pre.headers["access-control-allow-origin"] == UI
    assert pre.headers["access-control-allow-credentials"] == "true"
    assert "POST" in pre.headers["access-control-allow-methods"]
    assert {h.strip().lower() for h in pre.headers["access-control-allow-headers"].split(",")} == {
        "content-type",
        "x-namespace",
    }
    evil = await auditor.client.options(
        "/codec/decode", headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"}
    )
    assert evil.status_code == 403 and "access-control-allow-origin" not in evil.headers

    # the CSRF exemption holds for JSON only: a form post to the same path needs the token
    form = await auditor.client.post("/codec/decode", data={"payloads": "x"})
    assert form.status_code == 403 and "CSRF" in form.text
    text = await auditor.client.post(
        "/codec/decode", content=json.dumps({"payloads": [sealed]}), headers={"Content-Type": "text/plain"}
    )
    assert text.status_code == 403

    # others: 403
    handler = await codec_console.as_user("handler.x", "handler", county=COUNTY_A)
    assert (
        await handler.client.post("/codec/decode", json={"payloads": [sealed]}, headers={"Origin": UI})
    ).status_code == 403
    supervisor = await codec_console.as_user("sup.x", "supervisor", county=COUNTY_A)
    refused = await supervisor.client.post(
        "/codec/decode", json={"payloads": [sealed]}, headers={"Origin": UI}
    )
    assert refused.status_code == 403 and refused.headers["access-control-allow-origin"] == UI


@pytest.mark.asyncio(loop_scope="session")
async def test_the_codec_origin_is_a_setting(
    sqlite_sessions: Sessions, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLAIMS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CLAIMS_WEB_CODEC_CORS_ORIGIN", "https://temporal-ui.county.example")
    get_settings.cache_clear()
    c = Console(Services(get_settings(), sessions=sqlite_sessions))
    try:
        auditor = await c.as_user("audit.province", "auditor")
        mine = await auditor.client.post(
            "/codec/decode", json={"payloads": []}, headers={"Origin": "https://temporal-ui.county.example"}
        )
        assert (mine.status_code, mine.json()) == (200, {"payloads": []})
        assert mine.headers["access-control-allow-origin"] == "https://temporal-ui.county.example"
        default_ui = await auditor.client.post("/codec/decode", json={"payloads": []}, headers={"Origin": UI})
        assert default_ui.status_code == 403 and "access-control-allow-origin" not in default_ui.headers
    finally:
        await c.close()
