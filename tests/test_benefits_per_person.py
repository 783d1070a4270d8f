"""Money that is right for every member of a household (issue 11), end to end on the
time-skipping server with the real activities and a store on SQLite and PostgreSQL.

- benefits and limits per insured person (the three-person family demo: 16,000 / 40,000 /
  5,000 / 2,610);
- one death paid once, whatever the report said;
- two claims racing for one limit never pay more than the limit;
- the investigator's "event not as reported" blocks payment;
- the payout authority limit comes from the engine's data, not from the reporter.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from claims.errors import StepRejected
from claims.services.client import perform_step, report_claim, wait_until_open
from claims.services.demo import DemoClaim, DemoFile, drive_claim
from claims.models import (
    Actor,
    AdjudicateInput,
    ClaimReport,
    ClaimState,
    DeclineInput,
    RecordInvestigationInput,
    StepInput,
    LossFacts,
    OverrideFindingInput,
    PayInput,
    ReceiveDocumentsInput,
    RegisterInput,
    RequestDocumentsInput,
    Role,
    Stage,
)
from claims.store import RegisterFile, load_register, payments_of, reservations_of
from claims.store.db import unit_of_work
from claims.domain.workdays import WorkingCalendar
from rules.engine import RulesEngine
from tests.conftest import REPO, new_task_queue
from tests.support.harness import NO_REOPEN_POLICY, complete_documents, ended_state
from worker import build_worker

CALENDAR = WorkingCalendar()
HANDLER = Actor(id="handler.liuyang", role=Role.HANDLER)
SUPERVISOR = Actor(id="supervisor.liuyang", role=Role.SUPERVISOR)
INVESTIGATOR = Actor(id="inv.liuyang", role=Role.INVESTIGATOR)
SECRETARY = Actor(id="sec.guandu", role=Role.VILLAGE_SECRETARY)
POLICY = "FA2025LY0101"
HUSBAND, WIFE, SON = "430181198003120519", "430181198207150621", "430181200809210716"


def household_files(tag: str) -> tuple[RegisterFile, list[DemoClaim]]:
    """The three-person family demo (``data/demo/household_*.json``) with person refs and the
    policy number made unique, so claim numbers are never shared between tests."""
    reg = json.loads((REPO / "data/demo/household_register.json").read_text("utf-8"))
    claims = json.loads((REPO / "data/demo/household_claims.json").read_text("utf-8"))
    for h in reg["households"]:
        h["household_no"] += f"-{tag}"
        for m in h["members"]:
            m["person_ref"] += f"-{tag}"
        for p in h["policies"]:
            p["insured"] = [r + f"-{tag}" for r in p["insured"]]
            p["policy_number"] += tag.upper()
    for c in claims["claims"]:
        c["report"]["policy_numbers"] = [n + tag.upper() for n in c["report"]["policy_numbers"]]
    return RegisterFile.model_validate(reg), DemoFile.model_validate(claims).claims


class Household:
    """A worker on a fresh task queue, the family's register loaded into the given store."""

    def __init__(self, env: WorkflowEnvironment, sessions: Any) -> None:
        self.client = env.client
        self.sessions = sessions
        self.task_queue = new_task_queue()
        tag = uuid.uuid4().hex[:6]
        self.register, self.cases = household_files(tag)
        self.policy = POLICY + tag.upper()
        with unit_of_work(sessions) as s:
            load_register(s, self.register)

    async def drive(self, case: DemoClaim) -> ClaimState:
        with self.sessions() as s:
            return await drive_claim(self.client, s, case, self.task_queue)

    async def report(self, id_number: str, accident: date, outcome: str, cause: str = "road_accident") -> str:
        report = ClaimReport(
            policy_numbers=[self.policy],
            id_number=id_number,
            accident_date=accident,
            reported_on=accident,
            outcome=outcome,  # type: ignore[arg-type]
            cause=cause,
            reporter=SECRETARY,
        )
        with self.sessions() as s:
            result = await report_claim(self.client, s, report, task_queue=self.task_queue)
        await wait_until_open(self.client, result.claim.claim_number)
        return result.claim.claim_number

    async def to_adjudication(self, number: str, investigate: bool = False) -> ClaimState:
        await self.step(number, RegisterInput(actor=HANDLER))
        docs = ["claim_form", "claimant_id", "bank_card"]
        await self.step(number, RequestDocumentsInput(actor=HANDLER, documents=docs))
        await self.step(number, ReceiveDocumentsInput(actor=SECRETARY, documents=docs))
        if investigate:
            from claims.models import RequestInvestigationInput

            await self.step(number, RequestInvestigationInput(actor=HANDLER, reason="check"))
        return await complete_documents(self.client, number, HANDLER)

    async def step(self, number: str, inp: StepInput) -> ClaimState:
        return await perform_step(self.client, number, inp)

    async def finished(self, number: str) -> ClaimState:
        """Wait until the claim's workflow has completed (its archive activity included), so
        no activity still holds a store connection when the test's store is dropped."""
        return await ended_state(self.client, number)


