"""Boundary models: every value that crosses the workflow/activity/CLI/file boundary.

Import-light on purpose (pydantic and the standard library only), so workflow code can
import it inside the Temporal sandbox.

Conventions:
- Money is ``Decimal`` yuan with at most two decimals (fen), never float.
- ``datetime`` values are timezone-aware; the engine stores and passes UTC, and shows
  Asia/Shanghai to people.
- ``date`` values are calendar dates in Asia/Shanghai.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from claims.models.bounds import (
    MAX_DOCUMENTS,
    BoundedDate,
    Code,
    ColumnAmount,
    Description,
    DocumentList,
    DocumentName,
    Findings,
    Note,
    PlaceName,
    PolicyNumber,
    Reason,
    StaffId,
    TransferRef,
)

TASK_QUEUE = "jisheng-claims"
"""The Temporal task queue the claim worker polls."""


def _plain_amount(v: object) -> object:
    """Amounts come as ASCII decimal strings (``"40000.00"``) or integers: no floats (binary
    fractions), no full-width digits, no thousands separators. (An exponent, as ``Decimal``
    itself may write one in a payload, is exact and accepted.)"""
    if isinstance(v, float):
        raise ValueError(
            'write amounts as a string in yuan, e.g. "40000.00", not as a JSON number with a fraction'
        )
    if isinstance(v, str) and not re.fullmatch(r"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?", v.strip()):
        raise ValueError(
            f"{v!r} is not an amount in yuan: use ASCII digits and one decimal point, e.g. 40000.00 "
            "(no thousands separators or full-width digits)"
        )
    return v


Yuan = Annotated[Decimal, BeforeValidator(_plain_amount), ColumnAmount]
"""An amount of money in yuan, exact to the fen, finite and within what the ledger's
``Numeric(14, 2)`` holds (``claims.models.bounds.MAX_YUAN``)."""

NonNegativeYuan = Annotated[Decimal, BeforeValidator(_plain_amount), Field(ge=0), ColumnAmount]


class Frozen(BaseModel):
    """Base for boundary models: unknown fields are rejected, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------- actors


class Role(StrEnum):
    """Who performs a step. Permissions per role are enforced by the workflow's validators."""

    VILLAGE_SECRETARY = "village_secretary"  # 村计生协秘书长: reports, uploads documents
    HANDLER = "handler"  # 理赔员: registers, requests documents, adjudicates, pays
    INVESTIGATOR = "investigator"  # 调查员: records investigation findings
    SUPERVISOR = "supervisor"  # 主管: may do any handler step, reassigns
    AUDITOR = "auditor"  # 审计: reads and replays only
    SYSTEM = "system"  # the engine itself (timers, rules)


class Actor(Frozen):
    """The person (or the engine) behind a step: an opaque staff id and a role.

    ``county`` and ``village`` scope the actor, when set: a handler or supervisor of a
    county acts only on that county's claims, a village secretary only on their village's.
    Unset means unscoped (e.g. the provincial office, the engine).
    """

    id: StaffId
    role: Role
    county: PlaceName | None = None
    village: PlaceName | None = None


# --------------------------------------------------------------------------- stages


class Stage(StrEnum):
    """Where a claim stands. Terminal stages: ``closed`` and ``declined``."""

    REPORTED = "reported"  # 报案: waiting for registration (立案)
    DOCUMENTS = "documents"  # 资料收集: registered, collecting documents
    INVESTIGATION = "investigation"  # 调查
    ADJUDICATION = "adjudication"  # 核定: documents complete, waiting for the decision
    PAYOUT = "payout"  # 赔付: approved, waiting for the money to be paid
    CLOSED = "closed"  # 结案: paid
    DECLINED = "declined"  # 拒赔: declined with reasons

    @property
    def terminal(self) -> bool:
        """True for ``closed`` and ``declined``."""
        return self in (Stage.CLOSED, Stage.DECLINED)


class CaseClass(StrEnum):
    """Case class chosen by the triage rules; it selects the SLA target."""

    CLEAR = "clear"  # clear facts, complete documents: 3 working days (Changde)
    ORDINARY = "ordinary"  # 5 working days (provincial report)
    DISPUTED = "disputed"  # 疑难: 15 working days (Changde)
    INVESTIGATION = "investigation"  # needs investigation: 30 working days (province)


