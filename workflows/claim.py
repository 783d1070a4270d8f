"""The claim workflow: one durable workflow per claim, from report (报案) to closed or declined.

Deterministic code only: no I/O, no clock but ``workflow.now()``. Deadlines, rules and the
store are activities, so their results are recorded in history and a replay never
recomputes them with newer data.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeUpdate
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.archive import ArchiveActivities
    from activities.letters import LetterActivities
    from activities.review import ReviewActivities
    from activities.rules import RulesActivities
    from activities.store import StoreActivities
    from claims.infra import search
    from claims.models import (
        ADVANCE_FIRST_NUMBER,
        SMALL_STEP_RESULTS,
        SYSTEM,
        Actor,
        AdjudicateInput,
        AdvanceRequest,
        ApprovePayoutInput,
        ArchiveInput,
        BenefitLine,
        CalendarChange,
        CaseClass,
        ChecklistRequest,
        ClaimInput,
        ClaimProjection,
        ClaimState,
        ClearReviewInput,
        CloseInput,
        CompleteDocumentsInput,
        CoverageDecision,
        CoverageRequest,
        DeclineInput,
        DocumentFile,
        EscalationInput,
        InvestigationFinding,
        LetterIssued,
        LetterRequest,
        LossFacts,
        NoticeInput,
        Outcome,
        OverrideFindingInput,
        PayAdvanceInput,
        PayInput,
        PaymentRecord,
        PayoutRequest,
        PriorBenefitsRequest,
        ReassignInput,
        ReceivableRequest,
        ReceiveDocumentsInput,
        RecordInvestigationInput,
        ReferToConsultationInput,
        ReferToSiuInput,
        RegisterInput,
        RejectDocumentInput,
        RejectedDocument,
        RejectionCode,
        ReopenInput,
        RequestDocumentsInput,
        RequestInvestigationInput,
        ReserveBenefitsRequest,
        ReviewHold,
        ReviewRequest,
        ReviewStatus,
        Role,
        SlaState,
        SlaTarget,
        SlaTargetRequest,
        Stage,
        StepInput,
        ClockMark,
        StepResult,
        build_step_result,
        StepRule,
        StuckStep,
        TimelineEntry,
        TriageRequest,
        TriageResult,
        WaivedDocument,
        WithdrawInput,
        projection_seq,
        supervision_facts,
        refusal,
        rule_for,
    )

from workflows.patches import LEAN_HISTORY, patched
from workflows.short_steps import short_step
from workflows.sla import (
    ART23_DECISION,
    ART23_PAYMENT,
    ART24_REFUSAL_NOTICE,
    ART25_ADVANCE_PAYMENT,
    REGISTRATION,
    RESOLUTION,
    ClockEvent,
    SlaClocks,
)

# Named retry policies: pure computations fail fast on bad input; the store retries through
# transient database trouble for as long as it takes.
COMPUTE_RETRY = RetryPolicy(
    maximum_attempts=5,
    non_retryable_error_types=["CalendarError", "SlaPolicyError", "ValidationError"],
)
STORE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1), maximum_attempts=8
)
"""Store activities retry through transient trouble: 8 attempts over about two minutes; then
the claim is marked stuck (visible to supervisors) and the step is tried again every
``STUCK_RETRY_EVERY`` until it succeeds (``ClaimWorkflow._store``)."""
STUCK_RETRY_EVERY = timedelta(minutes=1)
"""After a store step is marked stuck it is tried as often as the retries before it (the retry
policy's longest interval): being stuck costs no time, it only becomes visible."""
_R = TypeVar("_R")
SHORT = timedelta(seconds=30)
SKIP_UNCHANGED_PROJECTION = "skip-unchanged-projection"
"""``workflow.patched`` id: claims started before it wrote every view, changed or not."""
BENEFIT_RESERVATION = "benefit-reservation"
"""``workflow.patched`` id: claims adjudicated before it did not reserve their amounts against
the policies' limits (``reserve_benefits``), so a racing claim could use the same limit."""
REVIEW_HOLD = "review-hold"
"""``workflow.patched`` id: claims adjudicated before it were never judged by the review and
referral rules (``rules/review.json``) and go straight to payment."""
REFUSAL_LETTER = "review-refusal-letter"
"""``workflow.patched`` id: claims declined before it stopped the art. 24 clock when the refusal
notice was queued; since, it stops when the refusal letter is issued (``issue_refusal_letter``)."""
LETTER_TIMEOUT = timedelta(minutes=2)
"""The letter's PDF takes a few seconds on a cold worker (WeasyPrint, the CJK font)."""
LIFECYCLE_REOPEN_WINDOW = "lifecycle-reopen-window"
"""``workflow.patched`` id: claims closed or declined before it returned at once; since, the
workflow waits out the reopen period (``SlaTarget.reopen_calendar_days``) with a durable timer
before it archives and returns, so a supervisor can ``reopen`` it."""
ARCHIVE_AT_CLOSE = "lifecycle-archive-at-close"
"""``workflow.patched`` id: claims closed before it were archived only when their reopen period
ended; since, a claim with a reopen period is archived as soon as it closes (and again, replacing
that record, when the period ends or after a reopen), so the monthly 理赔明细 and the audit have
its decision (cause, disability grade, decline reasons) during the period."""
RECLASSIFY_KEEPS_PAUSE = "reclassify-keeps-pause"
"""``workflow.patched`` id (asked with ``workflow.patched`` itself: it came after
``lean-history``): a claim whose investigation or consultation was asked while its resolution
clock was paused for documents restarted that clock running with the new target; since, the
clock stays paused until the documents come in or the pause cap is reached."""
_UNSET = object()
"""No value upserted yet (``ClaimWorkflow._upsert``); None is an unset attribute."""
DEFAULT_REOPEN_DAYS = 0
"""The reopen period (calendar days) of claims whose SLA target was recorded before the SLA
policy kept ``reopen_calendar_days``: none, as the policy's own default."""
MAX_DECIDE_ATTEMPTS = 5
"""How often adjudication decides again when other claims keep changing the same ledgers;
then the claim goes back to the handler to adjudicate again."""


def reject(message: str, code: RejectionCode, **params: str) -> ApplicationError:
    """The error a validator (or a step that lost a race) raises: ``StepRejected``, final.

    The failure's details carry ``{"code": code, "params": params}`` (strings only), so the
    client raises ``claims.errors.StepRejected`` with the code and never reads the message.
    """
    return ApplicationError(
        message, {"code": code.value, "params": params}, type="StepRejected", non_retryable=True
    )


@workflow.defn(name="ClaimWorkflow")
class ClaimWorkflow:
    """One claim's story: triage, registration, documents, investigation, adjudication, payout.

    Human steps are Updates, one per entry of the step registry (``claims.models.STEP_RULES``:
    name, input model, stages, roles, assignment); their validators reject a step that does
    not fit (``_require``) with a ``StepRejected`` failure carrying a stable code; an accepted
    step returns a small ``StepResult`` (the whole ``ClaimState`` is the ``state`` Query; claims
    begun before ``SMALL_STEP_RESULTS`` still answer with the state, see ``_step``). A new
    step is one registry entry, one input model and one Update with its validator here.

    SLA clocks (``workflows/sla.py``) run beside the story: programme targets in working days
    (registration the same working day; resolution 2 / 3 / 5 / 15 / 30 by the SLA policy,
    paused while waiting on the claimant) and the Insurance Law's calendar-day limits (arts.
    23–25). A warning at 50 % and 80 %, a breach at 100 % that escalates to
    the county's supervisors; a new holiday schedule (signal ``calendar_changed``) recomputes
    open deadlines.

    The rest of a claim's life (issue 17): ``withdraw`` and ``close`` end it without a decision;
    ``pay_advance`` pays what can be established before the final ``pay``, which offsets it
    (a decline or a lower decision leaves a receivable). Reopen design: after close or decline
    the workflow stays open through the reopen window (``_reopen_window``: a durable timer of the
    SLA policy's ``reopen_calendar_days``, behind ``workflow.patched("lifecycle-reopen-window")``);
    a ``reopen`` in it carries the claim back to adjudication in this run, with its history and
    new clocks; the decision is archived and ``run()`` returns when the window ends, so the
    archive and the history's retention count from then (README, Architecture).
    """

    @workflow.init
    def __init__(self, inp: ClaimInput) -> None:
        self._inp = inp
        self._stage = Stage.REPORTED
        self._handler: str | None = None
        self._triage: TriageResult | None = None
        self._target: SlaTarget | None = None
        self._case_class: CaseClass | None = None
        self._investigation = False
        self._requested: list[str] = []
        self._received: list[str] = []
        self._files: list[DocumentFile] = []  # accepted files of received documents (issue 15)
        self._rejected: list[RejectedDocument] = []
        self._decided_files: list[DocumentFile] | None = None  # the files when last decided
        self._decision: CoverageDecision | None = None
        self._decline_reasons: list[str] = []
        self._payments: list[PaymentRecord] = []
        self._timeline: list[TimelineEntry] = []
        self._sla = SlaClocks(self._log)
        self._calendar_change: CalendarChange | None = None
        self._advance_payment_requested = False
        self._facts: LossFacts | None = None
        self._coverage_request: CoverageRequest | None = None  # input of the last evaluate_coverage
        self._required: list[str] = []
        self._disputed = False
        self._busy = False
        self._opened = False
        self._publishes = 0  # ClaimProjection.seq: the store keeps the latest view
        self._published: ClaimProjection | None = None  # the last view written
        self._registered_at: datetime | None = None
        self._decided_at: datetime | None = None
        self._paid_at: datetime | None = None
        self._finding: InvestigationFinding | None = None  # the investigator's last finding
        self._approved = False  # a supervisor approved the payout above the authority limit
        self._adjudicated_outcome: Outcome | None = None
        self._waived: list[WaivedDocument] = []  # checklist documents done without, with reasons
        self._stuck_steps: dict[int, StuckStep] = {}  # store steps that keep failing, by call
        self._review: ReviewHold | None = None  # review sampling / fraud referral hold at payout
        self._refusal_letter: LetterIssued | None = None  # the art. 24 letter, when issued
        self._ended_at: datetime | None = None  # closed, declined or withdrawn (the reopen period runs)
        self._closure: str | None = None  # withdrawn / closed without a decision: why
        self._reopened = 0
        self._receivables: list[ReceivableRequest] = []  # open: what the claimant owes back now
        self._receivable_numbers = 0
        self._store_calls = 0
        self._paused_reclassifications = 0
        self.lean_history = False  # set first thing in run(): workflows.patches
        self._attributes: dict[str, object] = {}  # search attributes as last upserted (lean claims)
        self._marks_sent: dict[str, ClockMark] = {}  # clocks as last answered (lean claims)

    # ------------------------------------------------------------------ the story

    @workflow.run
    async def run(self, inp: ClaimInput) -> ClaimState | StepResult:
        """Open the claim, then keep its SLA clocks until it is closed or declined.

        Returns the claim's ``StepResult`` as it ended (step ``end``); claims started before
        ``LEAN_HISTORY`` return the whole ``ClaimState`` (the ``state`` Query answers it for
        both, also once the workflow has closed).
        """
        self.lean_history = workflow.patched(LEAN_HISTORY)
        self._log(
            "reported",
            inp.reporter,
            f"outcome {inp.outcome.value}, cause {inp.cause}, accident {inp.accident_date}, "
            f"policies {', '.join(p.policy_number for p in inp.policies)}",
        )
        await self._triage_claim()
        await self._sla.start_programme(
            REGISTRATION, inp.reported_at, self._target_or_fail().registration_working_days
        )
        self._opened = True
        await self._publish()
        await self._keep_clocks_until_closed()
        await self._archive_at_close()
        while await self._reopen_window():
            await self._keep_clocks_until_closed()
            await self._archive_at_close()
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self._archive_decision()
        return self._step_result("end") if self.lean_history else self._state()

    async def _archive_at_close(self) -> None:
        """Archive the decision when the claim closes, if a reopen period follows (behind
        ``lifecycle-archive-at-close``): reports read the decision from the archive, and the
        period keeps the workflow running for weeks. The record is replaced when the period
        ends (``_archive_decision``)."""
        if not patched(ARCHIVE_AT_CLOSE):
            return  # asked at once, before any wait: histories recorded before it replay unchanged
        # the step that ended the claim sets its end time after its notices: wait for it
        await workflow.wait_condition(workflow.all_handlers_finished)
        if self._reopen_until() is None:
            return
        await self._archive_decision()

    def _reopen_until(self) -> datetime | None:
        """The end of the reopen period of a closed or declined claim; None for an open or a
        withdrawn one, one closed as a duplicate or error, or when the SLA policy sets no period."""
        if self._ended_at is None or self._stage not in (Stage.CLOSED, Stage.DECLINED) or self._closure:
            return None  # open, withdrawn, or closed without a decision (not reopened)
        days = self._target.reopen_calendar_days if self._target is not None else None
        days = DEFAULT_REOPEN_DAYS if days is None else days
        return self._ended_at + timedelta(days=days) if days > 0 else None

    async def _reopen_window(self) -> bool:
        """Wait out the reopen period after close or decline (behind ``lifecycle-reopen-window``);
        True if a supervisor reopened the claim meanwhile (its story goes on), False when the
        period ended (or the claim was withdrawn, or recorded before the patch)."""
        if self._stage == Stage.WITHDRAWN or not patched(LIFECYCLE_REOPEN_WINDOW):
            return False
        # the step that ended the claim may still be sending its notices
        await workflow.wait_condition(workflow.all_handlers_finished)
        if not self._stage.terminal:
            return True  # reopened while its decision was being archived (``_archive_at_close``)
        until = self._reopen_until()
        if until is None or until <= workflow.now():
            return False  # no reopen period configured (SLA policy ``reopen_calendar_days`` 0)
        try:
            await workflow.wait_condition(lambda: not self._stage.terminal, timeout=until - workflow.now())
        except TimeoutError:
            return False
        return True

    async def _archive_decision(self) -> None:
        """Keep the decision record beyond history retention (table ``claim_archives``).

        A lean claim (``LEAN_HISTORY``) archives with a local activity: its input, the whole
        final state, is not written to the history (the marker keeps the ``Ack``); the state is
        the workflow's own, rebuilt by replaying the history, and the history itself is
        archived once the workflow has closed (``claims.audit.archiver``).
        """
        if patched("archive-decision"):
            await self._store(
                ArchiveActivities.archive_decision,
                ArchiveInput(
                    workflow_id=workflow.info().workflow_id,
                    run_id=workflow.info().run_id,
                    closed_at=self._ended_at or workflow.now(),
                    claim=self._inp,
                    state=self._state(),
                    sla_target=self._target,
                    facts=self._facts,
                    coverage_request=self._coverage_request,
                ),
                local=self.lean_history,
            )

    async def _triage_claim(self) -> None:
        inp = self._inp
        self._triage = await short_step(
            RulesActivities.triage_claim,
            TriageRequest(
                claim_number=inp.claim_number,
                accident_date=inp.accident_date,
                reported_on=inp.reported_on,
                household=inp.household,
                reported_outcome=inp.outcome,
                reported_disability_grade=inp.disability_grade,
                nominated_green_channel=inp.nominate_green_channel,
                third_party_record=inp.third_party_record,
                policies=inp.policies,
            ),
            timeout=SHORT,
            retry=COMPUTE_RETRY,
        )
        self._case_class = self._triage.case_class
        self._investigation = self._triage.needs_investigation
        await self._choose_target()
        self._log(
            "triaged",
            SYSTEM,
            f"green channel {'yes' if self._triage.green_channel else 'no'}, case class "
            f"{self._triage.case_class.value}; " + "; ".join(self._triage.reasons),
            rule_ids=self._triage.rule_ids,
        )

    async def _choose_target(self) -> None:
        assert self._triage is not None and self._case_class is not None
        self._target = await short_step(
            RulesActivities.choose_sla_target,
            SlaTargetRequest(
                green_channel=self._triage.green_channel,
                case_class=self._case_class,
                county=self._inp.county,
                product_codes=sorted({p.product_code for p in self._inp.policies}),
            ),
            timeout=SHORT,
            retry=COMPUTE_RETRY,
        )
        self._sla.policy_version = self._target.policy_version

    def _target_or_fail(self) -> SlaTarget:
        if self._target is None:
            raise ApplicationError("no SLA target chosen", type="SlaPolicyError", non_retryable=True)
        return self._target

    async def _keep_clocks_until_closed(self) -> None:
        """Wait for the next clock event (warning, breach, art. 25 duty, pause cap) or a change;
        apply the event if the claim has not moved on meanwhile."""
        while not self._stage.terminal:
            seen = self._sla.changes

            def changed(seen: int = seen) -> bool:
                return self._stage.terminal or self._sla.changes != seen or self._calendar_change is not None

            event = self._sla.next_event()
            try:
                if event is None:
                    await workflow.wait_condition(changed)
                elif event.at > workflow.now():
                    await workflow.wait_condition(changed, timeout=event.at - workflow.now())
            except TimeoutError:
                pass
            if self._calendar_change is not None:
                change, self._calendar_change = self._calendar_change, None
                await self._sla.recompute(change.calendar_version, change.actor)
                await self._publish()
            elif (
                event is not None
                and not self._stage.terminal
                and self._sla.changes == seen
                and event.at <= workflow.now()
            ):
                await self._on_clock_event(event)

    async def _on_clock_event(self, event: ClockEvent) -> None:
        """What the programme does when a clock reaches a threshold."""
        if event.kind == "pause_cap":
            await self._sla.resume(
                event.clock,
                workflow.now(),
                self._target_or_fail().max_pause_working_days,
                "pause cap reached",
            )
        elif event.kind == "warning":
            clock = self._sla.mark_warned(event.clock, event.percent)
            await self._notice(
                "sla_warning",
                "supervisor" if event.percent >= 80 else "handler",
                f"claim {self._inp.claim_number}: {event.clock} at {event.percent}% of its time, "
                f"due {clock.deadline.due_at.isoformat(timespec='minutes')} UTC; handler "
                f"{self._handler or '-'}",
                f"{event.clock}:{event.percent}:{clock.deadline.due_at}",
            )
        elif event.kind == "trigger":
            # Insurance Law art. 25: 60 days after complete documents the amount is still open.
            self._sla.stop(event.clock, workflow.now())
            self._advance_payment_requested = True
            self._log(
                "advance_payment_due",
                SYSTEM,
                "60 days since complete documents and the amount is not determined: pay the part "
                "that can be established now (先予支付, Insurance Law art. 25)",
            )
            await self._notice(
                "advance_payment_due",
                "supervisor",
                f"claim {self._inp.claim_number}: advance payment due (art. 25)",
                event.clock,
            )
        else:
            clock = self._sla.mark_breached(event.clock)
            await self._store(
                StoreActivities.escalate_breach,
                EscalationInput(
                    claim_number=self._inp.claim_number,
                    county=self._inp.county,
                    township=self._inp.township,
                    clock=clock.name,
                    deadline=clock.deadline.due_at,
                    assigned_handler=self._handler,
                ),
            )
            to = self._target_or_fail().reassign_on_breach_to
            if to and to != self._handler:
                self._log("reassigned", SYSTEM, f"from {self._handler} to {to} on breach (SLA policy)")
                self._handler = to
        await self._publish()

    async def _notice(self, kind: str, recipient: str, message: str, key: str) -> None:
        await self._store(
            StoreActivities.send_notice,
            NoticeInput(
                claim_number=self._inp.claim_number,
                kind=kind,
                county=self._inp.county,
                recipient_role=recipient,
                message=message,
                dedupe_key=f"{self._inp.claim_number}:{kind}:{key}",
            ),
        )

    @workflow.signal
    def calendar_changed(self, change: CalendarChange) -> None:
        """A holiday schedule was loaded (``claims calendar load``): open deadlines recompute."""
        self._calendar_change = change

    # ------------------------------------------------------------------ steps (Updates)

    async def _step(
        self, step: StepInput, body: Callable[[], Awaitable[None]]
    ) -> ClaimState | StepResult:
        """Run one accepted step: check again (a twin step may have won), do it, publish.

        Returns:
            A ``StepResult`` (about 1 KB in the Update's history event), or, for a claim that
            took a step before ``workflow.patched(SMALL_STEP_RESULTS)`` existed, the whole
            ``ClaimState`` as before (the patch decision holds for the run, so such a claim
            answers every step the old way; ``claims.models.step_result`` says why).
        """
        rule = rule_for(step)
        self._require(rule, step)
        self._busy = True
        try:
            await body()
            await self._publish()
            if patched(SMALL_STEP_RESULTS):
                return self._step_result(rule.name)
            return self._state()
        finally:
            self._busy = False

    def _step_result(self, step: str) -> StepResult:
        """The small answer of ``step``: stage, SLA, the decision's and payments' amounts, clocks.

        A lean claim (``LEAN_HISTORY``) lists only the clocks new or changed since its previous
        answer (what the audit needs to name each recorded deadline, once); call once per answer.
        """
        result = self._build_step_result(step)
        if not self.lean_history:
            return result
        fresh = [c for c in result.clocks if self._marks_sent.get(c.name) != c]
        self._marks_sent.update((c.name, c) for c in fresh)
        return result.model_copy(update={"clocks": fresh})

    def _build_step_result(self, step: str) -> StepResult:
        return build_step_result(
            claim_number=self._inp.claim_number,
            step=step,
            timeline_length=len(self._timeline),
            stage=self._stage,
            sla_state=self._sla_state(),
            current=self._sla.current(),
            assigned_handler=self._handler,
            decision=self._decision,
            payout_approved=self._approved,
            review=self._review,
            payments=self._payments,
            decline_reasons=self._decline_reasons,
            clocks=self._sla.clocks.values(),
        )

    @workflow.update
    async def register(self, step: RegisterInput) -> ClaimState | StepResult:
        """立案: accept the claim; stops the registration clock, starts the resolution clock."""

        async def body() -> None:
            now = workflow.now()
            # A supervisor may have assigned the claim before registration: keep that.
            self._handler = step.assign_to or self._handler or step.actor.id
            self._registered_at = now
            self._stage = Stage.DOCUMENTS
            self._sla.stop(REGISTRATION, now)
            self._log("registered", step.actor, f"assigned to {self._handler}. {step.note}".strip())
            await self._sla.start_programme(RESOLUTION, now, self._target_or_fail().working_days)
            if patched("document-checklist"):
                await self._document_checklist()

        return await self._step(step, body)

    async def _document_checklist(self) -> None:
        """The documents this claim needs (rules/documents.json), so the one-time notice of art.
        22 can name all of them and a later request for one of them is flagged."""
        inp = self._inp
        age = (inp.reported_on - inp.insured.birth_date).days // 365
        result = await short_step(
            RulesActivities.document_checklist,
            ChecklistRequest(
                outcome=inp.outcome,
                green_channel=bool(self._triage and self._triage.green_channel),
                road_accident=inp.cause == "road_accident",
                filed_by_proxy=inp.reporter.role == Role.VILLAGE_SECRETARY,
                minor=age < 18,
            ),
            timeout=SHORT,
            retry=COMPUTE_RETRY,
        )
        self._required = result.documents
        self._log("documents_checklist", SYSTEM, "documents this claim needs: " + ", ".join(self._required))

    @register.validator
    def _validate_register(self, step: RegisterInput) -> None:
        self._require(rule_for(step), step)

    @workflow.update
    async def request_documents(self, step: RequestDocumentsInput) -> ClaimState | StepResult:
        """One-time notice of all missing documents (一次性通知, Insurance Law art. 22).

        A second request is accepted but flagged in the timeline as a repeated request.
        """

        async def body() -> None:
            # asking again for files that were sent back (退回) is no second notice: the
            # claimant handed them in once; a request naming anything else is one
            sent_back = {r.file.kind for r in self._rejected} - set(self._received)
            rerequest = bool(self._requested) and all(d in sent_back for d in step.documents)
            again = bool(self._requested) and not rerequest
            late = [d for d in step.documents if again and d in self._required and d not in self._requested]
            self._requested.extend(d for d in step.documents if d not in self._requested)
            self._log(
                "documents_requested",
                step.actor,
                ("REPEATED REQUEST (art. 22 asks for one notice): " if again else "")
                + ("re-request of documents sent back (not a second notice): " if rerequest else "")
                + ", ".join(step.documents)
                + (f"; FLAGGED: {', '.join(late)} could have been named in the first notice" if late else ""),
            )
            if self._missing_documents():
                await self._sla.pause(
                    RESOLUTION,
                    workflow.now(),
                    "waiting on the claimant for " + ", ".join(self._missing_documents()),
                    self._target_or_fail().max_pause_working_days,
                )

        return await self._step(step, body)

    @request_documents.validator
    def _validate_request_documents(self, step: RequestDocumentsInput) -> None:
        self._require(rule_for(step), step)

    @workflow.update
    async def receive_documents(self, step: ReceiveDocumentsInput) -> ClaimState | StepResult:
        """Documents received (from the claimant or the village secretary)."""

        async def body() -> None:
            self._received.extend(d for d in step.documents if d not in self._received)
            known = {f.id for f in self._files}
            self._files.extend(f for f in step.files if f.id not in known)
            missing = self._missing_documents()
            self._log(
                "documents_received",
                step.actor,
                ", ".join(step.documents)
                + "".join(f"; file {f.id} ({f.kind}) sha256 {f.sha256}" for f in step.files)
                + (f"; still missing: {', '.join(missing)}" if missing else ""),
            )
            if not missing:
                await self._sla.resume(
                    RESOLUTION,
                    workflow.now(),
                    self._target_or_fail().max_pause_working_days,
                    "all requested documents received",
                )

        return await self._step(step, body)

    @receive_documents.validator
    def _validate_receive_documents(self, step: ReceiveDocumentsInput) -> None:
        self._require(rule_for(step), step)

    @workflow.update
    async def reject_document(self, step: RejectDocumentInput) -> ClaimState | StepResult:
        """退回资料: a file is sent back with a reason. Its item is no longer received unless
        another accepted file stands for it, so it is missing again (``complete_documents``
        waits for it); asking for it again is a re-request, not a second art. 22 notice."""

        async def body() -> None:
            f = step.file
            was_accepted = any(x.id == f.id for x in self._files)
            self._files = [x for x in self._files if x.id != f.id]
            # only a file the item was received as takes it back off the list: an upload never
            # accepted leaves an item received on paper (or as another file) received
            if was_accepted and f.kind in self._received and not any(x.kind == f.kind for x in self._files):
                self._received.remove(f.kind)
            self._rejected.append(
                RejectedDocument(file=f, reason=step.reason, by=step.actor.id, at=workflow.now())
            )
            missing = self._missing_documents()
            self._log(
                "document_rejected",
                step.actor,
                f"{f.kind}: file {f.id} sha256 {f.sha256} sent back ({step.reason.value})"
                + (f"; {step.note}" if step.note else "")
                + (f"; missing: {', '.join(missing)}" if missing else ""),
            )

        return await self._step(step, body)

    @reject_document.validator
    def _validate_reject_document(self, step: RejectDocumentInput) -> None:
        self._require(rule_for(step), step)
        f = step.file
        known = next((x for x in self._files if x.id == f.id), None)
        if known is not None and known != f:
            raise reject(
                f"reject_document: file {f.id} was received as {known.kind} with sha256 "
                f"{known.sha256}, not as {f.kind} with sha256 {f.sha256}",
                RejectionCode.DOCUMENT_MISMATCH,
                file=f.id,
            )
        if known is None and any(r.file.id == f.id for r in self._rejected):
            raise reject(
                f"reject_document: file {f.id} was already sent back", RejectionCode.DOCUMENT_ALREADY_REJECTED, file=f.id
            )

    @workflow.update
    async def complete_documents(self, step: CompleteDocumentsInput) -> ClaimState | StepResult:
        """资料齐全: documents complete; on to investigation (when needed) or adjudication.

        Every requested document and every item of the claim's checklist must have been
        received, or be waived in this step with a reason (recorded as ``documents_waived``).
        """

        async def body() -> None:
            if step.waive:
                self._waived.extend(step.waive)
                self._log(
                    "documents_waived",
                    step.actor,
                    "; ".join(f"{w.document}: {w.reason}" for w in step.waive),
                )
            now = workflow.now()
            self._stage = Stage.INVESTIGATION if self._investigation else Stage.ADJUDICATION
            self._log("documents_complete", step.actor, f"next: {self._stage.value}. {step.note}".strip())
            await self._sla.resume(
                RESOLUTION, now, self._target_or_fail().max_pause_working_days, "documents complete"
            )
            await self._sla.start_statutory(ART23_DECISION, now)
            await self._sla.start_statutory(ART25_ADVANCE_PAYMENT, now)

        return await self._step(step, body)

    @complete_documents.validator
    def _validate_complete_documents(self, step: CompleteDocumentsInput) -> None:
        self._require(rule_for(step), step)
        needed = list(dict.fromkeys(self._required + self._requested))
        stray = [w.document for w in step.waive if w.document not in needed or w.document in self._received]
        if stray:
            raise reject(
                f"complete_documents: cannot waive {', '.join(stray)}: not requested or on the claim's "
                "checklist, or already received",
                RejectionCode.DOCUMENTS_CANNOT_WAIVE,
                documents=", ".join(stray),
            )
        waived = {w.document for w in self._waived} | {w.document for w in step.waive}
        missing = [d for d in self._missing_documents() if d not in waived]
        if missing:
            raise reject(
                f"complete_documents: still missing {', '.join(missing)}; receive them first, or waive "
                "each with a reason (--waive DOCUMENT=REASON)",
                RejectionCode.DOCUMENTS_MISSING,
                documents=", ".join(missing),
            )
        unmet = [d for d in self._required if d not in self._received and d not in waived]
        if unmet:
            raise reject(
                f"complete_documents: the claim's checklist still lacks {', '.join(unmet)}; receive "
                "them, or waive each with a reason (--waive DOCUMENT=REASON)",
                RejectionCode.DOCUMENTS_CHECKLIST_UNMET,
                documents=", ".join(unmet),
            )

    def _missing_documents(self) -> list[str]:
        return [d for d in self._requested if d not in self._received]

    @workflow.update
    async def refer_to_consultation(self, step: ReferToConsultationInput) -> ClaimState | StepResult:
        """会商: a disputed, difficult case goes to the joint meeting; the disputed target applies
        from registration (Changde: 15 working days), unless an investigation is already planned."""

        async def body() -> None:
            self._disputed = True
            self._log("referred_to_consultation", step.actor, step.reason)
            if self._case_class != CaseClass.INVESTIGATION:
                await self._reclassify(CaseClass.DISPUTED)

        return await self._step(step, body)

    async def _reclassify(self, case_class: CaseClass) -> None:
        """A new case class: its SLA target applies to the resolution clock from registration.

        A resolution clock paused for the claimant's documents stays paused (behind
        ``workflow.patched(RECLASSIFY_KEEPS_PAUSE)`` for the first such reclassification,
        ``RECLASSIFY_KEEPS_PAUSE-<n>`` for the n-th, asked only then): before it, the new
        target restarted the clock running while the claimant still owed documents.
        """
        self._case_class = case_class
        await self._choose_target()
        if self._registered_at is not None:
            current = self._sla.clocks.get(RESOLUTION)
            keep = False
            if current is not None and current.open and current.paused_since is not None:
                # one patch id per paused reclassification: the SDK keeps a patch's first
                # answer for the whole run, so a claim that replays an earlier one recorded
                # without the patch still takes the new path for a later one
                self._paused_reclassifications += 1
                n = self._paused_reclassifications
                keep = workflow.patched(RECLASSIFY_KEEPS_PAUSE if n == 1 else f"{RECLASSIFY_KEEPS_PAUSE}-{n}")
            await self._sla.start_programme(
                RESOLUTION, self._registered_at, self._target_or_fail().working_days, keep_pause=keep
            )

    @refer_to_consultation.validator
    def _validate_refer_to_consultation(self, step: ReferToConsultationInput) -> None:
        self._require(rule_for(step), step)
        if self._disputed:
            raise reject(
                "refer_to_consultation: the claim is already referred to the joint meeting",
                RejectionCode.CONSULTATION_ALREADY_REFERRED,
            )

    @workflow.update
    async def request_investigation(self, step: RequestInvestigationInput) -> ClaimState | StepResult:
        """A handler asks for an investigation (调查): the investigation target applies from registration."""

        async def body() -> None:
            self._investigation = True
            if self._stage == Stage.ADJUDICATION:
                self._stage = Stage.INVESTIGATION
            self._log("investigation_requested", step.actor, step.reason)
            await self._reclassify(CaseClass.INVESTIGATION)

        return await self._step(step, body)

    @request_investigation.validator
    def _validate_request_investigation(self, step: RequestInvestigationInput) -> None:
        self._require(rule_for(step), step)
        if self._investigation:
            raise reject(
                "request_investigation: an investigation is already planned for this claim",
                RejectionCode.INVESTIGATION_ALREADY_PLANNED,
            )

    @workflow.update
    async def record_investigation(self, step: RecordInvestigationInput) -> ClaimState | StepResult:
        """An investigator's findings; the claim goes on to adjudication."""

        async def body() -> None:
            self._stage = Stage.ADJUDICATION
            self._finding = InvestigationFinding(
                covered_event=step.covered_event, findings=step.findings, investigator=step.actor.id
            )
            self._log(
                "investigation_recorded",
                step.actor,
                f"{'event as reported' if step.covered_event else 'EVENT NOT AS REPORTED'}: {step.findings}"
                + (
                    ""
                    if step.covered_event
                    else "; payment is blocked unless a supervisor overrides this finding "
                    "(step override-finding) or the claim is declined"
                ),
            )

        return await self._step(step, body)

    @record_investigation.validator
    def _validate_record_investigation(self, step: RecordInvestigationInput) -> None:
        self._require(rule_for(step), step)

    @workflow.update
    async def adjudicate(self, step: AdjudicateInput) -> ClaimState | StepResult:
        """核定: the rules judge the established facts under every policy of the claim.

        Pays → stage ``payout``; nothing payable → ``declined`` with the refusal reasons
        (notice within 3 days, Insurance Law art. 24); facts that cannot be judged → stays in
        ``adjudication`` with the reasons for the handler.
        """

        async def body() -> None:
            self._note_outcome_change(step)
            decision = await self._decide(step.facts)
            self._facts = step.facts
            self._decision = decision
            self._decided_files = list(self._files)
            fired = sorted(
                {r for ln in decision.lines for r in ln.rule_ids} | {r.clause_id for r in decision.refusals}
            )
            if decision.needs_handler:
                self._log(
                    "adjudication_needs_handler",
                    step.actor,
                    "; ".join(decision.needs_handler),
                    rule_ids=fired,
                )
            elif decision.total > 0:
                self._decided_at = workflow.now()
                self._stage = Stage.PAYOUT
                self._sla.stop(ART23_DECISION, self._decided_at)
                self._sla.stop(ART25_ADVANCE_PAYMENT, self._decided_at)
                await self._sla.start_statutory(ART23_PAYMENT, self._decided_at)
                deducted = [
                    f"{d.amount} {d.kind} {'reserved' if d.reserved else 'paid'} "
                    f"on claim {d.claim_number or '-'}"
                    for ln in decision.lines
                    for d in ln.deducted
                ]
                limit = self._authority_limit()
                self._log(
                    "adjudicated",
                    step.actor,
                    "; ".join(
                        f"{ln.policy_number} {ln.benefit_id}: {ln.formula} = {ln.amount}"
                        for ln in decision.lines
                    )
                    + f"; total {decision.total} yuan"
                    + (f"; counted earlier payments: {', '.join(deducted)}" if deducted else "")
                    + (
                        f"; above the handler authority limit of {limit} yuan ({self._authority_rule()}): "
                        "needs a supervisor's approval"
                        if decision.total > limit
                        else ""
                    )
                    + (
                        "; PAYMENT BLOCKED: the investigator found the event not as reported"
                        if self._finding_blocks()
                        else ""
                    ),
                    rule_ids=fired,
                )
                await self._review_before_payout(decision)
            else:
                self._decided_at = workflow.now()
                await self._decline(
                    [f"{r.clause_id}: {r.reason}" for r in decision.refusals]
                    or ["no benefit of the policies answers the established facts"],
                    step.actor,
                    fired,
                )

        return await self._step(step, body)

    async def _review_before_payout(self, decision: CoverageDecision) -> None:
        """Judge a claim the rules would pay against the review and referral rules, once per
        claim, behind ``workflow.patched("review-hold")``: a hit holds payment (``ReviewHold``,
        open) with the rule ids until a supervisor clears it or refers it to investigation."""
        if self._review is not None or not patched(REVIEW_HOLD):
            return
        inp = self._inp
        result = await self._store(
            ReviewActivities.review_claim,
            ReviewRequest(
                claim_number=inp.claim_number,
                person_ref=inp.insured.person_ref,
                accident_date=inp.accident_date,
                outcome=self._adjudicated_outcome or inp.outcome,
                total=decision.total,
                policies=inp.policies,
                paying_policies=sorted({ln.policy_number for ln in decision.lines if ln.amount > 0}),
            ),
        )
        if result.queue is None:
            return
        self._review = ReviewHold(
            queue=result.queue,
            rule_ids=result.rule_ids,
            reasons=result.reasons,
            rules_version=result.rules_version,
            sample_bucket=result.sample_bucket,
            held_at=workflow.now(),
            total=decision.total,
        )
        self._log(
            "review_hold",
            SYSTEM,
            f"held for {result.queue.value} before payment (review rules {result.rules_version}, "
            f"sample bucket {result.sample_bucket}): " + "; ".join(result.reasons),
            rule_ids=result.rule_ids,
        )
        await self._notice(
            "review_hold",
            "supervisor",
            f"claim {inp.claim_number}: held for {result.queue.value} before payment "
            f"({', '.join(result.rule_ids)})",
            result.queue.value,
        )

    @workflow.update
    async def clear_review(self, step: ClearReviewInput) -> ClaimState | StepResult:
        """复核通过: a supervisor clears the review hold; the claim may be paid."""

        async def body() -> None:
            assert self._review is not None
            self._review = self._review.model_copy(
                update={
                    "status": ReviewStatus.CLEARED,
                    "decided_by": step.actor.id,
                    "decided_at": workflow.now(),
                }
            )
            self._log(
                "review_cleared",
                step.actor,
                f"{self._review.queue.value} hold cleared ({', '.join(self._review.rule_ids)}). "
                f"{step.note}".strip(),
                rule_ids=self._review.rule_ids,
            )

        return await self._step(step, body)

    @clear_review.validator
    def _validate_clear_review(self, step: ClearReviewInput) -> None:
        self._require(rule_for(step), step)

    @workflow.update
    async def refer_to_siu(self, step: ReferToSiuInput) -> ClaimState | StepResult:
        """移送调查: a supervisor sends a held claim to investigation (stage ``investigation``; the
        investigation target applies from registration); after the finding it is adjudicated again."""

        async def body() -> None:
            assert self._review is not None
            self._review = self._review.model_copy(
                update={
                    "status": ReviewStatus.REFERRED,
                    "decided_by": step.actor.id,
                    "decided_at": workflow.now(),
                }
            )
            self._investigation = True
            self._stage = Stage.INVESTIGATION
            self._log(
                "referred_to_siu",
                step.actor,
                f"{step.reason} ({', '.join(self._review.rule_ids)}). {step.note}".strip(),
                rule_ids=self._review.rule_ids,
            )
            await self._reclassify(CaseClass.INVESTIGATION)

        return await self._step(step, body)

    @refer_to_siu.validator
    def _validate_refer_to_siu(self, step: ReferToSiuInput) -> None:
        self._require(rule_for(step), step)

    @adjudicate.validator
    def _validate_adjudicate(self, step: AdjudicateInput) -> None:
        self._require(rule_for(step), step)

    def _note_outcome_change(self, step: AdjudicateInput) -> None:
        """Reports are often wrong: an adjudicated outcome other than the reported one is
        allowed, and recorded in the timeline as a change of outcome."""
        was = self._adjudicated_outcome or self._inp.outcome
        now = step.facts.outcome
        if now != was:
            self._log(
                "outcome_changed",
                step.actor,
                f"reported as {self._inp.outcome.value}"
                + (f", last adjudicated as {was.value}" if self._adjudicated_outcome else "")
                + f"; adjudicated as {now.value}",
            )
        self._adjudicated_outcome = now

    async def _decide(self, facts: LossFacts) -> CoverageDecision:
        """Read what other claims paid or reserved, let the rules decide, and reserve the
        amounts against the policies' limits; decide again when another claim changed the
        same ledgers meanwhile (``store.reserve_benefits``), at most ``MAX_DECIDE_ATTEMPTS``
        times, then hand the claim back to the handler."""
        inp = self._inp
        decision: CoverageDecision | None = None
        for _ in range(MAX_DECIDE_ATTEMPTS):
            prior = []
            versions: dict[str, int] = {}
            if patched("prior-benefits"):
                found = await self._store(
                    StoreActivities.find_prior_benefits,
                    PriorBenefitsRequest(
                        claim_number=inp.claim_number, policy_numbers=[p.policy_number for p in inp.policies]
                    ),
                )
                prior, versions = found.benefits, found.ledger_versions
            request = inp.coverage_request(facts, prior)
            decision = await workflow.execute_activity_method(
                RulesActivities.evaluate_coverage,
                request,
                start_to_close_timeout=SHORT,
                retry_policy=COMPUTE_RETRY,
            )
            self._coverage_request = request  # archived beside the decision: what it was made on
            if decision.needs_handler or decision.total <= 0 or not patched(BENEFIT_RESERVATION):
                return decision
            held = await self._store(
                StoreActivities.reserve_benefits,
                ReserveBenefitsRequest(
                    claim_number=inp.claim_number,
                    person_ref=inp.insured.person_ref,
                    accident_date=inp.accident_date,
                    lines=[ln for ln in decision.lines if ln.amount > 0],
                    ledger_versions=versions,
                    reserved_at=workflow.now(),
                ),
            )
            if held.reserved:
                return decision
            self._log(
                "decided_again",
                SYSTEM,
                f"another claim changed the ledger of {', '.join(held.conflicts)} while deciding: "
                "reading the earlier payments again",
            )
        assert decision is not None
        return decision.model_copy(
            update={
                "needs_handler": [
                    f"other claims kept changing the ledgers of these policies ({MAX_DECIDE_ATTEMPTS} "
                    "attempts): adjudicate again"
                ]
            }
        )

    def _authority_limit(self) -> Decimal:
        """The handlers' payout authority limit of this claim, yuan: the engine's (SLA policy
        data, recorded with the target), or for claims recorded before that, the claim input's."""
        if self._target is not None and self._target.payout_authority_limit is not None:
            return self._target.payout_authority_limit
        return self._inp.payout_authority_limit

    def _authority_rule(self) -> str:
        if self._target is not None and self._target.authority_rule is not None:
            return self._target.authority_rule
        return "limit recorded on the claim at report time"

    def _finding_blocks(self) -> bool:
        """The investigator found the event not as reported and no supervisor overrode it."""
        return (
            self._finding is not None
            and not self._finding.covered_event
            and self._finding.overridden_by is None
        )

    @workflow.update
    async def decline(self, step: DeclineInput) -> ClaimState | StepResult:
        """拒赔 by the handler, with reasons for the claimant (Insurance Law art. 24)."""

        async def body() -> None:
            self._decided_at = workflow.now()
            reasons = list(step.reasons)
            if self._finding_blocks():
                assert self._finding is not None
                reasons.insert(
                    0, f"investigation: the event did not happen as reported: {self._finding.findings}"
                )
            await self._decline(reasons, step.actor, [])

        return await self._step(step, body)

    @decline.validator
    def _validate_decline(self, step: DeclineInput) -> None:
        self._require(rule_for(step), step)

    async def _decline(self, reasons: list[str], actor: Actor, rule_ids: list[str]) -> None:
        """拒赔: stop the clocks and send the refusal notice with reasons (art. 24: within 3 days)."""
        now = workflow.now()
        self._decline_reasons = reasons
        self._decided_files = list(self._files)
        self._stage = Stage.DECLINED
        for name in (RESOLUTION, ART23_DECISION, ART25_ADVANCE_PAYMENT):
            self._sla.stop(name, now)
        self._log("declined", actor, "; ".join(reasons), rule_ids=rule_ids)
        await self._sla.start_statutory(ART24_REFUSAL_NOTICE, now)
        await self._notice(
            "decline_notice",
            "claimant",
            f"claim {self._inp.claim_number} is declined: " + "; ".join(reasons),
            "notice",
        )
        self._log("decline_notice_sent", SYSTEM, "refusal notice with reasons queued to the claimant")
        if patched(REFUSAL_LETTER):
            await self._issue_refusal_letter()  # the art. 24 clock stops when the letter is issued
        else:
            self._sla.stop(ART24_REFUSAL_NOTICE, workflow.now())
        self._ended_at = workflow.now()
        await self._release_reservations()
        await self._recover(self._paid_total() - self._recovered(), "the claim is declined")

    def _recovered(self) -> Decimal:
        """What receivables already claim back."""
        return sum((r.amount for r in self._receivables), Decimal("0"))

    async def _issue_refusal_letter(self) -> None:
        """拒赔通知书 (art. 24): the letter with the reasons, the refused clauses, the policies'
        terms versions, its date and the appeal route, built and hashed by an activity; the
        art. 24 clock stops when it is issued."""
        inp = self._inp
        decision = self._decision
        request = LetterRequest(
            claim_number=inp.claim_number,
            county=inp.county,
            township=inp.township,
            village=inp.village,
            accident_date=inp.accident_date,
            reported_on=inp.reported_on,
            outcome=self._adjudicated_outcome or inp.outcome,
            policies=inp.policies,
            reasons=self._decline_reasons,
            refusals=decision.refusals if decision is not None and decision.total <= 0 else [],
            issued_at=workflow.now(),
        )
        self._refusal_letter = await workflow.execute_activity_method(
            LetterActivities.issue_refusal_letter,
            request,
            start_to_close_timeout=LETTER_TIMEOUT,
            retry_policy=COMPUTE_RETRY,
        )
        self._sla.stop(ART24_REFUSAL_NOTICE, workflow.now())
        self._log(
            "refusal_letter_issued",
            SYSTEM,
            f"拒赔通知书 issued: sha256 {self._refusal_letter.sha256}, {self._refusal_letter.size} bytes "
            f"({self._refusal_letter.layout}); claims letter {inp.claim_number} prints it",
        )

    @workflow.update
    async def pay(self, step: PayInput) -> ClaimState | StepResult:
        """赔付: record the transfer in the payout ledger (one row per benefit line) and close."""

        async def body() -> None:
            assert self._decision is not None  # stage payout is only reached with a decision
            now = workflow.now()
            # the decision less what the claim already paid (an advance, or before a reopen)
            lines, beyond = self._less_paid([ln for ln in self._decision.lines if ln.amount > 0])
            before = len(self._payments)
            earlier = [p.payment_number for p in self._payments if p.payment_number < ADVANCE_FIRST_NUMBER]
            result = await self._store(
                StoreActivities.record_payout,
                PayoutRequest(
                    claim_number=self._inp.claim_number,
                    transfer_ref=step.transfer_ref,
                    lines=lines,
                    paid_at=now,
                    first_number=max(earlier, default=0) + 1,
                ),
            )
            self._payments = result.payments
            self._paid_at = now
            self._ended_at = now
            self._stage = Stage.CLOSED
            self._sla.stop(RESOLUTION, now)
            self._sla.stop(ART23_PAYMENT, now)
            total = sum((p.amount for p in self._payments[before:]), Decimal("0"))
            offset = sum((p.amount for p in self._payments[:before]), Decimal("0"))
            self._log(
                "paid",
                step.actor,
                f"{len(self._payments) - before} payment(s), {total} yuan, transfer {step.transfer_ref}"
                + (f"; {offset} yuan paid earlier offset" if before else ""),
            )
            decided = self._decision.total
            await self._recover(beyond, f"paid {self._paid_total()} yuan, decided {decided} yuan")

        return await self._step(step, body)

    @pay.validator
    def _validate_pay(self, step: PayInput) -> None:
        self._require(rule_for(step), step)  # includes the payout authority check

    @workflow.update
    async def approve_payout(self, step: ApprovePayoutInput) -> ClaimState | StepResult:
        """审批: a supervisor approves a payout above the handlers' authority limit, so it may be paid."""

        async def body() -> None:
            assert self._decision is not None
            self._approved = True
            self._log(
                "payout_approved",
                step.actor,
                f"{self._decision.total} yuan, above the handler limit of "
                f"{self._authority_limit()} yuan ({self._authority_rule()}). {step.note}".strip(),
            )

        return await self._step(step, body)

    @approve_payout.validator
    def _validate_approve_payout(self, step: ApprovePayoutInput) -> None:
        self._require(rule_for(step), step)

    @workflow.update
    async def override_finding(self, step: OverrideFindingInput) -> ClaimState | StepResult:
        """A supervisor lets the claim be paid although the investigator found the event not as
        reported; the reason is recorded."""

        async def body() -> None:
            assert self._finding is not None
            self._finding = self._finding.model_copy(
                update={"overridden_by": step.actor.id, "override_reason": step.reason}
            )
            self._log(
                "finding_overridden",
                step.actor,
                f"investigation finding 'event not as reported' overridden: {step.reason}. "
                f"{step.note}".strip(),
            )

        return await self._step(step, body)

    @override_finding.validator
    def _validate_override_finding(self, step: OverrideFindingInput) -> None:
        self._require(rule_for(step), step)
        if not self._finding_blocks():
            raise reject(
                "override_finding: no investigation finding of 'event not as reported' blocks this claim",
                RejectionCode.FINDING_NONE_TO_OVERRIDE,
            )

    @workflow.update
    async def reassign(self, step: ReassignInput) -> ClaimState | StepResult:
        """A supervisor gives the claim to another handler."""

        async def body() -> None:
            self._log(
                "reassigned", step.actor, f"from {self._handler} to {step.handler}. {step.note}".strip()
            )
            self._handler = step.handler

        return await self._step(step, body)

    @reassign.validator
    def _validate_reassign(self, step: ReassignInput) -> None:
        self._require(rule_for(step), step)

    # ------------------------------------------------------------------ the rest of a claim's life (issue 17)

    @workflow.update
    async def withdraw(self, step: WithdrawInput) -> ClaimState | StepResult:
        """撤案: the claimant withdraws before payment (through the village secretary or a
        handler); every clock stops and the claim ends. A new report of the same event opens a
        new claim (``claims.store.intake``: the next ``attempt``, another claim number)."""

        async def body() -> None:
            await self._end_without_decision(Stage.WITHDRAWN, f"withdrawn: {step.reason}", step)
            self._log("withdrawn", step.actor, f"{step.reason}. {step.note}".strip())

        return await self._step(step, body)

    @withdraw.validator
    def _validate_withdraw(self, step: WithdrawInput) -> None:
        self._require(rule_for(step), step)

    @workflow.update
    async def close(self, step: CloseInput) -> ClaimState | StepResult:
        """注销: a supervisor closes a duplicate or mistaken report (stage ``closed``, nothing
        decided or paid); every clock stops."""

        async def body() -> None:
            await self._end_without_decision(Stage.CLOSED, step.reason_code.value, step)
            self._log("closed", step.actor, f"closed as {step.reason_code.value}. {step.note}".strip())

        return await self._step(step, body)

    @close.validator
    def _validate_close(self, step: CloseInput) -> None:
        self._require(rule_for(step), step)

    async def _end_without_decision(self, stage: Stage, closure: str, step: StepInput) -> None:
        """End the claim without a decision: stop every clock, release what adjudication held
        against the policies' limits."""
        now = workflow.now()
        self._closure = closure
        self._stage = stage
        self._ended_at = now
        for name in (REGISTRATION, RESOLUTION, ART23_DECISION, ART23_PAYMENT, ART25_ADVANCE_PAYMENT):
            self._sla.stop(name, now)
        await self._release_reservations()

    async def _release_reservations(self) -> None:
        """A payable decision's held amounts are released (``reserve_benefits`` with no lines)."""
        if self._decision is None or not self._decision.payable or not patched(BENEFIT_RESERVATION):
            return
        await self._store(
            StoreActivities.reserve_benefits,
            ReserveBenefitsRequest(
                claim_number=self._inp.claim_number,
                person_ref=self._inp.insured.person_ref,
                accident_date=self._inp.accident_date,
                lines=[],
                ledger_versions={},
                reserved_at=workflow.now(),
            ),
        )

    @workflow.update
    async def reopen(self, step: ReopenInput) -> ClaimState | StepResult:
        """重开: a supervisor carries a closed or declined claim back to adjudication, with its
        history, within the reopen period. The resolution clock starts again on the SLA policy's
        target and the art. 23 decision clock from now; the new decision is paid less what the
        claim already paid (``pay``), and what was paid beyond it becomes a receivable."""

        async def body() -> None:
            now = workflow.now()
            was = self._stage
            self._reopened += 1
            self._stage = Stage.ADJUDICATION
            self._ended_at = None
            self._decline_reasons = []
            self._approved = False
            if self._receivables:
                # decided again: what is owed back follows from the new decision
                await self._store(StoreActivities.cancel_receivables, self._inp.claim_number)
                self._log(
                    "receivable_cancelled",
                    SYSTEM,
                    f"{self._recovered()} yuan no longer claimed back: the claim is decided again",
                )
                self._receivables = []
            self._log(
                "reopened",
                step.actor,
                f"{was.value} claim reopened ({step.reason_code.value}); paid so far "
                f"{self._paid_total()} yuan. {step.note}".strip(),
            )
            await self._sla.start_programme(RESOLUTION, now, self._target_or_fail().working_days)
            await self._sla.start_statutory(ART23_DECISION, now)

        return await self._step(step, body)

    @reopen.validator
    def _validate_reopen(self, step: ReopenInput) -> None:
        self._require(rule_for(step), step)

    @workflow.update
    async def pay_advance(self, step: PayAdvanceInput) -> ClaimState | StepResult:
        """先予支付 (Insurance Law art. 25; the green channel's advance): pay now at most what can
        be established (``_established``), one ledger row of kind ``advance`` per line it is
        allotted to; the art. 25 clock stops. The final ``pay`` pays the rest; a lower final
        decision or a decline leaves a receivable (追偿)."""

        async def body() -> None:
            lines = await self._established()
            available = sum((ln.amount for ln in lines), Decimal("0"))
            if step.amount > available:
                raise reject(
                    f"pay_advance: {step.amount} yuan is more than can be established now "
                    f"({available} yuan)",
                    RejectionCode.ADVANCE_ABOVE_ESTABLISHED,
                    amount=str(step.amount),
                    established=str(available),
                )
            left, allotted = step.amount, []
            for ln in lines:
                part = min(left, ln.amount)
                if part > 0:
                    allotted.append(ln.model_copy(update={"amount": part}))
                    left -= part
            now = workflow.now()
            result = await self._store(
                StoreActivities.record_advance,
                AdvanceRequest(
                    claim_number=self._inp.claim_number,
                    transfer_ref=step.transfer_ref,
                    lines=allotted,
                    paid_at=now,
                ),
            )
            self._payments = result.payments
            self._sla.stop(ART25_ADVANCE_PAYMENT, now)
            self._log(
                "advance_paid",
                step.actor,
                f"{step.amount} yuan of {available} yuan established, transfer {step.transfer_ref}. "
                f"{step.note}".strip(),
            )

        return await self._step(step, body)

    @pay_advance.validator
    def _validate_pay_advance(self, step: PayAdvanceInput) -> None:
        self._require(rule_for(step), step)

    async def _established(self) -> list[BenefitLine]:
        """What can be established now, line by line, less what the claim already paid: the
        payable decision's lines once adjudicated; before that, the rules' amounts on the facts
        as reported (outcome, cause, reported grade), other claims' payments counted, nothing
        reserved."""
        if self._decision is not None and self._decision.payable:
            lines = [ln for ln in self._decision.lines if ln.amount > 0]
        else:
            inp = self._inp
            facts = LossFacts(
                outcome=inp.outcome,
                cause=inp.cause,
                disability_grades=[inp.disability_grade] if inp.disability_grade else [],
            )
            found = await self._store(
                StoreActivities.find_prior_benefits,
                PriorBenefitsRequest(
                    claim_number=inp.claim_number, policy_numbers=[p.policy_number for p in inp.policies]
                ),
            )
            estimate = await workflow.execute_activity_method(
                RulesActivities.evaluate_coverage,
                inp.coverage_request(facts, found.benefits),
                start_to_close_timeout=SHORT,
                retry_policy=COMPUTE_RETRY,
            )
            lines = [] if estimate.needs_handler else [ln for ln in estimate.lines if ln.amount > 0]
        return self._less_paid(lines)[0]

    def _less_paid(self, lines: list[BenefitLine]) -> tuple[list[BenefitLine], Decimal]:
        """``lines`` less what the claim already paid (advances and earlier payments, by policy,
        in line order), and what was paid beyond them (to be recovered)."""
        paid: dict[str, Decimal] = {}
        for p in self._payments:
            paid[p.policy_number] = paid.get(p.policy_number, Decimal("0")) + p.amount
        out = []
        for ln in lines:
            part = min(paid.get(ln.policy_number, Decimal("0")), ln.amount)
            paid[ln.policy_number] = paid.get(ln.policy_number, Decimal("0")) - part
            out.append(ln.model_copy(update={"amount": ln.amount - part}))
        return out, sum(paid.values(), Decimal("0"))

    def _paid_total(self) -> Decimal:
        return sum((p.amount for p in self._payments), Decimal("0"))

    async def _recover(self, amount: Decimal, why: str) -> None:
        """追偿: record what the claimant owes back (a receivable in the ledger) and notify the
        claimant and the county's supervisors."""
        if amount <= 0:
            return
        policy = self._payments[0].policy_number if self._payments else self._inp.policies[0].policy_number
        req = ReceivableRequest(
            claim_number=self._inp.claim_number,
            receivable_number=self._receivable_numbers + 1,
            policy_number=policy,
            amount=amount,
            reason=why,
            created_at=workflow.now(),
        )
        await self._store(StoreActivities.record_receivable, req)
        self._receivable_numbers += 1
        self._receivables.append(req)
        self._log("receivable", SYSTEM, f"{amount} yuan to recover from the claimant ({why})")
        for recipient in ("claimant", "supervisor"):
            await self._notice(
                "recovery_notice",
                recipient,
                f"claim {self._inp.claim_number}: {amount} yuan paid in advance is to be repaid ({why})",
                f"{req.receivable_number}:{recipient}",
            )

    @workflow.query
    def state(self) -> ClaimState:
        """The claim's state, timeline and clocks, without changing anything."""
        return self._state()

    # ------------------------------------------------------------------ helpers

    def _require(self, rule: StepRule, step: StepInput) -> None:
        """Reject a step that does not fit: the claim still opening or busy with another step,
        then the registry's checks (``claims.models.steps.refusal``: stage, role, assignment,
        the actor's ``county``/``village`` scope), then for ``pay`` and ``approve_payout`` the
        investigation finding and the payout authority limit.

        Called by each validator, and again when the handler starts, so that of two equal
        steps delivered together only the first takes effect.

        Raises:
            ApplicationError: type ``StepRejected``, details ``{"code", "params"}`` (``reject``).
        """
        name = rule.name
        if not self._opened:
            raise reject(
                f"{name}: the claim is still being opened (triage); try again in a moment",
                RejectionCode.CLAIM_OPENING,
            )
        if self._busy:
            raise reject(
                f"{name}: another step on this claim is in progress; try again", RejectionCode.CLAIM_BUSY
            )
        refused = refusal(rule, self._stage, step.actor, self._handler, self._inp.county, self._inp.village)
        if refused is not None:
            raise reject(refused.message, refused.code, **refused.params)
        self._require_lifecycle(name)
        if name in ("clear_review", "refer_to_siu") and (self._review is None or not self._review.open):
            raise reject(f"{name}: the claim has no open review hold", RejectionCode.REVIEW_NONE_OPEN)
        if name == "pay" and self._review is not None and self._review.open:
            raise reject(
                f"pay: the claim is held for {self._review.queue.value} before payment "
                f"({', '.join(self._review.rule_ids)}); a supervisor must clear it (step clear-review) "
                "or refer it to investigation (step refer-to-siu)",
                RejectionCode.REVIEW_PENDING,
                queue=self._review.queue.value,
                rules=", ".join(self._review.rule_ids),
            )
        if name == "pay" and self._finding_blocks():
            assert self._finding is not None
            raise reject(
                f"pay: the investigator ({self._finding.investigator}) found the event not as reported; "
                "a supervisor must override the finding with a reason (step override-finding), "
                "or decline the claim",
                RejectionCode.FINDING_BLOCKS_PAY,
                investigator=self._finding.investigator,
            )
        if name in ("pay", "approve_payout") and self._decision is not None:
            limit = self._authority_limit()
            approved = self._approved
            amounts = {"total": str(self._decision.total), "limit": str(limit)}
            if name == "pay" and self._decision.total > limit and not approved:
                raise reject(
                    f"pay: {self._decision.total} yuan is above the handler authority limit of {limit} "
                    f"yuan ({self._authority_rule()}); a supervisor must approve it first "
                    "(step approve-payout)",
                    RejectionCode.AUTHORITY_ABOVE_LIMIT,
                    **amounts,
                )
            if name == "approve_payout" and self._decision.total <= limit:
                raise reject(
                    f"approve_payout: {self._decision.total} yuan is within the handler authority limit "
                    f"of {limit} yuan; no approval is needed",
                    RejectionCode.AUTHORITY_WITHIN_LIMIT,
                    **amounts,
                )
            if name == "approve_payout" and approved:
                raise reject(
                    "approve_payout: this payout is already approved", RejectionCode.PAYOUT_ALREADY_APPROVED
                )

    def _require_lifecycle(self, name: str) -> None:
        """The lifecycle steps' own conditions: no withdrawal or close after an advance, reopen
        within the reopen period and only after a decision, one advance per claim."""
        if name in ("withdraw", "close") and self._paid_total() > 0:
            raise reject(
                f"{name}: {self._paid_total()} yuan was paid in advance on this claim; decline it "
                "instead, so the advance is recovered",
                RejectionCode.ADVANCE_OUTSTANDING,
                paid=str(self._paid_total()),
            )
        if name == "reopen":
            if self._closure is not None:
                raise reject(
                    f"reopen: the claim was closed without a decision ({self._closure}); report the "
                    "event again instead",
                    RejectionCode.CLOSED_WITHOUT_DECISION,
                    closure=self._closure,
                )
            until = self._reopen_until()
            if until is None or workflow.now() > until:
                ended = self._ended_at.isoformat(timespec="minutes") if self._ended_at else "-"
                raise reject(
                    f"reopen: the reopen period ended at "
                    f"{until.isoformat(timespec='minutes') if until else '-'} UTC (claim ended {ended})",
                    RejectionCode.REOPEN_PERIOD_OVER,
                    until=until.isoformat() if until else "",
                )
        if name == "pay_advance" and any(p.payment_number >= ADVANCE_FIRST_NUMBER for p in self._payments):
            raise reject(
                "pay_advance: an advance was already paid on this claim; the final payment pays the rest",
                RejectionCode.ADVANCE_ALREADY_PAID,
            )

    def _log(self, event: str, actor: Actor, detail: str = "", rule_ids: list[str] | None = None) -> None:
        self._timeline.append(
            TimelineEntry(
                at=workflow.now(),
                event=event,
                actor=actor,
                stage=self._stage,
                detail=detail,
                rule_ids=rule_ids or [],
            )
        )

    async def _publish(self) -> None:
        """Upsert the search attributes and write the reporting projection.

        Behind ``workflow.patched("skip-unchanged-projection")``, a view equal to the last one
        published (a step that changed nothing the supervisors see, e.g. documents received
        while the stage stays ``documents``) issues neither the upsert nor the activity:
        about a third of a claim's projection writes.
        """
        view = self._view()
        # Whether to publish depends on what supervisors see of the claim's own progress, not on
        # a stuck store step of a concurrent call (that one writes its view itself).
        plain = view.model_copy(
            update={"sla_state": self._sla.state(), "stuck_activity": None, "stuck_since": None}
        )
        if patched(SKIP_UNCHANGED_PROJECTION) and plain == self._published:
            return
        self._published = plain
        self._upsert([
            search.STAGE.value_set(self._stage.value),
            search.COUNTY.value_set(self._inp.county),
            search.TOWNSHIP.value_set(self._inp.township),
            search.GREEN_CHANNEL.value_set(view.green_channel),
            search.SLA_STATE.value_set(view.sla_state.value),
            search.HANDLER.value_set(self._handler) if self._handler else search.HANDLER.value_unset(),
            search.SLA_DEADLINE.value_set(view.sla_deadline)
            if view.sla_deadline is not None
            else search.SLA_DEADLINE.value_unset(),
        ])
        await self._write_view(view)

    def _upsert(self, updates: list[SearchAttributeUpdate]) -> None:
        """Upsert search attributes; a lean claim (``LEAN_HISTORY``) sends only those whose value
        changed since its last upsert, and nothing when none did (an older claim sends all)."""
        if self.lean_history:
            updates = [u for u in updates if self._attributes.get(u.key.name, _UNSET) != u.value]
            for u in updates:
                self._attributes[u.key.name] = u.value
            if not updates:
                return
        workflow.upsert_search_attributes(updates)

    def _sla_state(self) -> SlaState:
        """The SLA state supervisors see: ``stuck`` while a store step keeps failing."""
        return SlaState.STUCK if self._stuck is not None else self._sla.state()

    async def _store(self, activity: Callable[..., _R], arg: Any, *, local: bool = False) -> _R:
        """Run a store activity (``STORE_RETRY``); when it keeps failing, show the claim as stuck
        and keep trying every ``STUCK_RETRY_EVERY``, never in silence.

        Stuck: SLA state ``stuck`` at once in the search attributes (no store needed), the
        timeline names the step and the error, and the projection (when the store takes it)
        carries ``stuck_activity`` and ``stuck_since``, so ``claims overdue`` lists the claim.
        When the step succeeds again it is unstuck and the view is written again.

        The commands this issues depend on this call's own failures only (never on another
        concurrent call's, e.g. the run loop's projection beside a step's payout), so a replay
        issues the same commands whatever order concurrent calls resumed in.
        """
        name = activity.__name__
        self._store_calls += 1
        key = self._store_calls
        failing = False
        while True:
            try:
                run = workflow.execute_local_activity_method if local else workflow.execute_activity_method
                result = await run(
                    activity,  # type: ignore[arg-type]
                    arg,
                    start_to_close_timeout=SHORT,
                    retry_policy=STORE_RETRY,
                )
            except ActivityError as e:
                if not failing:
                    failing = True
                    cause = e.cause if e.cause is not None else e
                    self._stuck_steps[key] = StuckStep(
                        activity=name, since=workflow.now(), error=str(cause)[:500]
                    )
                    self._log(
                        "stuck",
                        SYSTEM,
                        f"{name} keeps failing ({str(cause)[:200]}); retrying every "
                        f"{STUCK_RETRY_EVERY.seconds // 60} minutes",
                    )
                    self._upsert([search.SLA_STATE.value_set(SlaState.STUCK.value)])
                    if activity is not StoreActivities.project_claim:
                        await self._write_view(self._view())
                await workflow.sleep(STUCK_RETRY_EVERY)
                continue
            if failing:
                since = self._stuck_steps.pop(key).since
                self._log("unstuck", SYSTEM, f"{name} succeeded again; stuck since {since.isoformat()}")
                self._upsert([search.SLA_STATE.value_set(self._sla_state().value)])
                if activity is not StoreActivities.project_claim:
                    await self._write_view(self._view())
            return result  # type: ignore[no-any-return]

    def _view(self) -> ClaimProjection:
        """The reporting row of the claim as it stands (without ``seq``).

        A lean claim (``LEAN_HISTORY``) adds what the supervisor's counters need (paused,
        waiting for approval, review queue), so the console counts them in SQL instead of asking
        every claim's workflow; an older claim leaves them None (its views, and so the commands
        its history replays, stay as recorded).
        """
        current = self._sla.current()
        paused: bool | None = None
        awaiting: bool | None = None
        queue: str | None = None
        if self.lean_history:
            paused, awaiting, queue = supervision_facts(
                stage=self._stage,
                clocks=self._sla.clocks.values(),
                decision_total=self._decision.total if self._decision is not None else None,
                authority_limit=self._authority_limit(),
                approved=self._approved,
                review=self._review,
            )
        return ClaimProjection(
            claim_number=self._inp.claim_number,
            workflow_id=workflow.info().workflow_id,
            stage=self._stage,
            county=self._inp.county,
            township=self._inp.township,
            village=self._inp.village,
            assigned_handler=self._handler,
            green_channel=bool(self._triage and self._triage.green_channel),
            case_class=self._case_class,
            sla_state=self._sla_state(),
            sla_deadline=current.deadline.due_at if current else None,
            target_working_days=self._target.working_days if self._target else None,
            reported_at=self._inp.reported_at,
            registered_at=self._registered_at,
            decided_at=self._decided_at,
            paid_at=self._paid_at,
            total_paid=sum((p.amount for p in self._payments), Decimal("0")),
            stuck_activity=self._stuck.activity if self._stuck else None,
            stuck_since=self._stuck.since if self._stuck else None,
            reopened=self._reopened,
            paused=paused,
            awaiting_approval=awaiting,
            review_queue=queue,
        )

    @property
    def _stuck(self) -> StuckStep | None:
        """The store step failing the longest, if any."""
        return min(self._stuck_steps.values(), key=lambda x: x.since, default=None)

    async def _write_view(self, view: ClaimProjection) -> None:
        """Write ``view`` to the reporting projection, numbered (``ClaimProjection.seq``)."""
        self._publishes += 1
        await self._store(
            StoreActivities.project_claim,
            view.model_copy(update={"seq": projection_seq(workflow.info().start_time, self._publishes)}),
        )

    def _state(self) -> ClaimState:
        return ClaimState(
            claim_number=self._inp.claim_number,
            stage=self._stage,
            county=self._inp.county,
            township=self._inp.township,
            village=self._inp.village,
            accident_date=self._inp.accident_date,
            reported_at=self._inp.reported_at,
            policies=[p.policy_number for p in self._inp.policies],
            assigned_handler=self._handler,
            triage=self._triage,
            green_channel=bool(self._triage and self._triage.green_channel),
            case_class=self._case_class,
            investigation_requested=self._investigation,
            documents_requested=list(self._requested),
            documents_received=list(self._received),
            decision=self._decision,
            decline_reasons=list(self._decline_reasons),
            payments=list(self._payments),
            clocks=list(self._sla.clocks.values()),
            sla_state=self._sla_state(),
            timeline=list(self._timeline),
            sla_policy_version=self._sla.policy_version,
            calendar_version=self._sla.calendar_version,
            advance_payment_requested=self._advance_payment_requested,
            documents_required=list(self._required),
            reported_outcome=self._inp.outcome,
            adjudicated_outcome=self._adjudicated_outcome,
            payout_authority_limit=self._authority_limit(),
            authority_rule=self._authority_rule(),
            payout_approved=self._approved,
            investigation_finding=self._finding,
            documents_waived=list(self._waived),
            stuck=self._stuck,
            review=self._review,
            refusal_letter=self._refusal_letter,
            advance_paid=sum(
                (p.amount for p in self._payments if p.payment_number >= ADVANCE_FIRST_NUMBER), Decimal("0")
            ),
            receivable=self._recovered(),
            closure=self._closure,
            reopened=self._reopened,
            reopen_until=self._reopen_until(),
            documents_files=list(self._files),
            documents_rejected=list(self._rejected),
            decision_documents=None if self._decided_files is None else list(self._decided_files),
        )
