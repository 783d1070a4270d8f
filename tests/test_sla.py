"""SLA clocks in the claim workflow: pauses, statutory limits, art. 25, new schedules, regions.

Tests that skip time run on their own time-skipping server (fixture ``skipping``), one at a time,
so the jumps never move the clock of other tests.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from temporalio.testing import WorkflowEnvironment

from claims.domain.timeutil import SHANGHAI
from claims.domain.workdays import PUBLISHED_YEARS, CalendarSource, WorkingCalendar
from claims.models import (
    Actor,
    AdjudicateInput,
    CalendarChange,
    CaseClass,
    ClaimState,
    LossFacts,
    ReceiveDocumentsInput,
    ReferToConsultationInput,
    RegisterInput,
    RequestDocumentsInput,
    RequestInvestigationInput,
    Role,
    SlaClock,
    SlaState,
    SlaTargetRequest,
    Stage,
)
from claims.services.client import claim_state, perform_step
from claims.store.db import Notification
from rules.engine import RulesEngine
from rules.sla import SlaPolicyError, load_sla_policy, parse_sla_policy
from tests.support.harness import Harness, complete_documents
from worker import build_worker
from workflows.claim import ClaimWorkflow

HANDLER = Actor(id="handler.yuhua", role=Role.HANDLER)
SECRETARY = Actor(id="sec.litou", role=Role.VILLAGE_SECRETARY)


def clock(state: ClaimState, name: str) -> SlaClock:
    return next(c for c in state.clocks if c.name == name)


def at(state: ClaimState, event: str) -> datetime:
    return next(t.at for t in state.timeline if t.event == event)


async def until(client: Any, number: str, pred: Any, tries: int = 100) -> ClaimState:
    for _ in range(tries):
        state = await claim_state(client, number)
        if pred(state):
            return state
        await asyncio.sleep(0.1)
    raise AssertionError(f"condition not reached; last timeline: {[t.event for t in state.timeline]}")


async def test_a_pause_of_four_working_days_moves_the_programme_deadline_by_four_not_the_statutory_one(
    skipping: WorkflowEnvironment, sqlite_sessions: Any
) -> None:
    cal = WorkingCalendar()
    h = Harness(skipping.client, sqlite_sessions)
    async with build_worker(
        skipping.client,
        sqlite_sessions,
        task_queue=h.task_queue,
        rules_engine=RulesEngine.shared(),
        calendar=cal,
    ):
        number = await h.report(h.cases[2])  # road accident, green channel: 2 working days
        state = await perform_step(h.client, number, RegisterInput(actor=HANDLER))
        registered = at(state, "registered")
        assert clock(state, "resolution").deadline.due_at == cal.add_working_days(registered, 2).due_at
        state = await perform_step(
            h.client,
            number,
            RequestDocumentsInput(actor=HANDLER, documents=["claim_form", "bank_card"]),
        )
        paused = clock(state, "resolution")
        assert paused.paused_since is not None and "claim_form, bank_card" in paused.pause_reason
        # Four working days on the claimant's side (just before the 4th working day closes).
        resume_at = cal.add_working_days(paused.paused_since, 4).due_at - timedelta(hours=1)
        await skipping.sleep(resume_at - datetime.now(UTC))
        state = await perform_step(
            h.client,
            number,
            ReceiveDocumentsInput(actor=SECRETARY, documents=["claim_form", "bank_card"]),
        )
        resumed = clock(state, "resolution")
        assert resumed.paused_since is None
        counted = cal.working_days_between(paused.paused_since, at(state, "sla_resumed"))
        assert counted == resumed.paused_working_days == 4
        assert resumed.deadline.due_at == cal.add_working_days(registered, 2 + counted).due_at
        state = await complete_documents(h.client, number, HANDLER)
        complete = at(state, "documents_complete")
        decision = clock(state, "art23_decision")
        # 30 calendar days from complete documents (Civil Code counting), whatever the pause.
        assert decision.calendar_days == 30
        completed_on = complete.astimezone(SHANGHAI).date()
        assert decision.deadline.due_date == cal.statutory_deadline(completed_on, 30)
        assert clock(state, "art25_advance_payment").deadline.due_date == cal.statutory_deadline(
            completed_on, 60
        )


async def test_an_investigation_asked_while_documents_are_awaited_keeps_the_resolution_clock_paused(
    skipping: WorkflowEnvironment, sqlite_sessions: Any
) -> None:
    """Reclassification (``reclassify-keeps-pause``): the investigation's target applies from
    registration, but the clock stays paused until the claimant's documents come in; the
    working days paused then move the new deadline."""
    cal = WorkingCalendar()
    h = Harness(skipping.client, sqlite_sessions)
    async with build_worker(
        skipping.client,
        sqlite_sessions,
        task_queue=h.task_queue,
        rules_engine=RulesEngine.shared(),
        calendar=cal,
    ):
        number = await h.report(h.cases[2])  # road accident, green channel: 2 working days
        state = await perform_step(h.client, number, RegisterInput(actor=HANDLER))
        registered = at(state, "registered")
        state = await perform_step(
            h.client, number, RequestDocumentsInput(actor=HANDLER, documents=["claim_form"])
        )
        paused = clock(state, "resolution")
        assert paused.target_working_days == 2 and paused.paused_since is not None
        state = await perform_step(
            h.client, number, RequestInvestigationInput(actor=HANDLER, reason="收入证明存疑")
        )
        reclassified = clock(state, "resolution")
        assert state.case_class == CaseClass.INVESTIGATION
        target = reclassified.target_working_days
        assert target > 2
        assert reclassified.deadline.due_at == cal.add_working_days(registered, target).due_at
        # still waiting on the claimant: same pause, same cap, no clock event before the cap
        assert reclassified.paused_since == paused.paused_since
        assert reclassified.pause_reason == paused.pause_reason
        assert reclassified.pause_cap_at == paused.pause_cap_at
        assert state.sla_state == SlaState.ON_TRACK
        resume_at = cal.add_working_days(paused.paused_since, 3).due_at - timedelta(hours=1)
        await skipping.sleep(resume_at - datetime.now(UTC))
        state = await perform_step(
            h.client, number, ReceiveDocumentsInput(actor=SECRETARY, documents=["claim_form"])
        )
        resumed = clock(state, "resolution")
        assert resumed.paused_since is None
        assert resumed.paused_working_days == 3
        assert resumed.deadline.due_at == cal.add_working_days(registered, target + 3).due_at


async def test_a_consultation_then_an_investigation_while_paused_keep_the_pause_each_time(
    skipping: WorkflowEnvironment, sqlite_sessions: Any
) -> None:
    """Two reclassifications while the claimant owes documents: each asks its own patch id
    (``reclassify-keeps-pause``, then ``reclassify-keeps-pause-2``) and the clock stays paused."""
    cal = WorkingCalendar()
    h = Harness(skipping.client, sqlite_sessions)
    async with build_worker(
        skipping.client,
        sqlite_sessions,
        task_queue=h.task_queue,
        rules_engine=RulesEngine.shared(),
        calendar=cal,
    ):
        number = await h.report(h.cases[2])
        await perform_step(h.client, number, RegisterInput(actor=HANDLER))
        state = await perform_step(
            h.client, number, RequestDocumentsInput(actor=HANDLER, documents=["claim_form"])
        )
        since = clock(state, "resolution").paused_since
        assert since is not None
        state = await perform_step(
            h.client, number, ReferToConsultationInput(actor=HANDLER, reason="伤残等级有争议")
        )
        assert state.case_class == CaseClass.DISPUTED and clock(state, "resolution").paused_since == since
        state = await perform_step(
            h.client, number, RequestInvestigationInput(actor=HANDLER, reason="收入证明存疑")
        )
        resolution = clock(state, "resolution")
        assert state.case_class == CaseClass.INVESTIGATION and resolution.paused_since == since
        history = await h.client.get_workflow_handle(f"claim-{number}").fetch_history()
        patches = [
            e.marker_recorded_event_attributes.details["patch-data"].payloads[0].data
            for e in history.events
            if e.HasField("marker_recorded_event_attributes")
            and e.marker_recorded_event_attributes.marker_name == "core_patch"
        ]
        assert [json.loads(p)["id"] for p in patches] == [
            "lean-history",
            "reclassify-keeps-pause",
            "reclassify-keeps-pause-2",
        ]


async def test_sixty_days_after_complete_documents_without_a_decision_asks_for_an_advance_payment(
    skipping: WorkflowEnvironment, sqlite_sessions: Any
) -> None:
    h = Harness(skipping.client, sqlite_sessions)
    async with build_worker(
        skipping.client,
        sqlite_sessions,
        task_queue=h.task_queue,
        rules_engine=RulesEngine.shared(),
        calendar=WorkingCalendar(),
    ):
        number = await h.report(h.cases[1])  # drowning: green channel, 2 working days
        await perform_step(
            h.client, number, RegisterInput(actor=Actor(id="h.l", role=Role.HANDLER))
        )
        state = await complete_documents(h.client, number, Actor(id="h.l", role=Role.HANDLER))
        due = clock(state, "art25_advance_payment").deadline.due_at
        await skipping.sleep(due - datetime.now(UTC) + timedelta(hours=2))
        state = await until(h.client, number, lambda s: s.advance_payment_requested)
        events = [t.event for t in state.timeline]
        assert "advance_payment_due" in events
        # The 2-working-day target and art. 23's 30 days were breached long before.
        assert clock(state, "resolution").breached and clock(state, "art23_decision").breached
        assert state.sla_state == SlaState.BREACHED and state.stage == Stage.ADJUDICATION
        await asyncio.sleep(0.3)
        with sqlite_sessions() as s:
            kinds = s.scalars(select(Notification.kind).where(Notification.claim_number == number)).all()
        assert kinds.count("advance_payment_due") == 1
        assert kinds.count("sla_breach") == 2  # resolution and art23_decision


def three_more_days_off(base: WorkingCalendar, due: date) -> dict[str, Any]:
    """A test notice (JSON object) for ``due``'s year that moves a deadline falling on ``due``
    later, whatever the date: the last three working days of that year up to ``due`` become
    days off (``due`` itself included, so one at least, even an adjusted working weekend day).
    A published year gets an amendment; a provisional year a complete schedule that keeps its
    statutory rest days (a complete schedule replaces the year: without them Spring Festival
    would turn into working days and pull the deadline earlier)."""
    year = due.year
    off: list[date] = []
    day = due
    while len(off) < 3 and day.year == year:
        if base.is_working_day(day):
            off.append(day)
        day -= timedelta(days=1)
    published = year in PUBLISHED_YEARS
    kept = [] if published else list(base.special_days(year))
    holidays = [(c.date, c.name) for c in kept if not c.working] + [(d, "test holiday") for d in off]
    return {
        "version": "test-sla-notice",
        "notice_title": "TEST notice for the SLA tests",
        "notice_date": f"{year - 1}-11-20",
        "year": year,
        "amendment": published,
        "holidays": [{"date": d.isoformat(), "name": name} for d, name in sorted(holidays)],
        "workdays": [c.date.isoformat() for c in kept if c.working],
    }


def test_the_test_notice_moves_every_30_day_deadline_later_from_2026_to_2028(tmp_path: Path) -> None:
    """``three_more_days_off`` as the schedule test uses it, for a registration on every day
    from 2026 to 2028 (one instant per effective start date; 2027 and 2028 are provisional):
    the deadline moves later and the deadline's year is no longer provisional. The workflow
    test runs on today's date only."""
    base = WorkingCalendar()
    notice = tmp_path / "notice.json"
    day, moved = date(2026, 1, 1), 0
    while day.year <= 2028:
        registered = datetime.combine(day, time(10, 0), tzinfo=SHANGHAI)
        before = base.add_working_days(registered, 30)
        notice.write_text(json.dumps(three_more_days_off(base, before.due_date)), encoding="utf-8")
        expected = WorkingCalendar()
        expected.load_file(notice)
        after = expected.add_working_days(registered, 30)
        assert after.due_at > before.due_at, (registered, before.due_date, after.due_date)
        assert not expected.is_provisional(before.due_date), registered
        moved += 1
        day += timedelta(days=1)
    assert moved == 1096


