"""The claim workflow: one durable workflow per claim, from report (报案) to closed or declined.

Deterministic code only: no I/O, no clock but ``workflow.now()``. Deadlines, rules and the
store are activities, so their results are recorded in history and a replay never
recomputes them with newer data.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from decimal import Decimal

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.deadlines import CalendarActivities
    from activities.rules import RulesActivities
    from activities.store import StoreActivities
    from claims import search
    from claims.models import (
        Actor,
        AdjudicateInput,
        CaseClass,
        ClaimInput,
        ClaimProjection,
        ClaimState,
        CoverageDecision,
        CoverageRequest,
        Deadline,
        DeadlineRequest,
        DeclineInput,
        EscalationInput,
        InvestigationRequestInput,
        InvestigationResultInput,
        PayInput,
        PaymentRecord,
        PayoutRequest,
        ReassignInput,
        ReceiveDocumentsInput,
        RegisterInput,
        RequestDocumentsInput,
        Role,
        SlaClock,
        SlaState,
        SlaTarget,
        SlaTargetRequest,
        Stage,
        StepInput,
        TimelineEntry,
        TriageRequest,
        TriageResult,
    )

SYSTEM = Actor(id="engine", role=Role.SYSTEM)

# Named retry policies: pure computations fail fast on bad input; the store retries through
# transient database trouble for as long as it takes.
COMPUTE_RETRY = RetryPolicy(
    maximum_attempts=5,
    non_retryable_error_types=["CalendarError", "SlaPolicyError", "ValidationError"],
)
STORE_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1))
SHORT = timedelta(seconds=30)

HANDLER_ROLES = frozenset({Role.HANDLER, Role.SUPERVISOR})
"""Roles that may perform handler steps (register, request documents, adjudicate, pay)."""

REGISTRATION = "registration"
RESOLUTION = "resolution"


def reject(message: str) -> ApplicationError:
    """The error a validator (or a step that lost a race) raises: ``StepRejected``, final."""
    return ApplicationError(message, type="StepRejected", non_retryable=True)


_OPEN = frozenset(Stage) - {Stage.CLOSED, Stage.DECLINED}

STEPS: dict[str, tuple[frozenset[Stage], frozenset[Role], bool]] = {
    # step: (stages it fits, roles allowed, only the assigned handler (supervisors always may))
    "register": (frozenset({Stage.REPORTED}), HANDLER_ROLES, False),
    "request_documents": (frozenset({Stage.DOCUMENTS}), HANDLER_ROLES, True),
    "receive_documents": (
        frozenset({Stage.DOCUMENTS, Stage.INVESTIGATION}),
        HANDLER_ROLES | {Role.VILLAGE_SECRETARY},
        False,
    ),
    "complete_documents": (frozenset({Stage.DOCUMENTS}), HANDLER_ROLES, True),
    "request_investigation": (frozenset({Stage.DOCUMENTS, Stage.ADJUDICATION}), HANDLER_ROLES, True),
    "record_investigation": (frozenset({Stage.INVESTIGATION}), HANDLER_ROLES | {Role.INVESTIGATOR}, False),
    "adjudicate": (frozenset({Stage.ADJUDICATION}), HANDLER_ROLES, True),
    "decline": (frozenset({Stage.ADJUDICATION, Stage.INVESTIGATION}), HANDLER_ROLES, True),
    "pay": (frozenset({Stage.PAYOUT}), HANDLER_ROLES, True),
    "reassign": (_OPEN, frozenset({Role.SUPERVISOR}), False),
}
"""Which step fits which stage and role: the single table both validators and handlers check."""


@workflow.defn(name="ClaimWorkflow")
class ClaimWorkflow:
    """One claim's story: triage, registration, documents, investigation, adjudication, payout.

    Human steps are Updates whose validators reject a step that does not fit the stage or
    the actor's role (or, for a handler, the assignment); an accepted step returns the new
    ``ClaimState``. Two SLA clocks run on working days: registration (same working day) and
    resolution (registration to money paid; 5 ordinary, 30 with investigation, 2 green
    channel, from ``rules/sla_policy.json``). A passed deadline marks the claim breached and
    escalates to the county's supervisors.
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
        self._decision: CoverageDecision | None = None
        self._decline_reasons: list[str] = []
        self._payments: list[PaymentRecord] = []
        self._clocks: dict[str, SlaClock] = {}
        self._clock_changes = 0
        self._timeline: list[TimelineEntry] = []
        self._busy = False
        self._opened = False
        self._registered_at: datetime | None = None
        self._decided_at: datetime | None = None
        self._paid_at: datetime | None = None

    # ------------------------------------------------------------------ the story

    @workflow.run
    async def run(self, inp: ClaimInput) -> ClaimState:
        """Open the claim, then keep its SLA clocks until it is closed or declined."""
        self._log(
            "reported",
            inp.reporter,
            f"outcome {inp.outcome.value}, cause {inp.cause}, accident {inp.accident_date}, "
            f"policies {', '.join(p.policy_number for p in inp.policies)}",
        )
        await self._triage_claim()
        await self._start_clock(
            REGISTRATION, inp.reported_at, self._target_or_fail().registration_working_days
        )
        self._opened = True
        await self._publish()
        await self._keep_clocks_until_closed()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._state()

    async def _triage_claim(self) -> None:
        inp = self._inp
        self._triage = await workflow.execute_activity_method(
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
            start_to_close_timeout=SHORT,
            retry_policy=COMPUTE_RETRY,
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
        self._target = await workflow.execute_activity_method(
            RulesActivities.choose_sla_target,
            SlaTargetRequest(green_channel=self._triage.green_channel, case_class=self._case_class),
            start_to_close_timeout=SHORT,
            retry_policy=COMPUTE_RETRY,
        )

    def _target_or_fail(self) -> SlaTarget:
        if self._target is None:
            raise ApplicationError("no SLA target chosen", type="SlaPolicyError", non_retryable=True)
        return self._target

    async def _keep_clocks_until_closed(self) -> None:
        """Wait for the earliest open deadline; if the claim has not moved past it, breach."""
        while not self._stage.terminal:
            seen = self._clock_changes

            def changed(seen: int = seen) -> bool:
                return self._stage.terminal or self._clock_changes != seen

            clock = self._next_due_clock()
            if clock is None:
                await workflow.wait_condition(changed)
                continue
            remaining = clock.deadline.due_at - workflow.now()
            if remaining > timedelta(0):
                try:
                    await workflow.wait_condition(changed, timeout=remaining)
                    continue
                except TimeoutError:
                    pass
            if not self._stage.terminal and self._clocks[clock.name] == clock:
                await self._breach(clock)

    def _next_due_clock(self) -> SlaClock | None:
        open_clocks = [c for c in self._clocks.values() if c.stopped_at is None and not c.breached]
        return min(open_clocks, key=lambda c: c.deadline.due_at, default=None)

    async def _breach(self, clock: SlaClock) -> None:
        self._clocks[clock.name] = clock.model_copy(update={"breached": True})
        self._clock_changes += 1
        self._log(
            "sla_breached",
            SYSTEM,
            f"{clock.name} target of {clock.target_working_days} working days passed its "
            f"deadline {clock.deadline.due_at.isoformat()}; escalated to the supervisor",
        )
        await workflow.execute_activity_method(
            StoreActivities.escalate_breach,
            EscalationInput(
                claim_number=self._inp.claim_number,
                county=self._inp.county,
                township=self._inp.township,
                clock=clock.name,
                deadline=clock.deadline.due_at,
                assigned_handler=self._handler,
            ),
            start_to_close_timeout=SHORT,
            retry_policy=STORE_RETRY,
        )
        await self._publish()

    async def _start_clock(self, name: str, start: datetime, working_days: int) -> None:
        deadline: Deadline = await workflow.execute_activity_method(
            CalendarActivities.compute_deadline,
            DeadlineRequest(start=start, working_days=working_days),
            start_to_close_timeout=SHORT,
            retry_policy=COMPUTE_RETRY,
        )
        previous = self._clocks.get(name)
        self._clocks[name] = SlaClock(
            name=name,
            target_working_days=working_days,
            deadline=deadline,
            breached=previous.breached if previous else False,
        )
        self._clock_changes += 1
        provisional = " (provisional: no published holiday schedule)" if deadline.provisional else ""
        self._log(
            "sla_started" if previous is None else "sla_recomputed",
            SYSTEM,
            f"{name}: {working_days} working days from {start.isoformat()}, due "
            f"{deadline.due_at.isoformat()}{provisional}; calendar {deadline.calendar_version}"
            + (f"; policy {self._target.policy_version}" if self._target else ""),
        )

    def _stop_clock(self, name: str) -> None:
        clock = self._clocks.get(name)
        if clock is not None and clock.stopped_at is None:
            now = workflow.now()
            self._clocks[name] = clock.model_copy(update={"stopped_at": now})
            self._clock_changes += 1
            met = "met" if not clock.breached and now <= clock.deadline.due_at else "missed"
            self._log("sla_stopped", SYSTEM, f"{name} clock stopped, target {met}")

    # ------------------------------------------------------------------ steps (Updates)

    async def _step(self, name: str, step: StepInput, body: Callable[[], Awaitable[None]]) -> ClaimState:
        """Run one accepted step: check again (a twin step may have won), do it, publish."""
        self._require(name, step)
        self._busy = True
        try:
            await body()
            await self._publish()
            return self._state()
        finally:
            self._busy = False

    @workflow.update
    async def register(self, step: RegisterInput) -> ClaimState:
        """立案: accept the claim; stops the registration clock, starts the resolution clock."""

        async def body() -> None:
            now = workflow.now()
            self._handler = step.assign_to or step.actor.id
            self._registered_at = now
            self._stage = Stage.DOCUMENTS
            self._stop_clock(REGISTRATION)
            self._log("registered", step.actor, f"assigned to {self._handler}. {step.note}".strip())
            await self._start_clock(RESOLUTION, now, self._target_or_fail().working_days)

        return await self._step("register", step, body)

    @register.validator
    def _validate_register(self, step: RegisterInput) -> None:
        self._require("register", step)

    @workflow.update
    async def request_documents(self, step: RequestDocumentsInput) -> ClaimState:
        """One-time notice of all missing documents (一次性通知, Insurance Law art. 22).

        A second request is accepted but flagged in the timeline as a repeated request.
        """

        async def body() -> None:
            again = bool(self._requested)
            self._requested.extend(d for d in step.documents if d not in self._requested)
            self._log(
                "documents_requested",
                step.actor,
                ("REPEATED REQUEST (art. 22 asks for one notice): " if again else "")
                + ", ".join(step.documents),
            )

        return await self._step("request_documents", step, body)

    @request_documents.validator
    def _validate_request_documents(self, step: RequestDocumentsInput) -> None:
        self._require("request_documents", step)

    @workflow.update
    async def receive_documents(self, step: ReceiveDocumentsInput) -> ClaimState:
        """Documents received (from the claimant or the village secretary)."""

        async def body() -> None:
            self._received.extend(d for d in step.documents if d not in self._received)
            missing = self._missing_documents()
            self._log(
                "documents_received",
                step.actor,
                ", ".join(step.documents) + (f"; still missing: {', '.join(missing)}" if missing else ""),
            )

        return await self._step("receive_documents", step, body)

    @receive_documents.validator
    def _validate_receive_documents(self, step: ReceiveDocumentsInput) -> None:
        self._require("receive_documents", step)

    @workflow.update
    async def complete_documents(self, step: StepInput) -> ClaimState:
        """资料齐全: documents complete; on to investigation (when needed) or adjudication."""

        async def body() -> None:
            self._stage = Stage.INVESTIGATION if self._investigation else Stage.ADJUDICATION
            self._log("documents_complete", step.actor, f"next: {self._stage.value}. {step.note}".strip())

        return await self._step("complete_documents", step, body)

    @complete_documents.validator
    def _validate_complete_documents(self, step: StepInput) -> None:
        self._require("complete_documents", step)
        missing = self._missing_documents()
        if missing:
            raise reject(f"complete_documents: still missing {', '.join(missing)}; receive them first")

    def _missing_documents(self) -> list[str]:
        return [d for d in self._requested if d not in self._received]

    @workflow.update
    async def request_investigation(self, step: InvestigationRequestInput) -> ClaimState:
        """A handler asks for an investigation (调查): the investigation target applies from registration."""

        async def body() -> None:
            self._investigation = True
            self._case_class = CaseClass.INVESTIGATION
            if self._stage == Stage.ADJUDICATION:
                self._stage = Stage.INVESTIGATION
            self._log("investigation_requested", step.actor, step.reason)
            await self._choose_target()
            if self._registered_at is not None:
                await self._start_clock(RESOLUTION, self._registered_at, self._target_or_fail().working_days)

        return await self._step("request_investigation", step, body)

    @request_investigation.validator
    def _validate_request_investigation(self, step: InvestigationRequestInput) -> None:
        self._require("request_investigation", step)
        if self._investigation:
            raise reject("request_investigation: an investigation is already planned for this claim")

    @workflow.update
    async def record_investigation(self, step: InvestigationResultInput) -> ClaimState:
        """An investigator's findings; the claim goes on to adjudication."""

        async def body() -> None:
            self._stage = Stage.ADJUDICATION
            self._log(
                "investigation_recorded",
                step.actor,
                f"{'event as reported' if step.covered_event else 'EVENT NOT AS REPORTED'}: {step.findings}",
            )

        return await self._step("record_investigation", step, body)

    @record_investigation.validator
    def _validate_record_investigation(self, step: InvestigationResultInput) -> None:
        self._require("record_investigation", step)

    @workflow.update
    async def adjudicate(self, step: AdjudicateInput) -> ClaimState:
        """核定: the rules judge the established facts under every policy of the claim.

        Pays → stage ``payout``; nothing payable → ``declined`` with the refusal reasons
        (notice within 3 days, Insurance Law art. 24); facts that cannot be judged → stays in
        ``adjudication`` with the reasons for the handler.
        """

        async def body() -> None:
            inp = self._inp
            decision = await workflow.execute_activity_method(
                RulesActivities.evaluate_coverage,
                CoverageRequest(
                    claim_number=inp.claim_number,
                    accident_date=inp.accident_date,
                    reported_on=inp.reported_on,
                    insured=inp.insured,
                    facts=step.facts,
                    policies=inp.policies,
                ),
                start_to_close_timeout=SHORT,
                retry_policy=COMPUTE_RETRY,
            )
            self._decision = decision
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
                self._log(
                    "adjudicated",
                    step.actor,
                    "; ".join(
                        f"{ln.policy_number} {ln.benefit_id}: {ln.formula} = {ln.amount}"
                        for ln in decision.lines
                    )
                    + f"; total {decision.total} yuan",
                    rule_ids=fired,
                )
            else:
                self._decided_at = workflow.now()
                self._decline(
                    [f"{r.clause_id}: {r.reason}" for r in decision.refusals]
                    or ["no benefit of the policies answers the established facts"],
                    step.actor,
                    fired,
                )

        return await self._step("adjudicate", step, body)

    @adjudicate.validator
    def _validate_adjudicate(self, step: AdjudicateInput) -> None:
        self._require("adjudicate", step)

    @workflow.update
    async def decline(self, step: DeclineInput) -> ClaimState:
        """拒赔 by the handler, with reasons for the claimant (Insurance Law art. 24)."""

        async def body() -> None:
            self._decided_at = workflow.now()
            self._decline(step.reasons, step.actor, [])

        return await self._step("decline", step, body)

    @decline.validator
    def _validate_decline(self, step: DeclineInput) -> None:
        self._require("decline", step)

    def _decline(self, reasons: list[str], actor: Actor, rule_ids: list[str]) -> None:
        self._decline_reasons = reasons
        self._stage = Stage.DECLINED
        self._stop_clock(RESOLUTION)
        self._log("declined", actor, "; ".join(reasons), rule_ids=rule_ids)

    @workflow.update
    async def pay(self, step: PayInput) -> ClaimState:
        """赔付: record the transfer in the payout ledger (one row per benefit line) and close."""

        async def body() -> None:
            assert self._decision is not None  # stage payout is only reached with a decision
            now = workflow.now()
            result = await workflow.execute_activity_method(
                StoreActivities.record_payout,
                PayoutRequest(
                    claim_number=self._inp.claim_number,
                    transfer_ref=step.transfer_ref,
                    lines=[ln for ln in self._decision.lines if ln.amount > 0],
                    paid_at=now,
                ),
                start_to_close_timeout=SHORT,
                retry_policy=STORE_RETRY,
            )
            self._payments = result.payments
            self._paid_at = now
            self._stage = Stage.CLOSED
            self._stop_clock(RESOLUTION)
            total = sum((p.amount for p in self._payments), Decimal("0"))
            self._log(
                "paid",
                step.actor,
                f"{len(self._payments)} payment(s), {total} yuan, transfer {step.transfer_ref}",
            )

        return await self._step("pay", step, body)

    @pay.validator
    def _validate_pay(self, step: PayInput) -> None:
        self._require("pay", step)

    @workflow.update
    async def reassign(self, step: ReassignInput) -> ClaimState:
        """A supervisor gives the claim to another handler."""

        async def body() -> None:
            self._log(
                "reassigned", step.actor, f"from {self._handler} to {step.handler}. {step.note}".strip()
            )
            self._handler = step.handler

        return await self._step("reassign", step, body)

    @reassign.validator
    def _validate_reassign(self, step: ReassignInput) -> None:
        self._require("reassign", step)

    @workflow.query
    def state(self) -> ClaimState:
        """The claim's state, timeline and clocks, without changing anything."""
        return self._state()

    # ------------------------------------------------------------------ helpers

    def _require(self, name: str, step: StepInput) -> None:
        """Reject a step that does not fit the stage, the role or the assignment.

        Called by each validator, and again when the handler starts, so that of two equal
        steps delivered together only the first takes effect.
        """
        stages, roles, assigned_only = STEPS[name]
        if not self._opened:
            raise reject(f"{name}: the claim is still being opened (triage); try again in a moment")
        if self._busy:
            raise reject(f"{name}: another step on this claim is in progress; try again")
        if self._stage not in stages:
            allowed = ", ".join(sorted(s.value for s in stages))
            raise reject(f"{name}: not allowed at stage '{self._stage.value}' (allowed at: {allowed})")
        if step.actor.role not in roles:
            allowed = ", ".join(sorted(r.value for r in roles))
            raise reject(f"{name}: role '{step.actor.role.value}' may not do this (roles: {allowed})")
        if (
            assigned_only
            and step.actor.role == Role.HANDLER
            and self._handler is not None
            and step.actor.id != self._handler
        ):
            raise reject(
                f"{name}: claim is assigned to {self._handler}, not {step.actor.id}; "
                "ask a supervisor to reassign it"
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

    def _sla_state(self) -> SlaState:
        clocks = list(self._clocks.values())
        if any(c.breached for c in clocks):
            return SlaState.BREACHED
        if clocks and all(c.stopped_at is not None for c in clocks):
            return SlaState.MET
        return SlaState.ON_TRACK

    def _current_deadline(self) -> SlaClock | None:
        open_clocks = [c for c in self._clocks.values() if c.stopped_at is None]
        return min(open_clocks, key=lambda c: c.deadline.due_at, default=None)

    async def _publish(self) -> None:
        """Upsert the search attributes and write the reporting projection."""
        current = self._current_deadline()
        sla_state = self._sla_state()
        updates = [
            search.STAGE.value_set(self._stage.value),
            search.COUNTY.value_set(self._inp.county),
            search.TOWNSHIP.value_set(self._inp.township),
            search.GREEN_CHANNEL.value_set(bool(self._triage and self._triage.green_channel)),
            search.SLA_STATE.value_set(sla_state.value),
            search.HANDLER.value_set(self._handler) if self._handler else search.HANDLER.value_unset(),
            search.SLA_DEADLINE.value_set(current.deadline.due_at)
            if current
            else search.SLA_DEADLINE.value_unset(),
        ]
        workflow.upsert_search_attributes(updates)
        await workflow.execute_activity_method(
            StoreActivities.project_claim,
            ClaimProjection(
                claim_number=self._inp.claim_number,
                workflow_id=workflow.info().workflow_id,
                stage=self._stage,
                county=self._inp.county,
                township=self._inp.township,
                village=self._inp.village,
                assigned_handler=self._handler,
                green_channel=bool(self._triage and self._triage.green_channel),
                case_class=self._case_class,
                sla_state=sla_state,
                sla_deadline=current.deadline.due_at if current else None,
                target_working_days=self._target.working_days if self._target else None,
                reported_at=self._inp.reported_at,
                registered_at=self._registered_at,
                decided_at=self._decided_at,
                paid_at=self._paid_at,
                total_paid=sum((p.amount for p in self._payments), Decimal("0")),
            ),
            start_to_close_timeout=SHORT,
            retry_policy=STORE_RETRY,
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
            clocks=list(self._clocks.values()),
            sla_state=self._sla_state(),
            timeline=list(self._timeline),
        )
