"""Nothing stuck in silence (issue 12): a store step that keeps failing shows the claim as
stuck to supervisors, and `claims reconcile` finds claims recorded on one side only."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest_asyncio
from temporalio.client import WorkflowUpdateStage
from temporalio.testing import WorkflowEnvironment

from claims.services.client import perform_step
from claims.models import (
    Actor,
    AdjudicateInput,
    ClaimState,
    PayInput,
    RegisterInput,
    Role,
    SlaState,
    Stage,
    StepResult,
)
from claims.domain.payments import PaymentInstruction
from claims.services.reconcile import reconcile
from claims.store import intake_report, overdue_claims, utcnow, workflow_id_for
from claims.domain.timeutil import today_in_shanghai
from rules.engine import RulesEngine
from tests.support.harness import CALENDAR, Harness, complete_documents
from worker import build_worker
from workflows.claim import ClaimWorkflow


class FlakyBank:
    """A payment sink that fails while ``down`` (the bank's interface is down)."""

    def __init__(self) -> None:
        self.down = True
        self.sent: list[PaymentInstruction] = []

    def __call__(self, instruction: PaymentInstruction) -> None:
        if self.down:
            raise RuntimeError("bank interface unavailable (HTTP 503)")
        self.sent.append(instruction)


@pytest_asyncio.fixture(loop_scope="session")
async def flaky(
    skipping: WorkflowEnvironment,
    sqlite_sessions: Any,
) -> AsyncIterator[tuple[Harness, FlakyBank]]:
    # a time-skipping server of its own: the suite's shared one holds workflows of earlier tests
    # whose tasks nobody polls any more, and they keep it from skipping time
    env = skipping
    h = Harness(env.client, sqlite_sessions)
    bank = FlakyBank()
    async with build_worker(
        env.client,
        sqlite_sessions,
        task_queue=h.task_queue,
        rules_engine=RulesEngine.shared(),
        calendar=CALENDAR,
        payment_sink=bank,
    ):
        yield h, bank


async def test_a_payout_whose_store_write_keeps_failing_shows_the_claim_stuck_until_it_succeeds(
    skipping: WorkflowEnvironment,
    flaky: tuple[Harness, FlakyBank],
) -> None:
    env = skipping
    h, bank = flaky
    case = h.cases[2]  # 45,000: within the handler's authority
    number = await h.report(case)
    handler = Actor(id=case.handler, role=Role.HANDLER)
    await perform_step(h.client, number, RegisterInput(actor=handler))
    await complete_documents(h.client, number, handler)
    await perform_step(h.client, number, AdjudicateInput(actor=handler, facts=case.facts))
    handle = h.client.get_workflow_handle(workflow_id_for(number))
    pay = await handle.start_update(
        ClaimWorkflow.pay,
        PayInput(actor=handler, transfer_ref="TRF-STUCK"),
        wait_for_stage=WorkflowUpdateStage.ACCEPTED,
        result_type=StepResult,
    )
    # 8 attempts over about two minutes, then stuck (skipped in short steps: a long skip can time
    # out on a loaded machine)
    for _ in range(16):
        await env.sleep(timedelta(seconds=20))
        state = await handle.query(ClaimWorkflow.state, result_type=ClaimState)
        if state.stuck is not None:
            break
    assert state.stage == Stage.PAYOUT and state.sla_state == SlaState.STUCK
    assert state.stuck is not None and state.stuck.activity == "record_payout"
    assert "bank interface unavailable" in state.stuck.error
    stuck = next(t for t in state.timeline if t.event == "stuck")
    assert "record_payout keeps failing" in stuck.detail
    with h.sessions() as s:
        (row,) = [r for r in overdue_claims(s, utcnow()) if r.claim_number == number]
        assert (row.sla_state, row.stuck_activity) == ("stuck", "record_payout")
        assert row.stuck_since == state.stuck.since
    bank.down = False
    for _ in range(24):  # the next try, a minute later, succeeds
        await env.sleep(timedelta(seconds=20))
        if (await handle.query(ClaimWorkflow.state, result_type=ClaimState)).stage == Stage.CLOSED:
            break
    answer = await pay.result()  # the step's small result; the whole state is the query
    assert (answer.step, answer.stage, answer.total_paid, answer.transfer_ref) == (
        "pay",
        Stage.CLOSED,
        Decimal("45000.00"),
        "TRF-STUCK",
    )
    done = await handle.query(ClaimWorkflow.state, result_type=ClaimState)
    assert done.stage == Stage.CLOSED and done.stuck is None and done.sla_state != SlaState.STUCK
    assert [p.amount for p in done.payments] == [Decimal("45000.00")]
    assert [i.transfer_ref for i in bank.sent] == ["TRF-STUCK"]
    assert any(t.event == "unstuck" for t in done.timeline)
    with h.sessions() as s:
        assert [r.claim_number for r in overdue_claims(s, utcnow()) if r.claim_number == number] == []


@pytest_asyncio.fixture(loop_scope="session")
async def on_dev_server(dev_env: WorkflowEnvironment, sqlite_sessions: Any) -> AsyncIterator[Harness]:
    h = Harness(dev_env.client, sqlite_sessions)
    async with build_worker(
        dev_env.client,
        sqlite_sessions,
        task_queue=h.task_queue,
        rules_engine=RulesEngine.shared(),
        calendar=CALENDAR,
    ):
        yield h


async def test_reconcile_finds_a_row_without_its_workflow_and_a_workflow_without_its_row(
    on_dev_server: Harness,
) -> None:
    h = on_dev_server
    recorded = await h.report(h.cases[0])  # row and workflow
    with h.sessions() as s:  # intake committed, then the server was killed before the start
        orphan_row = intake_report(s, h.cases[1].report, utcnow(), today_in_shanghai()).claim
        s.commit()
    # a claim workflow started elsewhere (another store), never recorded here
    stranger = orphan_row.model_copy(update={"claim_number": "JS20220518-ELSEWHERE"})
    await h.client.start_workflow(
        ClaimWorkflow.run, stranger, id=workflow_id_for(stranger.claim_number), task_queue="tq-nobody-polls"
    )
    found = None
    for _ in range(50):  # visibility is eventually consistent
        with h.sessions() as s:
            found = await reconcile(h.client, s)
        if workflow_id_for(stranger.claim_number) in found.workflows_without_row:
            break
        await asyncio.sleep(0.2)
    assert found is not None and not found.consistent
    assert found.rows_without_workflow == [(orphan_row.claim_number, "reported")]
    assert workflow_id_for(stranger.claim_number) in found.workflows_without_row
    assert recorded not in [n for n, _ in found.rows_without_workflow]
