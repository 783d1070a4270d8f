"""The handler steps: one input model per step (a Temporal Update) and the step registry, ``STEP_RULES``.

Part of the boundary models (``claims.models``): import-light on purpose (pydantic and the
standard library only), so workflow code can import it inside the Temporal sandbox.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import Field, model_validator

from claims.models.bounds import (
    MAX_DOCUMENTS,
    DocumentList,
    DocumentName,
    Findings,
    Note,
    Reason,
    StaffId,
    TransferRef,
)
from claims.models.common import Actor, Frozen, NonNegativeYuan, Role, Stage
from claims.models.rules_io import LossFacts


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


DocumentId = Annotated[str, Field(pattern=r"^D[0-9a-f]{20}$")]
"""A stored document file's id (``claims.store.documents``: ``D`` and 20 hex digits)."""

Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
"""A sha256 digest, 64 lower-case hex digits."""


class DocumentFile(Frozen):
    """A stored file of one of the claim's documents, as the workflow records it: the file's id
    in the store (``claims.store.documents``), the checklist item it stands for and the sha256 of
    its content. The file itself never enters a workflow history (issue 15)."""

    id: DocumentId
    kind: DocumentName
    sha256: Sha256


class RejectReason(StrEnum):
    """Why a handler sends a document file back (退回): the claimant is asked for it again."""

    UNREADABLE = "unreadable"  # 无法辨认
    WRONG_DOCUMENT = "wrong_document"  # 不是所需资料
    EXPIRED = "expired"  # 已过期
    OTHER = "other"  # 其他 (the note says what)


class RejectedDocument(Frozen):
    """A file sent back: which, why, by whom and when (``at``: aware UTC, the workflow's clock)."""

    file: DocumentFile
    reason: RejectReason
    by: str
    at: datetime


class ReceiveDocumentsInput(StepInput):
    """Documents received from the claimant or the village secretary: by name (``documents``,
    paper handed in) and, when they came as files checked in the console or with
    ``claims doc accept``, the accepted files (``files``: id, item and sha256; every file's
    item is one of ``documents``)."""

    documents: DocumentList
    files: list[DocumentFile] = Field(default_factory=list, max_length=MAX_DOCUMENTS)

    @model_validator(mode="after")
    def _files_are_of_the_documents(self) -> ReceiveDocumentsInput:
        stray = [f.kind for f in self.files if f.kind not in self.documents]
        if stray:
            raise ValueError(f"files: item {stray[0]!r} is not among the documents received")
        return self


class RejectDocumentInput(StepInput):
    """退回资料: a file of the claim is rejected (``reason``; the note says what to do). Its item
    is missing again unless another accepted file stands for it, and asking for it again is a
    re-request, not a second notice (Insurance Law art. 22 asks for one notice of all that is
    missing; a document the claimant handed in and that proved unusable is not a new item)."""

    file: DocumentFile
    reason: RejectReason


class WaivedDocument(Frozen):
    """A checklist document the handler does without, and why (recorded in the timeline)."""

    document: DocumentName
    reason: Reason


class CompleteDocumentsInput(StepInput):
    """资料齐全: every document requested and every item of the claim's checklist received, or
    waived here with a reason (``waive``; what the green channel waives is not on the list)."""

    waive: list[WaivedDocument] = Field(default_factory=list, max_length=MAX_DOCUMENTS)


class RequestInvestigationInput(StepInput):
    """A handler asks for an investigation (调查)."""

    reason: Reason


class ReferToConsultationInput(StepInput):
    """会商: a handler refers a disputed, difficult case to the joint meeting, with the reason."""

    reason: Reason


class RecordInvestigationInput(StepInput):
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


class ApprovePayoutInput(StepInput):
    """审批: a supervisor approves a payout above the handlers' authority limit (actor and note only)."""


class DeclineInput(StepInput):
    """拒赔: decline the claim with reasons shown to the claimant (Insurance Law art. 24)."""

    reasons: list[Reason] = Field(min_length=1, max_length=20)


class PayInput(StepInput):
    """赔付: the transfer was made (bank reference of the transfer batch)."""

    transfer_ref: TransferRef
    batch_id: TransferRef | None = None
    """The payout batch (现场理赔, ``claims.services.batches``) this payment is part of, if any."""


