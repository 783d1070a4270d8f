"""Client-side operations on claims: report (intake + start), steps (Updates), state (Query).

One job: talk to a claim's workflow. Used by the services, the command line, the demo and
the benches. Steps are typed: ``step_update``, ``perform_step`` and ``attempt_step`` take the
step's input model and find the Update by it (``claims.models.STEP_RULES``). A step answers
with a small ``StepResult`` (``claims.models.step_result``: stage, SLA, amounts, clocks); a
caller that needs the whole state after it asks the ``state`` Query (``claim_state``), which
adds nothing to the claim's history (``perform_step`` does both). Errors are typed with codes
(``claims.errors``): ``StepRejected`` (the code from the workflow's rejection, never parsed from
its message), ``ClaimNotFound``, ``Unavailable`` and ``NoAnswer``; their messages can be shown
as they are.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import UpdateWorkflowExecutionLifecycleStage, WorkflowExecutionStatus
from temporalio.api.update.v1 import UpdateRef, WaitPolicy
from temporalio.api.workflowservice.v1 import (
    DescribeWorkflowExecutionRequest,
    PollWorkflowExecutionUpdateRequest,
)
from temporalio.client import Client, WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from claims.domain.timeutil import today_in_shanghai
from claims.errors import ClaimNotFound, ClaimsError, StepRejected, Unavailable
from claims.models import (
    STEP_RULES,
    TASK_QUEUE,
    Actor,
    ClaimReport,
    ClaimState,
    PayInput,
    RejectionCode,
    StepInput,
    StepResult,
    rule_for,
    step_result_of,
)
from claims.store import IntakeResult, intake_report, utcnow, workflow_id_for
from workflows.claim import ClaimWorkflow


class NoAnswer(ClaimsError):
    """A step that got no answer within its timeout: no worker took it (yet). Code ``step.no_answer``.

    The step was handed to the claim and may still be performed when a worker comes; a
    retry with the same step and input (same update id) attaches to it instead of doing it
    twice. The command line exits with code 3 on it.

    Attributes:
        claim_number, step: what was attempted.
        seconds: how long the caller waited (s).
        update_id: the attempt's Temporal Update id.
        earlier_pending: an earlier attempt with this update id was already waiting when
            this one was sent: the earlier one's input is the one that will be performed.
    """

    def __init__(
        self, claim_number: str, step: str, seconds: float, update_id: str, earlier_pending: bool
    ) -> None:
        self.claim_number, self.step, self.seconds = claim_number, step, seconds
        self.update_id, self.earlier_pending = update_id, earlier_pending
        earlier = (
            f"; an earlier attempt (update {update_id}) is still waiting and will be performed "
            "with its own input, not this one's"
            if earlier_pending
            else ""
        )
        super().__init__(
            f"{step}: no worker answered in {seconds:g} s{earlier}; the step may still be performed "
            f"— check `claims show {claim_number}`",
            code="step.no_answer",
            params={"claim_number": claim_number, "step": step, "seconds": seconds, "update_id": update_id},
        )


STEP_NAMES = tuple(STEP_RULES)
"""The claim workflow's Update names (handler steps), from the step registry."""


