"""The monthly claims report (理赔明细): data, totals against the ledger across the Asia/Shanghai
month boundary, editions and scope, xlsx/CSV/HTML/PDF, same bytes for the same data, the
``claims monthly`` command, the console's page and downloads, and the demo's month.

Rows are written straight into a fresh store (SQLite, and PostgreSQL when it answers)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import sqlite3
import subprocess
import zlib
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import httpx
import openpyxl
import pytest
from click.testing import CliRunner
from temporalio.client import Client

from claims.domain.identity import check_digit
from claims.domain.workdays import WorkingCalendar
from claims.errors import ClaimNotFound, InputError, NotAllowed
from claims.infra.settings import Settings, StoreSettings
from claims.models import Actor, Role
from claims.reports.formats import COLUMNS, Format, render, to_csv, to_html, to_pdf, to_xlsx
from claims.reports.monthly import Edition, Month, build_monthly, mask_name
from claims.services import accounts
from claims.services.context import Services
from claims.services.monthly import monthly_report
from claims.store.db import (
    Claim,
    ClaimArchive,
    Household,
    InsuredPerson,
    Payout,
    Policy,
    Sessions,
    unit_of_work,
)
from claims.store.monthly import ledger_total
from claims.web.app import create_app
from tests.conftest import BIN, REPO

COUNTY = "宁乡市"
MARCH = Month(2026, 3)
CAL = WorkingCalendar()
SUPERVISOR = Actor(id="sup.ningxiang", role=Role.SUPERVISOR, county=COUNTY)
AUDITOR = Actor(id="aud.ningxiang", role=Role.AUDITOR, county=COUNTY)
PASSWORD = "correct horse battery"


def sh(y: int, mo: int, d: int, h: int = 10, mi: int = 0) -> datetime:
    """An Asia/Shanghai wall-clock time as an aware UTC instant."""
    return datetime(y, mo, d, h, mi, tzinfo=UTC) - timedelta(hours=8)


def id_number(n: int) -> str:
    first = f"430124{1970 + n % 40:04d}0101{n % 1000:03d}"
    return first + check_digit(first)


class Seeder:
    """Writes households, persons, policies, claims, payouts and archive rows."""

    def __init__(self, session: Any) -> None:
        self.s = session
        self.n = 0
        self.households: dict[tuple[str, str, str], Household] = {}

    def household(self, county: str, township: str, village: str) -> Household:
        key = (county, township, village)
        if key not in self.households:
            h = Household(
                household_no=f"H{len(self.households):06d}", county=county, township=township, village=village
            )
            self.s.add(h)
            self.s.flush()
            self.households[key] = h
        return self.households[key]

    def claim(
        self,
        *,
        county: str = COUNTY,
        township: str = "大成桥镇",
        village: str = "金峰村",
        name: str = "张三",
        products: tuple[str, ...] = ("family_accident@2020",),
        payouts: tuple[tuple[str, datetime], ...] = (),
        stage: str = "closed",
        registered_at: datetime | None = None,
        decided_at: datetime | None = None,
        reported_at: datetime | None = None,
        outcome: str = "disability",
        target: int = 30,
        green: bool = False,
        sla_state: str = "met",
        bundle: dict[str, Any] | None = None,
        kind: str = "accidental_disability",
    ) -> str:
        self.n += 1
        n = self.n
        hh = self.household(county, township, village)
        person = InsuredPerson(
            person_ref=f"P{n:06d}",
            household_id=hh.id,
            name=name,
            id_number=id_number(n),
            sex="M",
            birth_date=date(1970, 1, 1),
        )
        self.s.add(person)
        self.s.flush()
        numbers = []
        for i, tv in enumerate(products):
            number = f"PN{n:06d}-{i}"
            numbers.append(number)
            self.s.add(
                Policy(
                    policy_number=number,
                    household_id=hh.id,
                    product_code=tv.split("@")[0],
                    terms_version=tv,
                    start_date=date(2026, 1, 1),
                    end_date=date(2026, 12, 31),
                    issued_on=date(2025, 12, 1),
                    premium=Decimal("100.00"),
                    sum_insured=Decimal("40000.00"),
                )
            )
        reported = reported_at or sh(2026, 3, 2)
        registered = (
            registered_at if registered_at is not None else (reported if stage != "reported" else None)
        )
        number = f"JS2026{n:06d}-P{n:04d}"
        self.s.add(
            Claim(
                claim_number=number,
                workflow_id=f"claim-{number}",
                person_id=person.id,
                accident_date=date(2026, 2, 20),
                reported_on=reported.astimezone(UTC).date(),
                policy_numbers=",".join(numbers),
                outcome=outcome,
                stage=stage,
                county=county,
                township=township,
                village=village,
                assigned_handler="handler.a",
                green_channel=green,
                sla_state=sla_state,
                target_working_days=target,
                reported_at=reported,
                registered_at=registered,
                decided_at=decided_at,
                paid_at=max((t for _, t in payouts), default=None),
                total_paid=sum((Decimal(a) for a, _ in payouts), Decimal("0")),
                updated_at=max([reported, *[t for _, t in payouts], *([decided_at] if decided_at else [])]),
            )
        )
        self.s.flush()
        for i, (amount, at) in enumerate(payouts, 1):
            self.s.add(
                Payout(
                    claim_number=number,
                    payment_number=i,
                    policy_number=numbers[min(i - 1, len(numbers) - 1)],
                    benefit_id=f"benefit.{kind}",
                    kind=kind,
                    amount=Decimal(amount),
                    transfer_ref=f"TRF-{n}-{i}",
                    paid_at=at,
                )
            )
        if bundle is not None:
            self.s.add(
                ClaimArchive(
                    claim_number=number,
                    workflow_id=f"claim-{number}",
                    run_id="r",
                    stage=stage,
                    closed_at=decided_at,
                    decision_bundle=json.dumps(bundle),
                    decision_archived_at=reported,
                )
            )
        self.s.flush()
        return number


def seed_month(sessions: Sessions) -> dict[str, str]:
    """The month of the reconciliation test: several policies per event, a declined and an open
    claim, payments on each side of midnight Asia/Shanghai at the month's end, another county."""
    with unit_of_work(sessions) as s:
        w = Seeder(s)
        return dict(
            two_policies=w.claim(
                name="李四",
                township="大成桥镇",
                products=("hardship_comprehensive@2020", "elderly_accident@2020"),
                payouts=(("100000.00", sh(2026, 3, 10)), ("32000.00", sh(2026, 3, 10))),
                registered_at=sh(2026, 3, 9, 9),
                outcome="death",
                kind="accidental_death",
                target=2,
                green=True,
                bundle={"claim": {"cause": "drowning"}, "facts": {}, "decline_reasons": []},
            ),
            late_march=w.claim(
                name="王五",
                township="花明楼镇",
                village="炭子冲村",
                payouts=(("40000.00", sh(2026, 3, 31, 23, 30)),),
                registered_at=sh(2026, 3, 2, 9),
                bundle={
                    "claim": {"cause": "fall_from_height", "disability_grade": 1},
                    "facts": {"disability_grades": [1]},
                },
            ),
            early_april=w.claim(
                name="赵六",
                township="花明楼镇",
                village="炭子冲村",
                payouts=(("45000.00", sh(2026, 4, 1, 0, 30)),),
                registered_at=sh(2026, 3, 20, 9),
            ),
            declined=w.claim(
                name="孙七",
                township="大成桥镇",
                stage="declined",
                decided_at=sh(2026, 3, 18),
                bundle={
                    "claim": {"cause": "road_accident"},
                    "decline_reasons": ["酒后驾驶机动车，属责任免除"],
                },
            ),
            open=w.claim(
                name="周八",
                township="花明楼镇",
                stage="documents",
                sla_state="at_risk",
                reported_at=sh(2026, 3, 25),
            ),
            elsewhere=w.claim(
                county="醴陵市",
                township="左权镇",
                village="某村",
                payouts=(("5000.00", sh(2026, 3, 15)),),
            ),
        )


