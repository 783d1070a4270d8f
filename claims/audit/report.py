"""The audit report of one claim as typed, frozen models: what the timeline builder produces
and what the text and JSON formats print.

``claims audit --json`` prints :class:`AuditReport` as ``model_dump_json``; its keys and
values are a published shape (auditors' scripts read them): add fields, never rename them.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from claims import models as m
from claims.store.archive import TermsUsed


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AuditEntry(_Frozen):
    """One line of the audit timeline.

    Attributes:
        at: when it happened (aware UTC; shown in Asia/Shanghai).
        event_id: the history event it comes from (the completion event for activities
            and steps); 0 for entries rebuilt from an archived decision bundle.
        kind: ``reported``, ``step``, ``step_failed``, ``triaged``, ``sla_target``,
            ``sla_started``, ``sla_recomputed``, ``sla_paused``, ``sla_breached``, ``notice``,
            ``decision``, ``payout``, ``archived``, ``activity``, ``activity_failed``,
            ``signal``, ``marker``, ``workflow_task_failed``, ``closed`` or a timeline event name.
        name: the step, activity or signal name where there is one.
        actor: who did it (the engine for rules, clocks and store work).
        stage_before / stage_after: the claim's stage around a step (equal when it did
            not move the claim).
        summary: the plain-words description.
        rule_ids: ids of the rules (clauses) that fired.
        documents: documents requested or received by this step.
        amount: yuan, for decisions (total) and payouts.
        deadline: aware UTC instant, for clock starts, recomputations and breaches.
    """

    at: datetime
    event_id: int
    kind: str
    name: str = ""
    actor: m.Actor | None = None
    stage_before: str | None = None
    stage_after: str | None = None
    summary: str = ""
    rule_ids: list[str] = Field(default_factory=list)
    documents: list[str] = Field(default_factory=list)
    amount: Decimal | None = None
    deadline: datetime | None = None


class RecordedDeadline(_Frozen):
    """A deadline the workflow recorded (the result of a deadline activity).

    ``clock`` is the clock's name as the workflow's state names it (``registration``,
    ``resolution``, statutory clocks ...), or ``clock`` when no recorded state names it.
    ``calendar_days`` is set for statutory limits (calendar days); ``pause_cap`` marks the
    latest end of a pause rather than a clock's deadline.
    """

    clock: str
    recomputed: bool
    recorded_at: datetime
    deadline: m.Deadline
    calendar_days: int | None = None
    pause_cap: bool = False


class RecordedDecision(_Frozen):
    """One ``evaluate_coverage`` call as recorded: its input, its result, when, for whom."""

    event_id: int
    at: datetime
    actor: m.Actor | None = None
    request: m.CoverageRequest
    decision: m.CoverageDecision


class AuditReport(_Frozen):
    """A claim's audit: who did what and when, under which rules, deadlines and terms.

    Attributes:
        source: ``temporal`` (live history), ``archive`` (history kept in the store),
            ``archive-bundle`` (only the decision bundle survives), ``file`` or ``replay``.
        status: ``running``, ``completed``, ``failed``, ``terminated``, ``canceled``,
            ``timed_out`` or ``continued_as_new``.
        stage: the last stage the history records.
        event_count: events in the history (0 for a report from a bundle).
        claim: the workflow's start input (facts as reported; no names or id numbers).
        facts: the facts established at the last adjudication, if any.
        entries: the timeline, in history order.
        triage, sla_targets, decisions, deadlines, payouts, escalations: the recorded
            activity results (payouts in yuan).
        decline_reasons: the reasons given when the claim was declined.
        sla_policy_versions, calendar_versions, terms: versions in force for this claim
            (terms: ``{policy_number, terms_version, terms_hash}``; the hash is null for a
            policy with no benefit line).
        final_state: the last claim state the history records: the workflow's result, or for a
            claim begun before small step results (``SMALL_STEP_RESULTS``) also a step's answer;
            None for a claim begun since ``lean-history``, whose history records no state (its
            state is the ``state`` Query; the decision bundle keeps clocks and timeline).
        workflow_timeline: the workflow's own timeline from the last recorded state (empty
            when ``final_state`` is None).
    """

    claim_number: str
    workflow_id: str
    run_id: str
    source: str
    status: str
    stage: str
    event_count: int
    claim: m.ClaimInput | None = None
    facts: m.LossFacts | None = None
    entries: list[AuditEntry] = Field(default_factory=list)
    triage: m.TriageResult | None = None
    sla_targets: list[m.SlaTarget] = Field(default_factory=list)
    decisions: list[RecordedDecision] = Field(default_factory=list)
    deadlines: list[RecordedDeadline] = Field(default_factory=list)
    payouts: list[m.PaymentRecord] = Field(default_factory=list)
    escalations: list[m.EscalationInput] = Field(default_factory=list)
    decline_reasons: list[str] = Field(default_factory=list)
    sla_policy_versions: list[str] = Field(default_factory=list)
    calendar_versions: list[str] = Field(default_factory=list)
    terms: list[TermsUsed] = Field(default_factory=list)
    final_state: m.ClaimState | None = None
    workflow_timeline: list[m.TimelineEntry] = Field(default_factory=list)

    @property
    def total_paid(self) -> Decimal:
        """Sum of the recorded payouts, yuan."""
        return sum((p.amount for p in self.payouts), Decimal("0"))
