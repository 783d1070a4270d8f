"""Payout batches (现场理赔) in the console: ``/batches`` (the county's ready claims and batches,
the form to create one), ``POST /batches``, and the pay form on an open batch's sheet.

On a fixed store (no Temporal: every refusal here comes before a claim's workflow is asked):
who may see the page, what it lists (the county's claims in stage payout and in no open batch,
names masked, the amount held at adjudication), and the 422 answers naming the field or the
claim, with nothing created. Over the suite's time-skipping Temporal server and a worker
(``tests/support/harness.py``): a supervisor creates a batch of two claims from the form, pays it
with one transfer reference (the sheet turns 已发放 with the reference, one ledger row per
claim), a second submission pays nobody twice, another reference is refused; a claim paid on
its own before the batch shows as refused, with the reason, on the sheet. In Chromium
(marked ``browser``): the same from the page, with screenshots.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import func, insert, select

from claims.infra.settings import get_settings
from claims.models import Actor, PayInput, Role, Stage
from claims.services import accounts
from claims.services.client import claim_state, perform_step
from claims.services.context import Services
from claims.store.batches import PayoutBatch, add_batch, ledger_batch_ids
from claims.store.db import (
    BenefitReservation,
    Claim,
    Household,
    InsuredPerson,
    Payout,
    Sessions,
    unit_of_work,
)
from claims.web.app import create_app
from claims.web.i18n import LANG_COOKIE
from claims.web.routes import batches as batches_route
from tests.support.browser import PASSWORD as BROWSER_PASSWORD
from tests.support.browser import Console as BrowserConsole
from tests.support.browser import screenshot, serious_violations
from tests.support.harness import Harness
from tests.test_batches import ID_NUMBERS, to_payout

if TYPE_CHECKING:
    from playwright.async_api import Page

PASSWORD = "batches-console-Pw-2026!"
COUNTY_A, COUNTY_B = "宁乡市", "醴陵市"
TOWN_1, TOWN_2 = "大成桥镇", "花明楼镇"
EVENT = "2021年9月20日 大成桥镇现场理赔会"


# --------------------------------------------------------------------------- driving the console


def token_of(html: str) -> str:
    m = re.search(r'name="csrftoken" value="([^"]+)"', html)
    assert m, "no CSRF token on the page"
    return m.group(1)


class Person:
    """An httpx client on the app with one person's session (cookies kept) and CSRF token."""

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

    async def get(self, url: str) -> httpx.Response:
        return await self.client.get(url)

    async def post(self, url: str, data: dict[str, object]) -> httpx.Response:
        return await self.client.post(url, data={**data, "csrftoken": self.token})


class Console:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.app = create_app(services)
        self._clients: list[httpx.AsyncClient] = []

    async def as_user(self, user: str, role: str, county: str | None = None) -> Person:
        accounts.add_user(self.services, user, role, PASSWORD, county=county)
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url="http://console.test"
        )
        self._clients.append(client)
        person = Person(client)
        await person.login(user)
        return person

    async def close(self) -> None:
        for c in self._clients:
            await c.aclose()


def ticked_boxes(html: str) -> list[str]:
    """The claim numbers offered for a new batch, in page order."""
    return re.findall(r'name="claim_numbers" value="([^"]+)"', html)


def batch_row(html: str, batch_id: str) -> str:
    m = re.search(rf'<tr data-batch="{batch_id}">(.*?)</tr>', html, re.S)
    assert m, f"batch {batch_id} not listed"
    return m.group(1)


def ready_row(html: str, number: str) -> str:
    m = re.search(rf'<tr data-claim="{number}">(.*?)</tr>', html, re.S)
    assert m, f"claim {number} not listed"
    return m.group(1)


def alert(html: str, element_id: str) -> str:
    m = re.search(rf'id="{element_id}">([^<]*)<', html)
    assert m, f"no #{element_id} on the page"
    return m.group(1)


def batches_in_store(sessions: Sessions) -> int:
    with sessions() as s:
        return int(s.scalar(select(func.count()).select_from(PayoutBatch)) or 0)


# --------------------------------------------------------------------------- on a fixed store

