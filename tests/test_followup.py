"""Follow-up claims on one accident and the document checklist, on the time-skipping server."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from claims.errors import StepRejected
from claims.services.client import perform_step
from claims.models import (
    Actor,
    AdjudicateInput,
    CaseClass,
    ClaimReport,
    ClaimState,
    LossFacts,
    PayInput,
    ReassignInput,
    ReceiveDocumentsInput,
    RecordInvestigationInput,
    ReferToConsultationInput,
    RegisterInput,
    RequestDocumentsInput,
    Role,
    Stage,
)
from claims.store import RegisterFile, load_register
from claims.store.db import unit_of_work
from claims.domain.workdays import WorkingCalendar
from rules.engine import RulesEngine
from tests.support.harness import Harness, complete_documents
from worker import build_worker

HANDLER = Actor(id="handler.ningxiang", role=Role.HANDLER)


async def _adjudicate_and_pay(h: Harness, number: str, facts: LossFacts, ref: str) -> ClaimState:
    """Register, complete, adjudicate and (amounts under the authority limit) pay."""
    await perform_step(h.client, number, RegisterInput(actor=HANDLER))
    state = await complete_documents(h.client, number, HANDLER)
    if state.stage == Stage.INVESTIGATION:  # the follow-up came more than 30 days after the accident
        await perform_step(
            h.client,
            number,
            RecordInvestigationInput(
                actor=Actor(id="inv.1", role=Role.INVESTIGATOR), findings="died of the head injury"
            ),
        )
    state = await perform_step(h.client, number, AdjudicateInput(actor=HANDLER, facts=facts))
    assert state.stage == Stage.PAYOUT, state.timeline[-1]
    return await perform_step(h.client, number, PayInput(actor=HANDLER, transfer_ref=ref))


async def test_a_death_after_a_paid_disability_of_the_same_accident_pays_the_difference(
    harness: Harness,
) -> None:
    # The greenhouse fall, assessed grade 5 first: 40,000 × 60 % = 24,000.
    case = harness.cases[0].model_copy(
        update={
            "report": harness.cases[0].report.model_copy(
                update={"disability_grade": 5, "reported_on": date(2021, 7, 1), "third_party_record": True}
            )
        }
    )
    first = await harness.report(case)
    state = await _adjudicate_and_pay(
        harness,
        first,
        LossFacts(outcome="disability", cause="fall_from_height", disability_grades=[5]),
        "TRF-1",
    )  # type: ignore[arg-type]
    assert state.stage == Stage.CLOSED and state.payments[0].amount == Decimal("24000.00")
    # The insured dies of the injury 90 days after the accident: a follow-up claim, not a duplicate.
    death = case.model_copy(
        update={
            "report": ClaimReport.model_validate(
                {
                    **case.report.model_dump(),
                    "outcome": "death",
                    "disability_grade": None,
                    "reported_on": "2021-09-30",
                }
            )
        }
    )
    second = await harness.report(death)
    assert second == f"{first}-2"
    state = await _adjudicate_and_pay(
        harness,
        second,
        LossFacts(
            outcome="death", cause="fall_from_height", death_date=date(2021, 6, 26) + timedelta(days=90)
        ),  # type: ignore[arg-type]
        "TRF-2",
    )
    assert state.stage == Stage.CLOSED and state.decision is not None
    line = state.decision.lines[0]
    assert line.amount == Decimal("16000.00")  # 40,000 less the 24,000 already paid
    assert "24000.00" in line.formula
    # Reported again: the same follow-up claim.
    assert await harness.report(death) == second


async def test_a_second_request_for_a_document_the_checklist_named_is_flagged(harness: Harness) -> None:
    case = harness.cases[1]  # drowning: death documents, filed by the village secretary
    number = await harness.report(case)
    handler = Actor(id=case.handler, role=Role.HANDLER)
    state = await perform_step(harness.client, number, RegisterInput(actor=handler))
    assert {"death_certificate", "beneficiary_relationship_proof", "power_of_attorney"} <= set(
        state.documents_required
    )
    await perform_step(
        harness.client,
        number,
        RequestDocumentsInput(actor=handler, documents=["claim_form", "bank_card"]),
    )
    await perform_step(
        harness.client,
        number,
        ReceiveDocumentsInput(actor=case.report.reporter, documents=["claim_form", "bank_card"]),
    )
    state = await perform_step(
        harness.client,
        number,
        RequestDocumentsInput(actor=handler, documents=["death_certificate", "hospital_letter"]),
    )
    note = [t for t in state.timeline if t.event == "documents_requested"][-1]
    assert note.detail.startswith("REPEATED REQUEST")
    assert "FLAGGED: death_certificate could have been named in the first notice" in note.detail
    assert "hospital_letter could" not in note.detail


async def test_a_disputed_case_in_changde_goes_to_the_joint_meeting_with_fifteen_working_days(
    env: WorkflowEnvironment, sqlite_sessions: Any
) -> None:
    h = Harness(env.client, sqlite_sessions)
    # Put the road-accident household in 武陵区 (Changde prefecture) for this test.
    data = h.register.model_dump(mode="json")
    data["households"][2]["county"] = "武陵区"
    with unit_of_work(sqlite_sessions) as s:
        load_register(s, RegisterFile.model_validate(data))
    cal = WorkingCalendar()
    async with build_worker(
        env.client, sqlite_sessions, task_queue=h.task_queue, rules_engine=RulesEngine.shared(), calendar=cal
    ):
        number = await h.report(h.cases[2])
        handler = Actor(id="handler.wuling", role=Role.HANDLER)
        state = await perform_step(h.client, number, RegisterInput(actor=handler))
        assert (
            next(c for c in state.clocks if c.name == "resolution").target_working_days == 2
        )  # green channel
        state = await perform_step(
            h.client,
            number,
            ReferToConsultationInput(actor=handler, reason="liability for the crash is disputed"),
        )
        resolution = next(c for c in state.clocks if c.name == "resolution")
        assert state.case_class == CaseClass.DISPUTED
        assert resolution.target_working_days == 15
        registered = next(t.at for t in state.timeline if t.event == "registered")
        assert resolution.deadline.due_at == cal.add_working_days(registered, 15).due_at
        with pytest.raises(StepRejected, match="already referred"):
            await perform_step(
                h.client,
                number,
                ReferToConsultationInput(actor=handler, reason="again"),
            )


async def test_a_step_on_a_closed_claim_says_the_claim_is_closed(harness: Harness) -> None:
    state = await harness.drive(harness.cases[2])
    assert state.stage == Stage.CLOSED
    for _ in range(50):  # the workflow completes right after its last step and the archive
        try:
            await perform_step(
                harness.client, state.claim_number, PayInput(actor=HANDLER, transfer_ref="TRF-again")
            )
        except StepRejected as e:
            if "completed; no more steps" in str(e):
                break
            assert "not allowed at stage 'closed'" in str(e)
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("the claim never reported itself closed")


async def test_a_supervisor_s_assignment_before_registration_is_kept(harness: Harness) -> None:
    number = await harness.report(harness.cases[0])
    supervisor = Actor(id="sup.ningxiang", role=Role.SUPERVISOR)
    await perform_step(harness.client, number, ReassignInput(actor=supervisor, handler="handler.b"))
    with pytest.raises(StepRejected, match="assigned to handler.b, not handler.ningxiang"):
        await perform_step(harness.client, number, RegisterInput(actor=HANDLER))
    state = await perform_step(
        harness.client, number, RegisterInput(actor=Actor(id="handler.b", role=Role.HANDLER))
    )
    assert state.assigned_handler == "handler.b"


async def test_a_mistyped_circumstance_goes_back_to_the_handler_instead_of_paying(harness: Harness) -> None:
    case = harness.cases[2]
    number = await harness.report(case)
    handler = Actor(id=case.handler, role=Role.HANDLER)
    await perform_step(harness.client, number, RegisterInput(actor=handler))
    await complete_documents(harness.client, number, handler)
    facts = LossFacts(
        outcome="disability",
        cause="road_accident",
        disability_grades=[1],  # type: ignore[arg-type]
        circumstances=["drink_drivng"],
    )
    state = await perform_step(harness.client, number, AdjudicateInput(actor=handler, facts=facts))
    assert state.stage == Stage.ADJUDICATION and state.payments == []
    assert state.decision is not None and state.decision.total == Decimal("0")
    assert "unknown circumstance code drink_drivng" in state.decision.needs_handler[0]
    assert "drink_driving" in state.decision.needs_handler[0]
