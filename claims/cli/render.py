"""Shared printing of the ``claims`` command line: a claim's state, the task and overdue lists,
the SLA report, and column alignment that counts Chinese characters as two columns.

One job: turn what a service returned into the lines a person reads. Recorded text is printed
escaped (``claims.models.bounds.printable``) where it came from a payload. No service calls,
no errors raised.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Sequence

import click

from claims.domain.timeutil import local
from claims.models import ClaimState, StepResult
from claims.models.bounds import printable
from claims.services.reports import SlaLine, SlaReport
from claims.services.documents import DocumentRow
from claims.services.views import ClaimRow, OverdueClaim


def display_width(text: str) -> int:
    """Columns ``text`` takes on a terminal: CJK (wide and full-width) characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def ljust(text: str, width: int) -> str:
    """``str.ljust`` by terminal columns, so Chinese county and township names line up."""
    return text + " " * max(0, width - display_width(text))


def say(text: str) -> None:
    """Print one line of a claim view: control and direction characters from payloads are shown
    escaped (``\\uXXXX``), so no recorded text can draw a line of its own (``claims.models.bounds``)."""
    click.echo(printable(text))


def file_json(row: DocumentRow) -> dict[str, object]:
    """One document file for ``claims show --json`` (times aware UTC, ISO 8601; size in bytes)."""
    return {
        "id": row.id,
        "kind": row.kind,
        "filename": row.filename,
        "content_type": row.content_type,
        "size": row.size,
        "pages": row.pages,
        "sha256": row.sha256,
        "status": row.status,
        "reason": row.reason,
        "note": row.note,
        "uploaded_by": row.uploaded_by,
        "uploaded_at": row.uploaded_at.isoformat(),
        "decided_by": row.decided_by,
        "decided_at": row.decided_at.isoformat() if row.decided_at else None,
    }


def print_state(state: ClaimState, as_json: bool = False, files: Sequence[DocumentRow] | None = None) -> None:
    """Print one claim (``claims show``, and each step's new state): stage, place, handler,
    clocks with their deadlines (Asia/Shanghai), the document checklist, the document files
    with their sha256 and status (``files``, when given), a stuck step, the decision with its
    rule ids, payments and the timeline; or the state as JSON, the files under ``documents``."""
    if as_json:
        if files is None:
            click.echo(state.model_dump_json(indent=2))
        else:
            data = json.loads(state.model_dump_json())
            data["documents"] = [file_json(f) for f in files]
            click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    say(f"claim {state.claim_number}  stage {state.stage.value}  SLA {state.sla_state.value}")
    say(
        f"  {state.county} {state.township} {state.village}; accident {state.accident_date}; "
        f"policies {', '.join(state.policies)}"
    )
    say(
        f"  handler {state.assigned_handler or '-'}; green channel {'yes' if state.green_channel else 'no'}; "
        f"case class {state.case_class.value if state.case_class else '-'}"
    )
    for c in state.clocks:
        if c.breached:
            status = "BREACHED"
        elif c.stopped_at:
            status = "stopped " + local(c.stopped_at)
        elif c.paused_since:
            status = f"paused since {local(c.paused_since)} ({c.pause_reason})"
        else:
            status = "running"
        prov = " provisional" if c.deadline.provisional else ""
        target = (
            f"{c.calendar_days} calendar days" if c.calendar_days else f"{c.target_working_days} working days"
        )
        paused = f" (+{c.paused_working_days} paused)" if c.paused_working_days else ""
        say(
            f"  clock {c.name}: {target}{paused}, "
            f"due {local(c.deadline.due_at)} Asia/Shanghai{prov}, {status}"
        )
    if state.documents_required or state.documents_requested:
        got = set(state.documents_received)
        waived = {w.document for w in state.documents_waived}
        needed = list(dict.fromkeys(state.documents_required + state.documents_requested))
        missing = [d for d in needed if d not in got and d not in waived]
        say(f"  documents: checklist {', '.join(state.documents_required) or '-'}")
        say(
            f"    requested {len(state.documents_requested)}, received {len(got)}, waived {len(waived)}; "
            f"still missing: {', '.join(missing) or 'none'}"
        )
    for f in files or ():
        why = f" ({f.reason})" if f.reason else ""
        say(f"    file {f.id} {f.kind}: {f.status}{why}, {f.content_type} {f.size} bytes, sha256 {f.sha256}")
    for r in state.documents_rejected:
        say(f"    sent back {local(r.at)}: {r.file.kind} file {r.file.id} ({r.reason.value}) by {r.by}")
    if state.stuck is not None:
        say(f"  STUCK: {state.stuck.activity} failing since {local(state.stuck.since)} ({state.stuck.error})")
    if state.decision:
        for ln in state.decision.lines:
            say(
                f"  benefit {ln.policy_number} {ln.benefit_id}: {ln.formula} = {ln.amount} yuan "
                f"[{', '.join(ln.rule_ids)}]"
            )
            for d in ln.deducted:
                say(
                    f"    counted {d.amount} yuan {d.kind} {'reserved' if d.reserved else 'paid'} "
                    f"on claim {d.claim_number or '-'}"
                )
        for r in state.decision.refusals:
            say(f"  refused {r.policy_number} [{r.clause_id}]: {r.reason}")
        say(f"  decision total {state.decision.total} yuan")
    if state.adjudicated_outcome and state.adjudicated_outcome != state.reported_outcome:
        say(
            f"  outcome reported {state.reported_outcome.value if state.reported_outcome else '-'}, "
            f"adjudicated {state.adjudicated_outcome.value}"
        )
    if state.payout_authority_limit is not None:
        say(
            f"  payout authority limit {state.payout_authority_limit} yuan ({state.authority_rule}); "
            f"approved by a supervisor: {'yes' if state.payout_approved else 'no'}"
        )
    f = state.investigation_finding
    if f is not None:
        verdict = "event as reported" if f.covered_event else "EVENT NOT AS REPORTED"
        over = f"; overridden by {f.overridden_by}: {f.override_reason}" if f.overridden_by else ""
        say(f"  investigation ({f.investigator}): {verdict}{over}")
    for p in state.payments:
        say(
            f"  payment {p.payment_number}: {p.amount} yuan on {p.policy_number}, transfer {p.transfer_ref}"
        )
    if state.decline_reasons:
        say("  declined: " + "; ".join(state.decline_reasons))
    # issue 17: advance, recovery, closure without a decision, reopen
    if state.advance_paid:
        say(f"  advance paid (先予支付): {state.advance_paid} yuan")
    if state.receivable:
        say(f"  to recover from the claimant (追偿): {state.receivable} yuan")
    if state.closure:
        say(f"  ended without a decision: {state.closure}")
    if state.reopened:
        say(f"  reopened {state.reopened} time(s)")
    if state.reopen_until is not None and state.stage.terminal:
        say(f"  may be reopened until {local(state.reopen_until)} (Asia/Shanghai)")
    say("  timeline (Asia/Shanghai):")
    for t in state.timeline:
        rules = f" [{', '.join(t.rule_ids)}]" if t.rule_ids else ""
        say(f"    {local(t.at)}  {t.event:<28} {t.actor.role.value}:{t.actor.id}  {t.detail}{rules}")


