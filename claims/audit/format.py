"""Output of audits and replays: text for people, JSON for scripts.

One job: render an :class:`AuditReport` or a list of :class:`ReplayReport` (times in
Asia/Shanghai for people, ISO 8601 UTC in JSON). Recorded text (notes, reasons) is printed
escaped, never obeyed: a line break or a direction override in a note cannot forge a line.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from claims.audit.replay import OUTCOMES, ReplayReport, summarize
from claims.audit.report import AuditReport
from claims.domain.timeutil import local
from claims.models.bounds import printable


def format_audit(report: AuditReport) -> str:
    """The audit as text for people: header, timeline (Asia/Shanghai), decision, payouts, versions."""
    lines = [
        f"claim {report.claim_number}  workflow {report.workflow_id}  run {report.run_id}",
        f"  status {report.status}, stage {report.stage}; source: {report.source}"
        + (f" ({report.event_count} history events)" if report.event_count else ""),
    ]
    if report.claim:
        c = report.claim
        lines.append(
            f"  {c.county} {c.township} {c.village}; accident {c.accident_date}; policies "
            + ", ".join(p.policy_number for p in c.policies)
        )
    lines.append("timeline (Asia/Shanghai):")
    for e in report.entries:
        who = f"{e.actor.role.value}:{e.actor.id}" if e.actor else "-"
        stage = (
            f"{e.stage_before}->{e.stage_after}"
            if e.stage_before and e.stage_after and e.stage_before != e.stage_after
            else (e.stage_after or "")
        )
        rules = f" [{', '.join(e.rule_ids)}]" if e.rule_ids else ""
        lines.append(f"  {local(e.at)}  {e.kind:<15} {who:<32} {stage:<24} {e.summary}{rules}")
    if report.decisions:
        d = report.decisions[-1].decision
        lines.append(f"decision: total {d.total} yuan")
        for ln in d.lines:
            lines.append(
                f"  {ln.policy_number} {ln.benefit_id}: {ln.formula} = {ln.amount} yuan "
                f"[{', '.join(ln.rule_ids)}]"
            )
        for r in d.refusals:
            lines.append(f"  refused {r.policy_number} [{r.clause_id}]: {r.reason}")
    if report.decline_reasons:
        lines.append("declined: " + "; ".join(report.decline_reasons))
    if report.payouts:
        lines.append(f"payouts: {report.total_paid} yuan")
        for p in report.payouts:
            lines.append(
                f"  no. {p.payment_number}: {p.amount} yuan on {p.policy_number}, transfer {p.transfer_ref}, "
                f"paid {local(p.paid_at)}"
            )
    if report.deadlines:
        lines.append("deadlines (Asia/Shanghai):")
        for dl in report.deadlines:
            days = (
                f"{dl.calendar_days} calendar days"
                if dl.calendar_days
                else f"{dl.deadline.working_days} working days"
            )
            what = " pause cap" if dl.pause_cap else (" (recomputed)" if dl.recomputed else "")
            lines.append(
                f"  {dl.clock}{what}: {days}, due {local(dl.deadline.due_at)}; "
                f"calendar {dl.deadline.calendar_version}"
            )
    for b in report.escalations:
        lines.append(f"breach: {b.clock} due {local(b.deadline)} escalated ({b.county})")
    versions = [
        f"terms {t.terms_version} ({t.policy_number}, sha256 {(t.terms_hash or '-')[:12]})"
        for t in report.terms
    ]
    versions += [f"SLA policy {v}" for v in report.sla_policy_versions]
    versions += [f"calendar {v}" for v in report.calendar_versions]
    if versions:
        lines.append("versions: " + "; ".join(versions))
    return "\n".join(printable(line) for line in lines)


def audit_json(report: AuditReport) -> str:
    """The audit as JSON (``claims audit --json``): every field of the report, amounts as
    strings, instants ISO 8601 UTC. A published shape: keys are added, never renamed."""
    return report.model_dump_json(indent=2)


def format_replay(reports: Sequence[ReplayReport]) -> str:
    """Per-claim lines (with each decision difference) and the summary line."""
    lines = []
    for r in reports:
        name = r.claim_number or r.source
        lines.append(f"{name}: {r.outcome}" + (f" - {r.message}" if r.message else ""))
        if r.source != name:
            lines.append(f"  source: {r.source}")
        for c in r.decision_checks:
            if c.error:
                lines.append(f"  decision recorded {local(c.at)}: cannot be re-evaluated now: {c.error}")
            for d in c.differences:
                lines.append(f"  decision recorded {local(c.at)} differs: {d}")
    counts = summarize(reports)
    lines.append(
        f"{counts['total']} replayed: " + ", ".join(f"{counts[o]} {o.replace('_', ' ')}" for o in OUTCOMES)
    )
    return "\n".join(lines)


def replay_json(reports: Sequence[ReplayReport]) -> str:
    """The replays as JSON (``claims replay --json``): ``{"claims": [...], "summary": {...}}``."""
    return json.dumps(
        {"claims": [r.model_dump(mode="json") for r in reports], "summary": summarize(reports)},
        indent=2,
        ensure_ascii=False,
    )