async def _household(env: WorkflowEnvironment, sessions: Any, **worker_kw: Any) -> AsyncIterator[Household]:
    # no reopen period: ``Household.finished`` waits for the workflow's end on the shared server
    worker_kw.setdefault("sla_policy", NO_REOPEN_POLICY)
    h = Household(env, sessions)
    async with build_worker(
        env.client,
        sessions,
        task_queue=h.task_queue,
        rules_engine=RulesEngine.shared(),
        calendar=CALENDAR,
        **worker_kw,
    ):
        yield h


@pytest_asyncio.fixture(loop_scope="session")
async def family(env: WorkflowEnvironment, sqlite_sessions: Any) -> AsyncIterator[Household]:
    async for h in _household(env, sqlite_sessions):
        yield h


@pytest_asyncio.fixture(loop_scope="session")
async def family_on_both_stores(env: WorkflowEnvironment, store_sessions: Any) -> AsyncIterator[Household]:
    async for h in _household(env, store_sessions):
        yield h


def paid(state: ClaimState) -> Decimal:
    return sum((p.amount for p in state.payments), Decimal("0"))


# --------------------------------------------------------------------------- per insured person


async def test_the_three_person_family_is_paid_16000_40000_5000_and_2610(family: Household) -> None:
    states = [await family.drive(case) for case in family.cases]
    assert [s.stage for s in states] == [Stage.CLOSED] * 4
    assert [paid(s) for s in states] == [
        Decimal("16000.00"),  # husband, grade 7: 40 % of 40,000
        Decimal("40000.00"),  # wife's death in the same accident: not reduced by his disability
        Decimal("5000.00"),  # husband's 8,000 bills: (8,000 − 100) × 80 % = 6,320, capped at 5,000
        Decimal("2610.00"),  # son's 3,000 bills: (3,000 − 100) × 90 %, his own limit untouched
    ]
    husband_medical, son_medical = states[2], states[3]
    assert husband_medical.claim_number.endswith("-2")  # a follow-up claim of the same accident
    assert "capped at 5000.00" in husband_medical.decision.lines[0].formula  # type: ignore[union-attr]
    assert son_medical.decision.lines[0].deducted == []  # type: ignore[union-attr]
    with family.sessions() as s:
        rows = [payments_of(s, st.claim_number) for st in states]
        assert [[p.amount for p in r] for r in rows] == [
            [Decimal("16000.00")],
            [Decimal("40000.00")],
            [Decimal("5000.00")],
            [Decimal("2610.00")],
        ]
        # every reservation made at adjudication is in the ledger now, none still held
        assert {r.status for st in states for r in reservations_of(s, st.claim_number)} == {"paid"}


