"""The supervisor's page (``/supervise``): counters, the table by township × handler, filtered
lists, bulk reassignment with a result per claim, and the charts' numbers.

Counters and lists against a projection written for fixed times (Wednesday 2 December 2026,
10:00 Beijing time), with the claims' states ("paused", "waiting for approval") given by a
stand-in reader; bulk reassignment against ``create_app`` through httpx with the suite's
time-skipping Temporal server and a worker (``tests/support/harness.py``): two open claims are
reassigned (their states show the new handler) and a closed one shows its refusal on its row.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import insert, update
from temporalio.testing import WorkflowEnvironment

from claims.domain.workdays import WorkingCalendar
from claims.errors import NotAllowed
from claims.infra.settings import get_settings
from claims.models import (
    Actor,
    AdjudicateInput,
    ClearReviewInput,
    CompleteDocumentsInput,
    PayAdvanceInput,
    ReceiveDocumentsInput,
    RecordInvestigationInput,
    RegisterInput,
    RequestDocumentsInput,
    Role,
    Stage,
    WithdrawInput,
)
from claims.services import accounts, documents, supervision
from claims.services.client import NoAnswer, claim_state, perform_step
from claims.services.context import Services
from claims.services.supervision import Filter, StateFacts
from claims.store.db import Claim, Household, InsuredPerson, Payout, Sessions, unit_of_work
from claims.web.app import create_app
from claims.web.i18n import LANG_COOKIE
from claims.web.routes import supervise as supervise_route
from rules.review import ReviewRules, sample_bucket
from tests.support.browser import PASSWORD as BROWSER_PASSWORD
from tests.support.browser import Console as BrowserConsole
from tests.support.browser import screenshot, serious_violations
from tests.support.harness import Harness

if TYPE_CHECKING:
    from playwright.async_api import Page

CAL = WorkingCalendar()
PASSWORD = "correct horse battery"
COUNTY_A, COUNTY_B = "宁乡市", "醴陵市"
TOWN_1, TOWN_2 = "大成桥镇", "花明楼镇"


def at(y: int, m: int, d: int, hh: int = 10, mm: int = 0) -> datetime:
    """An instant given in Beijing time (UTC+8), hh >= 8."""
    return datetime(y, m, d, hh - 8, mm, tzinfo=UTC)


NOW = at(2026, 12, 2)  # Wednesday 10:00; the next working day closes Thursday 17:30

ROWS = [
    # number, county, township, stage, handler, sla_state, deadline, green, stuck
    (
        "JS-LATE",
        COUNTY_A,
        TOWN_1,
        "documents",
        "handler.a",
        "breached",
        at(2026, 11, 30, 17, 30),
        False,
        None,
    ),
    (
        "JS-LATE2",
        COUNTY_A,
        TOWN_2,
        "adjudication",
        "handler.b",
        "on_track",
        at(2026, 12, 1, 17, 30),
        False,
        None,
    ),
    ("JS-RISK", COUNTY_A, TOWN_1, "documents", "handler.a", "at_risk", at(2026, 12, 9, 17, 30), False, None),
    (
        "JS-TOMORROW",
        COUNTY_A,
        TOWN_2,
        "investigation",
        "handler.b",
        "on_track",
        at(2026, 12, 3, 17, 30),
        False,
        None,
    ),
    ("JS-GREEN", COUNTY_A, TOWN_1, "reported", None, "on_track", at(2026, 12, 2, 17, 30), True, None),
    (
        "JS-PAUSED",
        COUNTY_A,
        TOWN_1,
        "documents",
        "handler.a",
        "on_track",
        at(2026, 12, 10, 17, 30),
        False,
        None,
    ),
    (
        "JS-STUCK",
        COUNTY_A,
        TOWN_1,
        "adjudication",
        "handler.a",
        "stuck",
        at(2026, 12, 15, 17, 30),
        False,
        "project_claim",
    ),
    ("JS-PAY", COUNTY_A, TOWN_2, "payout", "handler.b", "on_track", at(2026, 12, 21, 17, 30), False, None),
    ("JS-PAY2", COUNTY_A, TOWN_2, "payout", "handler.b", "on_track", at(2026, 12, 22, 17, 30), False, None),
    ("JS-CLOSED", COUNTY_A, TOWN_1, "closed", "handler.a", "met", None, False, None),
    ("JS-CLOSED-LATE", COUNTY_A, TOWN_2, "closed", "handler.b", "breached", None, False, None),
    (
        "JS-LILING",
        COUNTY_B,
        "左权镇",
        "documents",
        "handler.a",
        "breached",
        at(2026, 11, 20, 17, 30),
        True,
        None,
    ),
]


def _projection(sessions: Sessions) -> None:
    with unit_of_work(sessions) as s:
        s.execute(
            insert(Household),
            [dict(id=1, household_no="H1", county=COUNTY_A, township=TOWN_1, village="示范村甲")],
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
                    birth_date=datetime(1978, 5, 20).date(),
                )
            ],
        )
        s.execute(
            insert(Claim),
            [
                dict(
                    claim_number=number,
                    workflow_id=f"claim-{number}",
                    person_id=1,
                    accident_date=datetime(2026, 10, i + 1).date(),
                    reported_on=datetime(2026, 10, 1).date(),
                    policy_numbers="FA1",
                    outcome="death",
                    stage=stage,
                    county=county,
                    township=town,
                    village="示范村甲",
                    assigned_handler=handler,
                    green_channel=green,
                    sla_state=state,
                    sla_deadline=due,
                    reported_at=at(2026, 10, 1),
                    updated_at=NOW,
                    stuck_activity=stuck,
                    stuck_since=at(2026, 12, 1) if stuck else None,
                    paid_at=at(2026, 11, 10)
                    if number == "JS-CLOSED"
                    else at(2026, 10, 20)
                    if number == "JS-CLOSED-LATE"
                    else None,
                    total_paid=Decimal("40000.00") if number == "JS-CLOSED" else Decimal("0"),
                )
                for i, (number, county, town, stage, handler, state, due, green, stuck) in enumerate(ROWS)
            ],
        )
        s.execute(
            insert(Payout),
            [
                dict(
                    claim_number="JS-CLOSED",
                    payment_number=1,
                    policy_number="FA1",
                    benefit_id="b1",
                    kind="death",
                    amount=Decimal("30000.00"),
                    transfer_ref="T1",
                    paid_at=at(2026, 11, 10),
                ),
                dict(
                    claim_number="JS-CLOSED",
                    payment_number=2,
                    policy_number="FA2",
                    benefit_id="b2",
                    kind="death",
                    amount=Decimal("10000.00"),
                    transfer_ref="T1",
                    paid_at=at(2026, 11, 10),
                ),
                dict(
                    claim_number="JS-CLOSED-LATE",
                    payment_number=1,
                    policy_number="FA1",
                    benefit_id="b1",
                    kind="death",
                    amount=Decimal("5000.50"),
                    transfer_ref="T2",
                    paid_at=at(2026, 10, 20),
                ),
            ],
        )


ASKED: list[str] = []


async def stand_in_facts(
    services: Services, actor: Actor, numbers: list[str]
) -> dict[str, StateFacts | None]:
    """The claims' states as the test set them: JS-PAUSED paused, JS-PAY waiting for approval."""
    ASKED.extend(numbers)
    return {n: StateFacts(paused=n == "JS-PAUSED", awaiting_approval=n == "JS-PAY") for n in numbers}


