"""The loss ratio (赔付率) by county, product and policy year, on a small register computed by hand.

Register (premiums per insured person):

- 宁乡市 family_accident 2021: FA1 (3 persons × 100.00) and FA2 (2 persons × 100.00): earned
  500.00 by 2022-06-30 (both periods over). Claims: C1 on FA1 paid 200.00; C2 on FA2 paid
  100.00 + 50.50 (two payments); C3 on FA1 declined; C4 named FA1 and HC1 and was paid 30.00
  under HC1 only. Paid 350.50 → 70.1 %; 4 claims over 5 insured → 800.0 per 1,000; 2 paid
  claims → average 175.25.
- 宁乡市 hardship_comprehensive 2021: HC1 (1 person, also on FA1, × 60.00): earned 60.00; C4
  paid 30.00 → 50.0 %; 1 claim per 1 insured → 1000.0; average 30.00.
- 醴陵市 family_accident 2022: FB1 (1 person × 100.00, 2022-01-01 to 2022-12-31): by
  2022-06-30 181 of 365 days earned → 49.59; nothing paid → 0.0 %, 0 claims, no average.
- Total: 6 insured, earned 500 + 60 + 100 × 181/365 = 609.589… → 609.59; paid 380.50 →
  62.4 %; 4 claims → 666.7 per 1,000; 3 paid claims → average 126.83.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

import starter
from claims.domain.identity import check_digit
from claims.errors import NotAllowed
from claims.infra.settings import get_settings
from claims.models import Actor, Role
from claims.services.context import Services
from claims.services.loss_ratio import loss_ratio
from claims.store.db import Claim, Payout, Sessions, unit_of_work
from claims.store.register import RegisterFile, load_register

AS_OF = date(2022, 6, 30)
NOW = datetime(2022, 6, 1, 2, 0, tzinfo=UTC)


def _id(seq: int) -> str:
    first17 = f"43018219800101{seq:03d}"
    return first17 + check_digit(first17)


def _policy(number: str, product: str, start: str, end: str, premium: str, insured: list[str]) -> dict:
    return {
        "policy_number": number,
        "product_code": product,
        "terms_version": f"{product}@2020",
        "start_date": start,
        "end_date": end,
        "issued_on": start,
        "premium": premium,
        "sum_insured": "40000.00",
        "insured": insured,
    }


REGISTER = {
    "households": [
        {
            "household_no": "NX-1",
            "county": "宁乡市",
            "township": "大成桥镇",
            "village": "甲村",
            "members": [{"person_ref": f"P{i}", "name": f"甲{i}", "id_number": _id(i)} for i in (1, 2, 3)],
            "policies": [
                _policy("FA1", "family_accident", "2021-01-01", "2021-12-31", "100.00", ["P1", "P2", "P3"]),
                _policy("HC1", "hardship_comprehensive", "2021-03-01", "2022-02-28", "60.00", ["P1"]),
            ],
        },
        {
            "household_no": "NX-2",
            "county": "宁乡市",
            "township": "大成桥镇",
            "village": "乙村",
            "members": [{"person_ref": f"P{i}", "name": f"乙{i}", "id_number": _id(i)} for i in (4, 5)],
            "policies": [
                _policy("FA2", "family_accident", "2021-01-01", "2021-12-31", "100.00", ["P4", "P5"]),
            ],
        },
        {
            "household_no": "LL-1",
            "county": "醴陵市",
            "township": "左权镇",
            "village": "丙村",
            "members": [{"person_ref": "P6", "name": "丙", "id_number": _id(6)}],
            "policies": [
                _policy("FB1", "family_accident", "2022-01-01", "2022-12-31", "100.00", ["P6"]),
            ],
        },
    ]
}


def _claim(
    session, number: str, person_id: int, policies: str, stage: str, county: str, paid: Decimal
) -> None:
    session.add(
        Claim(
            claim_number=number,
            workflow_id=f"claim-{number}",
            person_id=person_id,
            accident_date=date(2021, 6, int(number[-1])),
            reported_on=date(2021, 6, 10),
            policy_numbers=policies,
            outcome="medical",
            stage=stage,
            county=county,
            township="大成桥镇",
            village="甲村",
            reported_at=NOW,
            updated_at=NOW,
            total_paid=paid,
        )
    )


def _payout(session, claim: str, n: int, policy: str, amount: str) -> None:
    session.add(
        Payout(
            claim_number=claim,
            payment_number=n,
            policy_number=policy,
            benefit_id="medical",
            amount=Decimal(amount),
            transfer_ref=f"T-{claim}-{n}",
            paid_at=NOW,
        )
    )


def fill(sessions: Sessions) -> Sessions:
    """The register and ledger of the module docstring, written into ``sessions``' store."""
    with unit_of_work(sessions) as s:
        load_register(s, RegisterFile.model_validate(REGISTER))
    with unit_of_work(sessions) as s:
        from claims.store.db import InsuredPerson

        ids = {p.person_ref: p.id for p in s.query(InsuredPerson)}
        _claim(s, "C1", ids["P1"], "FA1", "closed", "宁乡市", Decimal("200.00"))
        _claim(s, "C2", ids["P4"], "FA2", "closed", "宁乡市", Decimal("150.50"))
        _claim(s, "C3", ids["P2"], "FA1", "declined", "宁乡市", Decimal(0))
        _claim(s, "C4", ids["P1"], "FA1,HC1", "closed", "宁乡市", Decimal("30.00"))
        s.flush()
        _payout(s, "C1", 1, "FA1", "200.00")
        _payout(s, "C2", 1, "FA2", "100.00")
        _payout(s, "C2", 2, "FA2", "50.50")
        _payout(s, "C4", 1, "HC1", "30.00")
    return sessions