@pytest.fixture
def seeded(store_sessions: Sessions) -> tuple[Sessions, dict[str, str]]:
    return store_sessions, seed_month(store_sessions)


# --------------------------------------------------------------------------- the data


def test_month_bounds_are_asia_shanghai_midnights() -> None:
    assert MARCH.start == datetime(2026, 2, 28, 16, 0, tzinfo=UTC)
    assert MARCH.end == datetime(2026, 3, 31, 16, 0, tzinfo=UTC)
    assert Month(2026, 12).next == Month(2027, 1)
    assert sh(2026, 3, 31, 23, 30) == datetime(2026, 3, 31, 15, 30, tzinfo=UTC)
    assert sh(2026, 4, 1, 0, 30) == datetime(2026, 3, 31, 16, 30, tzinfo=UTC)
    for bad in ("2026-13", "2026-3", "26-03", "", "2026-03-01", "2201-01"):
        with pytest.raises(InputError) as e:
            Month.parse(bad)
        assert e.value.field == "month"


def test_the_total_equals_the_ledger_one_row_per_payout_and_the_month_ends_at_shanghai_midnight(
    seeded: tuple[Sessions, dict[str, str]],
) -> None:
    sessions, n = seeded
    with unit_of_work(sessions) as s:
        march = build_monthly(s, COUNTY, MARCH, Edition.TOWNSHIP, CAL)
        april = build_monthly(s, COUNTY, Month(2026, 4), Edition.TOWNSHIP, CAL)
        assert ledger_total(s, COUNTY, MARCH.start, MARCH.end) == Decimal("172000.00")
    # 100,000 + 32,000 (two policies, one event: two rows) + 40,000 paid at 23:30 on 31 March
    assert march.total.amount == march.ledger_total == Decimal("172000.00")
    assert isinstance(march.total.amount, Decimal)
    assert [(r.claim_number, r.amount) for r in march.rows] == [
        (n["two_policies"], Decimal("100000.00")),
        (n["two_policies"], Decimal("32000.00")),
        (n["late_march"], Decimal("40000.00")),
    ]
    assert (march.total.payouts, march.total.claims) == (3, 2)
    # 00:30 on 1 April (16:30 UTC on 31 March) is April's
    assert [(r.claim_number, r.amount, r.paid_on) for r in april.rows] == [
        (n["early_april"], Decimal("45000.00"), date(2026, 4, 1))
    ]
    assert april.total.amount == april.ledger_total == Decimal("45000.00")
    assert march.rows[2].paid_on == date(2026, 3, 31)
    # township subtotals, in report order; another county's payout is not here
    assert [(t.township, t.amount, t.payouts) for t in march.subtotals] == [
        ("大成桥镇", Decimal("132000.00"), 2),
        ("花明楼镇", Decimal("40000.00"), 1),
    ]
    assert all(r.township in ("大成桥镇", "花明楼镇") for r in march.rows)