class SlaState(StrEnum):
    """SLA state of a claim's open clocks, as shown to supervisors."""

    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    BREACHED = "breached"
    MET = "met"  # all clocks stopped within target
    STUCK = "stuck"  # a store step keeps failing (``ClaimState.stuck``): the engine retries it


# --------------------------------------------------------------------------- register


class Sex(StrEnum):
    MALE = "M"
    FEMALE = "F"


class PolicySnapshot(Frozen):
    """A policy as it stood at the time of the claim, copied from the policy register.

    ``sum_insured`` is per insured person, in yuan. ``terms_version`` names the product
    terms file version the policy was issued under (e.g. ``family_accident_40k@2020``).
    """

    policy_number: str
    product_code: str
    terms_version: str
    sum_insured: NonNegativeYuan
    start_date: date
    end_date: date
    issued_on: date


class InsuredSnapshot(Frozen):
    """The insured person's facts the rules need: no names or identity numbers."""

    person_ref: str  # opaque register id, never the identity number
    sex: Sex
    birth_date: date


class HouseholdFlags(Frozen):
    """Household facts used by green-channel triage (绿色通道)."""

    registered_poor: bool = False  # 建档立卡户
    special_family: bool = False  # 计生特殊家庭: 失独 / 伤残独生子女家庭
    hardship: bool = False  # 计生特困家庭


# --------------------------------------------------------------------------- loss facts


class Outcome(StrEnum):
    """What the event caused, for the benefit that answers it."""

    DEATH = "death"
    DISABILITY = "disability"
    MEDICAL = "medical"
    ILLNESS = "illness"  # a diagnosed disease (critical illness, hospital cash)


class LossFacts(Frozen):
    """Facts established by the handler at adjudication (核定).

    ``disability_grades`` lists one JR/T 0083-2013 grade (1 = most severe … 10) per
    injury; required when ``outcome`` is ``disability``. ``circumstances`` lists codes such
    as ``drink_driving`` that exclusions test.
    """

    outcome: Outcome
    cause: Code
    disability_grades: list[int] = Field(default_factory=list, max_length=50)
    circumstances: list[Code] = Field(default_factory=list, max_length=20)
    medical_expenses: NonNegativeYuan = Decimal("0")
    # Added for the accident medical, hospital cash and critical illness benefits (issue 3);
    # all optional. ``medical_expenses`` is what the claimant bore after any basic medical
    # insurance settlement (yuan); ``diagnosis_code`` is an ICD-10 code such as ``C50.9``;
    # ``diagnosis_date`` defaults to the accident date and ``death_date`` to the accident
    # date; ``hospital_days`` counts the in-patient days of this stay.
    basic_insurance_paid: bool = False
    diagnosis_code: str | None = Field(default=None, max_length=16)
    diagnosis_date: BoundedDate | None = None
    hospital_days: int = Field(default=0, ge=0, le=3660)
    death_date: BoundedDate | None = None


# --------------------------------------------------------------------------- rules I/O


class PriorBenefit(Frozen):
    """A benefit already paid (from the payout ledger), or reserved by another claim's
    adjudication, that limits what a new claim pays.

    ``kind`` is a benefit kind of the terms (``accidental_disability``, ``accident_medical``,
    ``hospital_cash``, ``critical_illness`` ...); ``amount`` is in yuan; ``accident_date`` is
    the event of the earlier claim, ``paid_on`` the day it was paid (for a reservation: the
    day it was reserved). ``person_ref`` is the insured person it was paid for: limits are
    per insured person unless the benefit's terms say ``limit_scope: household``;
    ``None`` (inputs recorded before benefits were kept per person) counts for every person
    of the policy, as it did then. ``claim_number`` names the earlier claim (provenance of a
    deduction); ``reserved`` is true for an amount decided but not yet paid.
    """

    policy_number: str
    kind: str
    amount: NonNegativeYuan
    accident_date: date
    paid_on: date
    person_ref: str | None = None
    claim_number: str | None = None
    reserved: bool = False


class CoverageRequest(Frozen):
    """Input of ``evaluate_coverage``: one event, every policy that may answer it.

    ``prior_benefits`` lists earlier payments on these policies (default none): they are
    deducted from a death benefit, count against yearly limits, and end critical illness cover.
    """

    claim_number: str
    accident_date: date
    reported_on: date
    insured: InsuredSnapshot
    facts: LossFacts
    policies: list[PolicySnapshot]
    prior_benefits: list[PriorBenefit] = Field(default_factory=list)


