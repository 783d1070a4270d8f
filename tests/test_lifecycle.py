"""The rest of a claim's life (issue 17), end to end on the time-skipping server: withdrawal (撤案)
and a new claim for the event, close as a duplicate, an advance payment (先予支付) recovered after
a decline (追偿), a reopen (重开) after a wrong decline that ends in the right payment, and the
refusals: an advance above what can be established, a reopen after the reopen period."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import select
from temporalio.testing import WorkflowEnvironment

from claims.domain.workdays import WorkingCalendar
from claims.errors import StepRejected
from claims.models import (
    StepResult,
    Actor,
    AdjudicateInput,
    ClaimState,
    ClearReviewInput,
    CloseInput,
    CloseReason,
    DeclineInput,
    LossFacts,
    PayAdvanceInput,
    PayInput,
    RegisterInput,
    RejectionCode,
    ReopenInput,
    ReopenReason,
    Role,
    Stage,
    WithdrawInput,
)
from claims.services.client import claim_state, perform_step
from claims.store import workflow_id_for
from claims.store.archive import ArchivedClaim, load_archive
from claims.store.db import Claim, Notification, Payout, Receivable, Sessions
from rules.engine import RulesEngine
from rules.sla import load_sla_policy
from tests.support.harness import NO_REOPEN_POLICY, Harness, complete_documents, ended_state
from worker import build_worker

HANDLER = Actor(id="handler.yuhua", role=Role.HANDLER)
SUPERVISOR = Actor(id="sup.yuhua", role=Role.SUPERVISOR)
SECRETARY = Actor(id="sec.litou", role=Role.VILLAGE_SECRETARY)
GRADE3 = LossFacts(outcome="disability", cause="road_accident", disability_grades=[3])  # type: ignore[arg-type]
DRUNK = GRADE3.model_copy(update={"circumstances": ["drink_driving"]})
GRADE3_AMOUNT = Decimal("36000.00")
"""The road accident's family accident plan: 45,000 yuan × 80 % for grade 3 (the rules' amount)."""


REOPEN_POLICY = load_sla_policy().model_copy(update={"reopen_calendar_days": 90})
"""The shipped SLA policy with a reopen period of 90 calendar days (what it ships with, set here
so these tests do not move when a deployment changes the file). The suite's ``harness`` runs on
``NO_REOPEN_POLICY`` (no reopen period: claims end at once)."""


def test_the_shipped_policies_keep_a_claim_reopenable_for_90_calendar_days() -> None:
    from pathlib import Path

    rules = Path(__file__).resolve().parent.parent / "rules"
    for name in ("sla_policy.json", "sla_policy_ordinary7.json"):
        assert load_sla_policy(rules / name).reopen_calendar_days == 90, name
    assert NO_REOPEN_POLICY.reopen_calendar_days == 0
    assert NO_REOPEN_POLICY.model_copy(update={"reopen_calendar_days": 90}) == load_sla_policy()


@pytest_asyncio.fixture(loop_scope="session")
async def reopening(env: WorkflowEnvironment, sqlite_sessions: Sessions) -> AsyncIterator[Harness]:
    """A harness whose worker runs on ``REOPEN_POLICY``: closed and declined claims stay open 90 days."""
    h = Harness(env.client, sqlite_sessions)
    async with build_worker(
        env.client,
        sqlite_sessions,
        task_queue=h.task_queue,
        rules_engine=RulesEngine.shared(),
        calendar=WorkingCalendar(),
        sla_policy=REOPEN_POLICY,
    ):
        yield h


def road(h: Harness, accident: date) -> Any:
    """The road-accident case (长沙市雨花区), grade 3 as reported, on another day (another claim)."""
    case = h.cases[2]
    report = case.report.model_copy(
        update={"accident_date": accident, "reported_on": accident + timedelta(days=2), "disability_grade": 3}
    )
    return case.model_copy(update={"report": report, "facts": GRADE3})


async def to_adjudication(h: Harness, number: str) -> ClaimState:
    await perform_step(h.client, number, RegisterInput(actor=HANDLER))
    state = await complete_documents(h.client, number, HANDLER)
    assert state.stage == Stage.ADJUDICATION, state.timeline[-1]
    return state


async def clear_any_review(h: Harness, number: str, state: ClaimState) -> ClaimState:
    """A claim the review rules sampled (5 %, by claim number) is cleared by a supervisor."""
    if state.review is not None and state.review.open:
        return await perform_step(h.client, number, ClearReviewInput(actor=SUPERVISOR))
    return state


async def refused(h: Harness, number: str, step: Any) -> StepRejected:
    with pytest.raises(StepRejected) as e:
        await perform_step(h.client, number, step)
    return e.value


async def test_withdrawal_stops_the_clocks_and_a_new_report_opens_a_new_claim(harness: Harness) -> None:
    case = road(harness, date(2022, 8, 2))
    number = await harness.report(case)
    await perform_step(harness.client, number, RegisterInput(actor=HANDLER))
    state = await perform_step(
        harness.client, number, WithdrawInput(actor=SECRETARY, reason="家属决定撤案：已与对方和解")
    )
    assert state.stage == Stage.WITHDRAWN and state.closure == "withdrawn: 家属决定撤案：已与对方和解"
    assert state.clocks and all(c.stopped_at is not None for c in state.clocks), state.clocks
    assert state.reopen_until is None and [e.event for e in state.timeline][-1] == "withdrawn"
    # no reopen window for a withdrawn claim: the workflow ends at once
    handle = harness.client.get_workflow_handle(workflow_id_for(number), result_type=StepResult)
    assert (await handle.result()).stage == Stage.WITHDRAWN  # the workflow's small result, step "end"
    with harness.sessions() as s:
        assert s.get(Claim, number).stage == "withdrawn"  # type: ignore[union-attr]
        # not an open claim in the SLA report's and the monthly report's sense
        from claims.store.reports import OPEN

        assert s.scalars(select(Claim.claim_number).where(OPEN, Claim.claim_number == number)).all() == []

    # the same event reported again: a new claim, the next number of the event
    again = await harness.report(case)
    assert again == f"{number}-2"
    fresh = await claim_state(harness.client, again)
    assert fresh.stage == Stage.REPORTED and fresh.timeline[0].event == "reported"
    with harness.sessions() as s:
        assert [
            c.attempt for c in s.scalars(select(Claim).where(Claim.claim_number.in_([number, again])))
        ] in (
            [1, 2],
            [2, 1],
        )
    # ... and reported a third time while that one runs: the running claim is returned
    assert await harness.report(case) == again


async def test_without_a_reopen_period_a_declined_claim_ends_at_once(harness: Harness) -> None:
    # ``harness`` runs on NO_REOPEN_POLICY (reopen_calendar_days 0)
    number = await harness.report(road(harness, date(2022, 9, 13)))
    await to_adjudication(harness, number)
    await perform_step(harness.client, number, DeclineInput(actor=HANDLER, reasons=["not covered"]))
    handle = harness.client.get_workflow_handle(workflow_id_for(number), result_type=StepResult)
    assert (await handle.result()).stage == Stage.DECLINED  # no reopen period: archived and done
    e = await refused(harness, number, ReopenInput(actor=SUPERVISOR, reason_code=ReopenReason.APPEAL))
    assert e.code == RejectionCode.CLAIM_ENDED.value


async def test_a_supervisor_closes_a_duplicate(harness: Harness) -> None:
    number = await harness.report(road(harness, date(2022, 8, 9)))
    e = await refused(harness, number, CloseInput(actor=HANDLER, reason_code=CloseReason.DUPLICATE))
    assert e.code == RejectionCode.ROLE_NOT_ALLOWED.value
    state = await perform_step(
        harness.client, number, CloseInput(actor=SUPERVISOR, reason_code=CloseReason.DUPLICATE, note="同 JS…")
    )
    assert state.stage == Stage.CLOSED and state.closure == "duplicate" and state.payments == []
    assert all(c.stopped_at is not None for c in state.clocks)
    # closed without a decision: no reopen window, nothing to reopen (report the event again);
    # refused by the validator while the workflow finishes, or as ended once it has
    e = await refused(harness, number, ReopenInput(actor=SUPERVISOR, reason_code=ReopenReason.APPEAL))
    assert e.code in (RejectionCode.CLOSED_WITHOUT_DECISION.value, RejectionCode.CLAIM_ENDED.value)
    final = await ended_state(harness.client, number)
    assert final.stage == Stage.CLOSED and final.reopen_until is None


async def test_an_advance_then_a_decline_leaves_a_receivable_and_a_notice(harness: Harness) -> None:
    number = await harness.report(road(harness, date(2022, 8, 16)))
    await to_adjudication(harness, number)
    # what can be established: the rules' amount on the facts as reported (grade 3)
    e = await refused(
        harness, number, PayAdvanceInput(actor=HANDLER, amount=Decimal("36000.01"), transfer_ref="ADV-1")
    )
    assert e.code == RejectionCode.ADVANCE_ABOVE_ESTABLISHED.value
    assert e.params["amount"] == "36000.01" and e.params["established"] == "36000.00"
    state = await perform_step(
        harness.client, number, PayAdvanceInput(actor=HANDLER, amount=Decimal("10000"), transfer_ref="ADV-1")
    )
    assert state.stage == Stage.ADJUDICATION and state.advance_paid == Decimal("10000.00")
    art25 = next(c for c in state.clocks if c.name == "art25_advance_payment")
    assert art25.stopped_at is not None
    e = await refused(
        harness, number, PayAdvanceInput(actor=HANDLER, amount=Decimal("1000"), transfer_ref="ADV-2")
    )
    assert e.code == RejectionCode.ADVANCE_ALREADY_PAID.value
    e = await refused(harness, number, WithdrawInput(actor=HANDLER, reason="claimant withdraws"))
    assert e.code == RejectionCode.ADVANCE_OUTSTANDING.value

    # drink driving established: the rules decline; the advance is to be recovered
    state = await perform_step(harness.client, number, AdjudicateInput(actor=HANDLER, facts=DRUNK))
    assert state.stage == Stage.DECLINED and state.receivable == Decimal("10000.00")
    assert "receivable" in [e.event for e in state.timeline]
    with harness.sessions() as s:
        rows = list(s.scalars(select(Payout).where(Payout.claim_number == number)))
        assert [(r.kind, r.amount, r.transfer_ref, r.payment_number) for r in rows] == [
            ("advance", Decimal("10000.00"), "ADV-1", 1001)
        ]
        owed = list(s.scalars(select(Receivable).where(Receivable.claim_number == number)))
        assert [(r.amount, r.status) for r in owed] == [(Decimal("10000.00"), "open")]
        notices = {
            n.recipient_role
            for n in s.scalars(
                select(Notification).where(
                    Notification.claim_number == number, Notification.kind == "recovery_notice"
                )
            )
        }
        assert notices == {"claimant", "supervisor"}


async def test_a_reopen_after_a_wrong_decline_ends_in_the_right_payment(reopening: Harness) -> None:
    harness = reopening
    number = await harness.report(road(harness, date(2022, 8, 23)))
    await to_adjudication(harness, number)
    state = await perform_step(
        harness.client, number, DeclineInput(actor=HANDLER, reasons=["误认为酒后驾驶 (wrong)"])
    )
    assert state.stage == Stage.DECLINED and state.reopen_until is not None
    # the workflow stays open through the reopen period (90 calendar days by the SLA policy)
    assert state.reopen_until - state.timeline[-1].at <= timedelta(days=90, seconds=1)
    # ... and its decision is archived at once, for the monthly report and the audit
    declined_record = await archived(harness, number, "declined")
    assert declined_record.bundle.decline_reasons == ["误认为酒后驾驶 (wrong)"]
    e = await refused(harness, number, ReopenInput(actor=HANDLER, reason_code=ReopenReason.APPEAL))
    assert e.code == RejectionCode.ROLE_NOT_ALLOWED.value
    state = await perform_step(
        harness.client,
        number,
        ReopenInput(actor=SUPERVISOR, reason_code=ReopenReason.APPEAL, note="交警认定书：未饮酒"),
    )
    assert state.stage == Stage.ADJUDICATION and state.reopened == 1 and state.decline_reasons == []
    # the supervisor's page counts it (重开·重新核定) until it ends again
    from claims.store import lifecycle_counts

    county = "长沙市雨花区"
    with harness.sessions() as s:
        assert s.get_one(Claim, number).reopened == 1
        assert lifecycle_counts(s, county)["reopened"] == 1
    resolution = next(c for c in state.clocks if c.name == "resolution")
    assert resolution.stopped_at is None  # new SLA clock from the reopen
    state = await perform_step(harness.client, number, AdjudicateInput(actor=HANDLER, facts=GRADE3))
    assert state.stage == Stage.PAYOUT and state.decision is not None
    assert state.decision.total == GRADE3_AMOUNT
    state = await clear_any_review(harness, number, state)
    state = await perform_step(harness.client, number, PayInput(actor=HANDLER, transfer_ref="TRF-REOPEN-1"))
    assert state.stage == Stage.CLOSED
    assert [(p.payment_number, p.amount) for p in state.payments] == [(1, GRADE3_AMOUNT)]
    with harness.sessions() as s:
        assert lifecycle_counts(s, county)["reopened"] == 0  # paid: no longer being decided again
    events = [e.event for e in state.timeline]
    assert events.index("declined") < events.index("reopened") < events.index("paid")
    # the archived record follows the reopen: the payment replaces the decline
    paid_record = await archived(harness, number, "closed")
    assert [(p.payment_number, p.amount) for p in paid_record.bundle.payouts] == [(1, GRADE3_AMOUNT)]


async def archived(h: Harness, number: str, stage: str) -> ArchivedClaim:
    """The claim's archived record once it shows ``stage`` (the archive activity runs just after
    the step that ended the claim)."""
    for _ in range(100):
        with h.sessions() as s:
            found = load_archive(s, number)
        if found is not None and found.stage == stage:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"{number}: no archived record at stage {stage} (last: {found and found.stage})")


async def test_an_advance_is_offset_against_the_final_payment(harness: Harness) -> None:
    number = await harness.report(road(harness, date(2022, 8, 30)))
    await to_adjudication(harness, number)
    state = await perform_step(harness.client, number, AdjudicateInput(actor=HANDLER, facts=GRADE3))
    assert state.stage == Stage.PAYOUT
    # adjudicated and not yet paid: the decision's total can be established
    state = await perform_step(
        harness.client, number, PayAdvanceInput(actor=HANDLER, amount=Decimal("20000"), transfer_ref="ADV-9")
    )
    state = await clear_any_review(harness, number, state)
    state = await perform_step(harness.client, number, PayInput(actor=HANDLER, transfer_ref="TRF-9"))
    assert state.stage == Stage.CLOSED and state.receivable == 0
    assert [(p.payment_number, p.amount, p.transfer_ref) for p in state.payments] == [
        (1, GRADE3_AMOUNT - Decimal("20000"), "TRF-9"),
        (1001, Decimal("20000.00"), "ADV-9"),
    ]
    assert sum(p.amount for p in state.payments) == GRADE3_AMOUNT


async def test_a_reopen_after_the_reopen_period_is_refused(
    skipping: WorkflowEnvironment, sqlite_sessions: Sessions
) -> None:
    h = Harness(skipping.client, sqlite_sessions)
    async with build_worker(
        skipping.client,
        sqlite_sessions,
        task_queue=h.task_queue,
        rules_engine=RulesEngine.shared(),
        calendar=WorkingCalendar(),
        sla_policy=REOPEN_POLICY,
    ):
        number = await h.report(road(h, date(2022, 9, 6)))
        await to_adjudication(h, number)
        state = await perform_step(h.client, number, DeclineInput(actor=HANDLER, reasons=["not covered"]))
        assert state.reopen_until is not None
        await skipping.sleep(timedelta(days=89))  # inside the period: the claim still waits
        assert (await claim_state(h.client, number)).stage == Stage.DECLINED
        await skipping.sleep(timedelta(days=2))
        e = await refused(h, number, ReopenInput(actor=SUPERVISOR, reason_code=ReopenReason.COMPLAINT))
        # the period is over: the claim's workflow waited it out and ended (archived)
        assert e.code == RejectionCode.CLAIM_ENDED.value and "completed" in str(e)


async def test_a_reopened_claim_offsets_the_advance_and_cancels_its_receivable(reopening: Harness) -> None:
    harness = reopening
    number = await harness.report(road(harness, date(2022, 9, 20)))
    await to_adjudication(harness, number)
    await perform_step(
        harness.client, number, PayAdvanceInput(actor=HANDLER, amount=Decimal("10000"), transfer_ref="ADV-R")
    )
    state = await perform_step(harness.client, number, AdjudicateInput(actor=HANDLER, facts=DRUNK))
    assert state.stage == Stage.DECLINED and state.receivable == Decimal("10000.00")
    # on appeal: not drunk after all; the claim is decided again and the receivable cancelled
    state = await perform_step(
        harness.client, number, ReopenInput(actor=SUPERVISOR, reason_code=ReopenReason.APPEAL)
    )
    assert state.receivable == 0 and "receivable_cancelled" in [e.event for e in state.timeline]
    state = await perform_step(harness.client, number, AdjudicateInput(actor=HANDLER, facts=GRADE3))
    state = await clear_any_review(harness, number, state)
    state = await perform_step(harness.client, number, PayInput(actor=HANDLER, transfer_ref="TRF-R"))
    assert state.stage == Stage.CLOSED and state.receivable == 0
    assert [(p.payment_number, p.amount) for p in state.payments] == [
        (1, GRADE3_AMOUNT - Decimal("10000")),
        (1001, Decimal("10000.00")),
    ]
    with harness.sessions() as s:
        owed = list(s.scalars(select(Receivable).where(Receivable.claim_number == number)))
        assert [(r.amount, r.status) for r in owed] == [(Decimal("10000.00"), "cancelled")]


async def test_after_a_reopen_a_once_only_step_is_performed_again_through_the_step_service(
    reopening: Harness,
) -> None:
    from claims.services.client import attempt_step

    harness = reopening
    number = await harness.report(road(harness, date(2022, 9, 27)))
    await to_adjudication(harness, number)
    first = await attempt_step(harness.client, number, DeclineInput(actor=HANDLER, reasons=["first look"]))
    assert first.result.stage == Stage.DECLINED
    await attempt_step(
        harness.client, number, ReopenInput(actor=SUPERVISOR, reason_code=ReopenReason.COMPLAINT)
    )
    # the same once-only step (update id <claim>/decline) in the new round: performed, not attached
    again = await attempt_step(harness.client, number, DeclineInput(actor=HANDLER, reasons=["second look"]))
    assert again.result.stage == Stage.DECLINED and again.result.decline_reasons == ["second look"]
    state = await claim_state(harness.client, number)
    assert again.result.version <= len(state.timeline)  # the timeline as the step left it is a prefix
    assert [e.event for e in state.timeline[: again.result.version]].count("declined") == 2


@pytest_asyncio.fixture(loop_scope="session")
async def reopen_console(
    reopening: Harness, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Any]:
    """The console (``create_app``) over the harness with a 90-day reopen period."""
    from claims.infra.settings import get_settings
    from claims.services.context import Services
    from tests.test_web_claims import Console

    monkeypatch.setenv("CLAIMS_DATA_DIR", str(tmp_path))  # the session secret is written there
    get_settings.cache_clear()
    c = Console(reopening, Services(get_settings(), sessions=reopening.sessions, client=reopening.client))
    yield c
    await c.close()


async def test_the_console_offers_reopen_to_a_supervisor_inside_the_period(reopen_console: Any) -> None:
    import re

    harness = reopen_console.harness
    number = await harness.report(road(harness, date(2022, 10, 18)))
    await to_adjudication(harness, number)
    await perform_step(harness.client, number, DeclineInput(actor=HANDLER, reasons=["误判"]))
    sup = await reopen_console.as_user("sup.lifecycle", "supervisor", county="长沙市雨花区")
    page = await sup.get(f"/claims/{number}")
    assert page.status_code == 200
    assert re.findall(r'action="/claims/[^"]+/steps/([a-z_]+)"', page.text) == ["reopen"]
    assert "申诉" in page.text and "重开" in page.text
    done = await sup.post(f"/claims/{number}/steps/reopen", {"reason_code": "appeal", "note": "申诉材料已收"})
    assert done.status_code == 303
    state = await claim_state(harness.client, number)
    assert state.stage == Stage.ADJUDICATION and state.reopened == 1
    reopened = next(e for e in state.timeline if e.event == "reopened")
    assert reopened.actor.id == "sup.lifecycle" and "(appeal)" in reopened.detail  # identity from the session


def test_claims_show_prints_the_advance_the_receivable_and_the_reopen(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from datetime import UTC, datetime

    from claims.cli.render import print_state

    state = ClaimState(
        claim_number="JS20220816-P0006",
        stage=Stage.DECLINED,
        county="长沙市雨花区",
        township="黎托街道",
        village="示范社区丙",
        accident_date=date(2022, 8, 16),
        reported_at=datetime(2022, 8, 18, 2, tzinfo=UTC),
        policies=["FA2022YH0003"],
        advance_paid=Decimal("10000.00"),
        receivable=Decimal("10000.00"),
        reopened=1,
        reopen_until=datetime(2022, 11, 20, 2, tzinfo=UTC),
    )
    print_state(state)
    out = capsys.readouterr().out
    assert "advance paid (先予支付): 10000.00 yuan" in out
    assert "to recover from the claimant (追偿): 10000.00 yuan" in out
    assert "reopened 1 time(s)" in out and "may be reopened until 2022-11-20 10:00" in out


async def test_the_console_shows_why_an_advance_is_refused_in_chinese(reopen_console: Any) -> None:
    from tests.test_web_claims import step_error

    harness = reopen_console.harness
    number = await harness.report(road(harness, date(2022, 10, 25)))
    await to_adjudication(harness, number)
    me = await reopen_console.as_user("handler.yuhua", "handler", county="长沙市雨花区")
    page = await me.get(f"/claims/{number}")
    assert (
        'action="/claims/' + number + '/steps/pay_advance"' in page.text and "先予支付金额（元）" in page.text
    )
    refused = await me.post(
        f"/claims/{number}/steps/pay_advance", {"amount": "36,000.01", "transfer_ref": "ADV-WEB"}
    )
    assert refused.status_code == 422
    assert (
        step_error(refused.text, "pay_advance")
        == "先予支付金额 36000.01 元超过目前可以确定的金额（36000.00 元）"
    )
    done = await me.post(
        f"/claims/{number}/steps/pay_advance", {"amount": "20000", "transfer_ref": "ADV-WEB"}
    )
    assert done.status_code == 303
    assert (await claim_state(harness.client, number)).advance_paid == Decimal("20000.00")


async def test_the_supervisors_counts_of_withdrawn_advance_paid_and_receivable_open(harness: Harness) -> None:
    from claims.store import lifecycle_counts

    county = "长沙市雨花区"
    withdrawn = await harness.report(road(harness, date(2022, 11, 1)))
    await perform_step(harness.client, withdrawn, WithdrawInput(actor=SECRETARY, reason="撤案"))
    advanced = await harness.report(road(harness, date(2022, 11, 8)))
    await to_adjudication(harness, advanced)
    await perform_step(
        harness.client, advanced, PayAdvanceInput(actor=HANDLER, amount=Decimal("5000"), transfer_ref="ADV-C")
    )
    with harness.sessions() as s:
        assert lifecycle_counts(s, county) == {
            "withdrawn": 1,
            "reopened": 0,
            "advance_paid": 1,
            "receivable_open": 0,
        }
        assert lifecycle_counts(s, "宁乡市") == {
            "withdrawn": 0,
            "reopened": 0,
            "advance_paid": 0,
            "receivable_open": 0,
        }
    await perform_step(harness.client, advanced, AdjudicateInput(actor=HANDLER, facts=DRUNK))
    with harness.sessions() as s:
        assert lifecycle_counts(s, county) == {
            "withdrawn": 1,
            "reopened": 0,
            "advance_paid": 0,
            "receivable_open": 1,
        }