SUP_A = Actor(id="sup.a", role=Role.SUPERVISOR, county=COUNTY_A)
YUHUA = "长沙市雨花区"
YUHUA_HANDLER = Actor(id="handler.yuhua", role=Role.HANDLER, county=YUHUA)
NEW_COUNTERS = ("in_review", "referred", "documents", "withdrawn", "advance_paid", "receivable_open")


def png() -> bytes:
    """A small PNG (a photo of a document, as far as the checks go)."""
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (50, 40), (0, 90, 200)).save(out, format="PNG")
    return out.getvalue()


@pytest.mark.asyncio(loop_scope="session")
async def test_counters_table_and_lists_count_the_claims_in_each_state(sqlite_sessions: Sessions) -> None:
    _projection(sqlite_sessions)
    services = Services(get_settings(), sessions=sqlite_sessions)
    ASKED.clear()
    ov = await supervision.overview(services, SUP_A, NOW, CAL, facts=stand_in_facts)
    c = ov.counters
    assert (c.open, c.overdue, c.at_risk, c.paused, c.stuck, c.green, c.approval, c.no_answer) == (
        9,
        2,
        3,
        1,
        1,
        1,
        1,
        0,
    )
    # only the county's claims at documents and payout are asked for their state
    assert sorted(ASKED) == ["JS-LATE", "JS-PAUSED", "JS-PAY", "JS-PAY2", "JS-RISK"]
    assert [(t.township, t.handler, t.open, t.overdue, t.at_risk) for t in ov.team] == [
        (TOWN_1, "handler.a", 4, 1, 1),
        (TOWN_1, None, 1, 0, 1),
        (TOWN_2, "handler.b", 4, 1, 1),
    ]
    assert ov.rows == []  # no filter: no list

    async def listed(**kw: object) -> list[str]:
        got = await supervision.overview(services, SUP_A, NOW, CAL, Filter(**kw), facts=stand_in_facts)  # type: ignore[arg-type]
        assert got.total == len(got.rows)
        return [r.claim_number for r in got.rows]

    assert await listed(sla="breached") == ["JS-LATE", "JS-LATE2"]  # most late first
    assert await listed(sla="at_risk") == ["JS-GREEN", "JS-TOMORROW", "JS-RISK"]
    assert await listed(sla="paused") == ["JS-PAUSED"]
    assert await listed(sla="stuck") == ["JS-STUCK"]
    assert await listed(green=True) == ["JS-GREEN"]
    assert await listed(approval=True) == ["JS-PAY"]
    assert await listed(township=TOWN_2, handler="handler.b") == [
        "JS-LATE2",
        "JS-TOMORROW",
        "JS-PAY",
        "JS-PAY2",
    ]
    assert await listed(sla="breached", township=TOWN_1) == ["JS-LATE"]

    # a claim started since lean-history carries its facts in the projection (migration 0016):
    # counted in SQL, its workflow not asked; the rows without them (NULL) are still asked
    with unit_of_work(sqlite_sessions) as s:
        s.execute(
            update(Claim)
            .where(Claim.claim_number == "JS-PAY2")
            .values(paused=False, awaiting_approval=True, review_queue="siu")
        )
        s.execute(update(Claim).where(Claim.claim_number == "JS-RISK").values(paused=True, awaiting_approval=False))
    ASKED.clear()
    ov = await supervision.overview(services, SUP_A, NOW, CAL, facts=stand_in_facts)
    assert sorted(ASKED) == ["JS-LATE", "JS-PAUSED", "JS-PAY"]
    assert (ov.counters.paused, ov.counters.approval, ov.counters.referred, ov.counters.no_answer) == (2, 2, 1, 0)
    assert ov.paused == {"JS-PAUSED", "JS-RISK"} and ov.awaiting == {"JS-PAY", "JS-PAY2"}
    assert await listed(approval=True) == ["JS-PAY", "JS-PAY2"]  # one asked, one from its column
    assert sorted(await listed(sla="paused")) == ["JS-PAUSED", "JS-RISK"]
    assert await listed(review="siu") == ["JS-PAY2"] and await listed(review="siu", approval=True) == ["JS-PAY2"]
    assert await listed(sla="paused", approval=True) == []

    charts = supervision.charts(services, SUP_A, NOW)
    assert charts.months[0] == "2026-01" and charts.months[-1] == "2026-12" and len(charts.months) == 12
    nov, octo = charts.months.index("2026-11"), charts.months.index("2026-10")
    assert charts.townships == [TOWN_1, TOWN_2]
    assert (
        charts.paid_claims[TOWN_1][nov] == 1 and charts.paid_amounts[TOWN_1][nov] == "40000.00"
    )  # two ledger rows, one claim
    assert charts.paid_claims[TOWN_2][octo] == 1 and charts.total_amounts[octo] == "5000.50"
    assert (charts.closed[nov], charts.met[nov], charts.met_pct[nov]) == (1, 1, 100.0)
    assert (charts.closed[octo], charts.met[octo], charts.met_pct[octo]) == (1, 0, 0.0)
    assert charts.met_pct[0] is None

    with pytest.raises(NotAllowed):
        await supervision.overview(
            services, Actor(id="handler.a", role=Role.HANDLER, county=COUNTY_A), NOW, CAL
        )


