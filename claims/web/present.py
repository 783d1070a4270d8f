"""How the console words a claim for people: SLA clocks in words and colours, stage, role,
outcome, document and timeline names in Chinese (English second) and masked names.
(A refused step's reason is translated by its code in ``claims.web.i18n``.)

One job: turn engine values into the words a handler reads. Pure functions of their
arguments (a fixed ``now`` and a ``WorkingCalendar`` are passed in), so the wording is tested
with fixed dates; no I/O beyond reading the document checklist's names once.

Counting, on the project's working-day calendar (Asia/Shanghai; ``claims.domain.workdays``):

* "剩余 N 个工作日": the working days after today up to the due date (a deadline falls due at
  the close of its day, 17:30); 0 is "今日到期".
* "超期 N 天": the working days after the due date up to today; an overdue claim on its due day
  (after 17:30) is "已超期".
* "暂停·等待资料": the resolution clock is paused while waiting on the claimant.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from claims.domain.timeutil import SHANGHAI, local
from claims.domain.workdays import WorkingCalendar
from claims.models import ClaimState, SlaClock
from claims.models.bounds import printable
from claims.services import console

# --------------------------------------------------------------------------- words


def is_zh(locale: str | None) -> bool:
    """True unless the locale is English (Chinese is the console's first language)."""
    return not (locale or "zh_CN").lower().startswith("en")


class Words:
    """``L(zh, en)`` in templates: the Chinese or the English of a label by the page's locale."""

    def __init__(self, locale: str | None) -> None:
        self.locale = locale or "zh_CN"
        self.zh = is_zh(locale)

    def __call__(self, zh: str, en: str) -> str:
        return zh if self.zh else en


# Stage and role words as ``claims.web.i18n.STAGES``/``ROLES`` and their catalogs say them.
STAGES: Mapping[str, tuple[str, str]] = {
    "reported": ("报案", "Reported"),
    "documents": ("资料收集", "Collecting documents"),
    "investigation": ("调查", "Investigation"),
    "adjudication": ("核定", "Adjudication"),
    "payout": ("赔付", "Payout"),
    "closed": ("结案", "Closed"),
    "declined": ("拒赔", "Declined"),
    "withdrawn": ("撤案", "Withdrawn"),
}

ROLES: Mapping[str, tuple[str, str]] = {
    "village_secretary": ("村计生协秘书长", "Village secretary"),
    "handler": ("理赔员", "Claims handler"),
    "investigator": ("调查员", "Investigator"),
    "supervisor": ("主管", "Supervisor"),
    "auditor": ("审计", "Auditor"),
    "system": ("系统", "Engine"),
}

OUTCOMES: Mapping[str, tuple[str, str]] = {
    "death": ("身故", "death"),
    "disability": ("伤残", "disability"),
    "medical": ("医疗", "medical"),
    "illness": ("疾病", "illness"),
}

EVENTS: Mapping[str, tuple[str, str]] = {
    "reported": ("报案", "reported"),
    "registered": ("立案", "registered"),
    "triaged": ("分流", "triaged"),
    "documents_checklist": ("资料清单", "document checklist"),
    "documents_requested": ("一次性告知补充资料", "documents requested"),
    "documents_received": ("收到资料", "documents received"),
    "document_rejected": ("退回资料", "document sent back"),
    "documents_complete": ("资料齐全", "documents complete"),
    "investigation_requested": ("申请调查", "investigation requested"),
    "investigation_recorded": ("调查结论", "investigation recorded"),
    "referred_to_consultation": ("提交会商", "referred to consultation"),
    "adjudicated": ("核定", "adjudicated"),
    "payout_approved": ("审批", "payout approved"),
    "finding_overridden": ("推翻调查结论", "finding overridden"),
    "paid": ("赔付", "paid"),
    "declined": ("拒赔", "declined"),
    "decline_notice_sent": ("拒赔通知已发出", "decline notice sent"),
    "reassigned": ("改派", "reassigned"),
    "sla_started": ("时限开始", "clock started"),
    "sla_warning": ("时限预警", "clock warning"),
    "sla_breached": ("超期", "clock breached"),
    "sla_paused": ("时限暂停", "clock paused"),
    "sla_resumed": ("时限恢复", "clock resumed"),
    "sla_recomputed": ("时限重算", "deadline recomputed"),
    "sla_stopped": ("时限停止", "clock stopped"),
    "unstuck": ("恢复", "unstuck"),
    "withdrawn": ("撤案", "withdrawn"),  # issue 17
    "closed": ("注销（重复/误报）", "closed (duplicate or error)"),
    "reopened": ("重开", "reopened"),
    "advance_paid": ("先予支付", "advance paid"),
    "receivable": ("追偿", "to be recovered"),
    "receivable_cancelled": ("取消追偿", "recovery cancelled"),
}

CLOCKS: Mapping[str, tuple[str, str]] = {
    "registration": ("立案时限", "registration"),
    "resolution": ("结案时限", "resolution"),
    "art23_decision": ("核定时限（保险法第23条）", "decision (Insurance Law art. 23)"),
    "art23_payment": ("赔付时限（保险法第23条）", "payment (Insurance Law art. 23)"),
    "art24_refusal_notice": ("拒赔通知时限（保险法第24条）", "refusal notice (art. 24)"),
    "art25_advance_payment": ("先予支付（保险法第25条）", "advance payment (art. 25)"),
}


def _pick(table: Mapping[str, tuple[str, str]], key: str, locale: str | None) -> str:
    pair = table.get(key)
    if pair is None:
        return printable(key)
    return pair[0] if is_zh(locale) else pair[1]


def stage_name(stage: str, locale: str | None = None) -> str:
    """报案, 资料收集, 调查, 核定, 赔付, 结案, 拒赔 (the words of ``claims.web.i18n.STAGES``)."""
    return _pick(STAGES, str(stage), locale)


def role_name(role: str, locale: str | None = None) -> str:
    """理赔员, 村计生协秘书长, ..."""
    return _pick(ROLES, str(role), locale)


def outcome_name(outcome: str | None, locale: str | None = None) -> str:
    """身故, 伤残, 医疗, 疾病 ("-" for none)."""
    return "-" if not outcome else _pick(OUTCOMES, str(outcome), locale)


def event_name(event: str, locale: str | None = None) -> str:
    """A timeline event in words (立案, 核定, ...); an unknown event as it was recorded."""
    return _pick(EVENTS, event, locale)


def clock_target(clock: SlaClock, locale: str | None = None) -> str:
    """A clock's target in words: 当日 (the same working day), 5 个工作日, 30 天 (calendar
    days, statutory), with the paused working days that moved it (+3)."""
    zh = is_zh(locale)
    if clock.calendar_days:
        text = f"{clock.calendar_days} 天" if zh else f"{clock.calendar_days} days"
    elif clock.target_working_days == 0:
        text = "当日" if zh else "same working day"
    else:
        n = clock.target_working_days
        text = f"{n} 个工作日" if zh else f"{n} working day{'s' if n != 1 else ''}"
    if clock.paused_working_days:
        text += f" (+{clock.paused_working_days})"
    return text


def clock_name(name: str, locale: str | None = None) -> str:
    """立案时限, 结案时限, ..."""
    return _pick(CLOCKS, name, locale)


@lru_cache(maxsize=1)
def _document_names() -> dict[str, tuple[str, str]]:
    from rules.documents import load_checklist

    return dict(load_checklist().documents)


def document_name(code: str, locale: str | None = None) -> str:
    """理赔申请书 for ``claim_form``; a document outside the checklist as it was recorded."""
    return _pick(_document_names(), code, locale)


def document_codes() -> list[str]:
    """Every document of the checklist, in its file's order (for the step forms' choices)."""
    return list(_document_names())


def mask_name(name: str | None) -> str:
    """The first character and one star per other character (张三 → 张*, 王小明 → 王**), so a
    list never shows a full name."""
    if not name:
        return "-"
    name = printable(name.strip())
    if len(name) <= 1:
        return name + "*"
    return name[0] + "*" * (len(name) - 1)


def yuan(amount: Decimal | None) -> str:
    """40,000.00 (two decimals, thousands separated)."""
    return "-" if amount is None else f"{amount:,.2f}"


def when(instant: dt.datetime | None) -> str:
    """An instant in Asia/Shanghai (``2026-12-02 10:00``); "-" when unset."""
    return "-" if instant is None else local(instant)


# --------------------------------------------------------------------------- SLA badges


@dataclass(frozen=True)
class Badge:
    """An SLA clock in words and a colour.

    Attributes:
        text: the Chinese words ("剩余 3 个工作日", "超期 2 天", "暂停·等待资料").
        text_en: the English words.
        tone: ``ok`` (green), ``warn`` (amber: due today or at risk), ``late`` (red),
            ``paused`` (grey), ``done`` (stopped), ``none`` (no deadline yet).
    """

    text: str
    text_en: str
    tone: str

    def words(self, locale: str | None = None) -> str:
        """The badge's words in the page's language."""
        return self.text if is_zh(locale) else self.text_en


def _working_days_in(cal: WorkingCalendar, after: dt.date, upto: dt.date) -> int:
    """Working days d with after < d <= upto, on the calendar's own counting
    (``working_days_between`` from the close of ``after`` to the close of ``upto`` leaves out
    ``upto`` itself when it is a working day)."""
    if upto <= after:
        return 0
    close = cal.closing_time
    start = dt.datetime.combine(after, close, tzinfo=SHANGHAI)
    end = dt.datetime.combine(upto, close, tzinfo=SHANGHAI)
    return cal.working_days_between(start, end) + (1 if cal.is_working_day(upto) else 0)


def sla_badge(
    due_at: dt.datetime | None,
    now: dt.datetime,
    cal: WorkingCalendar,
    *,
    sla_state: str | None = None,
    paused: bool = False,
    stopped: bool = False,
    breached: bool = False,
) -> Badge:
    """The badge of a deadline at ``now`` (aware instants).

    Args:
        due_at: the deadline (None: not set yet).
        sla_state: the claim's SLA state from the projection (``at_risk`` turns a running
            clock amber, ``breached`` red even before the count reaches a day).
        paused: the clock is paused waiting on the claimant.
        stopped: the clock stopped (its work was done).
        breached: the clock breached (red, whatever ``now`` is).
    """
    if stopped and not breached:
        return Badge("已完成", "done", "done")
    if paused:
        return Badge("暂停·等待资料", "paused · waiting for documents", "paused")
    if due_at is None:
        return Badge("未设时限", "no deadline yet", "none")
    today = now.astimezone(SHANGHAI).date()
    due_day = due_at.astimezone(SHANGHAI).date()
    if now > due_at or breached or sla_state == "breached":
        late = _working_days_in(cal, due_day, today)
        if late == 0:
            return Badge("已超期", "overdue", "late")
        return Badge(f"超期 {late} 天", f"{late} working day{'s' if late != 1 else ''} overdue", "late")
    left = _working_days_in(cal, today, due_day)
    if left == 0:
        return Badge("今日到期", "due today", "warn")
    tone = "warn" if left <= 1 or sla_state == "at_risk" else "ok"
    return Badge(
        f"剩余 {left} 个工作日", f"{left} working day{'s' if left != 1 else ''} left", tone
    )


def clock_badge(clock: SlaClock, now: dt.datetime, cal: WorkingCalendar) -> Badge:
    """The badge of one of a claim's clocks (``ClaimState.clocks``)."""
    return sla_badge(
        clock.deadline.due_at,
        now,
        cal,
        paused=clock.paused_since is not None and clock.stopped_at is None,
        stopped=clock.stopped_at is not None,
        breached=clock.breached,
    )


def current_clock(state: ClaimState) -> SlaClock | None:
    """The claim's programme clock that runs now (registration, then resolution): the one the
    header's badge shows; None when none runs."""
    running = [c for c in state.clocks if c.kind.value == "programme" and c.stopped_at is None]
    return running[-1] if running else None


def missing_documents(state: ClaimState) -> list[str]:
    """Checklist and requested documents neither received nor waived, in checklist order
    (``claims.services.console.missing_documents``)."""
    return console.missing_documents(state)


@dataclass(frozen=True)
class ChecklistLine:
    """One document of the claim page's checklist: required, requested, received, waived."""

    code: str
    required: bool
    requested: bool
    received: bool
    waived_reason: str | None

    @property
    def missing(self) -> bool:
        """Needed and neither received nor waived."""
        return (self.required or self.requested) and not self.received and self.waived_reason is None


def checklist(state: ClaimState) -> list[ChecklistLine]:
    """The claim's documents: the checklist, then requested ones off it, then received extras."""
    waived = {w.document: w.reason for w in state.documents_waived}
    codes = list(
        dict.fromkeys(
            state.documents_required + state.documents_requested + state.documents_received + list(waived)
        )
    )
    return [
        ChecklistLine(
            code=c,
            required=c in state.documents_required,
            requested=c in state.documents_requested,
            received=c in state.documents_received,
            waived_reason=waived.get(c),
        )
        for c in codes
    ]
