"""The monthly claims report by township (理赔明细) as typed data: rows, subtotals, sheets.

One job: :func:`build_monthly` turns one county's month (payment dates in Asia/Shanghai) of
store rows (``claims.store.monthly``) into a :class:`MonthlyReport`: one :class:`PayoutRow`
per payout (two policies answering one event are two rows) with the working days taken on the
project's calendar against the claim's target, township subtotals and the total; the month's
declined and still-open claims; and a summary by township. Money is ``Decimal`` yuan here,
never float. The writers (``claims.reports.formats``) only lay it out.

Editions: ``township`` (what is handed to townships: insured persons' names masked ``张*``)
and ``internal`` (full names). Identity numbers are masked in both. Who may have which edition
is the service's decision (``claims.services.monthly``).

Sits below the activities so a scheduled workflow's activity can build the same report.
"""

from __future__ import annotations

import gc
import re
import statistics
import unicodedata
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache

from sqlalchemy.orm import Session

from claims.domain.identity import mask_id_number
from claims.domain.timeutil import SHANGHAI
from claims.domain.workdays import WorkingCalendar
from claims.errors import InputError
from claims.models.bounds import MAX_DATE, MIN_DATE, PLACE_LEN
from claims.store import monthly as sql

ZERO = Decimal("0.00")

ISSUER = "计划生育协会理赔服务中心"
"""制表单位 printed in the title block."""


class Edition(StrEnum):
    """Which names the report shows: ``township`` masks them, ``internal`` shows them."""

    TOWNSHIP = "township"
    INTERNAL = "internal"


KIND_ZH = {
    "accidental_death": "意外身故",
    "accidental_disability": "伤残",
    "accident_medical": "医疗",
    "hospital_cash": "住院津贴",
    "critical_illness": "重大疾病",
}
"""给付责任 by benefit kind (disability gets its grade: 伤残1级)."""

CAUSE_ZH = {
    "drowning": "溺水",
    "road_accident": "交通事故",
    "fall_from_height": "高处坠落",
    "fall": "跌倒",
    "fire": "火灾",
    "electric_shock": "触电",
    "poisoning": "中毒",
    "animal_bite": "动物咬伤",
    "illness": "疾病",
}
"""出险原因 by cause code (an unknown code is shown as it is)."""

STAGE_ZH = {
    "reported": "已报案待立案",
    "documents": "资料收集",
    "investigation": "调查",
    "adjudication": "待核定",
    "payout": "待赔付",
    "closed": "已结案",
    "declined": "已拒赔",
}
"""Stage names in Chinese."""

SLA_ZH = {
    "on_track": "正常",
    "at_risk": "即将超期",
    "breached": "已超期",
    "paused": "暂停·等待资料",
    "met": "已达标",
    "stuck": "处理受阻",
}
"""SLA states in Chinese."""