class Deduction(Frozen):
    """An earlier payment (or reservation) of another claim that a benefit line took off or
    counted against its limit: the decision's provenance (claim number, kind, amount in yuan)."""

    claim_number: str | None
    kind: str
    amount: NonNegativeYuan
    reserved: bool = False


class BenefitLine(Frozen):
    """One payable benefit of one policy: amount in yuan and how it was computed.

    ``deducted`` lists the earlier payments (and reservations) of other claims of the same
    insured person (or household, for a shared limit) that reduced it or counted against its
    limit; empty in decisions recorded before it was kept.
    """

    policy_number: str
    product_code: str
    terms_version: str
    terms_hash: str
    benefit_id: str
    kind: str
    amount: NonNegativeYuan
    formula: str
    rule_ids: list[str]
    deducted: list[Deduction] = Field(default_factory=list)


class Refusal(Frozen):
    """A policy or benefit that does not pay, with the clause and the reason shown to the claimant."""

    policy_number: str
    clause_id: str
    reason: str


class CoverageDecision(Frozen):
    """Result of ``evaluate_coverage``, recorded in the workflow history for auditors.

    ``needs_handler`` is non-empty when the facts cannot be judged (e.g. a grade outside
    1–10): the claim is then routed back to a handler, never paid or refused silently.
    """

    claim_number: str
    lines: list[BenefitLine]
    refusals: list[Refusal]
    total: NonNegativeYuan
    needs_handler: list[str] = Field(default_factory=list)
    engine: str = "durable_rules"

    @property
    def payable(self) -> bool:
        """True when at least one benefit pays and nothing needs a handler."""
        return self.total > 0 and not self.needs_handler


class TriageRequest(Frozen):
    """Input of ``triage_claim``: the facts known at report time."""

    claim_number: str
    accident_date: date
    reported_on: date
    household: HouseholdFlags
    reported_outcome: Outcome
    reported_disability_grade: int | None = None
    nominated_green_channel: bool = False
    third_party_record: bool = True  # e.g. a traffic-police certificate exists
    policies: list[PolicySnapshot]
    disputed: bool = False  # flagged by a handler as disputed / difficult (疑难): 15 working days


class TriageResult(Frozen):
    """Green channel, case class and investigation need, with the rule ids that fired."""

    green_channel: bool
    case_class: CaseClass
    needs_investigation: bool
    rule_ids: list[str]
    reasons: list[str]


# --------------------------------------------------------------------------- deadlines


class DeadlineRequest(Frozen):
    """Input of ``compute_deadline``: a start instant and a target in working days.

    ``working_days == 0`` means "the same working day" (by the closing hour).
    """

    start: datetime
    working_days: int = Field(ge=0, le=366)


class Deadline(Frozen):
    """An absolute deadline, computed on the Chinese working-day calendar.

    ``due_at`` is an aware UTC instant (the closing hour, Asia/Shanghai, of ``due_date``).
    ``provisional`` is true when any day counted lies in a year with no published holiday
    schedule: such a deadline is recomputed when the schedule is loaded. ``calendar_days`` is
    set (and ``working_days`` is 0) for a statutory limit counted in calendar days (Insurance
    Law arts. 23–25); older histories recorded it only in the activity's input, so it may be
    ``None`` there.
    """

    start: datetime
    working_days: int
    due_date: date
    due_at: datetime
    calendar_version: str
    provisional: bool
    calendar_days: int | None = None


# --------------------------------------------------------------------------- claim report


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


# --------------------------------------------------------------------------- workflow I/O


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


class StepInput(Frozen):
    """Base of every handler step (a Temporal Update): who does it and a free note."""

    actor: Actor
    note: Note = ""


class RegisterInput(StepInput):
    """立案: accept the claim; the registering handler becomes the assigned handler unless named."""

    assign_to: StaffId | None = None


class RequestDocumentsInput(StepInput):
    """One-time notice of every missing document (一次性通知, Insurance Law art. 22)."""

    documents: DocumentList


class ReceiveDocumentsInput(StepInput):
    """Documents received from the claimant or the village secretary."""

    documents: DocumentList


class WaivedDocument(Frozen):
    """A checklist document the handler does without, and why (recorded in the timeline)."""

    document: DocumentName
    reason: Reason