async def test_a_new_holiday_schedule_moves_open_deadlines_and_records_old_and_new(
    env: WorkflowEnvironment, sqlite_sessions: Any, tmp_path: Path
) -> None:
    folder = tmp_path / "calendar"
    folder.mkdir()
    source = CalendarSource(folder=folder)
    h = Harness(env.client, sqlite_sessions)
    async with build_worker(
        env.client,
        sqlite_sessions,
        task_queue=h.task_queue,
        rules_engine=RulesEngine.shared(),
        calendar=source,
    ):
        number = await h.report(h.cases[0])  # late report: investigation, 30 working days
        state = await perform_step(
            h.client,
            number,
            RegisterInput(actor=Actor(id="handler.ningxiang", role=Role.HANDLER)),
        )
        registered = at(state, "registered")
        before = clock(state, "resolution").deadline
        assert before.working_days == 30
        assert before.provisional == (before.due_date.year >= 2027)
        # A test notice for the deadline's year that gives days off up to the deadline, wherever
        # today's date puts it (``three_more_days_off``).
        schedule = three_more_days_off(WorkingCalendar(), before.due_date)
        (folder / "notice.json").write_text(json.dumps(schedule), encoding="utf-8")
        expected = WorkingCalendar()
        expected.load_file(folder / "notice.json")
        handle = env.client.get_workflow_handle(f"claim-{number}")
        await handle.signal(
            ClaimWorkflow.calendar_changed,
            CalendarChange(
                calendar_version=expected.calendar_version,
                actor=Actor(id="ops.calendar", role=Role.SUPERVISOR),
            ),
        )
        state = await until(
            h.client, number, lambda s: [t.event for t in s.timeline].count("sla_recomputed") >= 1
        )
        after = clock(state, "resolution").deadline
        assert after.due_at == expected.add_working_days(registered, 30).due_at
        assert after.calendar_version == expected.calendar_version
        # The notice's year is scheduled now; the deadline stays provisional only when it moved
        # into (or started in) a year that still has no schedule.
        assert not expected.is_provisional(before.due_date)
        assert after.provisional == expected.add_working_days(registered, 30).provisional
        assert after.due_at > before.due_at
        note = [t for t in state.timeline if t.event == "sla_recomputed"][-1]
        assert before.due_at.isoformat(timespec="minutes") in note.detail
        assert after.due_at.isoformat(timespec="minutes") in note.detail
        assert "test-sla-notice" in note.detail and note.actor.id == "ops.calendar"


