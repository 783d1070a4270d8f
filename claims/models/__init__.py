"""Boundary models: every value that crosses the workflow/activity/CLI/file boundary.

One job: name the shapes the engine exchanges. By boundary, one module each, all re-exported
here so ``from claims.models import X`` works for every public name:

- ``common``: the frozen base, money types (``Yuan``), ``Role``, ``Actor``, ``SYSTEM``, ``Stage``,
  ``Outcome``;
- ``register_io``: policy, insured person and household snapshots from the register;
- ``rules_io``: loss facts, coverage, triage, the document checklist, the SLA target;
- ``calendar_io``: deadlines and working days;
- ``steps``: one input per handler step and the step registry (``STEP_RULES``);
- ``review_io``: review sampling and fraud referral (the review activity, the claim's hold);
- ``claim``: the report, the workflow input, the claim's state, timeline and SLA clocks;
- ``step_result``: what a step (Update) answers: ``StepResult``, small; the state is a Query;
- ``store_io``, ``notices_io``, ``archive_io``: the store, notice and archive activities' I/O;
- ``bounds``: the bounds on every value that enters (identifiers, text, amounts, dates).

Import-light on purpose (pydantic and the standard library only), so workflow code can
import it inside the Temporal sandbox. Field names and types are what recorded histories hold:
change them only with a migration of the histories.

Conventions:
- Money is ``Decimal`` yuan with at most two decimals (fen), never float.
- ``datetime`` values are timezone-aware; the engine stores and passes UTC, and shows
  Asia/Shanghai to people.
- ``date`` values are calendar dates in Asia/Shanghai.
"""

from __future__ import annotations

from claims.models.archive_io import (
    ArchiveInput,
)
from claims.models.calendar_io import (
    CalendarChange,
    Deadline,
    DeadlineRequest,
    StatutoryDeadlineRequest,
    WorkingDaysRequest,
    WorkingDaysResult,
)
from claims.models.claim import (
    ClaimInput,
    ClaimReport,
    ClaimState,
    ClockKind,
    InvestigationFinding,
    PaymentRecord,
    SlaClock,
    SlaState,
    StuckStep,
    TimelineEntry,
)
from claims.models.common import (
    SYSTEM,
    TASK_QUEUE,
    Ack,
    Actor,
    Frozen,
    NonNegativeYuan,
    Outcome,
    Role,
    Stage,
    Yuan,
)
from claims.models.notices_io import (
    EscalationInput,
    NoticeInput,
)
from claims.models.register_io import (
    HouseholdFlags,
    InsuredSnapshot,
    PolicySnapshot,
    Sex,
)
from claims.models.review_io import (
    LetterIssued,
    LetterRequest,
    ReviewHold,
    ReviewQueue,
    ReviewRequest,
    ReviewResult,
    ReviewStatus,
)
from claims.models.rules_io import (
    BenefitLine,
    CaseClass,
    ChecklistRequest,
    ChecklistResult,
    CoverageDecision,
    CoverageRequest,
    Deduction,
    LossFacts,
    PriorBenefit,
    Refusal,
    SlaTarget,
    SlaTargetRequest,
    TriageRequest,
    TriageResult,
)
from claims.models.steps import (
    HANDLER_ROLES,
    STEP_RULES,
    AdjudicateInput,
    ApprovePayoutInput,
    ClearReviewInput,
    CloseInput,
    CloseReason,
    CompleteDocumentsInput,
    DeclineInput,
    OverrideFindingInput,
    PayAdvanceInput,
    PayInput,
    ReassignInput,
    ReceiveDocumentsInput,
    RecordInvestigationInput,
    ReferToConsultationInput,
    ReferToSiuInput,
    RegisterInput,
    RejectionCode,
    ReopenInput,
    ReopenReason,
    RequestDocumentsInput,
    RequestInvestigationInput,
    StepInput,
    StepRefusal,
    StepRule,
    WaivedDocument,
    WithdrawInput,
    allowed_steps,
    refusal,
    rule_for,
)
from claims.models.step_result import (
    MAX_CLOCKS,
    MAX_DECLINE_REASONS,
    SMALL_STEP_RESULTS,
    TRIGGER_CLOCKS,
    ClockMark,
    ClockStatus,
    StepResult,
    current_clock,
    step_result_of,
)
from claims.models.store_io import (
    ADVANCE_FIRST_NUMBER,
    PROJECTION_SEQ_PER_RUN,
    AdvanceRequest,
    ClaimProjection,
    PayoutRequest,
    PayoutResult,
    PriorBenefitsRequest,
    PriorBenefitsResult,
    ReceivableRequest,
    ReserveBenefitsRequest,
    ReserveBenefitsResult,
    projection_seq,
)

__all__ = [
    "MAX_CLOCKS",
    "MAX_DECLINE_REASONS",
    "SMALL_STEP_RESULTS",
    "TRIGGER_CLOCKS",
    "ClockMark",
    "ClockStatus",
    "StepResult",
    "current_clock",
    "step_result_of",
    "LetterIssued",
    "LetterRequest",
    "ReviewHold",
    "ReviewQueue",
    "ReviewRequest",
    "ReviewResult",
    "ReviewStatus",
    "ClearReviewInput",
    "ReferToSiuInput",
    "Ack",
    "Actor",
    "AdjudicateInput",
    "ApprovePayoutInput",
    "ArchiveInput",
    "BenefitLine",
    "CalendarChange",
    "CaseClass",
    "ChecklistRequest",
    "ChecklistResult",
    "ClaimInput",
    "ClaimProjection",
    "ClaimReport",
    "ClaimState",
    "ClockKind",
    "CompleteDocumentsInput",
    "CoverageDecision",
    "CoverageRequest",
    "Deadline",
    "DeadlineRequest",
    "DeclineInput",
    "Deduction",
    "EscalationInput",
    "Frozen",
    "HANDLER_ROLES",
    "HouseholdFlags",
    "InsuredSnapshot",
    "InvestigationFinding",
    "LossFacts",
    "NonNegativeYuan",
    "NoticeInput",
    "Outcome",
    "OverrideFindingInput",
    "PROJECTION_SEQ_PER_RUN",
    "PayInput",
    "ADVANCE_FIRST_NUMBER",
    "AdvanceRequest",
    "ReceivableRequest",
    "PayAdvanceInput",
    "CloseInput",
    "CloseReason",
    "ReopenInput",
    "ReopenReason",
    "WithdrawInput",
    "PaymentRecord",
    "PayoutRequest",
    "PayoutResult",
    "PolicySnapshot",
    "PriorBenefit",
    "PriorBenefitsRequest",
    "PriorBenefitsResult",
    "ReassignInput",
    "ReceiveDocumentsInput",
    "RecordInvestigationInput",
    "ReferToConsultationInput",
    "Refusal",
    "RegisterInput",
    "RejectionCode",
    "RequestDocumentsInput",
    "RequestInvestigationInput",
    "ReserveBenefitsRequest",
    "ReserveBenefitsResult",
    "Role",
    "STEP_RULES",
    "SYSTEM",
    "Sex",
    "SlaClock",
    "SlaState",
    "SlaTarget",
    "SlaTargetRequest",
    "Stage",
    "StatutoryDeadlineRequest",
    "StepInput",
    "StepRefusal",
    "StepRule",
    "StuckStep",
    "TASK_QUEUE",
    "TimelineEntry",
    "TriageRequest",
    "TriageResult",
    "WaivedDocument",
    "WorkingDaysRequest",
    "WorkingDaysResult",
    "Yuan",
    "allowed_steps",
    "projection_seq",
    "refusal",
    "rule_for",
]
