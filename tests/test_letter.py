"""The refusal letter (拒赔通知书, Insurance Law art. 24, issue 17): a claim declined at adjudication
(drink driving, excl.drink_driving) issues its letter through an activity that records its
sha256; the art. 24 clock stops when the letter is issued; the letter names the reasons, the
clause ids and texts, the terms version, its date and the appeal route; the PDF embeds the CJK
font and is built again byte for byte by the letter service (``claims letter``); its sha256 is in
the archive's decision bundle."""

from __future__ import annotations

import asyncio
import re
import zlib
from datetime import UTC, date, timedelta
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from claims.domain.timeutil import SHANGHAI
from claims.infra.settings import get_settings
from claims.models import (
    Actor,
    AdjudicateInput,
    ClaimReport,
    LossFacts,
    Outcome,
    RegisterInput,
    Role,
    Stage,
)
from claims.reports.letter import APPEAL_DAYS, LAYOUT
from claims.services.client import claim_state, perform_step, report_claim, wait_until_open
from claims.services.context import Services
from claims.services.letters import NoLetter, refusal_letter
from claims.store.archive import load_archive
from claims.store.db import Sessions
from rules.engine import RulesEngine
from tests.support.harness import CALENDAR, Harness, complete_documents
from worker import build_worker

HANDLER = Actor(id="handler.ningxiang", role=Role.HANDLER)
SECRETARY = Actor(id="sec.dachengqiao", role=Role.VILLAGE_SECRETARY)


def _inflated(pdf: bytes) -> bytes:
    """The PDF's bytes with every Flate stream inflated (object streams hold the font dicts)."""
    out = [pdf]
    for m in re.finditer(rb"stream\r?\n", pdf):
        try:
            out.append(zlib.decompressobj().decompress(pdf[m.end() : m.end() + 2_000_000]))
        except zlib.error:
            continue
    return b"\n".join(out)


async def declined(h: Harness) -> str:
    """A 宁乡市 road accident, adjudicated with drink driving: declined by the exclusion."""
    report = ClaimReport(
        policy_numbers=["FA2021NX0001"],
        id_number="430182197805200424",
        accident_date=date(2021, 9, 1),
        reported_on=date(2021, 9, 3),
        outcome=Outcome.DISABILITY,
        cause="road_accident",
        disability_grade=5,
        reporter=SECRETARY,
    )
    with h.sessions() as s:
        number = (await report_claim(h.client, s, report, task_queue=h.task_queue)).claim.claim_number
    await wait_until_open(h.client, number)
    await perform_step(h.client, number, RegisterInput(actor=HANDLER))
    await complete_documents(h.client, number, HANDLER)
    facts = LossFacts(
        outcome=Outcome.DISABILITY,
        cause="road_accident",
        disability_grades=[5],
        circumstances=["drink_driving"],
    )
    state = await perform_step(h.client, number, AdjudicateInput(actor=HANDLER, facts=facts))
    assert state.stage == Stage.DECLINED
    return number