class ReassignInput(StepInput):
    """A supervisor gives the claim to another handler."""

    handler: StaffId


class WithdrawInput(StepInput):
    """撤案: the claimant withdraws the claim before payment (through the village secretary or a
    handler), with the reason; the clocks stop, and a new report of the event opens a new claim."""

    reason: Reason


class CloseReason(StrEnum):
    """Why a supervisor closes a claim without a decision (``close``)."""

    DUPLICATE = "duplicate"  # 重复报案
    ERROR = "error"  # 误报


class CloseInput(StepInput):
    """结案（重复/误报）: a supervisor closes a duplicate or mistaken report, with the reason code."""

    reason_code: CloseReason


class ReopenReason(StrEnum):
    """Why a supervisor reopens a closed or declined claim (``reopen``)."""

    APPEAL = "appeal"  # 申诉
    NEW_EVIDENCE = "new_evidence"  # 新证据
    COMPLAINT = "complaint"  # 投诉
    CALCULATION_ERROR = "calculation_error"  # 计算错误


class ReopenInput(StepInput):
    """重开: a supervisor carries a closed or declined claim back to adjudication, within the
    reopen period after it ended (SLA policy ``reopen_calendar_days``), with the reason code."""

    reason_code: ReopenReason


class PayAdvanceInput(StepInput):
    """先予支付 (Insurance Law art. 25, green channel): pay now, at most what can be established
    (``ClaimWorkflow._established``); the final payment pays the rest."""

    amount: NonNegativeYuan = Field(gt=0)
    transfer_ref: TransferRef


class ClearReviewInput(StepInput):
    """复核通过: a reviewer (supervisor) clears the claim's review hold, so it may be paid."""


class ReferToSiuInput(StepInput):
    """移送调查: a reviewer (supervisor) sends a held claim to investigation, with the reason."""

    reason: Reason


# --------------------------------------------------------------------------- the step registry


class RejectionCode(StrEnum):
    """Why a claim refused a step: the stable ``code`` of ``claims.errors.StepRejected`` (and of
    the ``StepRejected`` failure's details), for callers to branch on and a console to translate.
    The English message beside it is unchanged from before the codes."""

    CLAIM_OPENING = "claim.opening"  # triage still running: try again in a moment
    CLAIM_BUSY = "claim.busy"  # another step on this claim is in progress
    CLAIM_ENDED = "claim.ended"  # the claim's workflow has ended: no more steps
    STAGE_NOT_ALLOWED = "stage.not_allowed"
    ROLE_NOT_ALLOWED = "role.not_allowed"
    ASSIGNMENT_OTHER_HANDLER = "assignment.other_handler"
    SCOPE_COUNTY = "scope.county"
    SCOPE_VILLAGE = "scope.village"
    DOCUMENTS_CANNOT_WAIVE = "documents.cannot_waive"  # waived a document not needed or received
    DOCUMENTS_MISSING = "documents.missing"  # requested documents neither received nor waived
    DOCUMENTS_CHECKLIST_UNMET = "documents.checklist_unmet"  # checklist items neither received nor waived
    CONSULTATION_ALREADY_REFERRED = "consultation.already_referred"
    INVESTIGATION_ALREADY_PLANNED = "investigation.already_planned"
    FINDING_BLOCKS_PAY = "finding.blocks_pay"  # investigator: event not as reported
    FINDING_NONE_TO_OVERRIDE = "finding.none_to_override"
    AUTHORITY_ABOVE_LIMIT = "authority.above_limit"  # pay needs a supervisor's approval first
    AUTHORITY_WITHIN_LIMIT = "authority.within_limit"  # approve_payout: no approval needed
    PAYOUT_ALREADY_APPROVED = "payout.already_approved"
    PAYOUT_ALREADY_PAID = "payout.already_paid"  # an earlier pay attempt used another transfer ref
    PAYOUT_IN_BATCH = "payout.in_batch"  # pay (client): the claim is in an open payout batch, paid with it
    REVIEW_PENDING = "review.pending"  # pay: the claim's review hold is open
    REVIEW_NONE_OPEN = "review.none_open"  # clear_review / refer_to_siu: no open hold
    REOPEN_PERIOD_OVER = "reopen.period_over"  # reopen: the reopen period after close/decline has ended
    CLOSED_WITHOUT_DECISION = "reopen.closed_without_decision"  # reopen: withdrawn claims are not reopened
    ADVANCE_ABOVE_ESTABLISHED = "advance.above_established"  # pay_advance: more than can be established
    ADVANCE_ALREADY_PAID = "advance.already_paid"  # pay_advance: one advance per claim
    ADVANCE_OUTSTANDING = "advance.outstanding"  # withdraw / close: an advance was paid (decline instead)
    TOO_MANY_ATTEMPTS = "step.too_many_attempts"  # MAX_GENERATIONS attempts failed (client)
    FAILED = "step.failed"  # accepted, then failed in the handler without a code
    DOCUMENT_ALREADY_REJECTED = "document.already_rejected"  # reject_document: sent back already
    DOCUMENT_MISMATCH = "document.mismatch"  # reject_document: not the file the claim received