async def report_claim(
    client: Client,
    session: Session,
    report: ClaimReport,
    task_queue: str = TASK_QUEUE,
    *,
    caller: Actor | None = None,
) -> IntakeResult:
    """Record a claim report and start (or find) its workflow.

    A second report of the same event for the same insured person returns the existing
    claim (``created`` false); its workflow is started if an earlier attempt recorded the
    report but could not reach Temporal.

    The handlers' payout authority limit is not the reporter's to set: the engine takes it
    from its SLA policy data (``payout_authority``) when it chooses the claim's target.

    Args:
        caller: who files the report (the command line's ``--actor``/``--role``, later the
            logged-in user). Given, the report's ``reporter`` must be the caller (id and role)
            and the caller's scope applies; see ``claims.store.intake_report``.

    Raises:
        claims.store.ReportError: the report does not fit the register (names the field), or
            its reporter is not the caller or may not report.
    """
    result = intake_report(session, report, utcnow(), today_in_shanghai(), caller=caller)
    # End the read transaction now: a connection held across the await below starves the
    # pool when many reports run concurrently on one event loop (and blocks the loop).
    session.commit()
    try:
        await client.start_workflow(
            ClaimWorkflow.run,
            result.claim,
            id=workflow_id_for(result.claim.claim_number),
            task_queue=task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
    except WorkflowAlreadyStartedError:
        pass
    return result


async def claim_state(client: Client, claim_number: str) -> ClaimState:
    """The claim's state (Query); works for running and closed claims while history is retained.

    Raises:
        claims.errors.ClaimNotFound: no workflow for this claim number.
        temporalio.service.RPCError: the server did not answer (other than NOT_FOUND).
    """
    handle = client.get_workflow_handle(workflow_id_for(claim_number))
    try:
        return await handle.query(ClaimWorkflow.state, result_type=ClaimState)
    except RPCError as e:
        if e.status == RPCStatusCode.NOT_FOUND:
            raise ClaimNotFound(claim_number) from None
        raise


async def wait_until_open(client: Client, claim_number: str, timeout: float = 30.0) -> ClaimState:
    """Wait until the claim's triage and first deadline are recorded (ready for steps).

    Args:
        timeout: seconds to wait.

    Raises:
        claims.errors.Unavailable: not opened within ``timeout`` (no worker running?).
        claims.errors.ClaimNotFound: no workflow for this claim number.
    """
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while True:
        state = await claim_state(client, claim_number)
        if state.clocks:
            return state
        if loop.time() > end:
            raise Unavailable(
                f"claim {claim_number} was not opened within {timeout:.0f} s; is a worker running?",
                params={"claim_number": claim_number},
            )
        await asyncio.sleep(0.1)


ONCE_STEPS: frozenset[str] = frozenset(name for name, rule in STEP_RULES.items() if rule.once)
"""Steps that succeed at most once on a claim (``StepRule.once``: each leaves the stage or
state that admits it).

Their update id is ``<claim>/<step>`` whatever the input, so a second attempt (a retry after
no answer, or the same step with another transfer reference) attaches to the first instead
of being performed again or dropped unseen. Every other step's id includes a digest of its
input (see ``step_update_id``)."""


class UpdateStatus(StrEnum):
    """What the server knows of an update id (``PollWorkflowExecutionUpdate``, no worker needed)."""

    UNKNOWN = "unknown"  # never sent, or rejected by the validator (rejections are not kept)
    PENDING = "pending"  # admitted or accepted, no outcome yet
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # accepted, then failed in the handler (e.g. lost a race)


@dataclass(frozen=True)
class StepAttempt:
    """The answer to ``attempt_step``.

    Attributes:
        result: the performed update's result (for an attempt that attached to an earlier
            one: the earlier one's outcome); the whole state is ``claim_state``.
        update_id: the Update id used.
        earlier: what the server knew of that id before this attempt was sent.
    """

    result: StepResult
    update_id: str
    earlier: UpdateStatus


def _digest(inp: StepInput) -> str:
    """16 hex digits of SHA-256 over the input's canonical JSON (``note`` and actor included)."""
    return hashlib.sha256(inp.model_dump_json().encode("utf-8")).hexdigest()[:16]


def step_update_id(claim_number: str, step: str, inp: StepInput, generation: int = 1) -> str:
    """The stable Update id of a step: ``<claim>/<step>`` for ``ONCE_STEPS``, else
    ``<claim>/<step>/<input digest>``; ``/<n>`` appended for the n-th generation (n >= 2).

    Derived from the claim, the step and (for repeatable steps) its input, so a retry of the
    same step is the same Update and Temporal performs it once.
    """
    base = f"{claim_number}/{step}" if step in ONCE_STEPS else f"{claim_number}/{step}/{_digest(inp)}"
    return base if generation <= 1 else f"{base}/{generation}"


async def update_status(client: Client, claim_number: str, update_id: str) -> UpdateStatus:
    """What the server knows of one Update of the claim's workflow; answers without a worker.

    Raises:
        temporalio.service.RPCError: the server did not answer (other than NOT_FOUND).
    """
    stage = UpdateWorkflowExecutionLifecycleStage
    try:
        resp = await client.workflow_service.poll_workflow_execution_update(
            PollWorkflowExecutionUpdateRequest(
                namespace=client.namespace,
                update_ref=UpdateRef(
                    workflow_execution=WorkflowExecution(workflow_id=workflow_id_for(claim_number)),
                    update_id=update_id,
                ),
                identity=client.identity,
                wait_policy=WaitPolicy(
                    lifecycle_stage=stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED
                ),
            ),
            timeout=timedelta(seconds=10),
        )
    except RPCError as e:
        if e.status == RPCStatusCode.NOT_FOUND:
            return UpdateStatus.UNKNOWN
        raise
    if not resp.HasField("outcome"):
        return UpdateStatus.PENDING
    return UpdateStatus.SUCCEEDED if resp.outcome.HasField("success") else UpdateStatus.FAILED


MAX_GENERATIONS = 20
"""How many failed (or, for repeatable steps, completed) attempts of one step and input are
skipped before giving up: far more than a claim ever sees."""


async def _fits_again_after_reopen(client: Client, claim_number: str, step: str) -> bool:
    """A once-only step that succeeded earlier fits again when the claim was reopened (重开)
    since and its stage admits the step now (a decline, approval or payment of the new round)."""
    state = await claim_state(client, claim_number)
    return state.reopened > 0 and state.stage in STEP_RULES[step].stages


async def attempt_step(
    client: Client,
    claim_number: str,
    inp: StepInput,
    *,
    timeout: timedelta = timedelta(seconds=60),
) -> StepAttempt:
    """Perform a handler step idempotently: a retry of the same step performs it once.

    The step is the one whose input ``inp`` is (``claims.models.rule_for``). The Update id comes
    from ``step_update_id``. Before sending, the server is asked what it knows of that id (no
    worker needed):

    - unknown (never sent, or rejected): send it;
    - pending (an earlier attempt got no answer): attach to it; its input is performed;
    - succeeded: a once-only step attaches and gets the first outcome (unless the claim was
      reopened since and its stage admits the step again: the next generation); a repeatable
      step moves to the next generation and is performed again;
    - failed in the handler: the next generation, so an attempt that lost a race does not
      doom every retry.

    A ``pay`` that attached to an earlier pay with another transfer reference is refused
    (``payout.already_paid``): this attempt's reference was not used.

    Raises:
        NoAnswer: no answer within ``timeout``; the step may still be performed.
        claims.errors.StepRejected: the claim refused the step (``code`` says why), or
            ``MAX_GENERATIONS`` attempts failed (``step.too_many_attempts``).
        claims.errors.ClaimNotFound: no workflow for this claim number.
        claims.errors.Unavailable: the server did not answer.
        TypeError: ``inp`` is no step's input.
    """
    step = rule_for(inp).name
    for generation in range(1, MAX_GENERATIONS + 1):
        update_id = step_update_id(claim_number, step, inp, generation)
        try:
            earlier = await update_status(client, claim_number, update_id)
        except RPCError as e:
            raise Unavailable(f"{step}: {e.message}") from None
        if earlier == UpdateStatus.FAILED or (earlier == UpdateStatus.SUCCEEDED and step not in ONCE_STEPS):
            continue
        if earlier == UpdateStatus.SUCCEEDED and await _fits_again_after_reopen(client, claim_number, step):
            continue  # issue 17: a once-only step done before a reopen is done again after it
        result = await step_update(
            client,
            claim_number,
            inp,
            timeout=timeout,
            update_id=update_id,
            earlier_pending=earlier == UpdateStatus.PENDING,
        )
        if isinstance(inp, PayInput) and result.transfer_ref != inp.transfer_ref:
            # The answer names the claim's latest payment, which sorts after the final one when
            # an advance (先予支付, payment numbers from 1001) was paid: ask whether this
            # reference paid anything before saying it was not used.
            if await _reference_paid(client, claim_number, inp.transfer_ref):
                return StepAttempt(result=result, update_id=update_id, earlier=earlier)
            # The attempt attached to an earlier pay of this claim (same update id): say so.
            refs = result.transfer_ref or "-"
            raise StepRejected(
                step,
                f"pay: claim {claim_number} was already paid by an earlier attempt "
                f"(update {update_id}) with transfer ref {refs}; "
                f"transfer ref {inp.transfer_ref} was not used",
                code=RejectionCode.PAYOUT_ALREADY_PAID.value,
                params={"update_id": update_id, "paid_refs": refs, "transfer_ref": inp.transfer_ref},
            )
        return StepAttempt(result=result, update_id=update_id, earlier=earlier)
    raise StepRejected(
        step,
        f"{step}: {MAX_GENERATIONS} earlier attempts of this step failed; ask a supervisor",
        code=RejectionCode.TOO_MANY_ATTEMPTS.value,
    )


async def _reference_paid(client: Client, claim_number: str, transfer_ref: str) -> bool:
    """Whether one of the claim's payments carries ``transfer_ref`` (state Query).

    Raises:
        claims.errors.Unavailable: the server did not answer.
    """
    try:
        state = await claim_state(client, claim_number)
    except RPCError as e:
        raise Unavailable(f"pay: {e.message}") from None
    return any(p.transfer_ref == transfer_ref for p in state.payments)


def _rejection(step: str, err: WorkflowUpdateFailedError) -> StepRejected:
    """The typed error of a failed Update: code and params from the workflow's ``StepRejected``
    failure details (``workflows.claim.reject``); another failure is ``step.failed``."""
    cause: Any = err.cause
    while cause is not None and not isinstance(cause, ApplicationError) and getattr(cause, "cause", None):
        cause = cause.cause
    if not isinstance(cause, ApplicationError):
        return StepRejected(step, str(err), code=RejectionCode.FAILED.value)
    code: str | None = None if cause.type == "StepRejected" else RejectionCode.FAILED.value
    params: Mapping[str, Any] = {}
    details = cause.details[0] if cause.details else None
    if isinstance(details, Mapping) and isinstance(details.get("code"), str):
        code = details["code"]
        raw = details.get("params")
        params = raw if isinstance(raw, Mapping) else {}
    return StepRejected(step, cause.message or str(err), code=code, params=params)


async def perform_step(
    client: Client,
    claim_number: str,
    inp: StepInput,
    *,
    timeout: timedelta = timedelta(seconds=60),
    update_id: str | None = None,
) -> ClaimState:
    """Perform one handler step (``step_update``), then read the claim's whole state (the
    ``state`` Query: one more round trip, nothing added to the history), for callers that
    need more than the step's ``StepResult`` (the demo, tests).

    The state is read after the step, not with it: a step or timer that came in between
    shows in it too (``StepResult.version`` is the timeline's length the step left).

    Raises:
        As ``step_update``.
    """
    await step_update(client, claim_number, inp, timeout=timeout, update_id=update_id)
    return await claim_state(client, claim_number)


async def step_update(
    client: Client,
    claim_number: str,
    inp: StepInput,
    *,
    timeout: timedelta = timedelta(seconds=60),
    update_id: str | None = None,
    earlier_pending: bool = False,
) -> StepResult:
    """Perform one handler step (a workflow Update) and return its small result.

    A claim begun before the workflow answered small (``claims.models.SMALL_STEP_RESULTS``)
    answers with its whole state; that answer is turned into the same ``StepResult``
    (``claims.models.step_result_of``), so callers see one type.

    Args:
        inp: the step's input model; the Update is the step whose input it is
            (``claims.models.rule_for``).
        timeout: how long to wait for a worker's answer.
        update_id: makes a retried call idempotent: the claim performs an accepted update of
            this id once and answers a repeat with the first outcome (``attempt_step``
            derives one). None: a fresh random id.
        earlier_pending: only for the ``NoAnswer`` message (``attempt_step`` sets it).

    Raises:
        NoAnswer: no answer within ``timeout`` (no worker polling); the step may still be
            performed when one comes.
        claims.errors.StepRejected: the claim refused the step; ``code`` from the workflow
            (``stage.not_allowed``, ``role.not_allowed``, ...), ``claim.ended`` for a claim whose
            workflow has ended.
        claims.errors.ClaimNotFound: no workflow for this claim number.
        claims.errors.Unavailable: the server did not answer.
        TypeError: ``inp`` is no step's input.
    """
    step = rule_for(inp).name
    update_id = update_id or str(uuid.uuid4())
    handle = client.get_workflow_handle(workflow_id_for(claim_number))
    try:
        answer = await asyncio.wait_for(
            handle.execute_update(step, inp, id=update_id, result_type=ClaimState | StepResult),
            timeout.total_seconds(),
        )
        return step_result_of(answer, step)
    except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
        raise NoAnswer(claim_number, step, timeout.total_seconds(), update_id, earlier_pending) from None
    except WorkflowUpdateFailedError as e:
        raise _rejection(step, e) from None
    except RPCError as e:
        if e.status == RPCStatusCode.NOT_FOUND:
            # Either no such claim, or a claim whose workflow has ended: say which.
            try:
                desc = await client.workflow_service.describe_workflow_execution(
                    DescribeWorkflowExecutionRequest(
                        namespace=client.namespace,
                        execution=WorkflowExecution(workflow_id=workflow_id_for(claim_number)),
                    )
                )
            except RPCError:
                raise ClaimNotFound(claim_number) from None
            status = WorkflowExecutionStatus.Name(desc.workflow_execution_info.status)
            status = status.removeprefix("WORKFLOW_EXECUTION_STATUS_").lower()
            raise StepRejected(
                step,
                f"{step}: claim {claim_number} is {status}; no more steps can be taken on it",
                code=RejectionCode.CLAIM_ENDED.value,
                params={"status": status},
            ) from None
        raise Unavailable(f"{step}: {e.message}") from None