async def test_a_death_paid_on_a_medical_report_is_not_paid_again_on_a_death_report(
    family: Household,
) -> None:
    accident = date(2025, 6, 3)
    first = await family.report(HUSBAND, accident, "medical")
    await family.to_adjudication(first)
    state = await family.step(
        first,
        AdjudicateInput(actor=HANDLER, facts=LossFacts(outcome="death", cause="drowning")),
    )
    changed = [t for t in state.timeline if t.event == "outcome_changed"]
    assert len(changed) == 1 and "reported as medical" in changed[0].detail and "death" in changed[0].detail
    assert state.reported_outcome == "medical" and state.adjudicated_outcome == "death"
    state = await family.step(first, PayInput(actor=HANDLER, transfer_ref="TRF-D1"))
    assert paid(state) == Decimal("40000.00")

    second = await family.report(HUSBAND, accident, "death")
    assert second == f"{first}-2"  # a follow-up claim of the same accident
    await family.to_adjudication(second)
    state = await family.step(
        second,
        AdjudicateInput(actor=HANDLER, facts=LossFacts(outcome="death", cause="drowning")),
    )
    assert state.stage == Stage.DECLINED and state.payments == []
    assert state.decision is not None and state.decision.total == Decimal("0.00")
    (reason,) = state.decline_reasons
    assert reason.startswith("benefit.accidental_death.already_paid:")
    assert first in reason and "40000.00" in reason
    with family.sessions() as s:
        assert sum(p.amount for p in payments_of(s, second)) == 0


# --------------------------------------------------------------------------- racing claims


async def test_two_medical_claims_of_one_person_adjudicated_at_once_never_exceed_the_5000_limit(
    family_on_both_stores: Household,
) -> None:
    h = family_on_both_stores
    a = await h.report(HUSBAND, date(2025, 7, 1), "medical")
    b = await h.report(HUSBAND, date(2025, 7, 2), "medical")
    await asyncio.gather(h.to_adjudication(a), h.to_adjudication(b))
    facts = LossFacts(outcome="medical", cause="road_accident", medical_expenses=Decimal("6000.00"))
    # each alone would pay (6,000 − 100) × 80 % = 4,720; together only the 5,000 yearly limit
    done = await asyncio.gather(
        h.step(a, AdjudicateInput(actor=HANDLER, facts=facts)),
        h.step(b, AdjudicateInput(actor=HANDLER, facts=facts)),
    )
    totals = sorted(s.decision.total for s in done)  # type: ignore[union-attr]
    assert totals == [Decimal("280.00"), Decimal("4720.00")]
    later = next(s for s in done if s.decision.total == Decimal("280.00"))  # type: ignore[union-attr]
    # the second decision names the first claim's reservation it counted
    (line,) = later.decision.lines  # type: ignore[union-attr]
    assert [d.claim_number for d in line.deducted] == [a if later.claim_number == b else b]
    assert "capped at 280.00" in line.formula
    for n in (a, b):
        await h.step(n, PayInput(actor=HANDLER, transfer_ref=f"TRF-{n[-8:]}"))
        assert (await h.finished(n)).stage == Stage.CLOSED
    with h.sessions() as s:
        total = sum(p.amount for n in (a, b) for p in payments_of(s, n))
    assert total == Decimal("5000.00")


# --------------------------------------------------------------------------- investigation finding