class CompleteDocumentsInput(StepInput):
    """资料齐全: every document requested and every item of the claim's checklist received, or
    waived here with a reason (``waive``; what the green channel waives is not on the list)."""

    waive: list[WaivedDocument] = Field(default_factory=list, max_length=MAX_DOCUMENTS)


class InvestigationRequestInput(StepInput):
    """A handler asks for an investigation (调查)."""

    reason: Reason


class InvestigationResultInput(StepInput):
    """An investigator's findings; ``covered_event`` false means the event did not happen as reported."""

    findings: Findings
    covered_event: bool = True


class OverrideFindingInput(StepInput):
    """A supervisor lets a claim be paid although the investigator found the event not as
    reported: the reason is required and recorded in the timeline."""

    reason: Reason


class AdjudicateInput(StepInput):
    """核定: the facts established; the rules decide the amount."""

    facts: LossFacts


class PayInput(StepInput):
    """赔付: the transfer was made (bank reference of the transfer batch)."""

    transfer_ref: TransferRef


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


class PriorBenefitsRequest(Frozen):
    """Input of ``find_prior_benefits``: the policies of a claim, and the claim itself (excluded)."""

    claim_number: str
    policy_numbers: list[str]


class PriorBenefitsResult(Frozen):
    """Benefits already paid (or reserved) under those policies by other claims.

    ``ledger_versions`` maps each policy number to its ledger version when the benefits were
    read: ``reserve_benefits`` reserves only if no other claim reserved, paid or released
    anything on those policies since (optimistic concurrency; empty in older histories).
    """

    benefits: list[PriorBenefit]
    ledger_versions: dict[str, int] = Field(default_factory=dict)


class ReserveBenefitsRequest(Frozen):
    """Input of ``reserve_benefits``: hold a decision's amounts against the policies' limits.

    ``lines`` are the payable lines of the decision; ``ledger_versions`` those read with the
    prior benefits the decision was computed from.
    """

    claim_number: str
    person_ref: str
    accident_date: date
    lines: list[BenefitLine]
    ledger_versions: dict[str, int]
    reserved_at: datetime


class ReserveBenefitsResult(Frozen):
    """``reserved`` false means another claim changed the ledger of one of the policies since
    the prior benefits were read (``conflicts`` names them): read again and decide again."""

    reserved: bool
    conflicts: list[str] = Field(default_factory=list)


class ChecklistRequest(Frozen):
    """Input of ``document_checklist``: what decides which documents a claim needs."""

    outcome: Outcome
    green_channel: bool
    road_accident: bool
    filed_by_proxy: bool
    minor: bool


class ChecklistResult(Frozen):
    """The documents to request for a claim (``rules/documents.json``), in checklist order."""

    documents: list[str]


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


class ClaimProjection(Frozen):
    """The reporting row for one claim, written by the ``project_claim`` activity.

    ``seq`` orders the views of one claim across all its workflow runs: the run's start
    (milliseconds since the epoch, UTC) × 1,000,000 + the run's publish counter (1, 2, ...),
    see :func:`projection_seq`. The store keeps the row of the highest one, so a retried write
    of an older view that lands late is skipped, and a claim whose workflow was started again
    (it had gone from Temporal, ``report_claim`` restarts it) overrides the old run's row.
    0 (inputs recorded before the counter) writes unconditionally.
    """

    claim_number: str
    workflow_id: str
    stage: Stage
    county: str
    township: str
    village: str
    assigned_handler: str | None
    green_channel: bool
    case_class: CaseClass | None
    sla_state: SlaState
    sla_deadline: datetime | None
    target_working_days: int | None
    reported_at: datetime
    registered_at: datetime | None = None
    decided_at: datetime | None = None
    paid_at: datetime | None = None
    total_paid: NonNegativeYuan = Decimal("0")
    seq: int = Field(default=0, ge=0)
    stuck_activity: str | None = None
    stuck_since: datetime | None = None


PROJECTION_SEQ_PER_RUN = 1_000_000
"""Room for a run's publish counter inside :attr:`ClaimProjection.seq`."""


def projection_seq(run_started_at: datetime, publishes: int) -> int:
    """:attr:`ClaimProjection.seq` of a run's ``publishes``-th view (1-based).

    Args:
        run_started_at: the workflow run's start, an aware datetime (``workflow.info().start_time``).
        publishes: the run's publish counter, 1 ≤ publishes < 1,000,000.

    Raises:
        ValueError: a naive datetime or a counter out of range.
    """
    if run_started_at.tzinfo is None:
        raise ValueError("run_started_at must be timezone-aware")
    if not 1 <= publishes < PROJECTION_SEQ_PER_RUN:
        raise ValueError(f"publishes must be 1..{PROJECTION_SEQ_PER_RUN - 1}, got {publishes}")
    ms = (run_started_at - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)
    return ms * PROJECTION_SEQ_PER_RUN + publishes


