"""The driver of the throughput benchmarks: carries claims report → payout as handlers would,
and the floor workflow through the same number of steps; records each step's latency.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from decimal import Decimal
from typing import Any

from common import DOCUMENTS, Shape, report_for
from floor import FloorPlan, FloorWorkflow
from temporalio.client import Client, WorkflowUpdateFailedError

from claims.services.client import StepError, perform_step, report_claim
from claims.models import (
    Actor,
    AdjudicateInput,
    ClaimReport,
    LossFacts,
    PayInput,
    ReceiveDocumentsInput,
    RegisterInput,
    RequestDocumentsInput,
    Role,
    StepInput,
)

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


def bench_sla_policy() -> Any:
    """The shipped SLA policy with :data:`LOW_LIMIT` for the even counties of the bench register."""
    from rules.sla import load_sla_policy

    policy = load_sla_policy()
    authority = policy.payout_authority.model_copy(
        update={"counties": {f"县{c:02d}": LOW_LIMIT for c in range(0, 20, 2)}}
    )
    return policy.model_copy(update={"payout_authority": authority})


class Latencies:
    """Per-step latencies in seconds, and how often a step was refused and retried."""

    def __init__(self) -> None:
        self.by_step: dict[str, list[float]] = defaultdict(list)
        self.retries = 0


def engine_steps(i: int) -> list[tuple[str, Any]]:
    """The handler steps of claim ``i`` in order (report is separate)."""
    steps: list[tuple[str, Any]] = [
        ("register", RegisterInput(actor=HANDLER)),
        ("request_documents", RequestDocumentsInput(actor=HANDLER, documents=DOCUMENTS)),
        ("receive_documents", ReceiveDocumentsInput(actor=SECRETARY, documents=DOCUMENTS)),
        ("complete_documents", StepInput(actor=HANDLER)),
        (
            "adjudicate",
            AdjudicateInput(
                actor=HANDLER,
                facts=LossFacts(outcome="disability", cause="road_accident", disability_grades=[1]),
            ),
        ),
    ]
    if needs_approval(i):
        steps.append(("approve_payout", StepInput(actor=SUPERVISOR)))
    steps.append(("pay", PayInput(actor=HANDLER, transfer_ref=f"TRF-BENCH-{i:07d}")))
    return steps


async def report_engine_claim(
    client: Client, sessions: Any, i: int, tag: str, task_queue: str, lat: Latencies
) -> str:
    """Intake + start of claim ``i``; returns its claim number."""
    report = ClaimReport.model_validate(report_for(i, tag))
    t0 = time.perf_counter()
    with sessions() as s:
        intake = await report_claim(client, s, report, task_queue=task_queue)
    lat.by_step["report"].append(time.perf_counter() - t0)
    return intake.claim.claim_number


async def engine_step(client: Client, number: str, name: str, inp: Any, lat: Latencies) -> None:
    """One handler step; a step refused because triage is still running is retried."""
    while True:
        t0 = time.perf_counter()
        try:
            await perform_step(client, number, name, inp)
        except StepError as e:
            if "still being opened" not in str(e):
                raise
            lat.retries += 1
            await asyncio.sleep(0.05)
            continue
        lat.by_step[name].append(time.perf_counter() - t0)
        return


async def drive_engine_claim(
    client: Client,
    sessions: Any,
    i: int,
    tag: str,
    task_queue: str,
    lat: Latencies,
    stop_after: str | None = None,
) -> str:
    """Report claim ``i`` and perform its steps (up to and including ``stop_after``)."""
    number = await report_engine_claim(client, sessions, i, tag, task_queue, lat)
    for name, inp in engine_steps(i):
        await engine_step(client, number, name, inp, lat)
        if name == stop_after:
            return number
    await client.get_workflow_handle(f"claim-{number}").result()  # closed: the decision is archived
    return number


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
                if "still being opened" not in str(getattr(e.cause, "message", e)):
                    raise
                lat.retries += 1
                await asyncio.sleep(0.05)
                continue
            lat.by_step[name].append(time.perf_counter() - t0)
            break
    await handle.result()
