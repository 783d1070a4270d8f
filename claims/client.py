"""Client-side operations on claims: report (intake + start), steps (Updates), state (Query).

Used by the command line and the demo; raises errors whose messages can be shown as they are.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy.orm import Session
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import WorkflowExecutionStatus
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from claims.models import TASK_QUEUE, ClaimReport, ClaimState
from claims.store import IntakeResult, intake_report, utcnow, workflow_id_for
from claims.timeutil import today_in_shanghai
from workflows.claim import STEPS, ClaimWorkflow


class StepError(RuntimeError):
    """A step the claim refused (wrong stage, role, assignment or input); message says why."""


class UnknownClaim(LookupError):
    """No workflow exists for the claim number."""


STEP_NAMES = tuple(STEPS)
"""The claim workflow's Update names (handler steps)."""


async def report_claim(
    client: Client,
    session: Session,
    report: ClaimReport,
    task_queue: str = TASK_QUEUE,
) -> IntakeResult:
    """Record a claim report and start (or find) its workflow.

    A second report of the same event for the same insured person returns the existing
    claim (``created`` false); its workflow is started if an earlier attempt recorded the
    report but could not reach Temporal.

    The handlers' payout authority limit is not the reporter's to set: the engine takes it
    from its SLA policy data (``payout_authority``) when it chooses the claim's target.

    Raises:
        claims.store.ReportError: the report does not fit the register (names the field).
    """
    result = intake_report(session, report, utcnow(), today_in_shanghai())
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
        UnknownClaim: no workflow for this claim number.
    """
    handle = client.get_workflow_handle(workflow_id_for(claim_number))
    try:
        return await handle.query(ClaimWorkflow.state, result_type=ClaimState)
    except RPCError as e:
        if e.status == RPCStatusCode.NOT_FOUND:
            raise UnknownClaim(f"no claim {claim_number!r}: check the claim number") from None
        raise


async def wait_until_open(client: Client, claim_number: str, timeout: float = 30.0) -> ClaimState:
    """Wait until the claim's triage and first deadline are recorded (ready for steps)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while True:
        state = await claim_state(client, claim_number)
        if state.clocks:
            return state
        if loop.time() > end:
            raise StepError(
                f"claim {claim_number} was not opened within {timeout:.0f} s; is a worker running?"
            )
        await asyncio.sleep(0.1)


async def perform_step(
    client: Client,
    claim_number: str,
    step: str,
    inp: BaseModel,
    timeout: timedelta = timedelta(seconds=60),
    update_id: str | None = None,
) -> ClaimState:
    """Perform one handler step (a workflow Update) and return the claim's new state.

    Args:
        update_id: makes a retried call idempotent: the claim performs an accepted update of
            this id once and answers a repeat with the first outcome.

    Raises:
        StepError: the claim rejected the step (the message says why).
        UnknownClaim: no workflow for this claim number.
    """
    if step not in STEP_NAMES:
        raise StepError(f"unknown step {step!r}; steps: {', '.join(STEP_NAMES)}")
    handle = client.get_workflow_handle(workflow_id_for(claim_number))
    try:
        return await asyncio.wait_for(
            handle.execute_update(step, inp, id=update_id, result_type=ClaimState), timeout.total_seconds()
        )
    except WorkflowUpdateFailedError as e:
        cause: Any = e.cause
        while cause is not None and not isinstance(cause, ApplicationError) and getattr(cause, "cause", None):
            cause = cause.cause
        raise StepError(getattr(cause, "message", None) or str(e)) from None
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
                raise UnknownClaim(f"no claim {claim_number!r}: check the claim number") from None
            status = WorkflowExecutionStatus.Name(desc.workflow_execution_info.status)
            status = status.removeprefix("WORKFLOW_EXECUTION_STATUS_").lower()
            raise StepError(
                f"{step}: claim {claim_number} is {status}; no more steps can be taken on it"
            ) from None
        raise StepError(f"{step}: {e.message}") from None
