"""A claim as reported, started and seen: the report, the workflow input, its state, timeline and SLA clocks.

Part of the boundary models (``claims.models``): import-light on purpose (pydantic and the
standard library only), so workflow code can import it inside the Temporal sandbox.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import Field

from claims.models.bounds import BoundedDate, Code, Description, PolicyNumber
from claims.models.calendar_io import Deadline
from claims.models.common import Actor, Frozen, NonNegativeYuan, Outcome, Stage
from claims.models.register_io import HouseholdFlags, InsuredSnapshot, PolicySnapshot
from claims.models.review_io import LetterIssued, ReviewHold
from claims.models.rules_io import (
    CaseClass,
    CoverageDecision,
    CoverageRequest,
    LossFacts,
    PriorBenefit,
    TriageResult,
)
from claims.models.steps import DocumentFile, RejectedDocument, WaivedDocument


class ClaimReport(Frozen):
    """A claim report (报案) as filed by a village secretary, a claimant or a handler.

    ``id_number`` is the insured person's 18-character resident identity number
    (GB 11643-1999); it is used to find the person on the register and never leaves the
    store (workflows get an opaque ``person_ref``).
    """

    policy_numbers: list[PolicyNumber] = Field(min_length=1, max_length=10)
    id_number: str = Field(max_length=32)
    accident_date: BoundedDate
    reported_on: BoundedDate | None = None  # defaults to today (Asia/Shanghai)
    outcome: Outcome
    cause: Code
    description: Description = ""
    disability_grade: int | None = None
    claimed_amount: NonNegativeYuan | None = None
    nominate_green_channel: bool = False
    third_party_record: bool = True
    reporter: Actor


class ClaimInput(Frozen):
    """Start input of the claim workflow: the report as accepted by intake."""

    claim_number: str
    reported_at: datetime  # when the engine received the report (UTC)
    reported_on: date  # the report date stated by the claimant (limitation, late report)
    accident_date: date
    county: str
    township: str
    village: str
    insured: InsuredSnapshot
    household: HouseholdFlags
    policies: list[PolicySnapshot]
    outcome: Outcome
    cause: str
    disability_grade: int | None = None
    nominate_green_channel: bool = False
    third_party_record: bool = True
    reporter: Actor
    payout_authority_limit: NonNegativeYuan = Decimal("50000.00")
    """A payout whose total is above this needs a supervisor's ``approve_payout`` before ``pay``."""

    def coverage_request(
        self, facts: LossFacts, prior_benefits: list[PriorBenefit] | None = None
    ) -> CoverageRequest:
        """The coverage request of this claim on the established ``facts``, with the earlier
        payments of other claims that limit it (none when not given)."""
        return CoverageRequest(
            claim_number=self.claim_number,
            accident_date=self.accident_date,
            reported_on=self.reported_on,
            insured=self.insured,
            facts=facts,
            policies=self.policies,
            prior_benefits=prior_benefits or [],
        )


class TimelineEntry(Frozen):
    """One line of a claim's story: what happened, when (UTC), who did it, under which rules."""

    at: datetime
    event: str
    actor: Actor
    stage: Stage
    detail: str = ""
    rule_ids: list[str] = Field(default_factory=list)


class ClockKind(StrEnum):
    """Programme targets count working days; statutory limits count calendar days."""

    PROGRAMME = "programme"
    STATUTORY = "statutory"


class SlaState(StrEnum):
    """SLA state of a claim's open clocks, as shown to supervisors."""

    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    BREACHED = "breached"
    MET = "met"  # all clocks stopped within target
    STUCK = "stuck"  # a store step keeps failing (``ClaimState.stuck``): the engine retries it


class SlaClock(Frozen):
    """One SLA clock of a claim.

    Programme clocks (``registration``, ``resolution``) count ``target_working_days`` on the
    working-day calendar and may pause while waiting on the claimant (the paused working
    days, capped by the SLA policy, extend the deadline). Statutory clocks (``art23_decision``
    30 days, ``art23_payment`` 10 days, ``art24_refusal_notice`` 3 days,
    ``art25_advance_payment`` 60 days; Insurance Law) count ``calendar_days`` the Civil Code
    way and never pause. ``warned`` lists the percentages (50, 80) already warned.
    """

    name: str
    target_working_days: int
    deadline: Deadline
    stopped_at: datetime | None = None
    breached: bool = False
    kind: ClockKind = ClockKind.PROGRAMME
    calendar_days: int | None = None
    warned: list[int] = Field(default_factory=list)
    paused_since: datetime | None = None
    pause_reason: str = ""
    paused_working_days: int = 0
    pause_cap_at: datetime | None = None

    @property
    def open(self) -> bool:
        """Running: neither stopped nor breached."""
        return self.stopped_at is None and not self.breached