def print_step_result(result: StepResult, as_json: bool = False) -> None:
    """Print a step's small result (when the claim's whole state cannot be read after it):
    stage, SLA state and deadline (Asia/Shanghai), the decision's total and what was paid; or
    the result as JSON."""
    if as_json:
        click.echo(result.model_dump_json(indent=2))
        return
    say(f"claim {result.claim_number}  stage {result.stage.value}  SLA {result.sla_state.value}")
    due = f"{result.sla_clock} due {local(result.sla_deadline)} Asia/Shanghai" if result.sla_deadline else "-"
    say(f"  step {result.step}; handler {result.assigned_handler or '-'}; clock {due}")
    if result.decision_total is not None:
        say(f"  decision total {result.decision_total} yuan")
    if result.total_paid:
        say(f"  paid {result.total_paid} yuan, transfer {result.transfer_ref or '-'}")
    if result.decline_reasons:
        say("  declined: " + "; ".join(result.decline_reasons))


def print_tasks(rows: list[ClaimRow]) -> None:
    """The task list (``claims tasks``): one line per open claim, then the count."""
    click.echo(f"{'claim number':<22} {'stage':<13} {'handler':<20} {'due (Asia/Shanghai)':<19} sla")
    for r in rows:
        due = local(r.sla_deadline) if r.sla_deadline else "-"
        click.echo(
            f"{r.claim_number:<22} {r.stage:<13} {r.assigned_handler or '-':<20} {due:<19} {r.sla_state}"
        )
    click.echo(f"{len(rows)} open claim(s)")


def print_overdue(claims: list[OverdueClaim]) -> None:
    """The overdue list (``claims overdue``): one line per claim, most late first, a stuck
    step named with its time, then the count."""
    click.echo(
        f"{'claim number':<22} {'county':<12} {'township':<10} {'handler':<20} {'stage':<13} "
        f"{'due (Asia/Shanghai)':<19} {'wd late':>7} sla"
    )
    for c in claims:
        r = c.row
        due = local(r.sla_deadline) if r.sla_deadline else "-"
        stuck = ""
        if r.stuck_activity:
            since = local(r.stuck_since) if r.stuck_since else "-"
            stuck = f" ({r.stuck_activity} failing since {since})"
        click.echo(
            f"{r.claim_number:<22} {ljust(r.county, 12)} {ljust(r.township, 10)} "
            f"{r.assigned_handler or '-':<20} {r.stage:<13} {due:<19} {c.working_days_late:>7} {r.sla_state}"
            + stuck
        )
    click.echo(f"{len(claims)} claim(s)")


def sla_report_text(report: SlaReport) -> str:
    """The SLA report as text: a title, a header, one line per county and township, the total."""
    head = (
        f"{'county':<12} {'township':<10} {'claims':>6} {'paid':>5} {'declined':>8} {'open':>5} "
        f"{'breached':>8} {'median wd to pay':>16} {'% within target':>15}"
    )
    lines = [
        f"SLA report for claims reported {report.first} to {report.last} (Asia/Shanghai)",
        head,
        "-" * len(head),
    ]

    def line(ln: SlaLine) -> str:
        median = "-" if ln.median_working_days_to_pay is None else f"{ln.median_working_days_to_pay:g}"
        pct = f"{100 * ln.met_target / ln.decided:.0f}%" if ln.decided else "-"
        return (
            f"{ljust(ln.county, 12)} {ljust(ln.township, 10)} {ln.claims:>6} {ln.paid:>5} {ln.declined:>8} "
            f"{ln.open:>5} {ln.breached:>8} {median:>16} {pct:>15}"
        )

    lines.extend(line(ln) for ln in [*report.lines, report.total])
    return "\n".join(lines)