@dataclass(frozen=True)
class StepRule:
    """One handler step of the claim workflow: everything the engine and its callers know of it.

    Attributes:
        name: the Temporal Update name (``"approve_payout"``); never changes (claims in flight).
        input: the step's input model; ``rule_for`` finds the rule by it, and the workflow's
            Update of ``name`` takes it.
        stages: the stages the step fits.
        roles: the roles allowed (supervisors are listed where they may act too).
        assigned_only: a handler must be the claim's assigned one (supervisors always may).
        once: the step succeeds at most once on a claim (it leaves the stage or state that
            admits it): a retry with another input attaches to the first attempt
            (``claims.services.client.step_update_id``).
        label_zh, label_en: what people call it (立案 / register).
    """

    name: str
    input: type[StepInput]
    stages: frozenset[Stage]
    roles: frozenset[Role]
    assigned_only: bool
    once: bool
    label_zh: str
    label_en: str

    @property
    def cli_name(self) -> str:
        """The ``claims step`` command (``approve-payout``)."""
        return self.name.replace("_", "-")


HANDLER_ROLES = frozenset({Role.HANDLER, Role.SUPERVISOR})
"""Roles that may perform handler steps (register, request documents, adjudicate, pay)."""

_OPEN = frozenset(Stage) - {Stage.CLOSED, Stage.DECLINED, Stage.WITHDRAWN}
_BEFORE_PAYMENT = frozenset(
    {Stage.REPORTED, Stage.DOCUMENTS, Stage.INVESTIGATION, Stage.ADJUDICATION, Stage.PAYOUT}
)
_SUPERVISOR = frozenset({Role.SUPERVISOR})


