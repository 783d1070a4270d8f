"""The driver of the throughput benchmarks: carries claims report → payout as handlers would,
and the floor workflow through the same number of steps; records each step's latency.

Steps are typed inputs (``claims.models.STEP_RULES`` names them); a step refused because the
claim is still being opened is retried, recognised by its code (``claim.opening``), not its text.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import defaultdict
from decimal import Decimal

from common import DOCUMENTS, Shape, report_for
from floor import FloorPlan, FloorWorkflow
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from claims.errors import StepRejected
from claims.models import (
    Actor,
    AdjudicateInput,
    ApprovePayoutInput,
    ClaimReport,
    ClearReviewInput,
    CompleteDocumentsInput,
    LossFacts,
    PayInput,
    ReceiveDocumentsInput,
    RegisterInput,
    RejectionCode,
    RequestDocumentsInput,
    Role,
    StepInput,
    rule_for,
)
from claims.services.client import NoAnswer, report_claim, step_update
from claims.store.db import Sessions
from rules.sla import SlaPolicy, load_sla_policy

HANDLER = Actor(id="handler.bench", role=Role.HANDLER)
SUPERVISOR = Actor(id="supervisor.bench", role=Role.SUPERVISOR)
SECRETARY = Actor(id="sec.bench", role=Role.VILLAGE_SECRETARY)
LOW_LIMIT = Decimal("10000.00")
"""Authority limit of every other county of the synthetic register (``bench.common``: claim
``i`` is in county ``县{i % 20:02d}``), so the 45,000 yuan payout of every even claim needs a
supervisor; set in the worker's SLA policy (:func:`bench_sla_policy`), the engine's side."""


def needs_approval(i: int) -> bool:
    """Every even claim is above its handler's authority limit (``approve_payout`` step)."""
    return i % 2 == 0


def bench_sla_policy() -> SlaPolicy:
    """The shipped SLA policy with :data:`LOW_LIMIT` for the even counties of the bench register,
    and no reopen period: a closed claim's workflow archives and ends at once, as
    :func:`drive_engine_claim` waits for (with the shipped 90 calendar days it would wait them out)."""
    policy = load_sla_policy()
    authority = policy.payout_authority.model_copy(
        update={"counties": {f"县{c:02d}": LOW_LIMIT for c in range(0, 20, 2)}}
    )
    return policy.model_copy(update={"payout_authority": authority, "reopen_calendar_days": 0})


class Latencies:
    """Per-step latencies in seconds, and how often a step was refused and retried."""

    def __init__(self) -> None:
        self.by_step: dict[str, list[float]] = defaultdict(list)
        self.retries = 0
        self.no_answer = 0
        """Steps asked again after ``NoAnswer`` (same update id)."""


def engine_steps(i: int) -> list[StepInput]:
    """The handler steps of claim ``i`` in order (report is separate), as typed inputs."""
    steps: list[StepInput] = [
        RegisterInput(actor=HANDLER),
        RequestDocumentsInput(actor=HANDLER, documents=DOCUMENTS),
        ReceiveDocumentsInput(actor=SECRETARY, documents=DOCUMENTS),
        CompleteDocumentsInput(actor=HANDLER),
        AdjudicateInput(
            actor=HANDLER,
            facts=LossFacts(outcome="disability", cause="road_accident", disability_grades=[1]),
        ),
    ]
    if needs_approval(i):
        steps.append(ApprovePayoutInput(actor=SUPERVISOR))
    steps.append(PayInput(actor=HANDLER, transfer_ref=f"TRF-BENCH-{i:07d}"))
    return steps


async def report_engine_claim(
    client: Client, sessions: Sessions, i: int, tag: str, task_queue: str, lat: Latencies
) -> str:
    """Intake + start of claim ``i``; returns its claim number."""
    report = ClaimReport.model_validate(report_for(i, tag))
    t0 = time.perf_counter()
    with sessions() as s:
        intake = await report_claim(client, s, report, task_queue=task_queue)
    lat.by_step["report"].append(time.perf_counter() - t0)
    return intake.claim.claim_number