WAITING_FOR = {
    "reported": "待立案",
    "documents": "待补齐理赔资料",
    "investigation": "待调查结论",
    "adjudication": "待核定",
    "payout": "待支付（或待审批）",
}
"""What an open claim waits for, by stage (the documents themselves are on the claim page)."""

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True, order=True)
class Month:
    """A calendar month; its instants are bounded in Asia/Shanghai time."""

    year: int
    month: int

    @classmethod
    def parse(cls, text: str, field_name: str = "month") -> Month:
        """``YYYY-MM`` within the engine's dates.

        Raises:
            claims.errors.InputError: naming ``field_name``.
        """
        m = _MONTH.match(text or "")
        if not m or not 1 <= int(m.group(2)) <= 12:
            raise InputError(field_name, f"{text!r} is not a month YYYY-MM")
        month = cls(int(m.group(1)), int(m.group(2)))
        if not MIN_DATE <= month.first <= MAX_DATE:
            raise InputError(field_name, f"{text} is outside {MIN_DATE:%Y-%m} .. {MAX_DATE:%Y-%m}")
        return month

    @property
    def first(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def next(self) -> Month:
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    @property
    def last(self) -> date:
        return self.next.first - timedelta(days=1)

    @property
    def start(self) -> datetime:
        """00:00 Asia/Shanghai of the first day."""
        return datetime.combine(self.first, datetime.min.time(), tzinfo=SHANGHAI)

    @property
    def end(self) -> datetime:
        """00:00 Asia/Shanghai of the next month's first day (exclusive)."""
        return self.next.start

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


def check_county(county: str) -> str:
    """A county name as it enters: non-empty, at most 64 characters, no control characters.

    Raises:
        claims.errors.InputError: ``county``.
    """
    if not county or not county.strip():
        raise InputError("county", "is empty")
    if len(county) > PLACE_LEN:
        raise InputError("county", f"is longer than {PLACE_LEN} characters")
    if any(unicodedata.category(c) in ("Cc", "Cf") for c in county):
        raise InputError("county", "contains control or direction characters")
    return county.strip()


def mask_name(name: str) -> str:
    """The township edition's name: the first character kept, the rest ``*`` (``张*``, ``欧**``)."""
    name = name.strip()
    if not name:
        return ""
    return name[0] + "*" * max(1, len(name) - 1)


@lru_cache(maxsize=1)
def _product_names() -> dict[str, str]:
    """Chinese product name by terms version and by product code (the terms catalogue)."""
    from rules.terms import load_catalogue

    names: dict[str, str] = {}
    for loaded in load_catalogue():
        t = loaded.terms
        names[t.terms_version] = t.name_zh
        names.setdefault(t.product_code, t.name_zh)
    return names


def product_name(terms_version: str, product_code: str) -> str:
    """险种: the product's Chinese name, else its code."""
    names = _product_names()
    return names.get(terms_version) or names.get(product_code) or product_code


def benefit_label(kind: str, grade: int | None) -> str:
    """给付责任: 意外身故, 伤残N级, 医疗, 住院津贴 … (the kind's code when unknown)."""
    label = KIND_ZH.get(kind, kind)
    if kind == "accidental_disability" and grade:
        label = f"伤残{grade}级"
    return label


@dataclass(frozen=True)
class PayoutRow:
    """One line of 理赔明细 (one payout). ``working_days`` None: the claim has no registration
    time; ``met`` None then too."""

    seq: int
    claim_number: str
    insured: str
    id_number: str
    policy_number: str
    product: str
    accident_date: date
    cause: str
    reported_on: date
    registered_on: date | None
    benefit: str
    amount: Decimal
    paid_on: date
    working_days: int | None
    target_working_days: int | None
    met: bool | None
    green_channel: bool
    township: str
    village: str
    handler: str
    remark: str


@dataclass(frozen=True)
class Subtotal:
    """A township's subtotal of 理赔明细 (``township`` ``""``: the 合计 line)."""

    township: str
    payouts: int
    claims: int
    amount: Decimal


@dataclass(frozen=True)
class OtherClaim:
    """A line of 本月拒赔及未结案件: declined (with reasons) or open (stage, SLA, what it waits for)."""

    kind: str  # 拒赔 or 未结
    claim_number: str
    insured: str
    id_number: str
    policy_numbers: str
    accident_date: date
    reported_on: date
    stage: str
    sla: str
    detail: str
    township: str
    village: str
    handler: str


@dataclass(frozen=True)
class TownshipSummary:
    """A line of 汇总: claims reported in the month, finished of them, claims paid, payouts and
    amount, the median working days to pay and the share of paid claims within target, per claim
    (a claim's last payment of the month; None: no payouts)."""

    township: str
    reported: int
    closed: int
    paid_claims: int
    payouts: int
    amount: Decimal
    median_working_days: float | None
    within_target_pct: Decimal | None


@dataclass(frozen=True)
class MonthlyReport:
    """The whole report of one county and month, ready to lay out."""

    county: str
    month: Month
    edition: Edition
    issuer: str
    as_of: datetime
    rows: list[PayoutRow]
    subtotals: list[Subtotal]
    total: Subtotal
    others: list[OtherClaim]
    summary: list[TownshipSummary]
    summary_total: TownshipSummary
    ledger_total: Decimal = field(default=ZERO)

    @property
    def made_on(self) -> date:
        """制表日期: the day of the data's cut-off in Asia/Shanghai (the same for the same data)."""
        return self.as_of.astimezone(SHANGHAI).date()

    @property
    def period(self) -> str:
        """统计期间 in words."""
        return f"{self.month.first:%Y年%m月%d日} 至 {self.month.last:%Y年%m月%d日}（北京时间，按赔付日期）"

    @property
    def edition_zh(self) -> str:
        return "乡镇通报版（姓名脱敏）" if self.edition is Edition.TOWNSHIP else "内部版（含全名）"

    def rows_by_township(self) -> list[tuple[Subtotal, list[PayoutRow]]]:
        """The rows grouped under their township's subtotal, in report order."""
        groups: dict[str, list[PayoutRow]] = defaultdict(list)
        for r in self.rows:
            groups[r.township].append(r)
        return [(s, groups[s.township]) for s in self.subtotals]


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a report is built, then restore it.

    A county-month of 5,000 payouts allocates a few hundred thousand short-lived objects (rows,
    cells, XML strings) that hold no reference cycles; the collector's full passes over them
    took more than half the xlsx's time (bench/bench_monthly.py: 2.8 s with, 1.2 s without).
    Reference counting still frees everything at once; only cycle detection waits until the
    block ends. Nested and concurrent uses leave the collector as it was before the first.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _local_date(t: datetime) -> date:
    return t.astimezone(SHANGHAI).date()


def _pct(part: int, whole: int) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"))


def build_monthly(
    session: Session,
    county: str,
    month: Month,
    edition: Edition = Edition.TOWNSHIP,
    cal: WorkingCalendar | None = None,
    issuer: str = ISSUER,
) -> MonthlyReport:
    """Read and shape the report of ``county`` for ``month`` in the caller's transaction.

    Working days: from registration (立案) to the payment, on ``cal`` (the project's calendar;
    ``claims.domain.workdays``); "met" when they are within the claim's target.

    Deterministic: the same rows give the same report, ``as_of`` included (the latest change
    of the county's data up to the month's end, or the month's end when there is none).
    """
    with fewer_collections():
        return _build(session, county, month, edition, cal or WorkingCalendar(), issuer)


def _build(
    session: Session, county: str, month: Month, edition: Edition, cal: WorkingCalendar, issuer: str
) -> MonthlyReport:
    start, end = month.start, month.end
    lines = sql.payouts_of_month(session, county, start, end)
    declined = sql.declined_in_month(session, county, start, end)
    still_open = sql.open_at_month_end(session, county, end)
    reported = {r.township: r for r in sql.reported_in_month(session, county, start, end)}
    ledger = sql.ledger_total(session, county, start, end)
    as_of = sql.latest_change(session, county, end) or end
    as_of = min(as_of, end)

    def name(n: str) -> str:
        return n if edition is Edition.INTERNAL else mask_name(n)

    per_claim: dict[str, int] = defaultdict(int)
    for ln in lines:
        per_claim[ln.claim_number] += 1
    taken: dict[tuple[datetime, datetime], int] = {}  # working days, once per claim's payment time
    rows: list[PayoutRow] = []
    for i, ln in enumerate(lines, 1):
        days = None
        if ln.registered_at is not None and ln.registered_at <= ln.paid_at:
            key = (ln.registered_at, ln.paid_at)
            if key not in taken:
                taken[key] = cal.working_days_between(ln.registered_at, ln.paid_at)
            days = taken[key]
        target = ln.target_working_days
        remark = []
        if ln.payment_number > 1 or per_claim[ln.claim_number] > 1:
            remark.append(f"同一事故第{ln.payment_number}笔")
        if ln.outcome == "death":
            remark.append("受益人领取")
        rows.append(
            PayoutRow(
                seq=i,
                claim_number=ln.claim_number,
                insured=name(ln.insured_name),
                id_number=mask_id_number(ln.id_number),
                policy_number=ln.policy_number,
                product=product_name(ln.terms_version, ln.product_code),
                accident_date=ln.accident_date,
                cause=CAUSE_ZH.get(ln.facts.cause, ln.facts.cause),
                reported_on=ln.reported_on,
                registered_on=_local_date(ln.registered_at) if ln.registered_at else None,
                benefit=benefit_label(ln.kind, ln.facts.disability_grade),
                amount=ln.amount,
                paid_on=_local_date(ln.paid_at),
                working_days=days,
                target_working_days=target,
                met=(days <= target) if days is not None and target is not None else None,
                green_channel=ln.green_channel,
                township=ln.township,
                village=ln.village,
                handler=ln.handler or "",
                remark="；".join(remark),
            )
        )

    subtotals: list[Subtotal] = []
    by_town: dict[str, list[PayoutRow]] = defaultdict(list)
    for r in rows:
        by_town[r.township].append(r)
    for town, rs in by_town.items():
        subtotals.append(
            Subtotal(town, len(rs), len({r.claim_number for r in rs}), sum((r.amount for r in rs), ZERO))
        )
    total = Subtotal("", len(rows), len({r.claim_number for r in rows}), sum((r.amount for r in rows), ZERO))

    others: list[OtherClaim] = []
    for c in declined:
        reasons = "；".join(c.facts.decline_reasons) or "（拒赔理由见赔案）"
        others.append(_other("拒赔", c, name, reasons))
    for c in still_open:
        others.append(_other("未结", c, name, WAITING_FOR.get(c.stage, "")))

    summary: list[TownshipSummary] = []
    finished_declined: dict[str, int] = defaultdict(int)
    for c in declined:
        finished_declined[c.township] += 1
    towns = sorted(set(by_town) | set(reported) | set(finished_declined))
    for town in towns:
        summary.append(_summary(town, by_town.get(town, []), reported.get(town)))
    all_reported = sql.ReportedCount(
        "", sum(r.reported for r in reported.values()), sum(r.finished for r in reported.values())
    )
    summary_total = _summary("", rows, all_reported)

    return MonthlyReport(
        county=county,
        month=month,
        edition=edition,
        issuer=issuer,
        as_of=as_of,
        rows=rows,
        subtotals=subtotals,
        total=total,
        others=others,
        summary=summary,
        summary_total=summary_total,
        ledger_total=ledger,
    )


def _other(kind: str, c: sql.ClaimLine, name: object, detail: str) -> OtherClaim:
    return OtherClaim(
        kind=kind,
        claim_number=c.claim_number,
        insured=name(c.insured_name),  # type: ignore[operator]
        id_number=mask_id_number(c.id_number),
        policy_numbers="、".join(p for p in c.policy_numbers.split(",") if p),
        accident_date=c.accident_date,
        reported_on=_local_date(c.reported_at),
        stage=STAGE_ZH.get(c.stage, c.stage),
        sla=SLA_ZH.get(c.sla_state, c.sla_state),
        detail=detail,
        township=c.township,
        village=c.village,
        handler=c.handler or "",
    )


def _summary(town: str, rows: list[PayoutRow], reported: sql.ReportedCount | None) -> TownshipSummary:
    # per claim (two payouts of one event are one claim): its last payment's working days
    per_claim: dict[str, PayoutRow] = {}
    for r in rows:
        kept = per_claim.get(r.claim_number)
        if kept is None or (r.working_days or 0) >= (kept.working_days or 0):
            per_claim[r.claim_number] = r
    days = [r.working_days for r in per_claim.values() if r.working_days is not None]
    judged = [r for r in per_claim.values() if r.met is not None]
    return TownshipSummary(
        township=town,
        reported=reported.reported if reported else 0,
        closed=reported.finished if reported else 0,
        paid_claims=len(per_claim),
        payouts=len(rows),
        amount=sum((r.amount for r in rows), ZERO),
        median_working_days=float(statistics.median(days)) if days else None,
        within_target_pct=_pct(sum(bool(r.met) for r in judged), len(judged)),
    )