def test_row_columns_mask_names_and_numbers_and_count_working_days_against_the_target(
    seeded: tuple[Sessions, dict[str, str]],
) -> None:
    sessions, n = seeded
    with unit_of_work(sessions) as s:
        town = build_monthly(s, COUNTY, MARCH, Edition.TOWNSHIP, CAL)
        internal = build_monthly(s, COUNTY, MARCH, Edition.INTERNAL, CAL)
    first = town.rows[0]
    assert (first.insured, internal.rows[0].insured) == ("李*", "李四")
    assert re.fullmatch(r"430124\*{8}\d{3}[\dX]", first.id_number)
    assert first.id_number == internal.rows[0].id_number  # masked in both editions
    assert (first.product, town.rows[1].product) == ("计生特困家庭综合保险", "老年人意外伤害保险")
    assert (first.benefit, first.cause, first.green_channel) == ("意外身故", "溺水", True)
    # registered Monday 9 March 10:00 (sic: 09:00), paid Tuesday 10 March 10:00: 1 working day, target 2
    assert (first.working_days, first.target_working_days, first.met) == (1, 2, True)
    late = town.rows[2]
    assert (late.benefit, late.cause) == ("伤残1级", "高处坠落")
    # registered 2 March, paid 31 March 23:30 (after closing: counts from 1 April): 22 working days
    assert late.working_days == CAL.working_days_between(sh(2026, 3, 2, 9), sh(2026, 3, 31, 23, 30))
    assert late.met is (late.working_days <= 30)
    assert "同一事故第2笔" in town.rows[1].remark
    assert mask_name("欧阳娜娜") == "欧***" and mask_name("张") == "张*"


