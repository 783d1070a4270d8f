"""What a step (a workflow Update) answers: a small result, not the claim's whole state.

Part of the boundary models (``claims.models``): import-light on purpose (pydantic and the
standard library only), so workflow code can import it inside the Temporal sandbox.

Why (issue 18): every Update's result is recorded in the claim's history (the
``WorkflowExecutionUpdateCompleted`` event). When each step answered with the whole
``ClaimState`` (timeline, clocks, decision, payments), a paid claim's history carried seven
copies of a growing state: 2.4× the bytes of the bare-Temporal floor. A ``StepResult`` is
about a kilobyte whatever the claim's age (0.7–1.2 KB of JSON measured); the whole state stays
the ``state`` Query (``claims.services.client.claim_state``), which costs no history.

Upgrade (``workflow.patched("small-step-results")`` in ``workflows/claim.py``): a claim that
took a step under the old code keeps answering its steps with the whole ``ClaimState`` until
its run ends (its replay decides the patch false at that first step, and the SDK keeps the
decision for the run); every other claim, new or reported before the change but not yet
stepped, answers with a ``StepResult``. An Update's declared result is therefore
``ClaimState | StepResult``. The two never validate as each other (both forbid unknown fields,
and ``ClaimState`` has required fields a ``StepResult`` lacks), and the client turns either
into a ``StepResult`` (``step_result_of``), so no caller sees the difference.

Mid-upgrade: a new client (command line, console, services) reads both answers, so it may run
against old and new workers alike. An old client expects a ``ClaimState`` and fails to read a
``StepResult``, after the step was performed (the step is done; only its answer is lost, and
``claims show`` has the state). Deploy the clients first or together with the worker.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import Field

from claims.models.bounds import CODE_LEN, STAFF_ID_LEN
from claims.models.claim import ClaimState, PaymentRecord, SlaClock, SlaState
from claims.models.review_io import ReviewHold
from claims.models.rules_io import CoverageDecision
from claims.models.common import Frozen, NonNegativeYuan, Stage

SMALL_STEP_RESULTS = "small-step-results"
"""``workflow.patched`` id: steps of claims started before it answer with the whole
``ClaimState``; since, with a ``StepResult``."""

TRIGGER_CLOCKS: frozenset[str] = frozenset({"art25_advance_payment"})
"""Clocks whose end is not a breach but a duty (art. 25 asks for an advance payment): they are
never the claim's SLA deadline (``workflows.sla.TRIGGERS`` is this set)."""

MAX_CLOCKS = 16
"""Clocks a claim can hold: six kinds today (registration, resolution, art. 23 decision and
payment, art. 24 refusal notice, art. 25 advance), with room for more."""

MAX_DECLINE_REASONS = 60
"""Reasons a decline can carry: a ``DeclineInput``'s reasons (at most 20), the coverage
decision's refusals (at most 10 policies with a few clauses each) and an investigation's finding."""


class ClockStatus(StrEnum):
    """Where one SLA clock stands after a step."""

    RUNNING = "running"
    PAUSED = "paused"  # waiting on the claimant (documents); the deadline moves when it resumes
    STOPPED = "stopped"  # its duty was done (registered, paid, notified)
    BREACHED = "breached"


class ClockMark(Frozen):
    """One SLA clock in brief, as a step left it: which clock, its recorded deadline, its status.

    ``start``, ``due_at`` and ``working_days`` are those of the clock's ``Deadline`` (UTC; working
    days 0 for a statutory clock, whose ``calendar_days`` says its limit), so the audit can name
    each recorded deadline after its clock (``claims.audit.timeline``).
    """

    name: str = Field(min_length=1, max_length=CODE_LEN)
    start: datetime
    due_at: datetime
    working_days: int = Field(ge=0)
    calendar_days: int | None = None
    status: ClockStatus
    pause_cap_at: datetime | None = None
    """While paused: the latest instant the pause ends (UTC)."""

    @classmethod
    def of(cls, clock: SlaClock) -> ClockMark:
        """The brief of one of the claim's clocks."""
        if clock.breached:
            status = ClockStatus.BREACHED
        elif clock.stopped_at is not None:
            status = ClockStatus.STOPPED
        elif clock.paused_since is not None:
            status = ClockStatus.PAUSED
        else:
            status = ClockStatus.RUNNING
        return cls(
            name=clock.name,
            start=clock.deadline.start,
            due_at=clock.deadline.due_at,
            working_days=clock.deadline.working_days,
            calendar_days=clock.calendar_days,
            status=status,
            pause_cap_at=clock.pause_cap_at,
        )


