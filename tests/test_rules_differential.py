"""durable_rules and the pure evaluator must give identical decisions (``engine`` aside)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from claims.models import (
    CoverageRequest,
    HouseholdFlags,
    InsuredSnapshot,
    LossFacts,
    Outcome,
    PolicySnapshot,
    PriorBenefit,
    Sex,
    TriageRequest,
)
from rules.engine import RulesEngine
from rules.pure import PureEvaluator
from tests.support.factories import CIRCUMSTANCES, coverage, policy, prior, triage_request
from rules.terms import Catalogue, LoadedTerms, load_catalogue

ENGINE = RulesEngine.shared()
PURE = PureEvaluator()
CATALOGUE = load_catalogue()

SETTINGS = settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def same_coverage(req: CoverageRequest) -> None:
    d, p = ENGINE.evaluate_coverage(req), PURE.evaluate_coverage(req)
    assert d.model_dump(exclude={"engine"}) == p.model_dump(exclude={"engine"}), req


def same_triage(req: TriageRequest) -> None:
    assert ENGINE.triage(req) == PURE.triage(req), req


# --------------------------------------------------------------------------- strategies

days = st.dates(min_value=date(2017, 1, 1), max_value=date(2029, 12, 31))
VALID = [
    (t.terms.product_code, t.terms_version, [f"{x:.2f}" for x in t.terms.sum_insured_options])
    for t in CATALOGUE
]
TEMPLATES = VALID * 4 + [
    ("family_accident", "family_accident@2020", ["50000.00"]),  # not a sum insured option
    ("family_accident", "family_accident@2031", ["40000.00"]),  # unknown version
    ("elderly_accident", "family_accident@2020", ["40000.00"]),  # product mismatch
    ("men_health", "men_health@2020", ["10000.00"]),  # often issued outside 2020
]
KINDS = ["accidental_disability", "accident_medical", "hospital_cash", "critical_illness", "accidental_death"]
CODES = [
    "C50",
    "C50.9",
    "c56",
    "C54.1",
    "C53",
    "C57",
    "C52",
    "C22.0",
    "C61",
    "C62",
    "C60",
    "C34",
    "I21",
    "Z99",
    "Q12.3",
    "X1",
    "12",
    "",
    " ",
]


@st.composite
def policies(draw: st.DrawFn, accident: date, number: str) -> PolicySnapshot:
    product, tv, options = draw(st.sampled_from(TEMPLATES))
    start = accident - timedelta(days=draw(st.integers(0, 360) | st.integers(-40, 420) | st.integers(25, 95)))
    length = draw(st.sampled_from([364, 365, 180]))
    if draw(st.integers(0, 9)):
        in_force = CATALOGUE.in_force(product, start - timedelta(days=5))
        tv = in_force.terms_version if in_force is not None and tv in CATALOGUE else tv
    return PolicySnapshot(
        policy_number=number,
        product_code=product,
        terms_version=tv,
        sum_insured=Decimal(draw(st.sampled_from(options))),
        start_date=start,
        end_date=start + timedelta(days=length),
        issued_on=max(start - timedelta(days=draw(st.integers(0, 60))), date(2019, 1, 1))
        if draw(st.integers(0, 9))
        else start - timedelta(days=400),
    )


@st.composite
def prior_benefits(draw: st.DrawFn, accident: date, numbers: list[str]) -> list[PriorBenefit]:
    out = []
    for _ in range(draw(st.integers(0, 3))):
        acc = accident if draw(st.booleans()) else accident - timedelta(days=draw(st.integers(1, 300)))
        out.append(
            PriorBenefit(
                policy_number=draw(st.sampled_from(numbers + ["OTHER"])),
                kind=draw(st.sampled_from(KINDS)),
                amount=Decimal(draw(st.integers(0, 60_000_00) | st.integers(0, 20_000))) / 100,
                accident_date=acc,
                paid_on=acc + timedelta(days=draw(st.integers(0, 400))),
                # the insured person ("R"), another member of the household, or a row recorded
                # before benefits were kept per person (None: counts as the same person)
                person_ref=draw(st.sampled_from(["R", "R", "Q", None])),
                claim_number=draw(st.sampled_from(["JS20210101-R", None])),
                reserved=draw(st.booleans()),
            )
        )
    return out


@st.composite
def coverage_requests(draw: st.DrawFn) -> CoverageRequest:
    accident = draw(st.dates(min_value=date(2019, 3, 1), max_value=date(2026, 12, 31)))
    n = draw(st.integers(1, 3))
    pols = [draw(policies(accident, f"P{i}")) for i in range(n)]
    outcome = draw(st.sampled_from(list(Outcome)))
    grades = draw(
        st.lists(st.integers(1, 10), min_size=1, max_size=4) | st.lists(st.integers(-1, 12), max_size=4)
    )
    return CoverageRequest(
        claim_number="C-h",
        accident_date=accident,
        reported_on=accident
        + timedelta(
            days=draw(st.integers(0, 60) | st.sampled_from([-1, 729, 730, 731]) | st.integers(0, 900))
        ),
        insured=InsuredSnapshot(
            person_ref="R",
            sex=draw(st.sampled_from(list(Sex))),
            birth_date=accident
            - timedelta(
                days=draw(
                    st.integers(365 * 60, 365 * 64 + 20)
                    | st.integers(-10, 365 * 90)
                    | st.integers(365 * 17, 365 * 59)
                )
            ),
        ),
        facts=LossFacts(
            outcome=outcome,
            cause="x",
            disability_grades=grades,
            circumstances=draw(
                st.just([]) | st.lists(st.sampled_from(CIRCUMSTANCES + ["Unknown-Code"]), max_size=3)
            ),
            medical_expenses=Decimal(draw(st.integers(0, 10_000_00) | st.integers(9_900, 10_100))) / 100,
            basic_insurance_paid=draw(st.booleans()),
            diagnosis_code=draw(st.none() | st.sampled_from(CODES)),
            diagnosis_date=draw(st.none() | st.dates(accident - timedelta(days=120), accident)),
            hospital_days=draw(st.integers(0, 5) | st.integers(0, 400)),
            death_date=draw(st.none() | st.dates(accident, accident + timedelta(days=400)))
            if outcome is Outcome.DEATH
            else None,
        ),
        policies=pols,
        prior_benefits=draw(prior_benefits(accident, [p.policy_number for p in pols])),
    )


@st.composite
def triage_requests(draw: st.DrawFn) -> TriageRequest:
    accident = draw(days)
    pols = [draw(policies(accident, f"P{i}")) for i in range(draw(st.integers(0, 4)))]
    return TriageRequest(
        claim_number="C-t",
        accident_date=accident,
        reported_on=accident + timedelta(days=draw(st.integers(0, 90))),
        household=HouseholdFlags(
            registered_poor=draw(st.booleans()),
            special_family=draw(st.booleans()),
            hardship=draw(st.booleans()),
        ),
        reported_outcome=draw(st.sampled_from(list(Outcome))),
        reported_disability_grade=draw(st.none() | st.integers(-2, 12)),
        nominated_green_channel=draw(st.booleans()),
        third_party_record=draw(st.booleans()),
        policies=pols,
        disputed=draw(st.booleans()),
    )


@SETTINGS
@given(coverage_requests())
def test_generated_coverage_requests_get_identical_decisions(req: CoverageRequest) -> None:
    same_coverage(req)


@SETTINGS
@given(triage_requests())
def test_generated_triage_requests_get_identical_results(req: TriageRequest) -> None:
    same_triage(req)


# --------------------------------------------------------------------------- every clause


def paying_facts(b: object) -> dict:
    """Facts that make benefit ``b`` pay (when nothing else stands in the way)."""
    kind = b.kind  # type: ignore[attr-defined]
    if kind == "accidental_death":
        return {"outcome": Outcome.DEATH}
    if kind == "accidental_disability":
        return {"outcome": Outcome.DISABILITY, "grades": [5]}
    if kind == "accident_medical":
        return {"outcome": Outcome.MEDICAL, "medical": "1000.00"}
    if kind == "hospital_cash":
        return {"outcome": Outcome.MEDICAL, "hospital_days": 5}
    assert kind == "critical_illness"
    return {"outcome": Outcome.ILLNESS, "diagnosis": b.diagnoses[0].code}  # type: ignore[attr-defined]


def clause_cases() -> list[tuple[str, CoverageRequest, str | None]]:
    """(name, request, expected clause id or benefit rule id) for every clause of every file.

    Each product's policies start 30 days after its version takes effect; the event is 150
    days after the start (past every waiting period) and reported 10 days later.
    """
    cases: list[tuple[str, CoverageRequest, str | None]] = []
    for loaded in CATALOGUE:
        t = loaded.terms
        tv = t.terms_version
        e = t.eligibility
        start = t.effective_from + timedelta(days=30)
        acc = start + timedelta(days=150)
        sex = e.sex or Sex.MALE
        mid_age = (e.min_age + e.max_age) // 2
        birth_ok = date(acc.year - mid_age - 1, 12, 31)
        answered = {o for b in t.benefits for o in b.answers}
        for option in t.sum_insured_options:
            s_opt = f"{option:.2f}"
            p = policy(t.product_code, s_opt, start=start, terms_version=tv)
            pay = paying_facts(t.benefits[0])
            ok = {"accident": acc, "birth": birth_ok, "sex": sex, **pay}

            def req(pol: PolicySnapshot = p, ok: dict = ok, **kw: object) -> CoverageRequest:
                return coverage(pol, **{**ok, **kw})  # type: ignore[arg-type]

            # the day the insurable age is judged on: the issue date or the accident (age_basis)
            aday = p.issued_on if e.age_basis == "at_issue" else acc

            for x in t.exclusions:
                cases.append((f"{tv}:{x.id}", req(circumstances=[x.circumstance]), x.id))
            cases += [
                (
                    f"{tv}:before_start",
                    req(
                        policy(
                            t.product_code,
                            s_opt,
                            start=acc + timedelta(days=1),
                            terms_version=tv,
                            issued_on=start,
                        )
                    ),
                    "policy.period",
                ),
                (
                    f"{tv}:after_end",
                    req(accident=start + timedelta(days=400), reported=start + timedelta(days=410)),
                    "policy.period",
                ),
                (
                    f"{tv}:max_age",
                    req(birth=date(aday.year - e.max_age - 1, aday.month, aday.day) + timedelta(days=1)),
                    None,
                ),
                (
                    f"{tv}:max_age+1",
                    req(birth=date(aday.year - e.max_age - 1, aday.month, aday.day)),
                    "eligibility.age",
                ),
                (
                    f"{tv}:limitation",
                    req(reported=acc.replace(year=acc.year + 2) + timedelta(days=1)),
                    "limitation.time_barred",
                ),
            ]
            if e.min_age > 0:
                cases.append(
                    (
                        f"{tv}:min_age-1",
                        req(birth=date(aday.year - e.min_age, aday.month, aday.day) + timedelta(days=1)),
                        "eligibility.age",
                    )
                )
            if e.sex is not None:
                other = Sex.MALE if e.sex is Sex.FEMALE else Sex.FEMALE
                cases.append((f"{tv}:sex", req(sex=other), "eligibility.sex"))
            for o in Outcome:
                if o not in answered:
                    cases.append(
                        (f"{tv}:{o.value}", req(outcome=o, grades=[5], diagnosis=None), "benefit.not_covered")
                    )
            for b in t.benefits:
                k = {**ok, **paying_facts(b)}

                def r(pol: PolicySnapshot = p, k: dict = k, **kw: object) -> CoverageRequest:
                    return coverage(pol, **{**k, **kw})  # type: ignore[arg-type]

                if b.kind == "accidental_death":
                    cases += [
                        (f"{tv}:{b.id}", r(), f"{b.id}.pays"),
                        (f"{tv}:{b.id}:day180", r(died=acc + timedelta(days=180)), f"{b.id}.pays"),
                        (f"{tv}:{b.id}:day181", r(died=acc + timedelta(days=181)), "handler"),
                        (
                            f"{tv}:{b.id}:less",
                            r(prior=[prior("accidental_disability", "1000.00", "P1", acc)]),
                            f"{b.id}.less_disability",
                        ),
                        (
                            f"{tv}:{b.id}:other_accident",
                            r(
                                prior=[
                                    prior("accidental_disability", "1000.00", "P1", acc - timedelta(days=3))
                                ]
                            ),
                            f"{b.id}.pays",
                        ),
                        (
                            f"{tv}:{b.id}:in_full",
                            r(prior=[prior("accidental_disability", s_opt, "P1", acc)]),
                            f"{b.id}.disability_paid_in_full",
                        ),
                    ]
                if b.kind == "accidental_disability":
                    for g in range(1, 11):
                        cases.append(
                            (f"{tv}:{b.id}:{g}", r(grades=[g, 10][: 1 + (g < 10)]), f"{b.id}.grade_{g}")
                        )
                        if g > 1:
                            cases.append((f"{tv}:{b.id}:{g}x2", r(grades=[g, g]), f"{b.id}.grade_{g}.raised"))
                    for bad in ([], [0], [11], [3, 12]):
                        cases.append((f"{tv}:{b.id}:{bad}", r(grades=bad), "handler"))
                if b.kind == "accident_medical":
                    ded = f"{b.deductible:.2f}"
                    lim = f"{b.annual_limit:.2f}"
                    cases += [
                        (f"{tv}:{b.id}:basic", r(basic_paid=True), f"{b.id}.basic_paid"),
                        (f"{tv}:{b.id}:no_basic", r(basic_paid=False), f"{b.id}.basic_unpaid"),
                        (f"{tv}:{b.id}:at_deductible", r(medical=ded), f"{b.id}.below_deductible"),
                        (f"{tv}:{b.id}:zero", r(medical="0"), f"{b.id}.below_deductible"),
                        (
                            f"{tv}:{b.id}:capped",
                            r(medical="99999.00", prior=[prior("accident_medical", "10.00", "P1", acc)]),
                            f"{b.id}.basic_unpaid",
                        ),
                        (
                            f"{tv}:{b.id}:used_up",
                            r(prior=[prior("accident_medical", lim, "P1", acc - timedelta(days=9))]),
                            f"{b.id}.limit_reached",
                        ),
                    ]
                if b.kind == "hospital_cash":
                    cap = f"{b.year_cap:.2f}"
                    cases += [
                        (f"{tv}:{b.id}:pays", r(), f"{b.id}.pays"),
                        (f"{tv}:{b.id}:long", r(hospital_days=b.max_days_per_stay + 1), f"{b.id}.pays"),
                        (f"{tv}:{b.id}:illness", r(outcome=Outcome.ILLNESS, diagnosis="I21"), None),
                        (f"{tv}:{b.id}:no_stay", r(hospital_days=0), f"{b.id}.no_stay"),
                        (
                            f"{tv}:{b.id}:used_up",
                            r(prior=[prior("hospital_cash", cap, "P1", acc)]),
                            f"{b.id}.year_limit_reached",
                        ),
                    ]
                    if b.waiting_days:
                        w = start + timedelta(days=b.waiting_days)
                        cases += [
                            (
                                f"{tv}:{b.id}:last_waiting_day",
                                r(accident=w - timedelta(days=1)),
                                f"{b.id}.waiting_period",
                            ),
                            (f"{tv}:{b.id}:first_day_after", r(accident=w), f"{b.id}.pays"),
                        ]
                if b.kind == "critical_illness":
                    for d in b.diagnoses:
                        cases.append(
                            (f"{tv}:{b.id}:{d.code}", r(diagnosis=f"{d.code}.9"), f"{b.id}.{d.code.lower()}")
                        )
                    w = start + timedelta(days=b.waiting_days)
                    unlisted = next(
                        c for c in ("C22", "C34", "C50") if c not in {d.code for d in b.diagnoses}
                    )
                    cases += [
                        (
                            f"{tv}:{b.id}:waiting",
                            r(diagnosed=w - timedelta(days=1)),
                            f"{b.id}.waiting_period",
                        ),
                        (
                            f"{tv}:{b.id}:after_waiting",
                            r(diagnosed=w),
                            f"{b.id}.{b.diagnoses[0].code.lower()}",
                        ),
                        (f"{tv}:{b.id}:unlisted", r(diagnosis=unlisted), f"{b.id}.not_listed"),
                        (
                            f"{tv}:{b.id}:paid_before",
                            r(prior=[prior("critical_illness", s_opt, "P1", acc - timedelta(days=5))]),
                            f"{b.id}.cover_ended",
                        ),
                        (f"{tv}:{b.id}:unknown", r(diagnosis="Q99"), "handler"),
                        (f"{tv}:{b.id}:malformed", r(diagnosis="breast"), "handler"),
                        (f"{tv}:{b.id}:none", r(diagnosis=None), "handler"),
                    ]
    return cases


CASES = clause_cases()


@pytest.mark.parametrize("name,req,expected", CASES, ids=[c[0] for c in CASES])
def test_every_clause_case_gives_the_expected_outcome_on_both_engines(name, req, expected):
    d, p = ENGINE.evaluate_coverage(req), PURE.evaluate_coverage(req)
    assert d.model_dump(exclude={"engine"}) == p.model_dump(exclude={"engine"})
    fired = [r.clause_id for r in d.refusals] + [rid for line in d.lines for rid in line.rule_ids]
    if expected is None:
        assert d.refusals == [] and d.total > 0
    elif expected == "handler":
        assert d.needs_handler and not d.lines and not d.refusals
    else:
        assert fired == [expected]
        if not d.refusals:
            assert d.total > 0


def test_every_triage_rule_fires_alone_on_both_engines() -> None:
    cases = {
        "green.registered_poor": triage_request(registered_poor=True),
        "green.special_family": triage_request(special_family=True),
        "green.hardship": triage_request(hardship=True),
        "green.death": triage_request(outcome=Outcome.DEATH),
        "green.grade1_disability": triage_request(outcome=Outcome.DISABILITY, grade=1),
        "green.nominated": triage_request(nominated=True),
        "class.investigation.late_report": triage_request(days_late=45),
        "class.investigation.no_third_party_record": triage_request(third_party_record=False),
    }
    for rule_id, req in cases.items():
        r = ENGINE.triage(req)
        assert r == PURE.triage(req)
        assert rule_id in r.rule_ids
        assert len(r.rule_ids) == 2 if rule_id.startswith("green.") else r.rule_ids == [rule_id]


def _household_scoped() -> Catalogue:
    """The shipped catalogue with every benefit's limit shared by the household."""
    entries = {}
    for loaded in CATALOGUE:
        t = loaded.terms
        benefits = [b.model_copy(update={"limit_scope": "household"}) for b in t.benefits]
        entries[t.terms_version] = LoadedTerms(
            terms=t.model_copy(update={"benefits": benefits}), path=loaded.path, sha256=loaded.sha256
        )
    return Catalogue(entries)


HOUSEHOLD = _household_scoped()
HOUSEHOLD_ENGINE = RulesEngine(HOUSEHOLD)
HOUSEHOLD_PURE = PureEvaluator(HOUSEHOLD)


@SETTINGS
@given(coverage_requests())
def test_household_shared_limits_get_identical_decisions_on_both_engines(req: CoverageRequest) -> None:
    d, p = HOUSEHOLD_ENGINE.evaluate_coverage(req), HOUSEHOLD_PURE.evaluate_coverage(req)
    assert d.model_dump(exclude={"engine"}) == p.model_dump(exclude={"engine"})