def test_declined_and_open_claims_and_the_summary_by_township(
    seeded: tuple[Sessions, dict[str, str]],
) -> None:
    sessions, n = seeded
    with unit_of_work(sessions) as s:
        r = build_monthly(s, COUNTY, MARCH, Edition.TOWNSHIP, CAL)
    kinds = {(o.kind, o.claim_number): o for o in r.others}
    declined = kinds[("拒赔", n["declined"])]
    assert declined.detail == "酒后驾驶机动车，属责任免除" and declined.stage == "已拒赔"
    opened = kinds[("未结", n["open"])]
    assert (opened.stage, opened.sla, opened.detail, opened.insured) == (
        "资料收集",
        "即将超期",
        "待补齐理赔资料",
        "周*",
    )
    assert len(r.others) == 2  # the April payment's claim is closed; 醴陵市 is elsewhere
    by_town = {t.township: t for t in r.summary}
    assert (by_town["大成桥镇"].paid_claims, by_town["大成桥镇"].payouts, by_town["大成桥镇"].amount) == (
        1,
        2,
        Decimal("132000.00"),
    )
    assert by_town["花明楼镇"].reported == 4 - 1  # late_march, early_april, open (declined is 大成桥镇)
    assert r.summary_total.amount == Decimal("172000.00")
    assert r.summary_total.reported == 5 and r.summary_total.closed == 4


# --------------------------------------------------------------------------- who may read it


def _services(sessions: Sessions, tmp_path: Path) -> Services:
    return Services(
        Settings(store=StoreSettings(data_dir=tmp_path)), sessions=sessions, client=cast(Client, object())
    )


def test_supervisors_and_auditors_of_the_county_only_and_names_for_supervisors(
    sqlite_sessions: Sessions, tmp_path: Path
) -> None:
    seed_month(sqlite_sessions)
    services = _services(sqlite_sessions, tmp_path)
    assert (
        monthly_report(services, SUPERVISOR, COUNTY, "2026-03", Edition.INTERNAL, CAL).rows[0].insured
        == "李四"
    )
    assert (
        monthly_report(services, AUDITOR, COUNTY, "2026-03", Edition.TOWNSHIP, CAL).rows[0].insured == "李*"
    )
    with pytest.raises(NotAllowed, match="internal edition"):
        monthly_report(services, AUDITOR, COUNTY, "2026-03", Edition.INTERNAL, CAL)
    for role in (Role.HANDLER, Role.INVESTIGATOR, Role.VILLAGE_SECRETARY):
        with pytest.raises(NotAllowed):
            monthly_report(services, Actor(id="x.y", role=role, county=COUNTY), COUNTY, "2026-03", cal=CAL)
    with pytest.raises(NotAllowed):
        monthly_report(services, None, COUNTY, "2026-03", cal=CAL)
    with pytest.raises(ClaimNotFound):
        monthly_report(
            services,
            Actor(id="sup.liling", role=Role.SUPERVISOR, county="醴陵市"),
            COUNTY,
            "2026-03",
            cal=CAL,
        )
    unscoped = Actor(id="prov.office", role=Role.SUPERVISOR)
    assert monthly_report(services, unscoped, "醴陵市", "2026-03", cal=CAL).total.amount == Decimal("5000.00")
    with pytest.raises(InputError) as e:
        monthly_report(services, SUPERVISOR, "宁" * 65, "2026-03", cal=CAL)
    assert e.value.field == "county"


# --------------------------------------------------------------------------- the files