CLAIMS = [
    # number, county, township, village, stage, person, held amount
    ("JS-READY-1", COUNTY_A, TOWN_1, "示范村甲", "payout", 1, Decimal("40000.00")),
    ("JS-READY-2", COUNTY_A, TOWN_2, "花明村", "payout", 2, None),
    ("JS-IN-BATCH", COUNTY_A, TOWN_1, "示范村甲", "payout", 1, Decimal("8000.00")),
    ("JS-CLOSED", COUNTY_A, TOWN_1, "示范村甲", "closed", 2, None),
    ("JS-DOCS", COUNTY_A, TOWN_1, "示范村甲", "documents", 1, None),
    ("JS-LILING", COUNTY_B, "左权镇", "左权村", "payout", 3, Decimal("5000.00")),
]


def _store(sessions: Sessions) -> None:
    at = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
    with unit_of_work(sessions) as s:
        s.execute(
            insert(Household),
            [
                dict(id=1, household_no="H1", county=COUNTY_A, township=TOWN_1, village="示范村甲"),
                dict(id=2, household_no="H2", county=COUNTY_B, township="左权镇", village="左权村"),
            ],
        )
        s.execute(
            insert(InsuredPerson),
            [
                dict(
                    id=i,
                    person_ref=f"P{i}",
                    household_id=1 if i < 3 else 2,
                    name=name,
                    id_number=idn,
                    sex="M",
                    birth_date=date(1978, 5, 20),
                )
                for i, name, idn in (
                    (1, "张三丰", "430182197805200424"),
                    (2, "李四", "430182197503120314"),
                    (3, "王小明", "430281198001010011"),
                )
            ],
        )
        s.execute(
            insert(Claim),
            [
                dict(
                    claim_number=number,
                    workflow_id=f"claim-{number}",
                    person_id=person,
                    accident_date=date(2026, 10, i + 1),
                    reported_on=date(2026, 10, 20),
                    policy_numbers="FA1",
                    outcome="death",
                    stage=stage,
                    county=county,
                    township=town,
                    village=village,
                    reported_at=at,
                    updated_at=at,
                    awaiting_approval=number == "JS-READY-2",  # above the limit, not approved
                )
                for i, (number, county, town, village, stage, person, _) in enumerate(CLAIMS)
            ],
        )
        s.execute(
            insert(BenefitReservation),
            [
                dict(
                    claim_number=number,
                    policy_number="FA1",
                    person_ref=f"P{person}",
                    benefit_id="death",
                    kind="death",
                    amount=held,
                    accident_date=date(2026, 10, 1),
                    reserved_at=at,
                    status="held",
                )
                for number, _, _, _, _, person, held in CLAIMS
                if held is not None
            ],
        )
        add_batch(
            s, "PB20261130-AAAAAA", COUNTY_A, "11月30日 大成桥镇现场理赔会", "sup.a", at, ["JS-IN-BATCH"]
        )
        add_batch(s, "PB20261130-BBBBBB", COUNTY_B, "醴陵市的批次", "sup.b", at, ["JS-LILING"])