async def test_an_event_not_as_reported_blocks_payment_until_a_supervisor_overrides_it(
    family: Household,
) -> None:
    n = await family.report(SON, date(2025, 8, 9), "medical")
    await family.to_adjudication(n, investigate=True)
    state = await family.step(
        n,
        RecordInvestigationInput(
            actor=INVESTIGATOR, findings="injured in a fight, not a fall", covered_event=False
        ),
    )
    assert state.investigation_finding is not None and not state.investigation_finding.covered_event
    facts = LossFacts(outcome="medical", cause="fall", medical_expenses=Decimal("1600.00"))
    state = await family.step(n, AdjudicateInput(actor=HANDLER, facts=facts))
    assert state.stage == Stage.PAYOUT and state.decision.total == Decimal("1200.00")  # type: ignore[union-attr]
    assert "PAYMENT BLOCKED" in next(t for t in state.timeline if t.event == "adjudicated").detail
    with pytest.raises(StepRejected, match="found the event not as reported"):
        await family.step(n, PayInput(actor=HANDLER, transfer_ref="TRF-F1"))
    with pytest.raises(StepRejected, match="role 'handler' may not do this"):
        await family.step(n, OverrideFindingInput(actor=HANDLER, reason="no"))
    state = await family.step(
        n,
        OverrideFindingInput(actor=SUPERVISOR, reason="hospital records show a fall; the fight was later"),
    )
    assert state.investigation_finding.overridden_by == "supervisor.liuyang"  # type: ignore[union-attr]
    entry = next(t for t in state.timeline if t.event == "finding_overridden")
    assert entry.actor.id == "supervisor.liuyang" and "hospital records show a fall" in entry.detail
    state = await family.step(n, PayInput(actor=HANDLER, transfer_ref="TRF-F1"))
    assert state.stage == Stage.CLOSED and paid(state) == Decimal("1200.00")


async def test_declining_after_an_event_not_as_reported_gives_the_finding_as_the_reason(
    family: Household,
) -> None:
    n = await family.report(WIFE, date(2025, 8, 10), "medical")
    await family.to_adjudication(n, investigate=True)
    await family.step(
        n,
        RecordInvestigationInput(actor=INVESTIGATOR, findings="no hospital stay found", covered_event=False),
    )
    state = await family.step(n, DeclineInput(actor=HANDLER, reasons=["no proof of the injury"]))
    assert state.stage == Stage.DECLINED
    assert state.decline_reasons == [
        "investigation: the event did not happen as reported: no hospital stay found",
        "no proof of the injury",
    ]


async def test_override_is_refused_when_no_negative_finding_blocks_the_claim(family: Household) -> None:
    n = await family.report(WIFE, date(2025, 8, 11), "medical")
    await family.to_adjudication(n)
    with pytest.raises(StepRejected, match="no investigation finding"):
        await family.step(n, OverrideFindingInput(actor=SUPERVISOR, reason="x"))


# --------------------------------------------------------------------------- authority limit


@pytest_asyncio.fixture(loop_scope="session")
async def low_limit_county(env: WorkflowEnvironment, sqlite_sessions: Any) -> AsyncIterator[Household]:
    """The family's county (浏阳市) with a 10,000 yuan authority limit in the engine's SLA policy."""
    policy = NO_REOPEN_POLICY
    authority = policy.payout_authority.model_copy(update={"counties": {"浏阳市": Decimal("10000.00")}})
    async for h in _household(
        env, sqlite_sessions, sla_policy=policy.model_copy(update={"payout_authority": authority})
    ):
        yield h


async def test_the_authority_limit_comes_from_the_engines_policy_for_the_county(
    low_limit_county: Household,
) -> None:
    h = low_limit_county
    state = await h.drive(h.cases[0])  # 16,000 above the county's 10,000: the supervisor approved
    assert paid(state) == Decimal("16000.00")
    assert state.payout_authority_limit == Decimal("10000.00") and state.payout_approved
    assert state.authority_rule == "county 浏阳市, SLA policy hunan-province@2022.4"
    approval = next(t for t in state.timeline if t.event == "payout_approved")
    assert approval.actor.id == "supervisor.demo" and "10000.00" in approval.detail


async def test_a_16000_payout_needs_no_approval_under_the_province_default(family: Household) -> None:
    state = await family.drive(family.cases[0])
    assert state.payout_authority_limit == Decimal("50000.00") and not state.payout_approved
    assert state.authority_rule == "province default, SLA policy hunan-province@2022.4"
    assert not any(t.event == "payout_approved" for t in state.timeline)


def test_the_reporter_cannot_set_the_authority_limit() -> None:
    import inspect

    from claims.services.client import report_claim as rc
    from claims.infra.settings import Settings

    assert "payout_authority_limit" not in inspect.signature(rc).parameters
    assert "payout_authority_limit" not in Settings.model_fields