async def test_decided_claim_stops_the_statutory_clocks_within_their_limits(harness: Harness) -> None:
    state = await harness.drive(harness.cases[1])
    assert state.stage == Stage.CLOSED and state.sla_state == SlaState.MET
    for name in ("art23_decision", "art25_advance_payment", "art23_payment"):
        c = clock(state, name)
        assert c.stopped_at is not None and not c.breached and c.stopped_at <= c.deadline.due_at, name
    assert clock(state, "art23_payment").calendar_days == 10
    assert state.sla_policy_version == load_sla_policy().version


async def test_a_declined_claim_sends_its_refusal_notice_within_three_days(harness: Harness) -> None:
    case = harness.cases[2]
    number = await harness.report(case)
    handler = Actor(id=case.handler, role=Role.HANDLER)
    await perform_step(harness.client, number, RegisterInput(actor=handler))
    await complete_documents(harness.client, number, handler)
    facts = LossFacts(
        outcome="disability",
        cause="road_accident",
        disability_grades=[1],  # type: ignore[arg-type]
        circumstances=["drink_driving"],
    )
    state = await perform_step(
        harness.client, number, AdjudicateInput(actor=handler, facts=facts)
    )
    assert state.stage == Stage.DECLINED
    assert any("excl.drink_driving" in r for r in state.decline_reasons)
    notice = clock(state, "art24_refusal_notice")
    assert notice.calendar_days == 3 and notice.stopped_at is not None and not notice.breached
    await asyncio.sleep(0.3)
    with harness.sessions() as s:
        rows = s.scalars(
            select(Notification).where(
                Notification.claim_number == number, Notification.kind == "decline_notice"
            )
        ).all()
    assert [(r.recipient_role, "excl.drink_driving" in r.message) for r in rows] == [("claimant", True)]
    assert state.payments == [] and (state.decision is not None and state.decision.total == Decimal("0"))