async def engine_step(client: Client, number: str, inp: StepInput, lat: Latencies) -> None:
    """One handler step, timed under its registry name; a step refused because triage is still
    running (``claim.opening``) is retried, and one that got no answer in 60 s is asked again
    with the same update id (it joins the first attempt).

    Raises:
        claims.errors.StepRejected: refused for any other reason.
    """
    name = rule_for(inp).name
    update_id = str(uuid.uuid4())
    while True:
        t0 = time.perf_counter()
        try:
            await step_update(client, number, inp, update_id=update_id)
        except NoAnswer:
            # a worker starved of CPU (a long run sharing the machine): ask again with the same
            # update id, which joins the first attempt instead of performing the step twice
            lat.no_answer += 1
            continue
        except StepRejected as e:
            if e.code == RejectionCode.REVIEW_PENDING:
                # held for review before payment (a worker with review rules): a supervisor clears it
                await step_update(client, number, ClearReviewInput(actor=SUPERVISOR))
                continue
            if e.code != RejectionCode.CLAIM_OPENING:
                raise
            lat.retries += 1
            update_id = str(uuid.uuid4())  # a refused update is not kept: a fresh id for the next try
            await asyncio.sleep(0.05)
            continue
        lat.by_step[name].append(time.perf_counter() - t0)
        return


async def drive_engine_claim(
    client: Client,
    sessions: Sessions,
    i: int,
    tag: str,
    task_queue: str,
    lat: Latencies,
    stop_after: str | None = None,
) -> str:
    """Report claim ``i`` and perform its steps (up to and including ``stop_after``)."""
    number = await report_engine_claim(client, sessions, i, tag, task_queue, lat)
    for inp in engine_steps(i):
        await engine_step(client, number, inp, lat)
        if rule_for(inp).name == stop_after:
            return number
    await client.get_workflow_handle(f"claim-{number}").result()  # closed: the decision is archived
    return number


def _opening(e: WorkflowUpdateFailedError) -> bool:
    """The floor workflow refused a step because it is still being opened (its failure's
    details carry the engine's code ``claim.opening``)."""
    cause = e.cause
    details = cause.details if isinstance(cause, ApplicationError) else ()
    return (
        bool(details)
        and isinstance(details[0], dict)
        and details[0].get("code") == RejectionCode.CLAIM_OPENING
    )


def plan_of(shape: Shape) -> FloorPlan:
    """The floor plan that repeats a claim's shape."""
    return FloorPlan(
        open_activities=shape.open_activities,
        open_local=shape.open_local,
        open_upserts=shape.open_upserts,
        step_activities=list(shape.step_activities),
        step_local=list(shape.step_local),
        step_upserts=list(shape.step_upserts),
        step_timers=[min(1, t) for t in shape.step_timers],
        close_activities=shape.close_activities,
        close_local=shape.close_local,
    )


async def drive_floor(
    client: Client, i: int, plan: FloorPlan, steps: list[str], task_queue: str, tag: str, lat: Latencies
) -> None:
    """Start floor workflow ``i`` and take its steps (named after the engine's for the latency table)."""
    t0 = time.perf_counter()
    handle = await client.start_workflow(
        FloorWorkflow.run, plan, id=f"floor-{tag}-{i}", task_queue=task_queue
    )
    lat.by_step["report"].append(time.perf_counter() - t0)
    for k, name in enumerate(steps):
        while True:
            t0 = time.perf_counter()
            try:
                await handle.execute_update(FloorWorkflow.step, k)
            except WorkflowUpdateFailedError as e:
                if not _opening(e):
                    raise
                lat.retries += 1
                await asyncio.sleep(0.05)
                continue
            lat.by_step[name].append(time.perf_counter() - t0)
            break
    await handle.result()
