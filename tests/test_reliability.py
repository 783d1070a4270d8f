"""Exactly-once payout under retries and duplicates, and races between handlers.

The crash tests (worker SIGKILL, server restart) are in ``test_reliability_crash.py``.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import select
from temporalio import activity
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)

from claims import store
from claims.errors import StepRejected
from claims.services.client import claim_state, perform_step
from claims.store.db import Claim, Payout, unit_of_work
from claims.domain.timeutil import today_in_shanghai
from claims.models import (
    Actor,
    BenefitLine,
    ClaimState,
    PayInput,
    PayoutRequest,
    RegisterInput,
    Role,
    Stage,
    StepInput,
)
from claims.domain.payments import PaymentInstruction
from rules.engine import RulesEngine
from tests.support.harness import activities_run, complete_documents
from tests.test_workflow import CALENDAR, Harness
from worker import build_worker

# --------------------------------------------------------------------------- helpers


class RecordingSink:
    """A payment sink that records every instruction (thread-safe); can fail on demand."""

    def __init__(self, fail_first: int = 0) -> None:
        self.sent: list[PaymentInstruction] = []
        self.failures_left = fail_first
        self._lock = threading.Lock()

    def __call__(self, instruction: PaymentInstruction) -> None:
        with self._lock:
            if self.failures_left:
                self.failures_left -= 1
                raise ConnectionError("bank gateway timed out")
            self.sent.append(instruction)

    def keys(self) -> Counter[str]:
        return Counter(i.idempotency_key for i in self.sent)


class LoseFirstPayoutAnswer(Interceptor):
    """Fault injection: the first ``record_payout`` that succeeds has its answer lost (as if
    the worker died right after the database commit), so Temporal retries the activity."""

    def __init__(self, sink: RecordingSink) -> None:
        self.sink = sink
        self.attempts: list[int] = []
        self.completed = 0
        self.sent_when_lost: int | None = None

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _LoseFirstAnswer(next, self)


class _LoseFirstAnswer(ActivityInboundInterceptor):
    def __init__(self, next: ActivityInboundInterceptor, owner: LoseFirstPayoutAnswer) -> None:
        super().__init__(next)
        self._owner = owner

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        result = await super().execute_activity(input)
        info = activity.info()
        if info.activity_type == "record_payout":
            self._owner.attempts.append(info.attempt)
            self._owner.completed += 1
            if self._owner.completed == 1:
                self._owner.sent_when_lost = len(self._owner.sink.sent)
                raise ApplicationError("injected: answer lost after the write", type="InjectedFault")
        return result


def line(policy: str, amount: str) -> BenefitLine:
    return BenefitLine(
        policy_number=policy,
        product_code="family_accident",
        terms_version="family_accident@2020",
        terms_hash="0" * 64,
        benefit_id="accidental_death",
        kind="accidental_death",
        amount=Decimal(amount),
        formula="100% of sum insured",
        rule_ids=["death"],
    )


def seed_claim(sessions: Any, harness_cases: Any = None) -> str:
    """A reported claim in the store (via intake) to hang ledger rows on."""
    from tests.test_workflow import unique_cases

    reg, cases = unique_cases()
    now = store.utcnow()  # intake's "today" is the Asia/Shanghai date of it, as the service passes it
    with unit_of_work(sessions) as s:
        store.load_register(s, reg)
        result = store.intake_report(s, cases[2].report, now, today_in_shanghai(now))
    return result.claim.claim_number


def ledger(sessions: Any, number: str) -> list[tuple[int, str, Decimal]]:
    with sessions() as s:
        rows = s.scalars(select(Payout).where(Payout.claim_number == number).order_by(Payout.payment_number))
        return [(r.payment_number, r.policy_number, Decimal(r.amount)) for r in rows]


def update_outcomes(events: list[HistoryEvent]) -> list[tuple[str, str, str]]:
    """(update name, "success"/"failure", failure message) of every update in a history."""
    names: dict[int, str] = {}
    out = []
    for e in events:
        if e.HasField("workflow_execution_update_accepted_event_attributes"):
            a = e.workflow_execution_update_accepted_event_attributes
            names[a.accepted_request.meta.update_id] = a.accepted_request.input.name
        if e.HasField("workflow_execution_update_completed_event_attributes"):
            c = e.workflow_execution_update_completed_event_attributes
            kind = c.outcome.WhichOneof("value") or ""
            out.append((names[c.meta.update_id], kind, c.outcome.failure.message))
    return out


# --------------------------------------------------------------------------- exactly-once payout


def test_a_payout_retried_after_its_write_writes_no_second_row_and_sends_each_payment_once(
    sqlite_sessions: Any,
) -> None:
    number = seed_claim(sqlite_sessions)
    sink = RecordingSink()
    req = PayoutRequest(
        claim_number=number,
        transfer_ref="TRF-1",
        lines=[line("HC1", "100000.00"), line("EA1", "32000.00")],
        paid_at=datetime.now(UTC),
    )
    with unit_of_work(sqlite_sessions) as s:
        first = store.record_payout(s, req, sink)
    for _ in range(3):  # retried, and a duplicate with another transfer reference
        with unit_of_work(sqlite_sessions) as s:
            again = store.record_payout(s, req.model_copy(update={"transfer_ref": "TRF-2"}), sink)
        assert again == first
    assert ledger(sqlite_sessions, number) == [
        (1, "HC1", Decimal("100000.00")),
        (2, "EA1", Decimal("32000.00")),
    ]
    assert sink.keys() == {f"{number}/1": 1, f"{number}/2": 1}


def test_a_failing_payment_sink_rolls_back_the_row_and_the_retry_sends_it(sqlite_sessions: Any) -> None:
    number = seed_claim(sqlite_sessions)
    sink = RecordingSink(fail_first=1)
    req = PayoutRequest(
        claim_number=number, transfer_ref="TRF-1", lines=[line("FA1", "45000.00")], paid_at=datetime.now(UTC)
    )
    with sqlite_sessions() as s, pytest.raises(ConnectionError):
        store.record_payout(s, req, sink)
    assert ledger(sqlite_sessions, number) == []  # no row without its transfer instruction
    with unit_of_work(sqlite_sessions) as s:
        store.record_payout(s, req, sink)
    assert ledger(sqlite_sessions, number) == [(1, "FA1", Decimal("45000.00"))]
    assert sink.keys() == {f"{number}/1": 1}


def test_duplicated_payout_activities_running_at_once_write_and_send_each_payment_once(
    store_sessions: Any,
) -> None:
    number = seed_claim(store_sessions)
    sink = RecordingSink()
    req = PayoutRequest(
        claim_number=number,
        transfer_ref="TRF-1",
        lines=[line("HC1", "100000.00"), line("EA1", "32000.00")],
        paid_at=datetime.now(UTC),
    )
    start = threading.Barrier(6)
    errors: list[BaseException] = []

    def attempt() -> None:
        start.wait()
        try:
            with unit_of_work(store_sessions) as s:
                store.record_payout(s, req, sink)
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=attempt) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert [n for n, _, _ in ledger(store_sessions, number)] == [1, 2]
    assert sink.keys() == {f"{number}/1": 1, f"{number}/2": 1}


@pytest_asyncio.fixture(loop_scope="session")
async def faulty(env: WorkflowEnvironment, sqlite_sessions: Any) -> AsyncIterator[tuple[Harness, Any, Any]]:
    """A worker whose first successful ``record_payout`` loses its answer, with a recording sink."""
    h = Harness(env.client, sqlite_sessions)
    sink = RecordingSink()
    fault = LoseFirstPayoutAnswer(sink)
    async with build_worker(
        env.client,
        sqlite_sessions,
        task_queue=h.task_queue,
        rules_engine=RulesEngine.shared(),
        calendar=CALENDAR,
        payment_sink=sink,
        interceptors=[fault],
    ):
        yield h, sink, fault


async def test_the_payout_activity_retried_after_a_lost_answer_pays_each_payment_once(
    faulty: tuple[Harness, Any, Any],
) -> None:
    harness, sink, fault = faulty
    state = await harness.drive(harness.cases[1])  # 132,000 in two payments, supervisor-approved
    assert state.stage == Stage.CLOSED
    assert fault.attempts == [1, 2]  # the activity really ran twice
    assert fault.sent_when_lost == 2  # and the first attempt had written and sent both payments
    number = state.claim_number
    assert [(p.payment_number, p.amount) for p in state.payments] == [
        (1, Decimal("100000.00")),
        (2, Decimal("32000.00")),
    ]
    assert [(n, a) for n, _, a in ledger(harness.sessions, number)] == [
        (1, Decimal("100000.00")),
        (2, Decimal("32000.00")),
    ]
    assert sink.keys() == {f"{number}/1": 1, f"{number}/2": 1}
    history = await harness.client.get_workflow_handle(f"claim-{number}").fetch_history()
    scheduled = [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
    ]
    assert scheduled.count("record_payout") == 1  # one activity, retried: not two payouts
    assert [t.event for t in state.timeline].count("paid") == 1


# --------------------------------------------------------------------------- races


async def race(client: Client, number: str, *inputs: StepInput) -> tuple[ClaimState, StepRejected]:
    results = await asyncio.gather(
        *(perform_step(client, number, inp) for inp in inputs), return_exceptions=True
    )
    ok = [r for r in results if isinstance(r, ClaimState)]
    failed = [r for r in results if isinstance(r, StepRejected)]
    assert len(ok) == 1 and len(failed) == len(inputs) - 1, results
    return ok[0], failed[0]


async def test_two_handlers_registering_at_once_leave_one_registration_in_the_history(
    harness: Harness,
) -> None:
    number = await harness.report(harness.cases[0])
    a = Actor(id="handler.a", role=Role.HANDLER)
    b = Actor(id="handler.b", role=Role.HANDLER)
    won, lost = await race(harness.client, number, RegisterInput(actor=a), RegisterInput(actor=b))
    # The loser is told clearly why: the twin step is running, or it already ran.
    assert str(lost).startswith("register: ")
    assert "another step on this claim is in progress" in str(
        lost
    ) or "not allowed at stage 'documents'" in str(lost)
    state = await claim_state(harness.client, number)
    assert [t.event for t in state.timeline].count("registered") == 1
    assert state.assigned_handler == won.assigned_handler
    history = await harness.client.get_workflow_handle(f"claim-{number}").fetch_history()
    outcomes = update_outcomes(history.events)
    assert [o for o in outcomes if o[1] == "success"] == [("register", "success", "")]
    # A loser that got past the validator is in the history as a failed update, not a step.
    assert all(name == "register" and kind == "failure" for name, kind, _ in outcomes if kind != "success")
    # the registration clock, and one resolution clock (short steps run as local activities)
    assert activities_run(history.events).count("local:compute_deadline") == 2


async def test_two_handlers_paying_at_once_pay_once(harness: Harness) -> None:
    case = harness.cases[2]  # 45,000: within the handler's authority
    number = await harness.report(case)
    handler = Actor(id=case.handler, role=Role.HANDLER)
    from claims.models import AdjudicateInput, ReceiveDocumentsInput, RequestDocumentsInput

    for inp in (
        RegisterInput(actor=handler),
        RequestDocumentsInput(actor=handler, documents=["claim_form"]),
        ReceiveDocumentsInput(actor=handler, documents=["claim_form"]),
    ):
        await perform_step(harness.client, number, inp)
    await complete_documents(harness.client, number, handler)
    await perform_step(harness.client, number, AdjudicateInput(actor=handler, facts=case.facts))
    won, lost = await race(
        harness.client,
        number,
        PayInput(actor=handler, transfer_ref="TRF-A"),
        PayInput(actor=handler, transfer_ref="TRF-B"),
    )
    assert won.stage == Stage.CLOSED
    assert str(lost).startswith("pay: ")
    assert [(n, a) for n, _, a in ledger(harness.sessions, number)] == [(1, Decimal("45000.00"))]
    history = await harness.client.get_workflow_handle(f"claim-{number}").fetch_history()
    assert [o[:2] for o in update_outcomes(history.events) if o[0] == "pay" and o[1] == "success"] == [
        ("pay", "success")
    ]
    with harness.sessions() as s:
        row = s.get(Claim, number)
        assert row is not None and row.total_paid == Decimal("45000.00")