# --------------------------------------------------------------------------- over HTTP


class Browser:
    """An httpx client on the app with one person's session (cookies kept)."""

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

    async def get(self, url: str, **kw: object) -> httpx.Response:
        return await self.client.get(url, **kw)  # type: ignore[arg-type]

    async def post(self, url: str, data: dict[str, object] | None = None) -> httpx.Response:
        return await self.client.post(url, data={**(data or {}), "csrftoken": self.token})

    async def reassign(self, data: dict[str, object]) -> httpx.Response:
        """A bulk reassignment: the POST answers 303 to the results (Post/Redirect/Get), then
        the results page, as a browser follows it."""
        posted = await self.post("/supervise/reassign", data)
        assert posted.status_code == 303, posted.text
        assert posted.headers["location"].startswith("/supervise/reassigned")
        return await self.get(posted.headers["location"])


def token_of(html: str) -> str:
    m = re.search(r'name="csrftoken" value="([^"]+)"', html)
    assert m, "no CSRF token on the page"
    return m.group(1)


class Console:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.app = create_app(services)
        self._clients: list[httpx.AsyncClient] = []

    async def as_user(self, user: str, role: str, county: str | None = None) -> Browser:
        accounts.add_user(self.services, user, role, PASSWORD, county=county)
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


def counter(html: str, key: str) -> int:
    m = re.search(rf'id="count-{key}"><span class="n">(\d+)</span>', html)
    assert m, f"no {key} counter"
    return int(m.group(1))


