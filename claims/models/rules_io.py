"""Inputs and results of the rules activities: loss facts, coverage, triage, the document checklist,
the SLA target.

Part of the boundary models (``claims.models``): import-light on purpose (pydantic and the
standard library only), so workflow code can import it inside the Temporal sandbox.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum

from pydantic import Field

from claims.models.bounds import BoundedDate, Code
from claims.models.common import Frozen, NonNegativeYuan, Outcome
from claims.models.register_io import HouseholdFlags, InsuredSnapshot, PolicySnapshot


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


class CaseClass(StrEnum):
    """Case class chosen by the triage rules; it selects the SLA target."""

    CLEAR = "clear"  # clear facts, complete documents: 3 working days (Changde)
    ORDINARY = "ordinary"  # 5 working days (provincial report)
    DISPUTED = "disputed"  # 疑难: 15 working days (Changde)
    INVESTIGATION = "investigation"  # needs investigation: 30 working days (province)


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
    reopen_calendar_days: int | None = None
    """How long after a claim is closed or declined a supervisor may reopen it (calendar days,
    SLA policy ``reopen_calendar_days``); ``None`` in histories recorded before it was kept: the
    workflow's ``DEFAULT_REOPEN_DAYS`` applies."""
