"""The auditor's pages: ``GET /audit`` (search and recently closed claims), ``GET /audit/{number}``
(the claim's audit, read-only), ``GET /audit/{number}.json`` (the export) and
``POST /audit/{number}/replay`` (replay against the current code, the outcome on the page);
also their stylesheet ``/assets/audit.css``.

One job: show what ``claims audit N`` reads from the workflow history (who did what and when,
in Asia/Shanghai time, stage changes, rule ids, patches, SLA events, the decision and the
payouts), through ``claims.services.auditing``, for auditors and supervisors; another role
gets 403, a claim outside the reader's county (or none at all) 404. The JSON export is exactly
``claims audit N --json``'s output. No step form is ever rendered here, and the step routes
keep refusing an auditor (the registry and the workflow's validator).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from claims.audit import AuditReport, ReplayReport
from claims.errors import InputError
from claims.models import Actor
from claims.models.bounds import printable
from claims.models.steps import STEP_RULES
from claims.services import auditing
from claims.services.context import Services
from claims.web import present
from claims.web.deps import current_actor, get_services
from claims.web.templating import env, locale_of, render

router = APIRouter()

KINDS: dict[str, tuple[str, str]] = {
    "reported": ("报案", "reported"),
    "step": ("处理步骤", "step"),
    "step_failed": ("步骤被拒", "step refused"),
    "triaged": ("分流", "triaged"),
    "sla_target": ("时效标准", "SLA target"),
    "sla_started": ("时限开始", "clock started"),
    "sla_recomputed": ("时限重算", "deadline recomputed"),
    "sla_paused": ("时限暂停", "clock paused"),
    "sla_breached": ("超期", "clock breached"),
    "notice": ("通知", "notice"),
    "decision": ("核定结果", "decision"),
    "payout": ("赔付", "payout"),
    "archived": ("归档", "archived"),
    "activity": ("后台处理", "activity"),
    "activity_failed": ("后台处理失败", "activity failed"),
    "signal": ("信号", "signal"),
    "marker": ("版本补丁", "patch marker"),
    "workflow_task_failed": ("工作流任务失败", "workflow task failed"),
    "closed": ("结束", "closed"),
}
"""The audit timeline's kinds of entry, Chinese and English (others: the timeline's event names)."""

OUTCOMES: dict[str, tuple[str, str, str]] = {
    "ok": (
        "历史可按当前代码重放，核定结果与当前规则一致",
        "the history replays with the current code; the current rules decide the same",
        "ok",
    ),
    "decision_differs": (
        "历史可重放，但当前规则的核定结果不同",
        "the history replays, but the current rules decide differently",
        "warn",
    ),
    "nondeterministic": (
        "当前代码无法重放此历史（非确定性）",
        "the current code does not replay this history (nondeterministic)",
        "late",
    ),
    "replay_failed": ("重放失败", "the replay failed", "late"),
    "unreadable": ("历史无法解读", "the history cannot be read", "late"),
    "not_found": ("找不到此赔案的历史", "no history of this claim", "late"),
}
"""Replay outcomes: Chinese, English, badge tone."""


def kind_name(kind: str, name: str, locale: str) -> str:
    """The words for an audit entry: the step's own name for steps, else the kind's."""
    zh = present.is_zh(locale)
    if kind in ("step", "step_failed") and name in STEP_RULES:
        rule = STEP_RULES[name]
        label = rule.label_zh if zh else rule.label_en
        return label if kind == "step" else (f"{label}（被拒）" if zh else f"{label} (refused)")
    if kind in KINDS:
        return KINDS[kind][0 if zh else 1]
    return present.event_name(kind, locale)


def _context(
    request: Request, report: AuditReport, replayed: ReplayReport | None = None
) -> dict[str, object]:
    locale = locale_of(request)
    return dict(
        L=present.Words(locale),
        lang=locale,
        P=present,
        printable=printable,
        kind_name=kind_name,
        report=report,
        decision=report.decisions[-1].decision if report.decisions else None,
        replayed=replayed,
        outcome=OUTCOMES.get(replayed.outcome) if replayed else None,
    )


@router.get("/audit")
async def audit_home(
    request: Request,
    actor: Annotated[Actor, Depends(current_actor)],
    services: Annotated[Services, Depends(get_services)],
    q: str | None = None,
) -> Response:
    """Search by claim number (within the reader's county) and the recently closed claims."""
    locale = locale_of(request)
    words = present.Words(locale)
    status, problem = 200, None
    try:
        hits, recent = auditing.find_claims(services, actor, q)
    except InputError as e:
        status, problem = 422, str(e)
        hits, recent = auditing.find_claims(services, actor, None)
    return render(
        request,
        "audit.html",
        status_code=status,
        L=words,
        lang=locale,
        P=present,
        q=(q or "")[: auditing.SEARCH_LEN],
        searched=bool(q and q.strip()) and problem is None,
        problem=problem,
        hits=hits,
        recent=recent,
    )


@router.get("/audit/{number}.json")
async def audit_export(
    number: str,
    actor: Annotated[Actor, Depends(current_actor)],
    services: Annotated[Services, Depends(get_services)],
) -> Response:
    """The audit as JSON: exactly ``claims audit N --json`` (plus its final line break)."""
    report = await auditing.audit(services, actor, number)
    return Response(
        auditing.audit_json_text(report) + "\n",
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="audit-{report.claim_number}.json"'},
    )


@router.get("/audit/{number}")
async def audit_page(
    request: Request,
    number: str,
    actor: Annotated[Actor, Depends(current_actor)],
    services: Annotated[Services, Depends(get_services)],
) -> Response:
    """The claim's audit, read-only, with the replay button and the export link."""
    report = await auditing.audit(services, actor, number)
    return render(request, "audit_claim.html", **_context(request, report))


@router.post("/audit/{number}/replay")
async def audit_replay(
    request: Request,
    number: str,
    actor: Annotated[Actor, Depends(current_actor)],
    services: Annotated[Services, Depends(get_services)],
) -> Response:
    """Replay the claim's history against the current code; the page (or, for htmx, the
    result panel) shows the outcome."""
    replayed = await auditing.replay(services, actor, number)
    report = await auditing.audit(services, actor, number)
    context = _context(request, report, replayed)
    if request.headers.get("hx-request"):
        return render(request, "_audit_replay.html", **context)
    return render(request, "audit_claim.html", **context)


@router.get("/assets/audit.css", include_in_schema=False)
async def stylesheet() -> Response:
    """The audit pages' styles, served from this site (the Content-Security-Policy allows no
    inline style)."""
    css = env.get_template("_audit_css.html").render()
    return Response(css, media_type="text/css; charset=utf-8", headers={"Cache-Control": "max-age=300"})