class StepResult(Frozen):
    """What an accepted step answers (the result of every ``ClaimWorkflow`` Update since
    ``SMALL_STEP_RESULTS``, and of the workflow itself since ``lean-history``): where the claim
    stands after it, in about a kilobyte.

    The whole state (timeline, documents, decision lines, payments) is the ``state`` Query.
    Every list is bounded (``MAX_CLOCKS``, ``MAX_DECLINE_REASONS``), so a result stays under
    ~40 KB in the worst case and ~1 KB in practice.

    Attributes:
        claim_number: the claim.
        step: the step performed (its ``STEP_RULES`` name, e.g. ``adjudicate``), or ``end`` in
            the workflow's own result (how the claim ended; claims since ``lean-history``).
        version: entries in the claim's timeline after the step; a later ``state`` with more
            entries has seen more happen since.
        stage: the claim's stage after the step.
        sla_state: the SLA state of its clocks (``stuck`` while a store step keeps failing).
        sla_clock, sla_deadline: the open clock due first and its deadline (UTC); None when
            no clock runs.
        assigned_handler: the handler the claim is assigned to, if any.
        decision_total: the total of the coverage decision in force (yuan), once adjudicated.
        needs_handler: the decision in force could not judge the facts (the handler corrects
            them and adjudicates again).
        payout_approved: a supervisor approved a payout above the handlers' authority limit.
        review_open: payment waits for a review hold to be cleared (``clear_review``).
        total_paid: everything paid on the claim so far, advances included (yuan).
        transfer_ref: the transfer reference of the claim's latest payment, if any.
        decline_reasons: why the claim was declined (the first ``MAX_DECLINE_REASONS``; the
            state has all); empty unless ``stage`` is ``declined``.
        clocks: SLA clocks in brief: in a claim started since ``lean-history``, those new or
            changed since the claim's previous answer (every clock in its first); before, every
            clock. The ``state`` Query has them all.
    """

    claim_number: str = Field(min_length=1, max_length=64)
    step: str = Field(min_length=1, max_length=CODE_LEN)
    version: int = Field(ge=0)
    stage: Stage
    sla_state: SlaState
    sla_clock: str | None = Field(default=None, max_length=CODE_LEN)
    sla_deadline: datetime | None = None
    assigned_handler: str | None = Field(default=None, max_length=STAFF_ID_LEN)
    decision_total: NonNegativeYuan | None = None
    needs_handler: bool = False
    payout_approved: bool = False
    review_open: bool = False
    total_paid: NonNegativeYuan
    transfer_ref: str | None = None
    decline_reasons: list[str] = Field(default_factory=list, max_length=MAX_DECLINE_REASONS)
    clocks: list[ClockMark] = Field(default_factory=list, max_length=MAX_CLOCKS)


def current_clock(clocks: list[SlaClock]) -> SlaClock | None:
    """The open clock due first, triggers aside: the claim's SLA deadline for supervisors."""
    running = [c for c in clocks if c.open and c.name not in TRIGGER_CLOCKS]
    return min(running, key=lambda c: c.deadline.due_at, default=None)


def step_result_of(answer: ClaimState | StepResult, step: str) -> StepResult:
    """An Update's answer as a ``StepResult``: as it is, or built from the whole state a claim
    started before ``SMALL_STEP_RESULTS`` answers with (the same fields, read from the state).

    Args:
        answer: what the Update returned.
        step: the step's ``STEP_RULES`` name.
    """
    if isinstance(answer, StepResult):
        return answer
    s = answer
    return build_step_result(
        claim_number=s.claim_number,
        step=step,
        timeline_length=len(s.timeline),
        stage=s.stage,
        sla_state=s.sla_state,
        current=current_clock(s.clocks),
        assigned_handler=s.assigned_handler,
        decision=s.decision,
        payout_approved=s.payout_approved,
        review=s.review,
        payments=s.payments,
        decline_reasons=s.decline_reasons,
        clocks=s.clocks,
    )


def build_step_result(
    *,
    claim_number: str,
    step: str,
    timeline_length: int,
    stage: Stage,
    sla_state: SlaState,
    current: SlaClock | None,
    assigned_handler: str | None,
    decision: CoverageDecision | None,
    payout_approved: bool,
    review: ReviewHold | None,
    payments: Sequence[PaymentRecord],
    decline_reasons: Sequence[str],
    clocks: Iterable[SlaClock],
) -> StepResult:
    """The ``StepResult`` of a claim's pieces: the workflow's own fields after a step, or an
    old answer's ``ClaimState`` (:func:`step_result_of`). ``current`` is the open clock due
    first (:func:`current_clock`); amounts in yuan; decline reasons kept only when declined."""
    return StepResult(
        claim_number=claim_number,
        step=step,
        version=timeline_length,
        stage=stage,
        sla_state=sla_state,
        sla_clock=current.name if current else None,
        sla_deadline=current.deadline.due_at if current else None,
        assigned_handler=assigned_handler,
        decision_total=decision.total if decision else None,
        needs_handler=bool(decision and decision.needs_handler),
        payout_approved=payout_approved,
        review_open=bool(review and review.open),
        total_paid=sum((p.amount for p in payments), Decimal("0")),
        transfer_ref=payments[-1].transfer_ref if payments else None,
        decline_reasons=list(decline_reasons[:MAX_DECLINE_REASONS]) if stage == Stage.DECLINED else [],
        clocks=[ClockMark.of(c) for c in clocks],
    )
