"""The claim workflow on the time-skipping server, with the real rules engine, calendar and store."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select
from temporalio.testing import WorkflowEnvironment

from claims.errors import StepRejected
from claims.services.client import claim_state, perform_step, report_claim, step_update
from claims.store import workflow_id_for
from claims.store.db import Claim, Notification, Payout, Sessions
from claims.models import (
    Actor,
    AdjudicateInput,
    ApprovePayoutInput,
    CaseClass,
    ClaimState,
    ClearReviewInput,
    ClockStatus,
    CompleteDocumentsInput,
    LossFacts,
    PayInput,
    RegisterInput,
    RequestDocumentsInput,
    Role,
    SlaState,
    Stage,
    StepResult,
    step_result_of,
)
from rules.engine import RulesEngine
from tests.conftest import REPO
from tests.support.harness import (  # noqa: F401  (unique_cases: used by other test modules)
    CALENDAR,
    Harness,
    complete_documents,
    unique_cases,
)
from worker import build_worker


def resolution(state: ClaimState) -> Any:
    return next(c for c in state.clocks if c.name == "resolution")


def registered_at(state: ClaimState) -> datetime:
    return next(t.at for t in state.timeline if t.event == "registered")


async def test_late_reported_greenhouse_fall_is_investigated_and_pays_40000(harness: Harness) -> None:
    state = await harness.drive(harness.cases[0])
    assert state.stage == Stage.CLOSED
    assert state.case_class == CaseClass.INVESTIGATION
    assert state.triage is not None and "class.investigation.late_report" in state.triage.rule_ids
    events = [t.event for t in state.timeline]
    assert events.index("investigation_recorded") < events.index("adjudicated") < events.index("paid")
    assert state.decision is not None and state.decision.total == Decimal("40000.00")
    assert [(p.policy_number, p.amount) for p in state.payments] == [("FA2021NX0001", Decimal("40000.00"))]
    # 30 working days from registration, on the official calendar.
    clock = resolution(state)
    assert clock.target_working_days == 30
    assert clock.deadline.due_at == CALENDAR.add_working_days(registered_at(state), 30).due_at
    assert clock.stopped_at is not None and not clock.breached
    assert state.sla_state == SlaState.MET
    with harness.sessions() as s:
        row = s.get(Claim, state.claim_number)
        assert row is not None
        assert (row.stage, row.total_paid, row.case_class, row.assigned_handler) == (
            "closed",
            Decimal("40000.00"),
            "investigation",
            "handler.ningxiang",
        )


async def test_drowned_farmer_of_a_hardship_family_is_paid_132000_under_two_policies(
    harness: Harness,
) -> None:
    state = await harness.drive(harness.cases[1])
    assert state.stage == Stage.CLOSED
    assert state.green_channel
    assert state.triage is not None and {"green.hardship", "green.death"} <= set(state.triage.rule_ids)
    assert [(p.payment_number, p.policy_number, p.amount) for p in state.payments] == [
        (1, "HC2022LL0002", Decimal("100000.00")),
        (2, "EA2022LL0002", Decimal("32000.00")),
    ]
    assert resolution(state).target_working_days == 2
    with harness.sessions() as s:
        rows = s.scalars(select(Payout).where(Payout.claim_number == state.claim_number)).all()
        assert sum(r.amount for r in rows) == Decimal("132000.00")


async def test_road_accident_grade_one_goes_through_the_green_channel_and_pays_45000(
    harness: Harness,
) -> None:
    state = await harness.drive(harness.cases[2])
    assert state.stage == Stage.CLOSED
    assert state.green_channel and state.case_class == CaseClass.ORDINARY
    assert "green.grade1_disability" in (state.triage.rule_ids if state.triage else [])
    clock = resolution(state)
    assert clock.target_working_days == 2
    assert clock.deadline.due_at == CALENDAR.add_working_days(registered_at(state), 2).due_at
    assert state.payments[0].amount == Decimal("45000.00")
    assert state.decision is not None
    assert "100%" in state.decision.lines[0].formula


async def test_steps_that_do_not_fit_are_rejected_with_the_reason_and_leave_no_trace(
    harness: Harness,
) -> None:
    number = await harness.report(harness.cases[2])
    auditor = Actor(id="aud.1", role=Role.AUDITOR)
    with pytest.raises(StepRejected, match="role 'auditor' may not do this"):
        await perform_step(harness.client, number, RegisterInput(actor=auditor))
    handler = Actor(id="handler.yuhua", role=Role.HANDLER)
    facts = LossFacts(outcome="disability", cause="road_accident", disability_grades=[1])  # type: ignore[arg-type]
    with pytest.raises(StepRejected, match="not allowed at stage 'reported'"):
        await perform_step(harness.client, number, AdjudicateInput(actor=handler, facts=facts))
    await perform_step(harness.client, number, RegisterInput(actor=handler))
    other = Actor(id="handler.other", role=Role.HANDLER)
    with pytest.raises(StepRejected, match="assigned to handler.yuhua, not handler.other"):
        await perform_step(
            harness.client,
            number,
            RequestDocumentsInput(actor=other, documents=["claim_form"]),
        )
    await perform_step(
        harness.client,
        number,
        RequestDocumentsInput(actor=handler, documents=["claim_form", "bank_card"]),
    )
    with pytest.raises(StepRejected, match="still missing claim_form, bank_card"):
        await perform_step(harness.client, number, CompleteDocumentsInput(actor=handler))
    state = await claim_state(harness.client, number)
    assert [t.event for t in state.timeline] == [
        "reported",
        "triaged",
        "sla_started",
        "sla_stopped",
        "registered",
        "sla_started",
        "documents_checklist",
        "documents_requested",
        "sla_paused",
    ]
    assert state.stage == Stage.DOCUMENTS


async def test_a_step_answers_with_a_small_result_and_the_whole_state_is_the_query(
    harness: Harness,
) -> None:
    """Issue 18: an Update answers with a ``StepResult`` (stage, SLA, amounts, clocks in brief),
    not the whole state, and its fields agree with the ``state`` Query read after it."""
    case = harness.cases[2]  # grade one road accident, green channel, 45,000 yuan
    number = await harness.report(case)
    handler = Actor(id=case.handler, role=Role.HANDLER)
    handle = harness.client.get_workflow_handle(workflow_id_for(number))
    answer = await handle.execute_update(
        "register",
        RegisterInput(actor=handler),
        id=f"{number}/register",
        result_type=ClaimState | StepResult,
    )
    assert isinstance(answer, StepResult)  # the Update's own answer, not converted by the client
    state = await claim_state(harness.client, number)
    clock = resolution(state)
    assert (answer.claim_number, answer.step, answer.stage, answer.sla_state) == (
        number,
        "register",
        Stage.DOCUMENTS,
        SlaState.ON_TRACK,
    )
    assert (answer.sla_clock, answer.sla_deadline) == ("resolution", clock.deadline.due_at)
    assert answer.version == len(state.timeline)
    assert answer.assigned_handler == "handler.yuhua"
    assert (answer.decision_total, answer.total_paid, answer.transfer_ref) == (None, Decimal("0"), None)
    assert {(c.name, c.status) for c in answer.clocks} >= {
        ("registration", ClockStatus.STOPPED),
        ("resolution", ClockStatus.RUNNING),
    }
    assert answer == step_result_of(state, "register")  # what an old run's whole state converts to
    assert len(answer.model_dump_json()) < 2048 < len(state.model_dump_json())

    await complete_documents(harness.client, number, handler)
    decided = await step_update(harness.client, number, AdjudicateInput(actor=handler, facts=case.facts))
    assert (decided.step, decided.stage) == ("adjudicate", Stage.PAYOUT)
    assert decided.decision_total == Decimal("45000.00")
    assert not decided.needs_handler and decided.total_paid == Decimal("0")
    state = await claim_state(harness.client, number)
    whole = step_result_of(state, "adjudicate")
    # a lean claim answers with the clocks new or changed since its previous answer only
    assert decided.model_copy(update={"clocks": []}) == whole.model_copy(update={"clocks": []})
    assert decided.clocks and set(decided.clocks) < set(whole.clocks)
    assert "registration" not in {c.name for c in decided.clocks}  # stopped at 立案, answered then
    if state.payout_authority_limit is not None and not decided.payout_approved and (
        Decimal("45000.00") > state.payout_authority_limit
    ):
        supervisor = Actor(id=case.supervisor, role=Role.SUPERVISOR)
        approved = await step_update(harness.client, number, ApprovePayoutInput(actor=supervisor))
        assert approved.payout_approved and approved.stage == Stage.PAYOUT
    if decided.review_open:
        supervisor = Actor(id=case.supervisor, role=Role.SUPERVISOR)
        cleared = await step_update(harness.client, number, ClearReviewInput(actor=supervisor))
        assert not cleared.review_open
    paid = await step_update(harness.client, number, PayInput(actor=handler, transfer_ref=case.transfer_ref))
    assert (paid.step, paid.stage, paid.sla_state) == ("pay", Stage.CLOSED, SlaState.MET)
    assert (paid.total_paid, paid.transfer_ref, paid.decision_total) == (
        Decimal("45000.00"),
        "TRF-2022-YH-0003",
        Decimal("45000.00"),
    )
    assert (paid.sla_clock, paid.sla_deadline) == (None, None)  # every clock stopped


async def test_second_report_of_the_same_event_returns_the_running_claim(harness: Harness) -> None:
    first = await harness.report(harness.cases[1])
    again = harness.cases[1].report.model_copy(update={"description": "reported again by phone"})
    with harness.sessions() as s:
        result = await report_claim(harness.client, s, again, task_queue=harness.task_queue)
    assert not result.created and result.claim.claim_number == first
    state = await claim_state(harness.client, first)
    assert [t.event for t in state.timeline].count("reported") == 1


async def test_unregistered_claim_breaches_its_same_day_target_and_escalates(
    skipping: WorkflowEnvironment, sqlite_sessions: Sessions
) -> None:
    # Its own server (fixture ``skipping``): skipping days ahead must not move the clock of other tests.
    h = Harness(skipping.client, sqlite_sessions)
    async with build_worker(
        skipping.client,
        sqlite_sessions,
        task_queue=h.task_queue,
        rules_engine=RulesEngine.shared(),
        calendar=CALENDAR,
    ):
        number = await h.report(h.cases[2])
        state = await claim_state(skipping.client, number)
        reg = next(c for c in state.clocks if c.name == "registration")
        assert reg.target_working_days == 0
        assert reg.deadline.due_at == CALENDAR.add_working_days(state.reported_at, 0).due_at
        await skipping.sleep(reg.deadline.due_at - datetime.now(UTC) + timedelta(hours=1))
        for _ in range(100):
            state = await claim_state(skipping.client, number)
            if state.sla_state == SlaState.BREACHED:
                break
            await asyncio.sleep(0.1)
        assert state.sla_state == SlaState.BREACHED
        assert state.stage == Stage.REPORTED
        assert "sla_breached" in [t.event for t in state.timeline]
        await asyncio.sleep(0.3)
        with sqlite_sessions() as s:
            notes = s.scalars(
                select(Notification).where(Notification.claim_number == number).order_by(Notification.id)
            ).all()
            # 50 % warns the handler, 80 % the supervisor, the breach escalates to the supervisor.
            assert [(n.kind, n.recipient_role) for n in notes] == [
                ("sla_warning", "handler"),
                ("sla_warning", "supervisor"),
                ("sla_breach", "supervisor"),
            ]
            assert {n.county for n in notes} == {"长沙市雨花区"}
            row = s.get(Claim, number)
            assert row is not None and row.sla_state == "breached"


def test_workflow_code_does_not_load_the_rules_engine() -> None:
    # durable_rules has global state: it must only ever run in activities.
    import subprocess

    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, workflows.claim; "
            "print(sorted(m for m in sys.modules if m.startswith(('durable', 'rules.engine'))))",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=True,
    )
    assert out.stdout.strip() == "[]"