STEP_RULES: dict[str, StepRule] = {
    rule.name: rule
    for rule in (
        StepRule(
            name="register",
            input=RegisterInput,
            stages=frozenset({Stage.REPORTED}),
            roles=HANDLER_ROLES,
            assigned_only=True,
            once=True,
            label_zh="立案",
            label_en="register",
        ),
        StepRule(
            name="request_documents",
            input=RequestDocumentsInput,
            stages=frozenset({Stage.DOCUMENTS}),
            roles=HANDLER_ROLES,
            assigned_only=True,
            once=False,
            label_zh="一次性告知补充资料",
            label_en="request documents",
        ),
        StepRule(
            name="receive_documents",
            input=ReceiveDocumentsInput,
            stages=frozenset({Stage.DOCUMENTS, Stage.INVESTIGATION}),
            roles=HANDLER_ROLES | {Role.VILLAGE_SECRETARY},
            assigned_only=False,
            once=False,
            label_zh="收到资料",
            label_en="receive documents",
        ),
        StepRule(
            name="reject_document",
            input=RejectDocumentInput,
            stages=frozenset({Stage.DOCUMENTS, Stage.INVESTIGATION}),
            roles=HANDLER_ROLES,
            assigned_only=True,
            once=False,
            label_zh="退回资料",
            label_en="reject document",
        ),
        StepRule(
            name="complete_documents",
            input=CompleteDocumentsInput,
            stages=frozenset({Stage.DOCUMENTS}),
            roles=HANDLER_ROLES,
            assigned_only=True,
            once=True,
            label_zh="资料齐全",
            label_en="documents complete",
        ),
        StepRule(
            name="request_investigation",
            input=RequestInvestigationInput,
            stages=frozenset({Stage.DOCUMENTS, Stage.ADJUDICATION}),
            roles=HANDLER_ROLES,
            assigned_only=True,
            once=False,
            label_zh="申请调查",
            label_en="request investigation",
        ),
        StepRule(
            name="refer_to_consultation",
            input=ReferToConsultationInput,
            stages=frozenset({Stage.DOCUMENTS, Stage.ADJUDICATION}),
            roles=HANDLER_ROLES,
            assigned_only=True,
            once=False,
            label_zh="提交会商",
            label_en="refer to consultation",
        ),
        StepRule(
            name="record_investigation",
            input=RecordInvestigationInput,
            stages=frozenset({Stage.INVESTIGATION}),
            roles=frozenset({Role.INVESTIGATOR, Role.SUPERVISOR}),
            assigned_only=False,
            once=False,
            label_zh="调查结论",
            label_en="record investigation",
        ),
        StepRule(
            name="adjudicate",
            input=AdjudicateInput,
            stages=frozenset({Stage.ADJUDICATION}),
            roles=HANDLER_ROLES,
            assigned_only=True,
            once=False,
            label_zh="核定",
            label_en="adjudicate",
        ),
        StepRule(
            name="decline",
            input=DeclineInput,
            stages=frozenset({Stage.ADJUDICATION, Stage.INVESTIGATION}),
            roles=HANDLER_ROLES,
            assigned_only=True,
            once=True,
            label_zh="拒赔",
            label_en="decline",
        ),
        StepRule(
            name="approve_payout",
            input=ApprovePayoutInput,
            stages=frozenset({Stage.PAYOUT}),
            roles=_SUPERVISOR,
            assigned_only=False,
            once=True,
            label_zh="审批",
            label_en="approve payout",
        ),
        StepRule(
            name="override_finding",
            input=OverrideFindingInput,
            stages=frozenset({Stage.ADJUDICATION, Stage.PAYOUT}),
            roles=_SUPERVISOR,
            assigned_only=False,
            once=True,
            label_zh="推翻调查结论",
            label_en="override finding",
        ),
        StepRule(
            name="pay",
            input=PayInput,
            stages=frozenset({Stage.PAYOUT}),
            roles=HANDLER_ROLES,
            assigned_only=True,
            once=True,
            label_zh="赔付",
            label_en="pay",
        ),
        StepRule(
            name="clear_review",
            input=ClearReviewInput,
            stages=frozenset({Stage.PAYOUT}),
            roles=_SUPERVISOR,
            assigned_only=False,
            once=True,
            label_zh="复核通过",
            label_en="clear review",
        ),
        StepRule(
            name="refer_to_siu",
            input=ReferToSiuInput,
            stages=frozenset({Stage.PAYOUT}),
            roles=_SUPERVISOR,
            assigned_only=False,
            once=True,
            label_zh="移送调查",
            label_en="refer to investigation unit",
        ),
        StepRule(
            name="withdraw",
            input=WithdrawInput,
            stages=_BEFORE_PAYMENT,
            roles=HANDLER_ROLES | {Role.VILLAGE_SECRETARY},
            assigned_only=True,
            once=True,
            label_zh="撤案",
            label_en="withdraw",
        ),
        StepRule(
            name="close",
            input=CloseInput,
            stages=_BEFORE_PAYMENT,
            roles=_SUPERVISOR,
            assigned_only=False,
            once=True,
            label_zh="注销（重复/误报）",
            label_en="close (duplicate or error)",
        ),
        StepRule(
            name="reopen",
            input=ReopenInput,
            stages=frozenset({Stage.CLOSED, Stage.DECLINED}),
            roles=_SUPERVISOR,
            assigned_only=False,
            once=False,
            label_zh="重开",
            label_en="reopen",
        ),
        StepRule(
            name="pay_advance",
            input=PayAdvanceInput,
            stages=frozenset({Stage.INVESTIGATION, Stage.ADJUDICATION, Stage.PAYOUT}),
            roles=HANDLER_ROLES,
            assigned_only=True,
            once=False,
            label_zh="先予支付",
            label_en="pay advance",
        ),
        StepRule(
            name="reassign",
            input=ReassignInput,
            stages=_OPEN,
            roles=_SUPERVISOR,
            assigned_only=False,
            once=False,
            label_zh="改派",
            label_en="reassign",
        ),
    )
}
"""Every handler step, by Update name: the one table the workflow's validators, the client,
the ``claims step`` commands, the audit, the demo and the bench derive from. A new step is one
entry here, one input model above and one Update (with a validator) in ``workflows/claim.py``."""

