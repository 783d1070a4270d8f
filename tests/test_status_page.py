"""The claimant status page (issue 15): ``GET /status`` and ``POST /status`` without login.

Claim number plus the last 6 characters of the insured's identity number; the answer shows the
stage, what is still missing (rejected files included) and the expected date, the amount only
once paid, and never a name or an identity number; a wrong pair is 404, too many lookups 429
(per address and per claim number); every lookup is logged. Against ``create_app`` through
httpx with the suite's time-skipping server and worker (``tests/support/harness.py``).
"""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
import pytest_asyncio
from PIL import Image
from sqlalchemy import select

from claims.infra.settings import get_settings
from claims.models import Actor, RegisterInput, Role
from claims.services import documents
from claims.services.client import claim_state, perform_step
from claims.services.context import Services
from claims.store.db import unit_of_work
from claims.store.documents import StatusLookup
from claims.web.app import create_app
from tests.support.harness import Harness

COUNTY_A = "宁乡市"


def photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), (1, 2, 3)).save(out, format="JPEG")
    return out.getvalue()


class Visitor:
    """Someone without an account, from one address."""

    def __init__(self, app: object, address: str) -> None:
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, client=(address, 50000)),
            base_url="http://console.test",  # type: ignore[arg-type]
        )

    async def look_up(self, number: str, id6: str) -> httpx.Response:
        form = await self.client.get("/status")
        token = re.search(r'name="csrftoken" value="([^"]+)"', form.text)
        assert form.status_code == 200 and token
        return await self.client.post(
            "/status", data={"csrftoken": token.group(1), "number": number, "id6": id6}
        )


@pytest_asyncio.fixture(loop_scope="session")
async def site(
    harness: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[Harness, Services, object]]:
    monkeypatch.setenv("CLAIMS_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    services = Services(get_settings(), sessions=harness.sessions, client=harness.client)
    app = create_app(services)
    yield harness, services, app
    get_settings.cache_clear()


def text_of(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", html)


@pytest.mark.asyncio(loop_scope="session")
async def test_the_right_pair_shows_stage_missing_and_date_and_nothing_personal(
    site: tuple[Harness, Services, object],
) -> None:
    harness, services, app = site
    case = harness.cases[0]  # 宁乡市 示范村甲, grade-1 disability
    number = await harness.report(case)
    handler = Actor(id="handler.ningxiang", role=Role.HANDLER, county=COUNTY_A)
    await perform_step(harness.client, number, RegisterInput(actor=handler))
    # a photo of the disability assessment, rejected as unreadable: missing again
    (doc,) = documents.upload(
        services, handler, number, [documents.Upload("disability_assessment", "a.jpg", photo())]
    )
    documents.reject(services, handler, number, doc.id, "unreadable")
    id6 = case.report.id_number[-6:]

    me = Visitor(app, "10.1.0.1")
    page = await me.look_up(number, id6)
    assert page.status_code == 200
    assert 'class="stage">资料收集<' in page.text
    missing = re.search(r'<ul class="missing">(.*?)</ul>', page.text, re.S)
    assert missing, "the missing list"
    items = re.findall(r"<li>([^<]+)</li>", missing.group(1))
    assert (
        "理赔申请书" in items and "二级以上医院或司法鉴定机构出具的伤残鉴定书" in items
    )  # the rejected one again
    expected = re.search(r'<dd class="expected">(\d{4}-\d{2}-\d{2})</dd>', page.text)
    assert expected, "the expected date"
    state = await claim_state(harness.client, number)
    (clock,) = [c for c in state.clocks if c.kind.value == "programme" and c.stopped_at is None]
    beijing = clock.deadline.due_at.astimezone(ZoneInfo("Asia/Shanghai")).date()
    assert (clock.name, expected.group(1)) == ("resolution", beijing.isoformat())  # 结案时限, in Beijing
    # no names, no identity number, no amount before payment
    insured = next(
        m for h in harness.register.households for m in h.members if m.id_number == case.report.id_number
    )
    assert insured.name not in page.text and case.report.id_number not in page.text and id6 not in page.text
    assert 'class="paid"' not in page.text and "元" not in text_of(page.text)
    # a lower-case x or spaces around the six characters are the same characters
    assert (await me.look_up(f" {number} ", f" {id6} ")).status_code == 200

    # a wrong pair: 404, the form again, no claim shown
    wrong = await me.look_up(number, "000000" if id6 != "000000" else "111111")
    assert (
        wrong.status_code == 404 and 'id="status-error"' in wrong.text and 'class="stage"' not in wrong.text
    )
    assert (await me.look_up("JS-NOSUCH", id6)).status_code == 404
    assert (await me.look_up(number, "12ab")).status_code == 422

    with unit_of_work(services.sessions) as s:
        logged = s.execute(select(StatusLookup.address, StatusLookup.claim_number, StatusLookup.found)).all()
    assert ("10.1.0.1", number, True) in logged and ("10.1.0.1", number, False) in logged
    assert ("10.1.0.1", "JS-NOSUCH", False) in logged
    await me.client.aclose()


@pytest.mark.asyncio(loop_scope="session")
async def test_lookups_are_limited_per_address_and_per_claim_number(
    site: tuple[Harness, Services, object],
) -> None:
    harness, services, app = site
    number = await harness.report(harness.cases[0])
    id6 = harness.cases[0].report.id_number[-6:]
    app.state.status_limits = documents.StatusLimits(per_address=5, per_claim=3, window=timedelta(minutes=15))  # type: ignore[attr-defined]

    guesser = Visitor(app, "10.2.0.1")
    codes = [(await guesser.look_up(number, f"{n:06d}")).status_code for n in range(4)]
    assert codes == [404, 404, 404, 429]  # three guesses for this claim number, then refused
    # the right pair from elsewhere is refused too while the claim number is limited
    owner = Visitor(app, "10.2.0.2")
    limited = await owner.look_up(number, id6)
    assert limited.status_code == 429 and limited.headers["retry-after"] == "900"
    assert "查询过于频繁" in limited.text
    # per address: other claim numbers from one address
    scanner = Visitor(app, "10.2.0.3")
    codes = [(await scanner.look_up(f"JS2021{n:04d}-X", "123456")).status_code for n in range(6)]
    assert codes == [404, 404, 404, 404, 404, 429]
    # after the window the owner gets the answer
    later = datetime.now(UTC) + timedelta(minutes=16)
    answer = await documents.status_lookup(
        services, "10.2.0.2", number, id6, now=later, limits=app.state.status_limits
    )  # type: ignore[attr-defined]
    assert answer.stage == "reported" and answer.paid_amount is None
    for v in (guesser, owner, scanner):
        await v.client.aclose()


@pytest.mark.asyncio(loop_scope="session")
async def test_a_paid_claim_shows_the_amount_and_no_date(site: tuple[Harness, Services, object]) -> None:
    harness, _services, app = site
    case = harness.cases[1]  # 醴陵市: drowning, green channel, 100,000 + 32,000
    state = await harness.drive(case)
    assert state.stage.value == "closed"
    page = await Visitor(app, "10.3.0.1").look_up(state.claim_number, case.report.id_number[-6:])
    assert page.status_code == 200
    assert 'class="stage">结案<' in page.text
    assert re.search(r'<dd class="paid">132,000\.00 元（\d{4}-\d{2}-\d{2}）</dd>', page.text)
    assert 'class="expected"' not in page.text and 'class="missing-none"' in page.text