def _report(sessions: Sessions, edition: Edition = Edition.TOWNSHIP) -> Any:
    with unit_of_work(sessions) as s:
        return build_monthly(s, COUNTY, MARCH, edition, CAL)


def test_the_workbook_reads_back_with_its_sheets_formats_formulas_and_print_setup(
    sqlite_sessions: Sessions,
) -> None:
    seed_month(sqlite_sessions)
    data = to_xlsx(_report(sqlite_sessions))
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["理赔明细", "本月拒赔及未结案件", "汇总"]
    ws = wb["理赔明细"]
    assert [c.value for c in ws[5]] == list(COLUMNS)
    assert "宁乡市" in ws["A1"].value and ws["A2"].value == "县(市、区)：宁乡市"
    assert ws.freeze_panes == "A6" and ws.auto_filter.ref.startswith("A5:")
    assert ws.print_title_rows == "$5:$5" and ws.page_setup.orientation == "landscape"
    assert ws.page_setup.paperSize == 9
    amount = COLUMNS.index("赔付金额(元)") + 1
    assert ws.cell(6, amount).value == 100000 and ws.cell(6, amount).number_format == "#,##0.00"
    accident = ws.cell(6, COLUMNS.index("出险日期") + 1)
    assert accident.value == datetime(2026, 2, 20) and accident.number_format == "yyyy-mm-dd"  # a date cell
    total_row = next(r for r in range(6, ws.max_row + 1) if ws.cell(r, 2).value == "合计")
    assert ws.cell(total_row, amount).value.startswith("=SUBTOTAL(9,")
    subtotal_rows = [r for r in range(6, ws.max_row + 1) if str(ws.cell(r, 2).value).endswith("小计")]
    assert len(subtotal_rows) == 2 and all(
        ws.cell(r, amount).value.startswith("=SUBTOTAL(9,") for r in subtotal_rows
    )
    cached = openpyxl.load_workbook(io.BytesIO(data), data_only=True)["理赔明细"]
    assert Decimal(str(cached.cell(total_row, amount).value)) == Decimal("172000")
    assert [cached.cell(r, amount).value for r in subtotal_rows] == [132000, 40000]
    others = wb["本月拒赔及未结案件"]
    assert {others.cell(r, 1).value for r in range(5, 7)} == {"拒赔", "未结"}
    summary = wb["汇总"]
    assert summary.cell(4, 1).value == "乡镇" and summary.cell(summary.max_row, 1).value == "合计"
    # the data's cut-off (its latest change, at most the month's end), not the clock
    assert wb.properties.created == datetime(2026, 3, 31, 16, 0)


def test_the_csv_starts_with_a_bom_and_carries_rows_subtotals_and_the_total(
    sqlite_sessions: Sessions,
) -> None:
    seed_month(sqlite_sessions)
    data = to_csv(_report(sqlite_sessions))
    assert data[:3] == b"\xef\xbb\xbf"
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == list(COLUMNS)
    amount = COLUMNS.index("赔付金额(元)")
    assert [r[amount] for r in rows[1:]] == [
        "100000.00",
        "32000.00",
        "132000.00",
        "40000.00",
        "40000.00",
        "172000.00",
    ]
    assert [r[0] for r in rows[1:]] == ["1", "2", "小计", "3", "小计", "合计"]


def test_html_pdf_and_xlsx_are_the_same_bytes_for_the_same_data_and_the_pdf_embeds_its_cjk_font(
    sqlite_sessions: Sessions, tmp_path: Path
) -> None:
    seed_month(sqlite_sessions)
    report = _report(sqlite_sessions)
    html = to_html(report)
    assert "<thead>" in html and "size: A4 landscape" in html and "display: table-header-group" in html
    assert "172,000.00" in html and "李*" in html and "李四" not in html
    for fmt in Format:
        again = render(_report(sqlite_sessions), fmt)
        assert hashlib.sha256(render(report, fmt)).hexdigest() == hashlib.sha256(again).hexdigest(), fmt
    pdf = to_pdf(report)
    assert pdf.startswith(b"%PDF-")
    fonts = set(re.findall(rb"/BaseFont\s*/([A-Z]{6}\+[A-Za-z0-9-]+)", _inflated(pdf)))
    assert any(b"WenQuanYi" in f for f in fonts), fonts  # a subset of the CJK font is embedded
    assert re.search(rb"/FontFile2|/FontFile3", _inflated(pdf))
    assert re.search(rb"/CreationDate \(D:(20260331160000|20260401000000)", _inflated(pdf)), "creation date"
    (tmp_path / "monthly.pdf").write_bytes(pdf)