class PaymentRecord(Frozen):
    """One payout row as written to the ledger."""

    claim_number: str
    payment_number: int
    policy_number: str
    amount: NonNegativeYuan
    transfer_ref: str
    paid_at: datetime


class InvestigationFinding(Frozen):
    """What the investigation established, and whether a supervisor overrode a negative finding.

    ``covered_event`` false (event not as reported) blocks payment until a supervisor
    overrides it with a reason (``override_reason``, ``overridden_by``), or the claim is
    declined with the finding as a reason.
    """

    covered_event: bool
    findings: str
    investigator: str
    overridden_by: str | None = None
    override_reason: str | None = None


class StuckStep(Frozen):
    """A step of the engine that keeps failing (the store is down, a bug): the claim waits and
    retries it, and shows supervisors which step and since when (UTC)."""

    activity: str
    since: datetime
    error: str = Field(default="", max_length=500)


class ClaimState(Frozen):
    """The claim's state, as returned by the ``state`` query and by every accepted step."""

    claim_number: str
    stage: Stage
    county: str
    township: str
    village: str
    accident_date: date
    reported_at: datetime
    policies: list[str]
    assigned_handler: str | None = None
    triage: TriageResult | None = None
    green_channel: bool = False
    case_class: CaseClass | None = None
    investigation_requested: bool = False
    documents_requested: list[str] = Field(default_factory=list)
    documents_received: list[str] = Field(default_factory=list)
    decision: CoverageDecision | None = None
    decline_reasons: list[str] = Field(default_factory=list)
    payments: list[PaymentRecord] = Field(default_factory=list)
    clocks: list[SlaClock] = Field(default_factory=list)
    sla_state: SlaState = SlaState.ON_TRACK
    timeline: list[TimelineEntry] = Field(default_factory=list)
    sla_policy_version: str | None = None
    calendar_version: str | None = None
    advance_payment_requested: bool = False
    documents_required: list[str] = Field(default_factory=list)
    reported_outcome: Outcome | None = None
    adjudicated_outcome: Outcome | None = None
    payout_authority_limit: NonNegativeYuan | None = None
    authority_rule: str | None = None
    payout_approved: bool = False
    investigation_finding: InvestigationFinding | None = None
    documents_waived: list[WaivedDocument] = Field(default_factory=list)
    stuck: StuckStep | None = None
    review: ReviewHold | None = None
    """Review sampling / fraud referral hold at payout (``claims.models.review_io``): pay waits while open."""
    refusal_letter: LetterIssued | None = None
    """The refusal letter (拒赔通知书, art. 24) issued on the decline: sha256, size, when."""
    advance_paid: NonNegativeYuan = Decimal("0")
    """先予支付: the advance paid (Insurance Law art. 25, green channel), offset against the final payment."""
    receivable: NonNegativeYuan = Decimal("0")
    """追偿: what the claimant owes back (an advance the final decision does not cover)."""
    closure: str | None = None
    """Why the claim ended without a decision: ``withdrawn: <reason>``, ``duplicate`` or ``error``."""
    reopened: int = 0
    """How often a supervisor reopened the claim (重开)."""
    reopen_until: datetime | None = None
    """Until when a closed or declined claim may be reopened (its workflow waits until then)."""
    documents_files: list[DocumentFile] = Field(default_factory=list)
    """The accepted files the documents were received as (id, item, sha256), in order; a file
    rejected later is no longer here (issue 15)."""
    documents_rejected: list[RejectedDocument] = Field(default_factory=list)
    """Files sent back (退回), with the reason: their items were missing again."""
    decision_documents: list[DocumentFile] | None = None
    """The accepted files on the claim when it was last decided (核定 or 拒赔); None before a
    decision, and in claims decided before files were recorded."""