class PayoutRequest(Frozen):
    """Input of ``record_payout``: every line of the decision becomes one payment."""

    claim_number: str
    transfer_ref: str
    lines: list[BenefitLine]
    paid_at: datetime


class Ack(Frozen):
    """An empty-ish result for activities that only record."""

    ok: Literal[True] = True


class SlaTargetRequest(Frozen):
    """Input of ``choose_sla_target``: the triage outcome of a claim, its county (region) and
    the product codes of its policies (the payout authority limit may differ by product)."""

    green_channel: bool
    case_class: CaseClass
    county: str | None = None
    product_codes: list[str] = Field(default_factory=list)


class SlaTarget(Frozen):
    """The programme target chosen for a claim's resolution clock, with the policy version.

    ``payout_authority_limit`` (yuan) is the handlers' authority limit of the claim's region
    and products under the same policy version: a payout above it needs a supervisor's
    approval; ``authority_rule`` says where it came from. Both are ``None`` in histories
    recorded before the engine kept the limit (the claim input's limit applies there).
    """

    policy_version: str
    working_days: int
    registration_working_days: int
    reason: str
    region: str = "default"
    max_pause_working_days: int = 20
    reassign_on_breach_to: str | None = None
    payout_authority_limit: NonNegativeYuan | None = None
    authority_rule: str | None = None


class EscalationInput(Frozen):
    """Input of ``escalate_breach``: a breached clock to report to the county's supervisors."""

    claim_number: str
    county: str
    township: str
    clock: str
    deadline: datetime
    assigned_handler: str | None


class PayoutResult(Frozen):
    """Result of ``record_payout``: the claim's ledger rows after the call."""

    payments: list[PaymentRecord]


class DeclineInput(StepInput):
    """拒赔: decline the claim with reasons shown to the claimant (Insurance Law art. 24)."""

    reasons: list[Reason] = Field(min_length=1, max_length=20)


class ReassignInput(StepInput):
    """A supervisor gives the claim to another handler."""

    handler: StaffId


class ArchiveInput(Frozen):
    """Input of ``archive_decision``: the decision record of a claim that reached a terminal stage.

    Sent once by the claim workflow when the claim is ``closed`` or ``declined``; the
    activity stores it as the claim's decision bundle (``claim_archives``), so an audit
    still works after Temporal has deleted the history. ``closed_at`` is ``workflow.now()``
    (aware UTC); ``state`` is the claim's final state (decision, payments, clocks with
    their calendar versions, timeline); ``sla_target`` carries the SLA policy version;
    ``facts`` the facts established at adjudication, when there was one;
    ``coverage_request`` the ``evaluate_coverage`` input the last decision was made on
    (prior benefits included), None in histories recorded before it was passed (the
    archive then rebuilds it from the claim input and marks it rebuilt).
    """

    workflow_id: str
    run_id: str
    closed_at: datetime
    claim: ClaimInput
    state: ClaimState
    sla_target: SlaTarget | None = None
    facts: LossFacts | None = None
    coverage_request: CoverageRequest | None = None


class StatutoryDeadlineRequest(Frozen):
    """Input of ``compute_statutory_deadline``: a start instant and a limit in calendar days."""

    start: datetime
    calendar_days: int = Field(ge=1, le=3650)


class WorkingDaysRequest(Frozen):
    """Input of ``count_working_days``: working days elapsed from ``start`` to ``end``."""

    start: datetime
    end: datetime


class WorkingDaysResult(Frozen):
    """Working days (not calendar days) between two instants."""

    working_days: int


class CalendarChange(Frozen):
    """Signal ``calendar_changed``: a holiday schedule was loaded; open clocks recompute."""

    calendar_version: str
    actor: Actor


class NoticeInput(Frozen):
    """Input of ``send_notice``: a notice to the claimant or the county's supervisors (outbox)."""

    claim_number: str
    kind: str  # sla_warning, sla_breach, decline_notice, advance_payment_due
    county: str
    recipient_role: str
    message: str
    dedupe_key: str
