"""Reservations in the ledger: limits that hold when claims race (issue 11), on SQLite and
PostgreSQL; register age warnings."""

from __future__ import annotations

import json
import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from claims.models import BenefitLine, PayoutRequest, ReserveBenefitsRequest
from claims.store.db import unit_of_work
from claims.store import (
    RegisterFile,
    age_warnings,
    find_prior_benefits,
    intake_report,
    load_register,
    record_payout,
    reservations_of,
    reserve_benefits,
)
from tests.conftest import REPO
from tests.test_store import report

NOW = datetime(2025, 7, 3, 2, 0, tzinfo=UTC)
POLICY = "FA2025LY0101"
HUSBAND = "430181198003120519"


def household() -> RegisterFile:
    return RegisterFile.model_validate(
        json.loads((REPO / "data/demo/household_register.json").read_text("utf-8"))
    )


def medical_line(amount: str) -> BenefitLine:
    return BenefitLine(
        policy_number=POLICY,
        product_code="family_accident",
        terms_version="family_accident@2020",
        terms_hash="h",
        benefit_id="benefit.accident_medical",
        kind="accident_medical",
        amount=Decimal(amount),
        formula="f",
        rule_ids=["benefit.accident_medical.basic_unpaid"],
    )


def two_medical_claims(s: Any) -> tuple[str, str]:
    load_register(s, household())
    numbers = []
    for day in (date(2025, 7, 1), date(2025, 7, 2)):
        r = report(
            policy_numbers=[POLICY],
            id_number=HUSBAND,
            accident_date=day,
            reported_on=day,
            outcome="medical",
            cause="road_accident",
            disability_grade=None,
        )
        numbers.append(intake_report(s, r, NOW, date(2025, 7, 3)).claim.claim_number)
    return numbers[0], numbers[1]


def reserve(s: Any, claim: str, amount: str, versions: dict[str, int]) -> Any:
    return reserve_benefits(
        s,
        ReserveBenefitsRequest(
            claim_number=claim,
            person_ref="H0101",
            accident_date=date(2025, 7, 1),
            lines=[medical_line(amount)],
            ledger_versions=versions,
            reserved_at=NOW,
        ),
    )


def test_a_reservation_on_a_ledger_read_before_anothers_reservation_is_refused(store_sessions: Any) -> None:
    # one unit of work per step, as the activities run them
    with unit_of_work(store_sessions) as s:
        a, b = two_medical_claims(s)
    with unit_of_work(store_sessions) as s:
        seen_a = find_prior_benefits(s, a, [POLICY])
        seen_b = find_prior_benefits(s, b, [POLICY])
    assert seen_a.benefits == [] and seen_a.ledger_versions == {POLICY: 0}
    with unit_of_work(store_sessions) as s:
        assert reserve(s, a, "4720.00", seen_a.ledger_versions).reserved
    with unit_of_work(store_sessions) as s:  # the refusal is committed: it changed nothing
        late = reserve(s, b, "4720.00", seen_b.ledger_versions)
    assert not late.reserved and late.conflicts == [POLICY]
    with unit_of_work(store_sessions) as s:
        # read again: a's reservation now counts, under its claim number, for the same person
        again = find_prior_benefits(s, b, [POLICY])
        (held,) = again.benefits
        assert (held.claim_number, held.amount, held.reserved, held.person_ref) == (
            a,
            Decimal("4720.00"),
            True,
            "H0101",
        )
        assert again.ledger_versions == {POLICY: 1}
    with unit_of_work(store_sessions) as s:
        assert reserve(s, b, "280.00", again.ledger_versions).reserved
    with unit_of_work(store_sessions) as s:
        # a retried activity whose first attempt committed: answered without writing
        assert reserve(s, b, "280.00", again.ledger_versions).reserved
        assert [(r.amount, r.status) for r in reservations_of(s, b)] == [(Decimal("280.00"), "held")]
        assert find_prior_benefits(s, "none", [POLICY]).ledger_versions == {POLICY: 2}


def test_reservations_from_threads_racing_on_one_ledger_admit_exactly_one(store_sessions: Any) -> None:
    with unit_of_work(store_sessions) as s:
        a, b = two_medical_claims(s)
        versions = find_prior_benefits(s, a, [POLICY]).ledger_versions
    results: dict[str, bool] = {}
    start = threading.Barrier(2)

    def run(claim: str) -> None:
        with unit_of_work(store_sessions) as s:
            start.wait()
            results[claim] = reserve(s, claim, "4720.00", versions).reserved

    threads = [threading.Thread(target=run, args=(c,)) for c in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(results.values()) == [False, True]
    with store_sessions() as s:
        held = [r for c in (a, b) for r in reservations_of(s, c)]
        assert [(r.amount, r.status) for r in held] == [(Decimal("4720.00"), "held")]
        assert find_prior_benefits(s, "none", [POLICY]).ledger_versions == {POLICY: 1}


def test_paying_turns_the_reservation_into_a_ledger_row_counted_once(store_sessions: Any) -> None:
    with unit_of_work(store_sessions) as s:
        a, b = two_medical_claims(s)
        assert reserve(s, a, "4720.00", find_prior_benefits(s, a, [POLICY]).ledger_versions).reserved
        record_payout(
            s,
            PayoutRequest(
                claim_number=a,
                transfer_ref="T",
                lines=[medical_line("4720.00")],
                paid_at=NOW + timedelta(days=1),
            ),
        )
        (prior,) = find_prior_benefits(s, b, [POLICY]).benefits
        assert (prior.claim_number, prior.amount, prior.reserved) == (a, Decimal("4720.00"), False)
        assert [r.status for r in reservations_of(s, a)] == ["paid"]


def test_the_register_loader_warns_of_an_insured_person_outside_the_ages_at_issue() -> None:
    data = json.loads((REPO / "data/demo/household_register.json").read_text("utf-8"))
    data["households"][0]["policies"][0]["issued_on"] = "2024-12-18"
    # a grandfather born 1959-03-12: 65 when the family accident policy was issued (ages 0-64)
    data["households"][0]["members"].append(
        {"person_ref": "H0104", "name": "祖父丁", "id_number": "430181195903120510"}
    )
    data["households"][0]["policies"][0]["insured"].append("H0104")
    warnings = age_warnings(RegisterFile.model_validate(data))
    assert warnings == [
        "policy FA2025LY0101: insured H0104 was 65 when the policy was issued on 2024-12-18, outside the "
        "insurable ages 0-64 of family_accident@2020 (age at issue): claims under it will be refused"
    ]
    assert "430181195903120510" not in warnings[0]
    assert age_warnings(household()) == []