@pytest.fixture
def world(sqlite_sessions: Sessions) -> Sessions:
    """The small register and ledger on a fresh SQLite store."""
    return fill(sqlite_sessions)


def _services(sessions: Sessions) -> Services:
    return Services(get_settings(), sessions=sessions)


def test_loss_ratio_by_county_product_and_year(world: Sessions) -> None:
    report = loss_ratio(_services(world), None, as_of=AS_OF)
    got = {(ln.county, ln.product, ln.year): ln for ln in report.lines}
    assert list(got) == [
        ("宁乡市", "family_accident", 2021),
        ("宁乡市", "hardship_comprehensive", 2021),
        ("醴陵市", "family_accident", 2022),
    ]
    fa = got[("宁乡市", "family_accident", 2021)]
    assert (fa.policies, fa.insured, fa.earned_premium, fa.paid) == (
        2,
        5,
        Decimal("500.00"),
        Decimal("350.50"),
    )
    assert (fa.loss_ratio, fa.claims, fa.paid_claims) == (Decimal("70.1"), 4, 2)
    assert (fa.frequency, fa.average_paid) == (Decimal("800.0"), Decimal("175.25"))
    hc = got[("宁乡市", "hardship_comprehensive", 2021)]
    assert (hc.insured, hc.earned_premium, hc.paid, hc.loss_ratio) == (
        1,
        Decimal("60.00"),
        Decimal("30.00"),
        Decimal("50.0"),
    )
    assert (hc.claims, hc.frequency, hc.average_paid) == (1, Decimal("1000.0"), Decimal("30.00"))
    fb = got[("醴陵市", "family_accident", 2022)]
    assert (fb.earned_premium, fb.paid, fb.loss_ratio, fb.claims, fb.frequency, fb.average_paid) == (
        Decimal("49.59"),
        Decimal("0.00"),
        Decimal("0.0"),
        0,
        Decimal("0.0"),
        None,
    )
    t = report.total
    assert (t.insured, t.earned_premium, t.paid, t.loss_ratio) == (
        6,
        Decimal("609.59"),
        Decimal("380.50"),
        Decimal("62.4"),
    )
    assert (t.claims, t.paid_claims, t.frequency, t.average_paid) == (
        4,
        3,
        Decimal("666.7"),
        Decimal("126.83"),
    )


@pytest.mark.postgres
def test_the_same_figures_on_sqlite_and_postgresql(store_sessions: Sessions) -> None:
    t = loss_ratio(_services(fill(store_sessions)), None, as_of=AS_OF).total
    assert (t.insured, t.earned_premium, t.paid, t.loss_ratio) == (
        6,
        Decimal("609.59"),
        Decimal("380.50"),
        Decimal("62.4"),
    )
    assert (t.claims, t.paid_claims, t.frequency, t.average_paid) == (
        4,
        3,
        Decimal("666.7"),
        Decimal("126.83"),
    )


def test_filters_and_unearned_policy(world: Sessions) -> None:
    only = loss_ratio(_services(world), None, product="family_accident", year=2021, as_of=AS_OF)
    assert [(ln.county, ln.product, ln.year) for ln in only.lines] == [("宁乡市", "family_accident", 2021)]
    # before FB1 starts nothing is earned: no ratio rather than a division by zero
    early = loss_ratio(_services(world), None, county="醴陵市", as_of=date(2021, 12, 31))
    assert early.lines[0].earned_premium == Decimal("0.00") and early.lines[0].loss_ratio is None


def test_scope_and_roles(world: Sessions) -> None:
    sup = Actor(id="sup.nx", role=Role.SUPERVISOR, county="宁乡市")
    mine = loss_ratio(_services(world), sup, as_of=AS_OF)
    assert {ln.county for ln in mine.lines} == {"宁乡市"}
    assert mine.total.paid == Decimal("380.50") and mine.total.insured == 5
    with pytest.raises(NotAllowed, match="醴陵市"):
        loss_ratio(_services(world), sup, county="醴陵市", as_of=AS_OF)
    auditor = Actor(id="aud", role=Role.AUDITOR)
    assert len(loss_ratio(_services(world), auditor, as_of=AS_OF).lines) == 3
    with pytest.raises(NotAllowed):
        loss_ratio(_services(world), Actor(id="h", role=Role.HANDLER, county="宁乡市"), as_of=AS_OF)