# --------------------------------------------------------------------------- SLA policy as data


def test_changde_gets_three_days_for_clear_claims_and_fifteen_for_disputed_ones() -> None:
    policy = load_sla_policy()
    clear = policy.choose(SlaTargetRequest(green_channel=False, case_class=CaseClass.CLEAR, county="武陵区"))
    disputed = policy.choose(
        SlaTargetRequest(green_channel=False, case_class=CaseClass.DISPUTED, county="澧县")
    )
    province = policy.choose(
        SlaTargetRequest(green_channel=False, case_class=CaseClass.ORDINARY, county="宁乡市")
    )
    green = policy.choose(
        SlaTargetRequest(green_channel=True, case_class=CaseClass.ORDINARY, county="宁乡市")
    )
    investigated = policy.choose(SlaTargetRequest(green_channel=True, case_class=CaseClass.INVESTIGATION))
    assert (clear.working_days, clear.region, clear.registration_working_days) == (3, "常德市", 0)
    assert disputed.working_days == 15
    assert (province.working_days, province.region) == (5, "default")
    assert green.working_days == 2
    assert investigated.working_days == 30  # an investigation cannot be done in the green channel's 2 days
    assert clear.policy_version == "hunan-province@2022.4"


def test_the_seven_day_variant_applies_to_ordinary_claims() -> None:
    policy = load_sla_policy(Path(__file__).resolve().parent.parent / "rules" / "sla_policy_ordinary7.json")
    assert (
        policy.choose(SlaTargetRequest(green_channel=False, case_class=CaseClass.ORDINARY)).working_days == 7
    )


@pytest.mark.parametrize(
    "mutate, words",
    [
        (lambda p: p["overrides"].update({"岳阳市": p["default"]}), "unknown region 岳阳市"),
        (lambda p: p["default"]["targets"].pop("disputed"), "no target for case class disputed"),
        (lambda p: p["regions"].update({"株洲市": ["武陵区"]}), "武陵区 is in both"),
        (lambda p: p["default"].update({"colour": "red"}), "default.colour"),
    ],
)
def test_bad_sla_policies_are_refused_with_the_field_and_the_fix(mutate: Any, words: str) -> None:
    data = json.loads(
        (Path(__file__).resolve().parent.parent / "rules" / "sla_policy.json").read_text("utf-8")
    )
    mutate(data)
    with pytest.raises(SlaPolicyError, match=words):
        parse_sla_policy(json.dumps(data, ensure_ascii=False), "policy.json")