_BY_INPUT: dict[type[StepInput], StepRule] = {r.input: r for r in STEP_RULES.values()}


def rule_for(inp: StepInput) -> StepRule:
    """The step whose input ``inp`` is (by its exact type).

    Raises:
        TypeError: ``inp`` is no step's input (e.g. a bare ``StepInput``).
    """
    try:
        return _BY_INPUT[type(inp)]
    except KeyError:
        raise TypeError(
            f"{type(inp).__name__} is not the input of a step; inputs: "
            + ", ".join(t.__name__ for t in _BY_INPUT)
        ) from None


@dataclass(frozen=True)
class StepRefusal:
    """Why a step does not fit: ``code`` (a ``RejectionCode``), the English ``message`` people
    read (prefixed with the step name) and ``params`` for a translated one (strings only)."""

    code: RejectionCode
    message: str
    params: dict[str, str] = field(default_factory=dict)


def refusal(
    rule: StepRule,
    stage: Stage,
    actor: Actor,
    assigned_handler: str | None,
    claim_county: str,
    claim_village: str,
) -> StepRefusal | None:
    """The first reason the step does not fit the claim's stage, the actor's role, the
    assignment or the actor's scope (``county``/``village``, where the actor carries them);
    None when it fits. Pure: the workflow's validators and ``allowed_steps`` share it.

    The step's own conditions (documents, findings, the payout authority limit) and whether
    the claim is open or busy are the workflow's to check on top.
    """
    name = rule.name
    if stage not in rule.stages:
        allowed = ", ".join(sorted(s.value for s in rule.stages))
        return StepRefusal(
            RejectionCode.STAGE_NOT_ALLOWED,
            f"{name}: not allowed at stage '{stage.value}' (allowed at: {allowed})",
            {"stage": stage.value, "allowed": allowed},
        )
    if actor.role not in rule.roles:
        allowed = ", ".join(sorted(r.value for r in rule.roles))
        return StepRefusal(
            RejectionCode.ROLE_NOT_ALLOWED,
            f"{name}: role '{actor.role.value}' may not do this (roles: {allowed})",
            {"role": actor.role.value, "allowed": allowed},
        )
    if (
        rule.assigned_only
        and actor.role == Role.HANDLER
        and assigned_handler is not None
        and actor.id != assigned_handler
    ):
        return StepRefusal(
            RejectionCode.ASSIGNMENT_OTHER_HANDLER,
            f"{name}: claim is assigned to {assigned_handler}, not {actor.id}; "
            "ask a supervisor to reassign it",
            {"handler": assigned_handler, "actor": actor.id},
        )
    if actor.county is not None and actor.county != claim_county:
        return StepRefusal(
            RejectionCode.SCOPE_COUNTY,
            f"{name}: claim is in {claim_county}; {actor.id} acts for {actor.county} only",
            {"county": claim_county, "actor": actor.id, "actor_county": actor.county},
        )
    if actor.village is not None and actor.village != claim_village:
        return StepRefusal(
            RejectionCode.SCOPE_VILLAGE,
            f"{name}: claim is from {claim_village}; {actor.id} acts for {actor.village} only",
            {"village": claim_village, "actor": actor.id, "actor_village": actor.village},
        )
    return None


def allowed_steps(
    stage: Stage,
    actor: Actor,
    assigned_handler: str | None,
    claim_county: str,
    claim_village: str,
) -> list[StepRule]:
    """The steps ``actor`` may take on a claim at ``stage`` (registry order), for a console to
    offer only those. Stage, role, assignment and scope only: a step offered may still be
    refused for its own conditions (missing documents, the authority limit, ...)."""
    return [
        r
        for r in STEP_RULES.values()
        if refusal(r, stage, actor, assigned_handler, claim_county, claim_village) is None
    ]