@pytest_asyncio.fixture(loop_scope="session")
async def fixed_console(
    sqlite_sessions: Sessions, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Console]:
    """The console on the fixed projection, at ``NOW``, with the stand-in state reader."""
    monkeypatch.setenv("CLAIMS_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    _projection(sqlite_sessions)
    monkeypatch.setattr(supervision, "read_facts", stand_in_facts)
    monkeypatch.setattr(supervise_route, "now_utc", lambda: NOW)
    c = Console(Services(get_settings(), sessions=sqlite_sessions))
    yield c
    await c.close()


@pytest.mark.asyncio(loop_scope="session")
async def test_the_page_shows_the_countys_counters_and_only_its_claims(fixed_console: Console) -> None:
    sup = await fixed_console.as_user("sup.a", "supervisor", county=COUNTY_A)
    await fixed_console.as_user("handler.a", "handler", county=COUNTY_A)
    page = await sup.get("/supervise")
    assert page.status_code == 200
    counts = {
        k: counter(page.text, k) for k in ("overdue", "at_risk", "paused", "stuck", "green", "approval")
    }
    assert counts == {"overdue": 2, "at_risk": 3, "paused": 1, "stuck": 1, "green": 1, "approval": 1}
    assert 'href="/supervise?sla=breached" id="count-overdue"' in page.text
    assert 'href="/supervise?approval=1" id="count-approval"' in page.text
    assert 'href="/supervise"' in page.text and ">监控<" in page.text  # the nav link
    assert "JS-LILING" not in page.text and "左权镇" not in page.text

    overdue = await sup.get("/supervise?sla=breached")
    assert overdue.status_code == 200
    assert re.findall(r'name="claim_numbers" value="([^"]+)"', overdue.text) == ["JS-LATE", "JS-LATE2"]
    assert "JS-LILING" not in overdue.text
    assert "超期 2 天" in overdue.text and "张**" in overdue.text and "张三丰" not in overdue.text
    # the handler list offers the county's handler accounts
    assert "<option>handler.a</option>" in overdue.text

    approvals = await sup.get("/supervise?approval=1")
    assert re.findall(r'name="claim_numbers" value="([^"]+)"', approvals.text) == ["JS-PAY"]
    assert (
        'href="/claims/JS-PAY"' in approvals.text
        and "审批赔付" in approvals.text
        and 'id="approval-note"' in approvals.text
    )

    data = (await sup.get("/supervise/charts.json")).json()
    assert data["paid_amounts"][TOWN_1][data["months"].index("2026-11")] == "40000.00"
    embedded = re.search(r'<script type="application/json" id="chart-data">(.*?)</script>', page.text, re.S)
    assert embedded and json.loads(embedded.group(1)) == data
    assert '<td class="num">1 / 40,000.00</td>' in page.text  # the table under the chart
    assert "100.0%" in page.text

    assert (await sup.get("/supervise?sla=late")).status_code == 422
    assert (await sup.get("/supervise?township=" + "镇" * 65)).status_code == 422
    polled = await sup.get("/supervise/counters", headers={"HX-Request": "true"})
    assert (
        polled.status_code == 200
        and polled.text.startswith('<div id="sup-counters"')
        and "<html" not in polled.text
    )
    assert counter(polled.text, "overdue") == 2 and 'hx-trigger="every 60s, refresh"' in polled.text
    sup.client.cookies.set(LANG_COOKIE, "en")
    english = await sup.get("/supervise?sla=breached")
    assert (
        ">Supervision<" in english.text
        and "Overdue" in english.text
        and "2 working days overdue" in english.text
    )
    sup.client.cookies.delete(LANG_COOKIE)
    css = await sup.get("/assets/supervise.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")


@pytest.mark.asyncio(loop_scope="session")
async def test_a_handler_and_another_countys_supervisor_are_kept_out(
    fixed_console: Console, monkeypatch: pytest.MonkeyPatch
) -> None:
    handler = await fixed_console.as_user("handler.a", "handler", county=COUNTY_A)
    assert (await handler.get("/supervise")).status_code == 403
    assert (await handler.get("/supervise/charts.json")).status_code == 403
    assert (
        await handler.post("/supervise/reassign", {"claim_numbers": ["JS-LATE"], "handler": "handler.a"})
    ).status_code == 403
    assert 'href="/supervise"' not in (await handler.get("/inbox")).text

    other = await fixed_console.as_user("sup.b", "supervisor", county=COUNTY_B)
    page = await other.get("/supervise?sla=breached")
    assert re.findall(r'name="claim_numbers" value="([^"]+)"', page.text) == ["JS-LILING"]
    assert counter(page.text, "overdue") == 1 and "JS-LATE" not in page.text
    # a county-B supervisor cannot reach a county-A claim by naming it
    await fixed_console.as_user("handler.liling", "handler", county=COUNTY_B)
    r = await other.reassign({"claim_numbers": ["JS-LATE"], "handler": "handler.liling"})
    assert r.status_code == 200
    assert re.search(r'class="result-not_found" data-claim="JS-LATE"', r.text)
    # a handler of another county is refused, naming the field
    r = await other.post("/supervise/reassign", {"claim_numbers": ["JS-LILING"], "handler": "handler.a"})
    assert r.status_code == 422 and 'id="bulk-problem">handler:' in r.text
    r = await other.post("/supervise/reassign", {"handler": "handler.liling"})
    assert r.status_code == 422 and 'id="bulk-problem">claim_numbers:' in r.text
    # without the CSRF token: 403, nothing performed
    forged = await other.client.post(
        "/supervise/reassign", data={"claim_numbers": ["JS-LILING"], "handler": "handler.liling"}
    )
    assert forged.status_code == 403

    # no worker answers: that row says so, and that the step may still be performed
    async def no_worker(services: Services, actor: Actor, number: str, inp: object, timeout: object) -> None:
        raise NoAnswer(number, "reassign", 30, "u-1", False)

    monkeypatch.setattr(supervision, "perform", no_worker)
    r = await other.reassign({"claim_numbers": ["JS-LILING"], "handler": "handler.liling"})
    assert r.status_code == 200
    row = re.search(r'<tr class="result-no_answer" data-claim="JS-LILING">.*?</tr>', r.text, re.S)
    assert row is not None and "无应答" in row.group(0)
    assert "未及时得到答复：操作可能仍会完成，请先查看赔案再重试" in row.group(
        0
    )  # step.no_answer, by its code


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


@pytest.mark.asyncio(loop_scope="session")
async def test_bulk_reassignment_reassigns_two_and_shows_the_closed_claims_refusal(
    http_console: Console, harness: Harness
) -> None:
    console = http_console
    case = harness.cases[0]  # 宁乡市 大成桥镇, policy FA2021NX0001 insures the household's three members
    closed = (await harness.drive(case)).claim_number
    assert (await claim_state(harness.client, closed)).stage == Stage.CLOSED
    spouse, child = [m for m in harness.register.households[0].members][1:3]
    numbers = []
    for person, day in ((spouse, "2021-11-20"), (child, "2021-09-10")):
        report = case.report.model_validate(
            {
                **case.report.model_dump(mode="json"),
                "id_number": person.id_number,
                "accident_date": day,
                "outcome": "death",
                "cause": "drowning",
                "disability_grade": None,
            }
        )
        numbers.append(await harness.report(case.model_copy(update={"report": report})))
    first = Actor(id="handler.ningxiang", role=Role.HANDLER, county=COUNTY_A)
    for n in numbers:
        await perform_step(harness.client, n, RegisterInput(actor=first))
    # one of them waits for a document the claimant owes: its resolution clock pauses
    await perform_step(
        harness.client, numbers[0], RequestDocumentsInput(actor=first, documents=["death_certificate"])
    )

    await console.as_user("handler.ningxiang", "handler", county=COUNTY_A)
    await console.as_user("handler.b", "handler", county=COUNTY_A)
    sup = await console.as_user("sup.ningxiang", "supervisor", county=COUNTY_A)
    home = await sup.get("/supervise")
    assert (counter(home.text, "paused"), counter(home.text, "approval")) == (1, 0)  # from the claims' states
    paused = await sup.get("/supervise?sla=paused")
    assert re.findall(r'name="claim_numbers" value="([^"]+)"', paused.text) == [numbers[0]]
    assert "暂停·等待资料" in paused.text
    page = await sup.get("/supervise?handler=handler.ningxiang")
    listed = re.findall(r'name="claim_numbers" value="([^"]+)"', page.text)
    assert set(numbers) <= set(listed) and closed not in listed  # the list holds open claims only

    r = await sup.reassign(
        {"claim_numbers": [*numbers, closed], "handler": "handler.b", "handler_filter": "handler.ningxiang"},
    )
    assert r.status_code == 200, r.text
    rows = dict(
        re.findall(r'<tr class="result-([a-z_]+)" data-claim="([^"]+)"', r.text)[i][::-1] for i in range(3)
    )
    assert rows == {numbers[0]: "reassigned", numbers[1]: "reassigned", closed: "refused"}
    for n in numbers:
        assert (await claim_state(harness.client, n)).assigned_handler == "handler.b"
        assert "改派给 handler.b" in r.text
    refusal = re.search(rf'data-claim="{closed}">.*?<td class="detail">([^<]*)</td>', r.text, re.S)
    assert refusal is not None
    # the validator's refusal, translated by its code: the claim's workflow has ended
    # (claim.ended) or, while it finishes archiving, the stage refuses (stage.not_allowed)
    assert refusal.group(1) == "该赔案已办结，不能再操作" or refusal.group(1).startswith(
        "当前阶段不能进行此操作"
    ), refusal.group(1)
    assert (await claim_state(harness.client, closed)).assigned_handler == "handler.ningxiang"
    # the filtered list still comes back under the results: the claims now sit with handler.b
    assert numbers[0] not in re.findall(r'name="claim_numbers" value="([^"]+)"', r.text)

    # a refresh reads the same results again and reassigns nothing (Post/Redirect/Get)
    before = {n: len((await claim_state(harness.client, n)).timeline) for n in numbers}
    again = await sup.get(str(r.url))
    assert again.status_code == 200 and str(again.url).endswith(
        "/supervise/reassigned?handler=handler.ningxiang"
    )
    assert re.findall(r'<tr class="result-([a-z_]+)" data-claim="([^"]+)"', again.text) == re.findall(
        r'<tr class="result-([a-z_]+)" data-claim="([^"]+)"', r.text
    )
    assert {n: len((await claim_state(harness.client, n)).timeline) for n in numbers} == before
    # another supervisor of the county does not see them
    other = await console.as_user("sup.ningxiang2", "supervisor", county=COUNTY_A)
    theirs = await other.get("/supervise/reassigned")
    assert theirs.status_code == 200 and 'id="bulk-results"' not in theirs.text
    assert "改派结果已过期或不存在" in theirs.text


def test_kept_results_are_capped_expire_and_belong_to_who_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr(supervise_route.time, "monotonic", lambda: clock[0])
    store = supervise_route.ResultStore(cap=2, ttl=60)
    one = supervision.Reassigned("JS-1", "reassigned", handler="handler.b")
    first = store.put("sup.a", [one], "handler.b")
    assert store.get(first, "sup.a") is not None and store.get(first, "sup.a").results == [one]  # type: ignore[union-attr]
    assert store.get(first, "sup.b") is None  # another supervisor's key reads nothing
    assert store.get(None, "sup.a") is None and store.get(["x"], "sup.a") is None
    second, third = store.put("sup.a", [], "handler.b"), store.put("sup.a", [], "handler.b")
    assert store.get(first, "sup.a") is None  # over the cap: the oldest dropped
    assert store.get(second, "sup.a") is not None and store.get(third, "sup.a") is not None
    clock[0] += 61
    assert store.get(third, "sup.a") is None  # expired


async def at_payout(harness: Harness, case_index: int) -> str:
    """A demo case reported and taken through every step up to the payout stage (not paid)."""
    case = harness.cases[case_index]
    number = await harness.report(case)
    state = await claim_state(harness.client, number)
    handler = Actor(id=case.handler, role=Role.HANDLER)
    state = await perform_step(harness.client, number, RegisterInput(actor=handler))
    wanted = list(dict.fromkeys(state.documents_required + case.documents))
    await perform_step(harness.client, number, RequestDocumentsInput(actor=handler, documents=wanted))
    await perform_step(
        harness.client, number, ReceiveDocumentsInput(actor=case.report.reporter, documents=wanted)
    )
    state = await perform_step(harness.client, number, CompleteDocumentsInput(actor=handler))
    if state.stage == Stage.INVESTIGATION:
        assert case.investigation is not None
        inv = case.investigation
        state = await perform_step(
            harness.client,
            number,
            RecordInvestigationInput(
                actor=Actor(id=inv.investigator, role=Role.INVESTIGATOR),
                findings=inv.findings,
                covered_event=inv.covered_event,
            ),
        )
    state = await perform_step(harness.client, number, AdjudicateInput(actor=handler, facts=case.facts))
    assert state.stage == Stage.PAYOUT
    return number


@pytest.mark.asyncio(loop_scope="session")
async def test_a_payout_above_the_limit_waits_for_approval_on_the_claim_page(
    http_console: Console, harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    number = await at_payout(harness, 1)  # 醴陵市: 100,000 + 32,000 on two policies
    state = await claim_state(harness.client, number)
    assert state.decision is not None and state.payout_authority_limit is not None
    assert state.decision.total > state.payout_authority_limit and not state.payout_approved

    # the claim's projection says so (lean-history, migration 0016): counted without asking it
    with harness.sessions() as s:
        row = s.get(Claim, number)
        assert row is not None and (row.paused, row.awaiting_approval, row.review_queue) == (False, True, None)
    asked: list[str] = []

    async def recording(services: Services, actor: Actor, numbers: list[str]) -> dict[str, StateFacts | None]:
        asked.extend(numbers)
        return {}

    monkeypatch.setattr(supervision, "read_facts", recording)
    sup = await http_console.as_user("sup.liling", "supervisor", county=COUNTY_B)
    home = await sup.get("/supervise")
    assert counter(home.text, "approval") == 1 and number not in asked
    waiting = await sup.get("/supervise?approval=1")
    assert re.findall(r'name="claim_numbers" value="([^"]+)"', waiting.text) == [number]
    assert f'href="/claims/{number}">{number}</a> <span class="tag">待审批</span>' in waiting.text
    page = await sup.get(f"/claims/{number}")
    assert f'action="/claims/{number}/steps/approve_payout"' in page.text  # offered by the registry
    done = await sup.post(f"/claims/{number}/steps/approve_payout")
    assert done.status_code == 303, done.text
    assert (await claim_state(harness.client, number)).payout_approved
    assert counter((await sup.get("/supervise")).text, "approval") == 0


# --------------------------------------------------------------------------- in a real browser


async def two_registered_claims(harness: Harness) -> list[str]:
    """Two claims of 宁乡市 大成桥镇 (the first demo household's spouse and child), reported and
    registered by handler.ningxiang."""
    case = harness.cases[0]
    spouse, child = harness.register.households[0].members[1:3]
    numbers = []
    for person, day in ((spouse, "2021-11-20"), (child, "2021-09-10")):
        report = case.report.model_validate(
            {
                **case.report.model_dump(mode="json"),
                "id_number": person.id_number,
                "accident_date": day,
                "outcome": "death",
                "cause": "drowning",
                "disability_grade": None,
            }
        )
        numbers.append(await harness.report(case.model_copy(update={"report": report})))
    first = Actor(id="handler.ningxiang", role=Role.HANDLER, county=COUNTY_A)
    for n in numbers:
        await perform_step(harness.client, n, RegisterInput(actor=first))
    return numbers


@pytest.mark.browser
@pytest.mark.filterwarnings("ignore:Session-scoped fixtures defined as instance methods")
async def test_browser_supervisor_filters_overdue_and_reassigns_two(
    page: Page, console: BrowserConsole, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A supervisor opens 监控 from the navigation, follows the 已超期 counter to the filtered
    list, ticks two claims, chooses handler.b and reassigns them: a result on each row, and the
    claims' states name handler.b. The page's clock is moved 90 days on so the two claims'
    real deadlines (30 working days) have passed (the page reads "now" from ``now_utc``); a
    third claim, closed and paid, shows in the charts and the tables under them."""
    from playwright.async_api import expect

    paid = await console.harness.drive(console.harness.cases[0])  # closed: 40,000 yuan paid
    assert paid.stage == Stage.CLOSED
    numbers = await two_registered_claims(console.harness)
    later = datetime.now(UTC) + timedelta(days=90)
    monkeypatch.setattr(supervise_route, "now_utc", lambda: later)
    console.add_user("handler.ningxiang", "handler", county=COUNTY_A)
    console.add_user("handler.b", "handler", county=COUNTY_A)
    console.add_user("sup.ningxiang", "supervisor", county=COUNTY_A)

    await page.goto(console.url + "/login")
    await page.get_by_label("工号").fill("sup.ningxiang")
    await page.get_by_label("密码").fill(BROWSER_PASSWORD)
    await page.get_by_role("button", name="登录").click()
    await page.wait_for_url(lambda url: "/login" not in url)
    await page.locator("header nav").get_by_role("link", name="监控").click()
    await page.wait_for_url("**/supervise")
    await expect(page.get_by_role("heading", level=1)).to_contain_text("监控")
    await expect(page.locator("#count-overdue .n")).to_have_text("2")
    await expect(page.locator("#chart-paid svg")).to_have_count(1)  # ECharts drew under the CSP
    await expect(page.locator("#paid-table")).to_contain_text("1 / 40,000.00")
    await expect(page.locator("#sla-table")).to_contain_text("100.0%")
    assert not await serious_violations(page), await serious_violations(page)
    await screenshot(page, "supervise-01-counters")

    await page.locator("#count-overdue").click()
    await page.wait_for_url("**/supervise?sla=breached")
    rows = page.locator("#claim-list tbody tr")
    await expect(rows).to_have_count(2)
    for n in numbers:
        await page.get_by_label(f"选择 {n}").check()
    await page.get_by_label("改派给").select_option("handler.b")
    assert not await serious_violations(page), await serious_violations(page)
    await screenshot(page, "supervise-02-overdue-selected")
    await page.get_by_role("button", name="批量改派").click()

    results = page.locator("#bulk-results tbody tr")
    await expect(results).to_have_count(2)
    for n in numbers:
        row = page.locator(f'#bulk-results tr[data-claim="{n}"]')
        await expect(row).to_contain_text("已改派")
        await expect(row).to_contain_text("改派给 handler.b")
        assert (await claim_state(console.harness.client, n)).assigned_handler == "handler.b"
    assert not await serious_violations(page), await serious_violations(page)
    await screenshot(page, "supervise-03-reassigned")

    # on a phone: the same page, tables scroll sideways, nothing serious for axe
    await page.set_viewport_size({"width": 375, "height": 740})
    await page.goto(console.url + "/supervise?sla=breached")
    await expect(page.locator("#claim-list tbody tr")).to_have_count(2)
    assert not await serious_violations(page), await serious_violations(page)
    await screenshot(page, "supervise-04-phone")


# --------------------------------------------------------------------------- the new states' counters


async def test_the_counters_of_the_new_states_come_from_the_claims_through_their_steps(
    env: WorkflowEnvironment, sqlite_sessions: Sessions, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 17 and 15 on ``/supervise``, each state reached through the public steps: a claim
    sampled for review (复核) at payout, a withdrawn one (撤案), one with an advance paid
    (预付已付) and a photo waiting for its check (待审核资料); then the advanced claim is
    declined: the advance becomes a receivable (待追回)."""
    from tests.test_lifecycle import DRUNK, SECRETARY, road, to_adjudication
    from tests.test_review import review_harness, to_payout, with_config

    monkeypatch.setenv("CLAIMS_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()

    def sample_exactly(number: str) -> ReviewRules:
        return with_config(sample_share_bp=sample_bucket(number) + 1, at_limit_percent=101)

    async with review_harness(env, sqlite_sessions, sample_exactly) as (h, _):
        held = await to_payout(h)
        state = await claim_state(h.client, held)
        assert state.review is not None and state.review.queue.value == "review" and state.review.open
        withdrawn = await h.report(road(h, date(2022, 11, 1)))
        await perform_step(h.client, withdrawn, WithdrawInput(actor=SECRETARY, reason="撤案"))
        advanced = await h.report(road(h, date(2022, 11, 8)))
        await to_adjudication(h, advanced)
        await perform_step(
            h.client,
            advanced,
            PayAdvanceInput(actor=YUHUA_HANDLER, amount=Decimal("5000"), transfer_ref="ADV-S"),
        )
        c = Console(Services(get_settings(), sessions=h.sessions, client=h.client))
        try:
            documents.upload(
                c.services, YUHUA_HANDLER, advanced, [documents.Upload("medical_records", "病历.png", png())]
            )
            sup = await c.as_user("sup.yuhua", "supervisor", county=YUHUA)
            home = await sup.get("/supervise")
            assert home.status_code == 200
            got = {k: counter(home.text, k) for k in NEW_COUNTERS}
            assert got == {
                "in_review": 1,
                "referred": 0,
                "documents": 1,
                "withdrawn": 1,
                "advance_paid": 1,
                "receivable_open": 0,
            }
            assert 'href="/supervise?review=review" id="count-in_review"' in home.text
            assert 'href="/supervise?docs=1" id="count-documents"' in home.text
            assert '<span class="nolink" id="count-withdrawn">' in home.text and "撤案" in home.text
            assert "预付已付·待终付" in home.text and "待追回" in home.text and "复核中" in home.text
            in_review = await sup.get("/supervise?review=review")
            assert re.findall(r'name="claim_numbers" value="([^"]+)"', in_review.text) == [held]
            to_check = await sup.get("/supervise?docs=1")
            assert re.findall(r'name="claim_numbers" value="([^"]+)"', to_check.text) == [advanced]
            assert (await sup.get("/supervise?review=later")).status_code == 422
            # another county's supervisor counts none of them
            other = await c.as_user("sup.ningxiang", "supervisor", county=COUNTY_A)
            elsewhere = await other.get("/supervise")
            assert {k: counter(elsewhere.text, k) for k in NEW_COUNTERS} == dict.fromkeys(NEW_COUNTERS, 0)

            # declined after the advance: the advance is owed back, no longer "advance paid"
            await perform_step(h.client, advanced, AdjudicateInput(actor=YUHUA_HANDLER, facts=DRUNK))
            # the hold cleared by the supervisor: no longer in review
            await perform_step(
                h.client, held, ClearReviewInput(actor=Actor(id="sup.yuhua", role=Role.SUPERVISOR))
            )
            after = await sup.get("/supervise")
            assert {k: counter(after.text, k) for k in NEW_COUNTERS} == {
                "in_review": 0,
                "referred": 0,
                "documents": 0,  # the declined claim is no longer open
                "withdrawn": 1,
                "advance_paid": 0,
                "receivable_open": 1,
            }
        finally:
            await c.close()


@pytest.mark.asyncio(loop_scope="session")
async def test_an_siu_hold_counts_as_referred_and_lists_by_queue(
    fixed_console: Console, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The state reader's review queues: JS-PAY held for 复核, JS-PAY2 for 特调."""

    async def held_facts(
        services: Services, actor: Actor, numbers: list[str]
    ) -> dict[str, StateFacts | None]:
        queues = {"JS-PAY": "review", "JS-PAY2": "siu"}
        return {n: StateFacts(paused=False, awaiting_approval=False, review=queues.get(n)) for n in numbers}

    monkeypatch.setattr(supervision, "read_facts", held_facts)
    sup = await fixed_console.as_user("sup.a", "supervisor", county=COUNTY_A)
    page = await sup.get("/supervise")
    assert (counter(page.text, "in_review"), counter(page.text, "referred")) == (1, 1)
    siu = await sup.get("/supervise?review=siu")
    assert re.findall(r'name="claim_numbers" value="([^"]+)"', siu.text) == ["JS-PAY2"]
    assert '<input type="hidden" name="review" value="siu">' in siu.text  # kept by the bulk form
    both = await sup.get("/supervise?review=review&township=" + TOWN_2)
    assert re.findall(r'name="claim_numbers" value="([^"]+)"', both.text) == ["JS-PAY"]


# --------------------------------------------------------------------------- the claim page's review hold


def step_error(html: str, step: str) -> str:
    m = re.search(rf'id="step-{step}-error">([^<]*)<', html)
    assert m, f"no reason for {step}"
    return m.group(1)


async def test_the_claim_page_shows_an_open_review_hold_and_offers_its_steps_only_then(
    env: WorkflowEnvironment, sqlite_sessions: Sessions, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A claim sampled for review (复核) at payout: the page shows the queue, the rule and its
    reason; the handler's payment is refused by code in Chinese; the supervisor is offered
    复核通过 and 移送特调 while the hold is open, clears it, and then neither is offered; a late
    referral is refused (review.none_open) and the reason shows; the handler then pays."""
    from tests.test_review import review_harness, to_payout, with_config

    monkeypatch.setenv("CLAIMS_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()

    def sample_exactly(number: str) -> ReviewRules:
        return with_config(sample_share_bp=sample_bucket(number) + 1, at_limit_percent=101)

    async with review_harness(env, sqlite_sessions, sample_exactly) as (h, _):
        number = await to_payout(h)
        c = Console(Services(get_settings(), sessions=h.sessions, client=h.client))
        try:
            handler = await c.as_user("handler.yuhua", "handler", county=YUHUA)
            page = await handler.get(f"/claims/{number}")
            assert page.status_code == 200
            hold = re.search(r'<section aria-labelledby="review-title".*?</section>', page.text, re.S)
            assert hold is not None
            assert "赔付前复核" in hold.group(0)
            assert '<dd id="review-queue">复核</dd>' in hold.group(0)
            assert '<dd id="review-rules">review.sample</dd>' in hold.group(0)
            assert "随机抽检" in hold.group(0)  # the rule's reason
            assert "/steps/clear_review" not in page.text  # a supervisor's step
            refused = await handler.post(f"/claims/{number}/steps/pay", {"transfer_ref": "TRF-RV-1"})
            assert refused.status_code == 422
            assert (
                step_error(refused.text, "pay")
                == "赔付前须复核（review.sample）：由主管复核通过或移送特调后方可赔付"
            )

            sup = await c.as_user("sup.yuhua", "supervisor", county=YUHUA)
            page = await sup.get(f"/claims/{number}")
            assert f'action="/claims/{number}/steps/clear_review"' in page.text
            assert f'action="/claims/{number}/steps/refer_to_siu"' in page.text
            sup.client.cookies.set(LANG_COOKIE, "en")
            english = await sup.get(f"/claims/{number}")
            assert (
                "Held for review before payment" in english.text
                and '<dd id="review-queue">Review</dd>' in english.text
            )
            sup.client.cookies.delete(LANG_COOKIE)

            cleared = await sup.post(f"/claims/{number}/steps/clear_review", {"note": "核对无误"})
            assert cleared.status_code == 303, cleared.text
            page = await sup.get(f"/claims/{number}")
            assert 'id="review-hold"' not in page.text
            assert "/steps/clear_review" not in page.text and "/steps/refer_to_siu" not in page.text
            assert f'action="/claims/{number}/steps/reassign"' in page.text  # the rest still offered
            # a referral sent from a page opened before the clearing: refused, and the reason shows
            late = await sup.post(f"/claims/{number}/steps/refer_to_siu", {"reason": "补充怀疑"})
            assert late.status_code == 422
            assert step_error(late.text, "refer_to_siu") == "该赔案没有待处理的复核"
            sup.client.cookies.set(LANG_COOKIE, "en")
            late = await sup.post(f"/claims/{number}/steps/refer_to_siu", {"reason": "late doubt"})
            assert step_error(late.text, "refer_to_siu") == "The claim has no open review hold"

            paid = await handler.post(f"/claims/{number}/steps/pay", {"transfer_ref": "TRF-RV-1"})
            assert paid.status_code == 303, paid.text
            assert (await claim_state(h.client, number)).stage == Stage.CLOSED
        finally:
            await c.close()


def test_the_new_rejection_codes_read_in_chinese_and_english() -> None:
    from claims.errors import ClaimsError, StepRejected
    from claims.web.i18n import error_message, gettext_for

    zh, en = gettext_for("zh_CN"), gettext_for("en")
    pending = StepRejected(
        "pay", "held", code="review.pending", params={"queue": "siu", "rules": "siu.early_claim"}
    )
    assert error_message(pending, zh) == "赔付前须复核（siu.early_claim）：由主管复核通过或移送特调后方可赔付"
    assert error_message(pending, en) == (
        "Held for review before payment (siu.early_claim): "
        "a supervisor must clear it or refer it to investigation"
    )
    none_open = StepRejected("clear_review", "none", code="review.none_open")
    assert (error_message(none_open, zh), error_message(none_open, en)) == (
        "该赔案没有待处理的复核",
        "The claim has no open review hold",
    )
    batch = ClaimsError(
        "claim JS-1 is not at payout", code="batch.claim_not_payable", params={"claim": "JS-1"}
    )
    assert error_message(batch, zh) == "赔案 JS-1 不能列入本批次或随本批次赔付"
    assert error_message(batch, en) == "Claim JS-1 cannot be in this batch or be paid with it"
    letter = ClaimsError("no letter", code="letter.none", params={"claim": "JS-2"})
    assert (error_message(letter, zh), error_message(letter, en)) == (
        "赔案 JS-2 未出具拒赔通知书",
        "Claim JS-2 issued no refusal letter",
    )