@pytest_asyncio.fixture(loop_scope="session")
async def fixed_console(
    sqlite_sessions: Sessions, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Console]:
    """The console on the fixed store, without Temporal."""
    monkeypatch.setenv("CLAIMS_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    _store(sqlite_sessions)
    c = Console(Services(get_settings(), sessions=sqlite_sessions))
    yield c
    await c.close()


async def test_a_handler_is_refused_the_batch_pages_and_sees_no_link_to_them(fixed_console: Console) -> None:
    handler = await fixed_console.as_user("handler.a", "handler", county=COUNTY_A)
    assert (await handler.get("/batches")).status_code == 403
    posted = await handler.post("/batches", {"event": EVENT, "claim_numbers": ["JS-READY-1"]})
    assert posted.status_code == 403
    assert (await handler.post("/batches", {"event": "", "claim_numbers": []})).status_code == 403
    assert (await handler.get("/batches/PB20261130-AAAAAA")).status_code == 403
    paid = await handler.post("/batches/PB20261130-AAAAAA/pay", {"transfer_ref": "TRF-1"})
    assert paid.status_code == 403
    assert 'href="/batches"' not in (await handler.get("/inbox")).text
    assert batches_in_store(fixed_console.services.sessions) == 2
    sup = await fixed_console.as_user("sup.a", "supervisor", county=COUNTY_A)
    home = await sup.get("/supervise")
    # the link sits beside 监控 in the navigation, in Chinese
    assert re.search(
        r'href="/supervise"[^>]*>监控</a></li>\s*<li><a href="/batches">现场理赔批次</a>', home.text
    )


async def test_a_supervisor_without_a_county_reaches_no_batch_by_its_id(fixed_console: Console) -> None:
    """The batch pages are a county supervisor's: one without a county gets 403 on the list and
    404 on any batch's sheet or pay form, as if the batch were absent; nothing is paid."""
    sup = await fixed_console.as_user("sup.none", "supervisor", county=None)
    assert (await sup.get("/batches")).status_code == 403
    assert (await sup.get("/batches/PB20261130-BBBBBB")).status_code == 404
    paid = await sup.post("/batches/PB20261130-BBBBBB/pay", {"transfer_ref": "TRF-1"})
    assert paid.status_code == 404
    assert batches_in_store(fixed_console.services.sessions) == 2


async def test_the_page_lists_the_countys_ready_claims_masked_and_its_batches(fixed_console: Console) -> None:
    sup = await fixed_console.as_user("sup.a", "supervisor", county=COUNTY_A)
    page = await sup.get("/batches")
    assert page.status_code == 200, page.text
    assert '<h1 id="batches-title">现场理赔批次 · 宁乡市</h1>' in page.text
    assert 'aria-current="page">现场理赔批次</a>' in page.text
    # in stage payout and in no open batch, of this county only; by township, village, number
    assert ticked_boxes(page.text) == ["JS-READY-1", "JS-READY-2"]
    one = ready_row(page.text, "JS-READY-1")
    assert "<td>张**</td>" in one and f"<td>{TOWN_1}</td>" in one and "<td>示范村甲</td>" in one
    assert '<td class="num">40,000.00</td>' in one  # held at adjudication
    two = ready_row(page.text, "JS-READY-2")
    assert "<td>李*</td>" in two and '<td class="num"></td>' in two  # no amount in the store: left out
    assert '<span class="tag">待主管审批</span>' in two and "须先审批或复核通过" in page.text
    for name in ("张三丰", "李四", "王小明"):
        assert name not in page.text
    assert "赔付阶段、未列入待发放批次的赔案共 2 件" in page.text
    # the county's batch, with its event and status; the other county's is not there
    row = batch_row(page.text, "PB20261130-AAAAAA")
    assert "11月30日 大成桥镇现场理赔会" in row and "待发放" in row and '<td class="num">1</td>' in row
    assert 'href="/batches/PB20261130-AAAAAA"' in row and "sup.a · 2026-12-01 10:00" in row
    assert "PB20261130-BBBBBB" not in page.text and "醴陵市的批次" not in page.text
    # a township's claims only
    town = await sup.get(f"/batches?township={TOWN_2}")
    assert ticked_boxes(town.text) == ["JS-READY-2"]
    assert f'<input type="hidden" name="township" value="{TOWN_2}">' in town.text
    bad_page = await sup.get("/batches?page=0")
    assert bad_page.status_code == 422 and "页码：1 至 10000" in bad_page.text
    assert (await sup.get("/batches?township=" + "镇" * 65)).status_code == 422
    # in English
    sup.client.cookies.set(LANG_COOKIE, "en")
    en = await sup.get("/batches")
    sup.client.cookies.delete(LANG_COOKIE)
    assert "Payout batches · 宁乡市" in en.text and "to be paid" in en.text
    assert '<a href="/batches" aria-current="page">Payout batches</a>' in en.text


async def test_a_bad_selection_or_event_is_answered_422_naming_it_and_creates_nothing(
    fixed_console: Console,
) -> None:
    sup = await fixed_console.as_user("sup.a", "supervisor", county=COUNTY_A)
    sessions = fixed_console.services.sessions

    empty = await sup.post("/batches", {"event": EVENT})
    assert empty.status_code == 422
    assert alert(empty.text, "batch-problem") == "赔案：请勾选 1 至 200 件赔案（每件一次）"
    assert f'value="{EVENT}"' in empty.text  # what was typed stays
    assert 'class="pick invalid"' in empty.text

    no_event = await sup.post("/batches", {"event": "  ", "claim_numbers": ["JS-READY-1"]})
    assert no_event.status_code == 422
    assert alert(no_event.text, "batch-problem") == "活动：请填写活动名称（一行，不超过 500 字）"
    assert 'aria-invalid="true"' in no_event.text
    assert re.search(r'value="JS-READY-1" id="pick-JS-READY-1" checked', no_event.text)  # still ticked
    too_long = await sup.post("/batches", {"event": "会" * 501, "claim_numbers": ["JS-READY-1"]})
    assert too_long.status_code == 422 and "活动：" in alert(too_long.text, "batch-problem")

    elsewhere = await sup.post("/batches", {"event": EVENT, "claim_numbers": ["JS-READY-1", "JS-LILING"]})
    assert elsewhere.status_code == 422
    assert alert(elsewhere.text, "batch-problem") == "没有赔案 JS-LILING"
    busy = await sup.post("/batches", {"event": EVENT, "claim_numbers": ["JS-IN-BATCH"]})
    assert busy.status_code == 422
    assert alert(busy.text, "batch-problem") == "赔案 JS-IN-BATCH 已在待发放的批次 PB20261130-AAAAAA 中"
    twice = await sup.post("/batches", {"event": EVENT, "claim_numbers": ["JS-READY-1", "JS-READY-1"]})
    assert twice.status_code == 422 and alert(twice.text, "batch-problem").startswith("赔案：")
    # the identity is the session's: a form field naming another actor or county changes nothing
    forged = await sup.post(
        "/batches", {"event": EVENT, "claim_numbers": ["JS-LILING"], "county": COUNTY_B, "actor": "sup.b"}
    )
    assert forged.status_code == 422 and alert(forged.text, "batch-problem") == "没有赔案 JS-LILING"
    # a POST without the CSRF token is refused by the middleware
    bare = await sup.client.post("/batches", data={"event": EVENT, "claim_numbers": ["JS-READY-1"]})
    assert bare.status_code == 403
    assert batches_in_store(sessions) == 2
    # a batch of another county is not there; a paid-form for it neither
    assert (await sup.get("/batches/PB20261130-BBBBBB")).status_code == 404
    assert (await sup.post("/batches/PB20261130-BBBBBB/pay", {"transfer_ref": "TRF-X"})).status_code == 404
    assert (await sup.post("/batches/PB-NONE/pay", {"transfer_ref": "TRF-X"})).status_code == 404
    # an empty transfer reference on an open batch: the sheet again, naming the field
    no_ref = await sup.post("/batches/PB20261130-AAAAAA/pay", {"transfer_ref": ""})
    assert no_ref.status_code == 422
    assert alert(no_ref.text, "pay-problem").startswith("转账批次号：请填写银行转账批次号")


async def test_a_supervisor_cancels_an_open_batch_and_its_claim_is_ready_again(
    fixed_console: Console,
) -> None:
    sup = await fixed_console.as_user("sup.a", "supervisor", county=COUNTY_A)
    sheet = await sup.get("/batches/PB20261130-AAAAAA")
    assert 'id="cancel-form"' in sheet.text and 'action="/batches/PB20261130-AAAAAA/cancel"' in sheet.text
    assert "JS-IN-BATCH" not in ticked_boxes((await sup.get("/batches")).text)
    # a reason is required, and bounded: 422 naming the field, nothing cancelled
    empty = await sup.post("/batches/PB20261130-AAAAAA/cancel", {"reason": ""})
    assert empty.status_code == 422
    assert alert(empty.text, "pay-problem").startswith("取消原因：请填写原因")
    assert 'id="reason" name="reason" value="" maxlength="500" required' in empty.text
    assert '<dd id="batch-status">待发放</dd>' in empty.text
    done = await sup.post("/batches/PB20261130-AAAAAA/cancel", {"reason": "暴雨，现场理赔会改期"})
    assert done.status_code == 303 and done.headers["location"] == "/batches/PB20261130-AAAAAA"
    after = await sup.get("/batches/PB20261130-AAAAAA")
    assert '<dd id="batch-status">已取消</dd>' in after.text
    assert re.search(
        r'<dd id="batch-cancelled">sup\.a · 20\d\d-\d\d-\d\d \d\d:\d\d · 暴雨，现场理赔会改期</dd>',
        after.text,
    )
    assert 'id="cancel-form"' not in after.text and 'id="pay-form"' not in after.text
    # the claim is free for a new batch; the list shows the batch cancelled
    page = await sup.get("/batches")
    assert "JS-IN-BATCH" in ticked_boxes(page.text)
    assert "已取消" in batch_row(page.text, "PB20261130-AAAAAA")
    # paying a cancelled batch is refused with the reason
    paid = await sup.post("/batches/PB20261130-AAAAAA/pay", {"transfer_ref": "TRF-1"})
    assert paid.status_code == 422 and alert(paid.text, "pay-problem") == "本批次已取消，不能发放"
    # another county's supervisor, and a handler, cannot cancel
    other = await fixed_console.as_user("sup.b", "supervisor", county=COUNTY_B)
    assert (await other.post("/batches/PB20261130-AAAAAA/cancel", {"reason": "x"})).status_code == 404
    handler = await fixed_console.as_user("handler.a", "handler", county=COUNTY_A)
    assert (await handler.post("/batches/PB20261130-AAAAAA/cancel", {"reason": "x"})).status_code == 403
    assert batch_status(fixed_console.services.sessions, "PB20261130-BBBBBB") == "open"


def batch_status(sessions: Sessions, batch_id: str) -> str:
    with sessions() as s:
        batch = s.get(PayoutBatch, batch_id)
        assert batch is not None
        return batch.status


def test_kept_pay_results_belong_to_who_paid_and_to_that_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr(batches_route.time, "monotonic", lambda: clock[0])
    kept = batches_route.PayResults(cap=2, ttl=60)
    first = kept.put("sup.a", "PB1", "TRF-1", {})
    assert kept.get(first, "sup.a", "PB1") is not None
    assert kept.get(first, "sup.b", "PB1") is None and kept.get(first, "sup.a", "PB2") is None
    assert kept.get(None, "sup.a", "PB1") is None
    kept.put("sup.a", "PB2", "TRF-2", {})
    third = kept.put("sup.a", "PB3", "TRF-3", {})
    assert kept.get(first, "sup.a", "PB1") is None  # over the cap: the oldest dropped
    clock[0] += 61
    assert kept.get(third, "sup.a", "PB3") is None  # expired


# --------------------------------------------------------------------------- over Temporal


@pytest_asyncio.fixture(loop_scope="session")
async def http_console(
    harness: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Console]:
    monkeypatch.setenv("CLAIMS_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    c = Console(Services(get_settings(), sessions=harness.sessions, client=harness.client))
    yield c
    await c.close()


def ledger_rows(sessions: Sessions, numbers: list[str]) -> list[tuple[str, str, Decimal]]:
    with sessions() as s:
        return [
            (r.claim_number, r.transfer_ref, r.amount)
            for r in s.scalars(select(Payout).where(Payout.claim_number.in_(numbers)).order_by(Payout.id))
        ]


async def test_a_supervisor_creates_a_batch_and_pays_it_once_through_the_forms(
    http_console: Console, harness: Harness
) -> None:
    numbers = [await to_payout(harness, n, 5) for n in ID_NUMBERS]
    ready, closed = numbers[:2], numbers[2]
    handler = Actor(id="handler.ningxiang", role=Role.HANDLER)
    await perform_step(harness.client, closed, PayInput(actor=handler, transfer_ref="TRF-ALONE"))
    totals = {}
    for n in ready:
        state = await claim_state(harness.client, n)
        assert state.decision is not None
        totals[n] = state.decision.total
    sup = await http_console.as_user("sup.ningxiang", "supervisor", county=COUNTY_A)

    page = await sup.get("/batches")
    assert page.status_code == 200
    assert set(ticked_boxes(page.text)) == set(ready)  # the closed claim is not offered
    for n in ready:
        assert f'<td class="num">{totals[n]:,.2f}</td>' in ready_row(page.text, n)  # the decided amount
    assert "本县还没有批次" in page.text

    # a claim no longer in stage payout: 422 naming it, nothing created
    refused = await sup.post("/batches", {"event": EVENT, "claim_numbers": [ready[0], closed]})
    assert refused.status_code == 422
    assert alert(refused.text, "batch-problem") == f"赔案 {closed} 已结案（已赔付），不能再列入批次"
    assert batches_in_store(harness.sessions) == 0

    created = await sup.post("/batches", {"event": EVENT, "claim_numbers": ready})
    assert created.status_code == 303, created.text
    location = created.headers["location"]
    assert re.fullmatch(r"/batches/PB\d{8}-[0-9A-F]{6}", location), location
    batch_id = location.rsplit("/", 1)[1]
    sheet = await sup.get(location)
    assert sheet.status_code == 200
    assert '<dd id="batch-status">待发放</dd>' in sheet.text and EVENT in sheet.text
    assert 'id="pay-form"' in sheet.text and f'action="/batches/{batch_id}/pay"' in sheet.text
    assert "确认发放 2 件" in sheet.text
    for n in ready:  # before payment the sheet shows what is due to each claim, and the total
        assert f'<td class="num">{totals[n]:,.2f}</td>' in sheet.text
    assert (
        f'<td class="num">{sum(totals.values(), Decimal("0")):,.2f}</td><td colspan="2"></td>' in sheet.text
    )
    listed = await sup.get("/batches")
    row = batch_row(listed.text, batch_id)
    assert EVENT in row and "待发放" in row and '<td class="num">2</td>' in row and "sup.ningxiang" in row
    assert ticked_boxes(listed.text) == []  # both are in an open batch now
    # the same claims cannot go into a second batch
    again = await sup.post("/batches", {"event": "另一场", "claim_numbers": ready[:1]})
    assert again.status_code == 422
    assert alert(again.text, "batch-problem") == f"赔案 {ready[0]} 已在待发放的批次 {batch_id} 中"

    paid = await sup.post(f"/batches/{batch_id}/pay", {"transfer_ref": "TRF-NX-0920"})
    assert paid.status_code == 303 and paid.headers["location"] == f"/batches/{batch_id}"
    after = await sup.get(paid.headers["location"])
    assert '<dd id="batch-status">已发放</dd>' in after.text
    assert "<dt>转账批次号</dt><dd>TRF-NX-0920</dd>" in after.text
    assert 'id="pay-form"' not in after.text  # a paid batch offers no pay form
    assert "本批次 2 件已全部发放，转账批次号 TRF-NX-0920。" in after.text
    total = sum(totals.values(), Decimal("0"))
    assert f'<td class="num">{total:,.2f}</td>' in after.text  # the sheet's total
    assert sorted(ledger_rows(harness.sessions, ready)) == sorted(
        (n, "TRF-NX-0920", totals[n]) for n in ready
    )
    with harness.sessions() as s:
        assert all(ledger_batch_ids(s, n) == [batch_id] for n in ready)
    assert "已发放" in batch_row((await sup.get("/batches")).text, batch_id)

    # the form sent twice (a double click, Back and resubmit) pays nobody twice
    twice = await sup.post(f"/batches/{batch_id}/pay", {"transfer_ref": "TRF-NX-0920"})
    assert twice.status_code == 303
    assert len(ledger_rows(harness.sessions, ready)) == 2
    for n in ready:
        state = await claim_state(harness.client, n)
        assert state.stage == Stage.CLOSED and len(state.payments) == 1
    other = await sup.post(f"/batches/{batch_id}/pay", {"transfer_ref": "TRF-OTHER"})
    assert other.status_code == 422
    assert alert(other.text, "pay-problem") == (
        "本批次的转账批次号是 TRF-NX-0920（首次提交时确定），不能用另一个转账批次号发放"
    )
    assert len(ledger_rows(harness.sessions, ready)) == 2


async def test_a_claim_paid_on_its_own_before_the_batch_is_shown_refused_with_the_reason(
    http_console: Console, harness: Harness
) -> None:
    numbers = [await to_payout(harness, n, 5) for n in ID_NUMBERS[:2]]
    sup = await http_console.as_user("sup.ningxiang", "supervisor", county=COUNTY_A)
    created = await sup.post("/batches", {"event": EVENT, "claim_numbers": numbers})
    assert created.status_code == 303, created.text
    batch_id = created.headers["location"].rsplit("/", 1)[1]
    # the handler pays the second claim alone, outside the batch, before the event
    handler = Actor(id="handler.ningxiang", role=Role.HANDLER)
    await perform_step(harness.client, numbers[1], PayInput(actor=handler, transfer_ref="TRF-ALONE"))

    paid = await sup.post(f"/batches/{batch_id}/pay", {"transfer_ref": "TRF-NX-0921"})
    assert paid.status_code == 303
    sheet = await sup.get(paid.headers["location"])
    assert '<dd id="batch-status">待发放</dd>' in sheet.text  # not every claim was paid
    assert "转账批次号 TRF-NX-0921：本批次 2 件中 1 件已发放，1 件被拒绝（未发放）：" in sheet.text
    rows = re.findall(r'<tr data-claim="([^"]+)"><td>.*?<td class="detail">([^<]*)</td>', sheet.text)
    assert [n for n, _ in rows] == [numbers[1]]
    # the workflow's reason, in Chinese by its code: paid with another reference, the claim has
    # ended, or (while it finishes) the stage does not allow it
    assert rows[0][1] in ("已用另一转账流水号赔付", "该赔案已办结，不能再操作") or rows[0][1].startswith(
        "当前阶段不能进行此操作"
    ), rows[0][1]
    assert 'value="TRF-NX-0921"' in sheet.text  # the form keeps the reference for another try
    assert sorted((n, ref) for n, ref, _ in ledger_rows(harness.sessions, numbers)) == sorted(
        [(numbers[0], "TRF-NX-0921"), (numbers[1], "TRF-ALONE")]
    )
    # another supervisor of the county reads the sheet without these results
    other = await http_console.as_user("sup.ningxiang2", "supervisor", county=COUNTY_A)
    theirs = await other.get(f"/batches/{batch_id}")
    assert theirs.status_code == 200 and 'id="pay-results"' not in theirs.text


# --------------------------------------------------------------------------- in a real browser


@pytest.mark.browser
@pytest.mark.filterwarnings("ignore:Session-scoped fixtures defined as instance methods")
async def test_browser_supervisor_creates_a_batch_from_the_page_and_pays_it(
    page: Page, console: BrowserConsole
) -> None:
    """A supervisor opens 现场理赔批次 from the navigation, types the event, ticks the two claims
    ready for payout, creates the batch, lands on its sheet, pays it with one transfer
    reference, and the sheet reads 已发放 with the reference."""
    from playwright.async_api import expect

    numbers = [await to_payout(console.harness, n, 5) for n in ID_NUMBERS[:2]]
    console.add_user("sup.ningxiang", "supervisor", county=COUNTY_A)
    await page.goto(console.url + "/login")
    await page.get_by_label("工号").fill("sup.ningxiang")
    await page.get_by_label("密码").fill(BROWSER_PASSWORD)
    await page.get_by_role("button", name="登录").click()
    await page.wait_for_url(lambda url: "/login" not in url)
    await page.locator("header nav").get_by_role("link", name="现场理赔批次").click()
    await page.wait_for_url("**/batches")
    await expect(page.get_by_role("heading", level=1)).to_contain_text("现场理赔批次")
    await expect(page.locator("#ready-list tbody tr")).to_have_count(2)

    await page.get_by_label("活动").fill(EVENT)
    await page.get_by_label("全选").check()  # the script's select-all box
    for n in numbers:
        await expect(page.get_by_label(f"选择 {n}")).to_be_checked()
    assert not await serious_violations(page), await serious_violations(page)
    await screenshot(page, "batches-01-new")
    await page.get_by_role("button", name="创建批次").click()
    await page.wait_for_url(re.compile(r".*/batches/PB\d{8}-[0-9A-F]{6}$"))
    batch_id = page.url.rsplit("/", 1)[1]
    await expect(page.locator("#batch-status")).to_have_text("待发放")
    await expect(page.locator("#batch-table tbody tr")).to_have_count(2)
    assert not await serious_violations(page), await serious_violations(page)
    await screenshot(page, "batches-02-sheet-open")

    # the event is called off: the batch is cancelled with a reason, and made again afterwards
    await expect(page.locator("#cancel-form")).to_be_visible()
    await page.get_by_label("取消原因").fill("暴雨，现场理赔会改期")
    await page.get_by_role("button", name="取消批次").click()
    await expect(page.locator("#batch-status")).to_have_text("已取消")
    await expect(page.locator("#batch-cancelled")).to_contain_text("暴雨，现场理赔会改期")
    await expect(page.locator("#cancelled-notice")).to_have_text("本批次已取消，不得据此表发放。")
    await expect(page.get_by_role("heading", level=1)).to_have_text("现场理赔发放表（已取消）")
    await expect(page.locator("#pay-form")).to_have_count(0)
    await expect(page.locator("#cancel-form")).to_have_count(0)
    assert not await serious_violations(page), await serious_violations(page)
    await screenshot(page, "batches-02b-sheet-cancelled")
    await page.locator("header nav").get_by_role("link", name="现场理赔批次").click()
    await page.wait_for_url("**/batches")
    await expect(page.locator(f'#batch-list tr[data-batch="{batch_id}"]')).to_contain_text("已取消")
    await page.get_by_label("活动").fill(EVENT)
    await page.get_by_label("全选").check()
    await page.get_by_role("button", name="创建批次").click()
    await page.wait_for_url(re.compile(r".*/batches/PB\d{8}-[0-9A-F]{6}$"))
    assert page.url.rsplit("/", 1)[1] != batch_id
    batch_id = page.url.rsplit("/", 1)[1]

    await page.get_by_label("转账批次号").fill("TRF-NX-0920")
    await page.get_by_role("button", name="确认发放 2 件").click()
    await expect(page.locator("#batch-status")).to_have_text("已发放")
    await expect(page.locator("#pay-results")).to_contain_text(
        "本批次 2 件已全部发放，转账批次号 TRF-NX-0920。"
    )
    await expect(page.locator("#pay-form")).to_have_count(0)
    assert not await serious_violations(page), await serious_violations(page)
    await screenshot(page, "batches-03-sheet-paid")
    for n in numbers:
        assert (await claim_state(console.harness.client, n)).stage == Stage.CLOSED

    await page.locator("header nav").get_by_role("link", name="现场理赔批次").click()
    await page.wait_for_url("**/batches")
    await expect(page.locator(f'#batch-list tr[data-batch="{batch_id}"]')).to_contain_text("已发放")
    await expect(page.locator("#ready-list")).to_have_count(0)
    await expect(page.locator("#no-ready")).to_contain_text("目前没有可列入批次的赔案")
    await screenshot(page, "batches-04-list")
    # a third claim in a batch of its own, paid alone by its handler before the event: the
    # batch's payment shows it refused, with the reason, and the batch stays to be paid
    third = await to_payout(console.harness, ID_NUMBERS[2], 5)
    await page.reload()
    await page.get_by_label("活动").fill("2021年9月27日 大成桥镇现场理赔会（补发）")
    await page.get_by_label(f"选择 {third}").check()
    await page.get_by_role("button", name="创建批次").click()
    await page.wait_for_url(re.compile(r".*/batches/PB\d{8}-[0-9A-F]{6}$"))
    handler = Actor(id="handler.ningxiang", role=Role.HANDLER)
    await perform_step(console.harness.client, third, PayInput(actor=handler, transfer_ref="TRF-ALONE"))
    await page.get_by_label("转账批次号").fill("TRF-NX-0927")
    await page.get_by_role("button", name="确认发放 1 件").click()
    await expect(page.locator(f'#pay-refused tr[data-claim="{third}"]')).to_have_count(1)
    await expect(page.locator("#batch-status")).to_have_text("待发放")
    await expect(page.locator("#cancel-form")).to_have_count(0)  # payment was tried: finished, not cancelled
    assert not await serious_violations(page), await serious_violations(page)
    await screenshot(page, "batches-05-sheet-refused")

    # printed: the sheet without the navigation, the results or the pay form
    await page.emulate_media(media="print")
    await expect(page.locator("#batch-table")).to_be_visible()
    for hidden in ("#pay-results", "#pay-form", "header.top"):
        await expect(page.locator(hidden)).to_be_hidden()
