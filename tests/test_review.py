"""Review sampling and fraud referral before payment (issue 17): the rules in ``rules/review.json``
judged by durable_rules and the pure twin alike, a reproducible sample seeded by the claim number,
and the hold on the time-skipping server: a sampled claim cleared by a supervisor, then paid; a
value-threshold hit referred to investigation (移送调查), then adjudicated again and paid."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from temporalio.testing import WorkflowEnvironment

from claims.errors import StepRejected
from claims.models import (
    Actor,
    AdjudicateInput,
    ClearReviewInput,
    Outcome,
    PayInput,
    PolicySnapshot,
    RecordInvestigationInput,
    ReferToSiuInput,
    RegisterInput,
    RejectionCode,
    ReviewQueue,
    ReviewRequest,
    ReviewStatus,
    Role,
    Stage,
)
from claims.services.client import claim_state, perform_step
from claims.store.db import Notification, Payout, Sessions
from claims.store.ids import claim_number_for
from claims.store.review import household_claims_in_year
from rules.engine import RulesEngine
from rules.review import ReviewEngine, ReviewRules, load_review, review_pure, sample_bucket
from tests.support.harness import CALENDAR, Harness, complete_documents
from worker import build_worker

RULES = load_review()
ENGINE = ReviewEngine(RULES)
HANDLER = Actor(id="handler.yuhua", role=Role.HANDLER)
SUPERVISOR = Actor(id="sup.yuhua", role=Role.SUPERVISOR, county="长沙市雨花区")
INVESTIGATOR = Actor(id="inv.yuhua", role=Role.INVESTIGATOR)
ROAD = 2  # the demo's road accident: 长沙市雨花区, grade-1 disability, 45,000 yuan


def with_config(**config: object) -> ReviewRules:
    """The shipped rules with other thresholds (a version of their own)."""
    raw = RULES.model_dump(mode="json")
    raw["version"] = "test." + "-".join(f"{k}{v}" for k, v in sorted(config.items())).replace(".", "_")
    raw["config"].update({k: str(v) if isinstance(v, Decimal) else v for k, v in config.items()})
    return ReviewRules.model_validate(raw)


# --------------------------------------------------------------------------- the rules, both engines


def policy(start: date, sum_insured: str = "40000") -> PolicySnapshot:
    return PolicySnapshot(
        policy_number="FA2026T0001",
        product_code="family_accident",
        terms_version="family_accident@2020",
        sum_insured=Decimal(sum_insured),
        start_date=start,
        end_date=start + timedelta(days=364),
        issued_on=start,
    )


@st.composite
def review_requests(draw: st.DrawFn) -> tuple[ReviewRequest, int]:
    start = draw(st.dates(min_value=date(2015, 1, 1), max_value=date(2030, 1, 1)))
    sum_insured = draw(st.sampled_from(["10000", "40000", "100000", "200000"]))
    total_fen = draw(st.integers(min_value=1, max_value=int(Decimal(sum_insured)) * 100))
    req = ReviewRequest(
        claim_number=draw(st.text(alphabet="JS0123456789-PABC", min_size=4, max_size=30)),
        person_ref="p",
        accident_date=start + timedelta(days=draw(st.integers(min_value=0, max_value=364))),
        outcome=draw(st.sampled_from(list(Outcome))),
        total=Decimal(total_fen) / 100,
        policies=[policy(start, sum_insured)],
    )
    return req, draw(st.integers(min_value=0, max_value=5))


@settings(max_examples=300, deadline=None)
@given(review_requests())
def test_generated_claims_get_the_same_review_from_durable_rules_and_the_pure_twin(
    drawn: tuple[ReviewRequest, int],
) -> None:
    req, household = drawn
    engine = ENGINE.review(req, household)
    pure = review_pure(RULES, req, household)
    assert engine.engine == "durable_rules" and pure.engine == "pure"
    assert engine.model_copy(update={"engine": "pure"}) == pure


def test_every_review_rule_fires_alone_on_both_engines() -> None:
    start = date(2026, 1, 1)
    quiet = {
        "claim_number": "",
        "person_ref": "p",
        "accident_date": date(2026, 6, 1),
        "outcome": Outcome.MEDICAL,
        "total": Decimal("1000.00"),
        "policies": [policy(start)],
    }
    # a claim number outside the 5 % sample
    quiet["claim_number"] = next(f"JS-Q{i}" for i in range(1000) if sample_bucket(f"JS-Q{i}") >= 500)
    sampled = next(f"JS-S{i}" for i in range(1000) if sample_bucket(f"JS-S{i}") < 500)
    cases: dict[str, tuple[dict[str, object], int]] = {
        "": (quiet, 0),
        "review.sample": ({**quiet, "claim_number": sampled}, 0),
        "review.amount": (
            {**quiet, "total": Decimal("100000.00"), "policies": [policy(start, "200000")]},
            0,
        ),
        "review.at_limit": ({**quiet, "total": Decimal("40000.00"), "outcome": Outcome.DISABILITY}, 0),
        "siu.early_claim": ({**quiet, "accident_date": start + timedelta(days=29)}, 0),
        "siu.household_repeat": (quiet, 2),
    }
    for rule_id, (fields, household) in cases.items():
        req = ReviewRequest.model_validate(fields)
        got = ENGINE.review(req, household)
        assert got.model_copy(update={"engine": "pure"}) == review_pure(RULES, req, household), rule_id
        assert got.rule_ids == ([rule_id] if rule_id else []), rule_id
        assert got.queue == (None if not rule_id else ReviewQueue(rule_id.split(".")[0])), rule_id
        assert got.rules_version == "2026.1"
    # the boundaries: 30 days after the start is no longer early; a death at the limit is no hit
    late = ReviewRequest.model_validate({**quiet, "accident_date": start + timedelta(days=30)})
    assert ENGINE.review(late, 1).rule_ids == []
    death = ReviewRequest.model_validate({**quiet, "total": Decimal("40000.00"), "outcome": Outcome.DEATH})
    assert ENGINE.review(death, 0).rule_ids == []


def test_the_sample_is_reproducible_from_the_claim_number_alone() -> None:
    number = "JS20220310-P0006"
    expected = int(hashlib.sha256(number.encode("utf-8")).hexdigest()[:8], 16) % 10000
    assert sample_bucket(number) == expected
    req = ReviewRequest(
        claim_number=number,
        person_ref="p",
        accident_date=date(2022, 3, 10),
        outcome=Outcome.MEDICAL,
        total=Decimal("100.00"),
        policies=[policy(date(2021, 1, 1))],
    )
    first, again = ENGINE.review(req, 0), ReviewEngine(load_review()).review(req, 0)
    assert first == again and first.sample_bucket == expected
    assert ("review.sample" in first.rule_ids) == (expected < 500)
    # about 5 % of 10,000 made-up claim numbers are sampled
    share = sum(sample_bucket(f"JS20260101-P{i:05d}") < 500 for i in range(10_000)) / 10_000
    assert 0.04 < share < 0.06


def test_the_shipped_file_is_valid_and_a_bad_one_names_the_field(tmp_path: object) -> None:
    from pathlib import Path

    from rules.errors import TermsError

    bad = Path(str(tmp_path)) / "review.json"
    raw = RULES.model_dump(mode="json")
    raw["rules"][0]["all"][0]["field"] = "sample_bukket"
    import json

    bad.write_text(json.dumps(raw), "utf-8")
    with pytest.raises(TermsError, match="sample_bukket"):
        load_review(bad)


# --------------------------------------------------------------------------- on the workflow


@asynccontextmanager
async def review_harness(
    env: WorkflowEnvironment, sessions: Sessions, rules: Callable[[str], ReviewRules]
) -> AsyncIterator[tuple[Harness, str]]:
    """A harness whose worker judges claims by ``rules(claim number of the road accident)``."""
    h = Harness(env.client, sessions)
    case = h.cases[ROAD]
    person = next(
        m.person_ref
        for hh in h.register.households
        for m in hh.members
        if m.id_number == case.report.id_number
    )
    number = claim_number_for(case.report.accident_date, person)
    async with build_worker(
        env.client,
        sessions,
        task_queue=h.task_queue,
        rules_engine=RulesEngine.shared(),
        calendar=CALENDAR,
        review_engine=ReviewEngine(rules(number)),
    ):
        yield h, number


async def to_payout(h: Harness) -> str:
    """Report the road accident and take it through registration, documents and adjudication."""
    case = h.cases[ROAD]
    number = await h.report(case)
    await perform_step(h.client, number, RegisterInput(actor=HANDLER))
    await complete_documents(h.client, number, HANDLER)
    state = await perform_step(h.client, number, AdjudicateInput(actor=HANDLER, facts=case.facts))
    assert state.stage == Stage.PAYOUT and state.decision is not None
    assert state.decision.total == Decimal("45000.00")
    return number


async def test_a_sampled_claim_is_held_cleared_by_a_supervisor_then_paid(
    env: WorkflowEnvironment, sqlite_sessions: Sessions
) -> None:
    def sample_exactly(number: str) -> ReviewRules:
        # the share reaches just this claim's bucket; the limit rule is out of the way (101 %)
        return with_config(sample_share_bp=sample_bucket(number) + 1, at_limit_percent=101)

    async with review_harness(env, sqlite_sessions, sample_exactly) as (h, expected):
        number = await to_payout(h)
        assert number == expected
        state = await claim_state(h.client, number)
        assert state.review is not None
        assert state.review.queue == ReviewQueue.REVIEW and state.review.status == ReviewStatus.OPEN
        assert state.review.rule_ids == ["review.sample"]
        assert state.review.sample_bucket == int(hashlib.sha256(number.encode()).hexdigest()[:8], 16) % 10000
        held = next(t for t in state.timeline if t.event == "review_hold")
        assert held.rule_ids == ["review.sample"] and "随机抽检" in held.detail

        with pytest.raises(StepRejected) as refused:
            await perform_step(h.client, number, PayInput(actor=HANDLER, transfer_ref="TRF-R-1"))
        assert refused.value.code == RejectionCode.REVIEW_PENDING
        assert "clear-review" in str(refused.value)
        with pytest.raises(StepRejected) as not_yours:
            await perform_step(h.client, number, ClearReviewInput(actor=HANDLER))
        assert not_yours.value.code == RejectionCode.ROLE_NOT_ALLOWED

        state = await perform_step(h.client, number, ClearReviewInput(actor=SUPERVISOR, note="核对无误"))
        assert state.review is not None and state.review.status == ReviewStatus.CLEARED
        assert state.review.decided_by == "sup.yuhua"
        with pytest.raises(StepRejected) as again:
            await perform_step(h.client, number, ReferToSiuInput(actor=SUPERVISOR, reason="late doubt"))
        assert again.value.code == RejectionCode.REVIEW_NONE_OPEN

        state = await perform_step(h.client, number, PayInput(actor=HANDLER, transfer_ref="TRF-R-1"))
        assert state.stage == Stage.CLOSED
        assert [t.event for t in state.timeline if t.event.startswith("review")] == [
            "review_hold",
            "review_cleared",
        ]
        with sqlite_sessions() as s:
            rows = s.scalars(select(Payout).where(Payout.claim_number == number)).all()
            assert [(r.amount, r.transfer_ref) for r in rows] == [(Decimal("45000.00"), "TRF-R-1")]
            notices = s.scalars(select(Notification).where(Notification.kind == "review_hold")).all()
            assert [n.recipient_role for n in notices] == ["supervisor"]


async def test_a_value_threshold_hit_is_referred_to_investigation_then_paid(
    env: WorkflowEnvironment, sqlite_sessions: Sessions
) -> None:
    def value_only(number: str) -> ReviewRules:
        return with_config(sample_share_bp=0, review_amount_yuan=Decimal("40000.00"), at_limit_percent=101)

    async with review_harness(env, sqlite_sessions, value_only) as (h, _):
        number = await to_payout(h)
        state = await claim_state(h.client, number)
        assert state.review is not None and state.review.rule_ids == ["review.amount"]
        assert state.review.total == Decimal("45000.00")
        assert "40000.00" in state.review.reasons[0]

        state = await perform_step(
            h.client, number, ReferToSiuInput(actor=SUPERVISOR, reason="金额较大，移送反欺诈调查")
        )
        assert state.stage == Stage.INVESTIGATION
        assert state.review is not None and state.review.status == ReviewStatus.REFERRED
        assert state.investigation_requested and state.case_class is not None
        assert state.case_class.value == "investigation"
        referred = next(t for t in state.timeline if t.event == "referred_to_siu")
        assert referred.rule_ids == ["review.amount"] and "移送反欺诈调查" in referred.detail

        state = await perform_step(
            h.client,
            number,
            RecordInvestigationInput(
                actor=INVESTIGATOR, findings="Accident confirmed by the traffic police."
            ),
        )
        assert state.stage == Stage.ADJUDICATION
        state = await perform_step(
            h.client, number, AdjudicateInput(actor=HANDLER, facts=h.cases[ROAD].facts)
        )
        # judged once per claim: adjudicated again after the investigation, no second hold
        assert state.stage == Stage.PAYOUT and state.review.status == ReviewStatus.REFERRED
        state = await perform_step(h.client, number, PayInput(actor=HANDLER, transfer_ref="TRF-R-2"))
        assert state.stage == Stage.CLOSED
        assert sum((p.amount for p in state.payments), Decimal(0)) == Decimal("45000.00")


async def test_without_review_rules_nothing_is_held(harness: Harness) -> None:
    number = await to_payout(harness)
    state = await claim_state(harness.client, number)
    assert state.review is None
    with pytest.raises(StepRejected) as refused:
        await perform_step(harness.client, number, ClearReviewInput(actor=SUPERVISOR))
    assert refused.value.code == RejectionCode.REVIEW_NONE_OPEN


def test_a_households_other_claims_in_the_year_are_counted(sqlite_sessions: Sessions) -> None:
    from datetime import UTC, datetime

    from claims.store import load_register
    from claims.store.db import Claim, InsuredPerson, unit_of_work
    from tests.support.harness import unique_cases

    register, _ = unique_cases()
    with unit_of_work(sqlite_sessions) as s:
        load_register(s, register)
    household = next(h for h in register.households if len(h.members) >= 2)
    a, b = household.members[0].person_ref, household.members[1].person_ref
    with unit_of_work(sqlite_sessions) as s:
        ids = {p.person_ref: p.id for p in s.scalars(select(InsuredPerson))}
        hh = s.scalars(select(InsuredPerson).where(InsuredPerson.person_ref == a)).one()

        def claim(number: str, person: str, accident: date) -> Claim:
            now = datetime(2026, 1, 1, tzinfo=UTC)
            return Claim(
                claim_number=number,
                workflow_id=f"claim-{number}",
                person_id=ids[person],
                accident_date=accident,
                reported_on=accident,
                policy_numbers="X",
                outcome="medical",
                stage="closed",
                county=household.county,
                township=household.township,
                village=household.village,
                reported_at=now,
                updated_at=now,
            )

        s.add_all(
            [
                claim("C-1", a, date(2025, 3, 1)),  # 366 days before: outside the year
                claim("C-2", b, date(2025, 3, 2)),  # exactly 365 days before: inside
                claim("C-3", a, date(2025, 12, 1)),
                claim("C-NOW", b, date(2026, 3, 2)),  # the claim itself
                claim("C-LATER", a, date(2026, 6, 1)),  # after the accident
            ]
        )
        assert hh.household_id
    with unit_of_work(sqlite_sessions) as s:
        assert household_claims_in_year(s, "C-NOW", b, date(2026, 3, 2)) == 2
        assert household_claims_in_year(s, "C-NOW", "nobody", date(2026, 3, 2)) == 0
