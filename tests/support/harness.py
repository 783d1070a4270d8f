"""The test harness for claim workflows: the demo register with unique person refs, a worker
on a fresh task queue over a fresh store (fixture ``harness``, registered in conftest).

The Temporal servers themselves come from ``tests/support/env.py``."""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import AsyncIterator, Iterable
from typing import Any

import pytest_asyncio
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from claims.services.client import claim_state, perform_step, report_claim, wait_until_open, workflow_id_for
from claims.services.demo import DemoClaim, DemoFile, drive_claim
from claims.models import Actor, ClaimState, CompleteDocumentsInput, WaivedDocument
from claims.store import RegisterFile, load_register
from claims.store.db import Sessions, unit_of_work
from claims.domain.workdays import WorkingCalendar
from rules.engine import RulesEngine
from rules.sla import load_sla_policy
from tests.support.env import REPO, new_task_queue
from worker import build_worker

CALENDAR = WorkingCalendar()

NO_REOPEN_POLICY = load_sla_policy().model_copy(update={"reopen_calendar_days": 0})
"""The shipped SLA policy (same version, targets and authority limits) without a reopen period:
a closed or declined claim's workflow archives and returns at once. For tests whose subject is
not reopening and that wait for a claim's workflow to end (its result, its archive row, a step
answered ``claim.ended``): with the shipped 90 days the workflow waits out the window, which the
suite's shared time-skipping server must not skip (it would move every test's clock) and the dev
server cannot. Reopening itself is tested on a 90-day policy (``tests/test_lifecycle.py``)."""


async def ended_state(client: Client, number: str) -> ClaimState:
    """Wait until claim ``number``'s workflow has completed (its archive included), then read
    its whole state: the workflow's own result is a small ``StepResult`` (``lean-history``),
    the state is the ``state`` Query, which a closed workflow still answers."""
    await client.get_workflow_handle(workflow_id_for(number)).result()
    return await claim_state(client, number)


def activities_run(events: Iterable[HistoryEvent]) -> list[str]:
    """The activity types a claim history ran, in order: ordinary activities (their scheduled
    events) and local activities (their ``core_local_activity`` markers, whose ``data`` detail
    is plain JSON written by the SDK core)."""
    names: list[str] = []
    for e in events:
        if e.HasField("activity_task_scheduled_event_attributes"):
            names.append(e.activity_task_scheduled_event_attributes.activity_type.name)
        elif (
            e.HasField("marker_recorded_event_attributes")
            and e.marker_recorded_event_attributes.marker_name == "core_local_activity"
        ):
            (payload,) = e.marker_recorded_event_attributes.details["data"].payloads
            data = json.loads(payload.data)
            names.append("local:" + (data.get("activity_type") or data.get("activityType")))
    return names


def unique_cases() -> tuple[RegisterFile, list[DemoClaim]]:
    """The demo register and cases with person refs made unique, so claim numbers (and so
    workflow ids) are never shared between tests on the one server."""
    tag = uuid.uuid4().hex[:6]
    reg = json.loads((REPO / "data/demo/register.json").read_text("utf-8"))
    for h in reg["households"]:
        h["household_no"] += f"-{tag}"
        for m in h["members"]:
            m["person_ref"] += f"-{tag}"
        for p in h["policies"]:
            p["insured"] = [r + f"-{tag}" for r in p["insured"]]
    cases = DemoFile.model_validate(json.loads((REPO / "data/demo/claims.json").read_text("utf-8"))).claims
    return RegisterFile.model_validate(reg), cases


async def complete_documents(client: Client, number: str, actor: Actor, note: str = "") -> ClaimState:
    """``complete_documents`` for a test about something else: the items of the claim's checklist
    the test neither requested nor received are waived with a reason (the checklist is enforced
    since issue 12); requested documents still have to be received."""
    state = await claim_state(client, number)
    done = set(state.documents_received) | set(state.documents_requested)
    done |= {w.document for w in state.documents_waived}
    waive = [
        WaivedDocument(document=d, reason="not the subject of this test")
        for d in state.documents_required
        if d not in done
    ]
    return await perform_step(client, number, CompleteDocumentsInput(actor=actor, note=note, waive=waive))


class Harness:
    """A worker on a fresh task queue over a fresh store, with the demo register loaded."""

    def __init__(self, client: Client, sessions: Sessions) -> None:
        self.client = client
        self.sessions = sessions
        self.task_queue = new_task_queue()
        self.register, self.cases = unique_cases()
        with unit_of_work(sessions) as s:
            load_register(s, self.register)

    async def drive(self, case: DemoClaim) -> ClaimState:
        with self.sessions() as s:
            return await drive_claim(self.client, s, case, self.task_queue)

    async def report(self, case: DemoClaim) -> str:
        with self.sessions() as s:
            result = await report_claim(self.client, s, case.report, task_queue=self.task_queue)
        await wait_until_open(self.client, result.claim.claim_number)
        return result.claim.claim_number


@pytest_asyncio.fixture(loop_scope="session")
async def harness(env: WorkflowEnvironment, sqlite_sessions: Sessions) -> AsyncIterator[Harness]:
    """A :class:`Harness` on the shared time-skipping server (``env``), its worker running on
    :data:`NO_REOPEN_POLICY` (closed and declined claims end at once)."""
    h = Harness(env.client, sqlite_sessions)
    async with build_worker(
        env.client,
        sqlite_sessions,
        task_queue=h.task_queue,
        rules_engine=RulesEngine.shared(),
        calendar=CALENDAR,
        sla_policy=NO_REOPEN_POLICY,
    ):
        yield h


def on_queue(client: Any, task_queue: str) -> Any:
    """``client`` (same connection) with claim workflows started on ``task_queue`` instead of
    the engine's queue: reports filed through the console reach the harness's worker, as
    those filed by ``Harness.report`` do, and never a queue other tests' workflows wait on."""
    from temporalio.client import Client, Interceptor, OutboundInterceptor, StartWorkflowInput

    from claims.models import TASK_QUEUE

    class Outbound(OutboundInterceptor):
        async def start_workflow(self, input: StartWorkflowInput) -> Any:
            if input.task_queue == TASK_QUEUE:
                input = dataclasses.replace(input, task_queue=task_queue)
            return await super().start_workflow(input)

    class OnQueue(Interceptor):
        def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
            return Outbound(next)

    config = client.config()
    config["interceptors"] = [*config.get("interceptors", []), OnQueue()]
    return Client(**config)