def _inflated(pdf: bytes) -> bytes:
    """The PDF's bytes with every Flate stream inflated (object streams hold the font dicts)."""
    out = [pdf]
    for m in re.finditer(rb"stream\r?\n", pdf):
        start = m.end()
        try:
            out.append(zlib.decompressobj().decompress(pdf[start : start + 2_000_000]))
        except zlib.error:
            continue
    return b"\n".join(out)


# --------------------------------------------------------------------------- command line and console


def test_claims_monthly_writes_each_format_and_refuses_a_handler(
    sqlite_sessions: Sessions, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from starter import cli

    seed_month(sqlite_sessions)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'claims.db'}")
    monkeypatch.setenv("CLAIMS_COUNTY", COUNTY)
    from claims.infra.settings import get_settings

    get_settings.cache_clear() if hasattr(get_settings, "cache_clear") else None
    runner = CliRunner()
    out = tmp_path / "m.xlsx"
    args = [
        "--actor",
        "sup.ningxiang",
        "--role",
        "supervisor",
        "monthly",
        "--county",
        COUNTY,
        "--month",
        "2026-03",
    ]
    r = runner.invoke(cli, [*args, "--format", "xlsx", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "172,000.00 yuan (ledger 172,000.00)" in r.output
    ws = openpyxl.load_workbook(out, data_only=True)["理赔明细"]
    assert "李*" in [c.value for c in ws["C"]]
    r = runner.invoke(
        cli, [*args, "--format", "csv", "--edition", "internal", "--out", str(tmp_path / "m.csv")]
    )
    assert r.exit_code == 0 and (tmp_path / "m.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    assert "李四" in (tmp_path / "m.csv").read_text("utf-8-sig")
    r = runner.invoke(cli, ["--actor", "h.a", "--role", "handler", *args[4:], "--out", str(tmp_path / "x")])
    assert r.exit_code == 2 and "may not read it" in r.output
    r = runner.invoke(cli, [*args[:-1], "2026-13", "--out", str(tmp_path / "x")])
    assert r.exit_code == 2 and "month" in r.output


async def test_the_console_serves_the_page_and_downloads_to_the_countys_supervisor_only(
    sqlite_sessions: Sessions, tmp_path: Path
) -> None:
    seed_month(sqlite_sessions)
    services = _services(sqlite_sessions, tmp_path)
    accounts.add_user(services, "sup.ningxiang", "supervisor", PASSWORD, county=COUNTY)
    accounts.add_user(services, "sup.liling", "supervisor", PASSWORD, county="醴陵市")
    accounts.add_user(services, "aud.ningxiang", "auditor", PASSWORD, county=COUNTY)
    accounts.add_user(services, "handler.a", "handler", PASSWORD, county=COUNTY)
    app = create_app(services)

    async def as_user(user: str) -> httpx.AsyncClient:
        c = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://console.test")
        page = await c.get("/login")
        token = re.search(r'name="csrftoken" value="([^"]+)"', page.text)
        assert token
        r = await c.post(
            "/login", data={"username": user, "password": PASSWORD, "csrftoken": token.group(1), "next": ""}
        )
        assert r.status_code == 303
        return c

    url = "/reports/monthly/宁乡市/2026-03"
    sup = await as_user("sup.ningxiang")
    page = await sup.get(url)
    assert page.status_code == 200 and "172,000.00" in page.text and "李*" in page.text
    assert '<link rel="stylesheet" href="/reports/monthly.css">' in page.text
    css = await sup.get("/reports/monthly.css")
    assert css.status_code == 200 and "A4 landscape" in css.text
    xlsx = await sup.get(url + ".xlsx?edition=internal")
    assert xlsx.status_code == 200 and "attachment" in xlsx.headers["content-disposition"]
    ws = openpyxl.load_workbook(io.BytesIO(xlsx.content), data_only=True)["理赔明细"]
    assert "李四" in [c.value for c in ws["C"]]
    total = [r for r in ws.iter_rows(values_only=True) if r[1] == "合计"][0]
    assert Decimal(str(total[COLUMNS.index("赔付金额(元)")])) == Decimal("172000")
    csv_r = await sup.get(url + ".csv")
    assert csv_r.status_code == 200 and csv_r.content.startswith(b"\xef\xbb\xbf")
    pdf = await sup.get(url + ".pdf")
    assert (
        pdf.status_code == 200
        and pdf.content.startswith(b"%PDF-")
        and pdf.headers["content-type"] == "application/pdf"
    )
    assert (await sup.get("/reports/monthly/宁乡市/2026-13.xlsx")).status_code == 422
    entry = await sup.get("/reports/monthly?month=2026-03")  # the navigation's link: own county
    assert entry.status_code == 303
    assert entry.headers["location"] == "/reports/monthly/%E5%AE%81%E4%B9%A1%E5%B8%82/2026-03"
    assert (await sup.get(url + ".doc")).status_code == 422
    aud = await as_user("aud.ningxiang")
    assert (await aud.get(url + ".csv")).status_code == 200
    assert (await aud.get(url + ".csv?edition=internal")).status_code == 403
    other = await as_user("sup.liling")
    assert (await other.get(url + ".xlsx")).status_code == 404
    handler = await as_user("handler.a")
    assert (await handler.get(url)).status_code == 403
    anonymous = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://console.test")
    assert (await anonymous.get(url + ".xlsx")).status_code in (303, 401)
    for c in (sup, aud, other, handler, anonymous):
        await c.aclose()


# --------------------------------------------------------------------------- the demo


@pytest.mark.e2e
def test_after_the_demo_the_ningxiang_month_totals_40000(tmp_path: Path) -> None:
    from tests.test_e2e import free_port, run_demo

    demo = run_demo(tmp_path, free_port(), free_port())
    assert demo.returncode == 0, demo.stderr[-3000:]
    with sqlite3.connect(tmp_path / "claims.db") as db:
        (paid_at,) = db.execute(
            "select p.paid_at from payouts p join claims c on c.claim_number = p.claim_number"
            " where c.county = '宁乡市'"
        ).fetchone()
    paid = datetime.fromisoformat(str(paid_at))
    month = (paid.replace(tzinfo=paid.tzinfo or UTC) + timedelta(hours=8)).strftime("%Y-%m")
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("TEMPORAL_ADDRESS", "DATABASE_URL", "CLAIMS_DATABASE_URL")
    }
    env.update(
        CLAIMS_DATA_DIR=str(tmp_path),
        CLAIMS_ACTOR="sup.ningxiang",
        CLAIMS_ROLE="supervisor",
        CLAIMS_COUNTY=COUNTY,
    )
    out = tmp_path / "demo.xlsx"
    run = subprocess.run(
        [
            str(BIN / "claims"),
            "monthly",
            "--county",
            COUNTY,
            "--month",
            month,
            "--format",
            "xlsx",
            "--out",
            str(out),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    ws = openpyxl.load_workbook(out, data_only=True)["理赔明细"]
    rows = list(ws.iter_rows(values_only=True))
    total = [r for r in rows if r[1] == "合计"][0]
    assert f"{Decimal(str(total[COLUMNS.index('赔付金额(元)')])):,.2f}" == "40,000.00"
    detail = [r for r in rows if r[1] == "JS20210626-P0001"]
    assert len(detail) == 1 and detail[0][COLUMNS.index("乡镇")] == "大成桥镇"
    assert detail[0][COLUMNS.index("出险原因")] in ("高处坠落", "跌倒")