def test_cli(world: Sessions, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'claims.db'}")
    for var in ("CLAIMS_ACTOR", "CLAIMS_ROLE", "CLAIMS_COUNTY", "CLAIMS_VILLAGE"):
        monkeypatch.delenv(var, raising=False)
    get_settings.cache_clear()
    res = CliRunner().invoke(starter.cli, ["loss-ratio", "--as-of", "2022-06-30"])
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert lines[0] == "loss ratio (赔付率) as of 2022-06-30: paid / earned premium"
    fa = next(ln for ln in lines if ln.startswith("宁乡市") and "family_accident" in ln).split()
    assert fa[3:] == ["2", "5", "500.00", "350.50", "70.1%", "4", "2", "800.0", "175.25"]
    total = lines[-1].split()
    assert total[:3] == ["all", "all", "all"] and total[5:8] == ["609.59", "380.50", "62.4%"]
    monkeypatch.setenv("CLAIMS_ACTOR", "sup.ll")
    monkeypatch.setenv("CLAIMS_ROLE", "supervisor")
    monkeypatch.setenv("CLAIMS_COUNTY", "醴陵市")
    get_settings.cache_clear()
    res = CliRunner().invoke(starter.cli, ["loss-ratio", "--county", "宁乡市"])
    assert res.exit_code == 2 and "you read 醴陵市 only" in res.output


# --- the console's page ---------------------------------------------------------------------

PASSWORD = "correct horse battery"


@pytest.fixture
def web(world: Sessions, tmp_path: Path):
    from typing import cast

    import httpx
    from temporalio.client import Client

    from claims.infra.settings import Settings, StoreSettings
    from claims.services import accounts
    from claims.web.app import create_app

    services = Services(
        Settings(store=StoreSettings(data_dir=tmp_path)), sessions=world, client=cast(Client, object())
    )
    accounts.add_user(services, "sup.nx", "supervisor", PASSWORD, county="宁乡市")
    accounts.add_user(services, "aud.prov", "auditor", PASSWORD)
    accounts.add_user(services, "handler.nx", "handler", PASSWORD, county="宁乡市")
    return lambda: httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(services)), base_url="http://testserver"
    )


async def _login(c, user: str) -> None:
    import re

    page = await c.get("/login")
    token = re.search(r'name="csrftoken" value="([^"]+)"', page.text).group(1)
    r = await c.post("/login", data={"username": user, "password": PASSWORD, "next": "", "csrftoken": token})
    assert r.status_code == 303


def _cells(html: str, row_start: str) -> list[str]:
    import re

    row = re.search(r"<tr>\s*<th scope=\"row\">" + re.escape(row_start) + r".*?</tr>", html, re.S)
    assert row, row_start
    return [
        re.sub(r"<[^>]+>", "", c).strip()
        for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row.group(0), re.S)
    ]


async def test_loss_ratio_page_for_a_county_supervisor(web) -> None:
    async with web() as c:
        await _login(c, "sup.nx")
        page = await c.get("/reports/loss-ratio")
        assert page.status_code == 200
        html = page.text
        assert '<h1 id="lr-title">赔付率 · 宁乡市</h1>' in html
        assert "醴陵市" not in html  # another county's figures never reach the page
        assert _cells(html, "宁乡市")[:12] == [
            "宁乡市",
            "计划生育家庭意外伤害保险",
            "2021",
            "2",
            "5",
            "500.00",
            "350.50",
            "70.1%",
            "4",
            "2",
            "800.0",
            "175.25",
        ]
        total = re.search(r"<tfoot>.*?</tfoot>", html, re.S).group(0)
        assert "560.00" in total and "380.50" in total and "67.9%" in total
        assert (
            '<script type="application/json" id="lr-data">' in html and 'src="/static/loss_ratio.js"' in html
        )
        assert "<script>" not in html  # no inline script under the CSP
        assert (await c.get("/reports/loss-ratio?county=醴陵市")).status_code == 403
        bad = await c.get("/reports/loss-ratio?year=20x1")
        assert bad.status_code == 422 and "year: " in bad.text
        assert (await c.get("/static/loss_ratio.js")).status_code == 200


async def test_loss_ratio_page_roles(web) -> None:
    async with web() as c:
        await _login(c, "aud.prov")
        page = await c.get("/reports/loss-ratio?product=family_accident")
        assert page.status_code == 200 and "醴陵市" in page.text and "hardship" not in page.text
    async with web() as c:
        await _login(c, "handler.nx")
        assert (await c.get("/reports/loss-ratio")).status_code == 403
    async with web() as c:
        r = await c.get("/reports/loss-ratio")
        assert r.status_code == 303 and r.headers["location"].startswith("/login")