async def test_a_decline_issues_the_letter_and_stops_the_art24_clock_then(
    skipping: WorkflowEnvironment, sqlite_sessions: Sessions, tmp_path: Path
) -> None:
    h = Harness(skipping.client, sqlite_sessions)
    async with build_worker(
        skipping.client,
        sqlite_sessions,
        task_queue=h.task_queue,
        rules_engine=RulesEngine.shared(),
        calendar=CALENDAR,
    ):
        number = await declined(h)
        state = await claim_state(h.client, number)
        letter = state.refusal_letter
        assert (
            letter is not None
            and letter.layout == LAYOUT
            and len(letter.sha256) == 64
            and letter.size > 10_000
        )
        events = [t.event for t in state.timeline]
        assert events.index("decline_notice_sent") < events.index("refusal_letter_issued")
        issued_entry = next(t for t in state.timeline if t.event == "refusal_letter_issued")
        assert letter.sha256 in issued_entry.detail
        art24 = next(c for c in state.clocks if c.name == "art24_refusal_notice")
        assert art24.stopped_at is not None and not art24.breached
        assert art24.stopped_at >= letter.issued_at  # stopped when issued, not when queued
        req = letter.request
        assert req.refusals and req.refusals[0].clause_id == "excl.drink_driving"
        assert [p.terms_version for p in req.policies] == ["family_accident@2020"]

        # the service builds the letter again, byte for byte
        services = Services(get_settings(), sessions=sqlite_sessions, client=h.client)
        found = await refusal_letter(services, None, number)
        assert found.sha256 == letter.sha256
        pdf = found.pdf
        assert pdf.startswith(b"%PDF-")
        fonts = set(re.findall(rb"/BaseFont\s*/([A-Z]{6}\+[A-Za-z0-9-]+)", _inflated(pdf)))
        assert any(b"WenQuanYi" in f for f in fonts), fonts  # the CJK font is embedded (a subset)
        assert re.search(rb"/FontFile2|/FontFile3", _inflated(pdf))
        issued_day = letter.issued_at.astimezone(UTC).strftime("%Y%m%d").encode()  # the PDF dates in UTC
        assert re.search(rb"/CreationDate \(D:" + issued_day, _inflated(pdf)), "dated when issued"
        (tmp_path / "letter.pdf").write_bytes(pdf)
        html = found.html
        for text in (
            "拒赔通知书",
            number,
            "excl.drink_driving",
            "被保险人酒后驾驶机动车",  # the clause's text from the terms
            "family_accident@2020",
            "申请复核",
            f"{APPEAL_DAYS} 日内",
            "宁乡市",
        ):
            assert text in html, text
        # signed with the issuing day in Asia/Shanghai (not the machine's zone: from 16:00 UTC on
        # 31 December the letter is dated the next year)
        local = letter.issued_at.astimezone(SHANGHAI)
        assert f"{local.year} 年 {local.month} 月 {local.day} 日" in html

        # the console serves the letter as a page (stylesheet linked: the CSP) and as the PDF issued
        await console_serves_the_letter(services, number, letter.sha256)

        # a reader of another county does not find the claim
        other = Actor(id="sup.liling", role=Role.SUPERVISOR, county="醴陵市")
        from claims.errors import ClaimNotFound

        with pytest.raises(ClaimNotFound):
            await refusal_letter(services, other, number)

        # the workflow ends (after the reopen period, if any) and archives the letter's sha256
        await skipping.sleep(timedelta(days=120))
        archived = None
        for _ in range(100):
            with sqlite_sessions() as s:
                archived = load_archive(s, number)
            if archived is not None:
                break
            await asyncio.sleep(0.2)
        assert archived is not None and archived.bundle.refusal_letter_sha256 == letter.sha256


async def console_serves_the_letter(services: Services, number: str, sha256: str) -> None:
    import hashlib

    import httpx

    from claims.services import accounts
    from claims.web.app import create_app

    app = create_app(services)
    password = "letter-Pw-2026!"

    async def browser(user: str, role: str, county: str) -> httpx.AsyncClient:
        accounts.add_user(services, user, role, password, county=county)
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://console.test")
        page = await client.get("/login")
        token = re.search(r'name="csrftoken" value="([^"]+)"', page.text)
        assert token is not None
        r = await client.post(
            "/login", data={"username": user, "password": password, "csrftoken": token.group(1), "next": ""}
        )
        assert r.status_code == 303, r.text
        return client

    sup = await browser("sup.ningxiang", "supervisor", "宁乡市")
    claim_page = await sup.get(f"/claims/{number}")  # the claim page links to the letter issued
    assert claim_page.status_code == 200 and f'href="/claims/{number}/letter.pdf"' in claim_page.text
    page = await sup.get(f"/claims/{number}/letter")
    assert page.status_code == 200 and page.headers["x-letter-sha256"] == sha256
    assert (
        "excl.drink_driving" in page.text
        and "/letters/letter.css" in page.text
        and "<style>" not in page.text
    )
    assert (await sup.get("/letters/letter.css")).status_code == 200
    pdf = await sup.get(f"/claims/{number}/letter.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert hashlib.sha256(pdf.content).hexdigest() == sha256
    other = await browser("sup.liling", "supervisor", "醴陵市")
    assert (await other.get(f"/claims/{number}/letter.pdf")).status_code == 404
    for c in (sup, other):
        await c.aclose()


async def test_a_claim_without_a_decline_has_no_letter(harness: Harness) -> None:
    number = await harness.report(harness.cases[2])
    services = Services(get_settings(), sessions=harness.sessions, client=harness.client)
    with pytest.raises(NoLetter, match="issued no refusal letter"):
        await refusal_letter(services, None, number)
