"""What both evaluators share: date arithmetic, the flat coverage fact, the policy-level
clauses, the checks made before any rule runs, and how a decision is assembled.

The durable_rules evaluator (:mod:`rules.engine`) and the pure one (:mod:`rules.pure`)
differ only in how they find which rules fire and what each benefit pays; everything
here is the common frame, so a differential test between them tests the rules.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from claims.models import (
    BenefitLine,
    CoverageDecision,
    CoverageRequest,
    Deduction,
    PolicySnapshot,
    Refusal,
)
from rules.benefits import BenefitBase
from rules.benefits.waiting import event_date
from rules.conditions import Cond
from rules.errors import UnknownTermsVersion
from rules.money import to_fen, to_yuan
from rules.terms import Catalogue, Exclusion, LoadedTerms, Terms

MAX_FACT_PROPERTIES = 200
"""durable_rules breaks at about 250 properties per message; stay well below."""


# --------------------------------------------------------------------------- dates & money


def age_on(birth: date, day: date) -> int:
    """Age in whole years on ``day`` (a 29 February birthday counts on 1 March)."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def eligibility_day(req: CoverageRequest, policy: PolicySnapshot, terms: Terms) -> date:
    """The day the insurable age is judged on: the policy's issue date (``age_basis``
    ``at_issue``, 投保年龄, the public terms of the accident and elderly plans) or the
    accident date (``at_accident``)."""
    return policy.issued_on if terms.eligibility.age_basis == "at_issue" else req.accident_date


def add_years(day: date, years: int) -> date:
    """The same calendar day ``years`` later; 29 February becomes 28 February.

    Civil Code art. 202: a period in years ends on the corresponding day of the last
    year, or on the last day of that month when there is no corresponding day.
    """
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


# --------------------------------------------------------------------------- flat fact


def coverage_fact(req: CoverageRequest, policy: PolicySnapshot, terms: Terms) -> dict[str, Any]:
    """Flatten one (request, policy) pair to the ints and strings the rules compare.

    Fields: ``outcome`` (str), ``sex`` (str), ``days_from_start`` and ``days_to_end``
    (calendar days from the policy start to the accident, and from the accident to the
    policy end), ``age`` (whole years on :func:`eligibility_day`, at issue or at the
    accident by the terms' ``age_basis``), ``days_past_limitation`` (calendar
    days the report came after accident + ``claim_limitation_years``; > 0 is time-barred),
    ``sum_fen`` (sum insured, fen), ``medical_fen``, ``grade_count``,
    ``grade_invalid_count`` (grades outside 1..10), ``grade_min`` (most severe valid grade,
    0 when none), ``grade_min_count`` (injuries of that grade), and ``c_<circumstance>``
    (0/1) for each circumstance the terms' exclusions name, ``event_days_from_start``
    (calendar days from the policy start to the diagnosis date, else the accident date;
    waiting periods), and the fields each benefit kind adds
    (:meth:`~rules.benefits.base.BenefitBase.fact_fields`).

    Raises:
        ValueError: Two benefits give one field different values (a kind bug).
    """
    grades = req.facts.disability_grades
    valid = [g for g in grades if 1 <= g <= 10]
    worst = min(valid) if valid else 0
    circs = set(req.facts.circumstances)
    barred_after = add_years(req.accident_date, terms.claim_limitation_years)
    fact: dict[str, Any] = {
        "outcome": req.facts.outcome.value,
        "sex": req.insured.sex.value,
        "days_from_start": (req.accident_date - policy.start_date).days,
        "days_to_end": (policy.end_date - req.accident_date).days,
        "age": age_on(req.insured.birth_date, eligibility_day(req, policy, terms)),
        "days_past_limitation": (req.reported_on - barred_after).days,
        "sum_fen": to_fen(policy.sum_insured),
        "medical_fen": to_fen(req.facts.medical_expenses),
        "grade_count": len(grades),
        "grade_invalid_count": len(grades) - len(valid),
        "grade_min": worst,
        "grade_min_count": valid.count(worst) if valid else 0,
        "event_days_from_start": (event_date(req) - policy.start_date).days,
    }
    for e in terms.exclusions:
        fact[f"c_{e.circumstance}"] = int(e.circumstance in circs)
    for b in terms.benefits:
        for k, v in b.fact_fields(req, policy).items():
            if fact.setdefault(k, v) != v:
                raise ValueError(f"{terms.terms_version}: benefits disagree on fact field {k!r}")
    check_flat(fact)
    return fact


def check_flat(fact: Mapping[str, Any]) -> None:
    """Refuse anything but ints and strings, and too many properties.

    Raises:
        TypeError: A value is a bool, float, Decimal, date or anything else.
        ValueError: More than :data:`MAX_FACT_PROPERTIES` properties.
    """
    if len(fact) > MAX_FACT_PROPERTIES:
        raise ValueError(f"fact has {len(fact)} properties, limit {MAX_FACT_PROPERTIES}")
    for k, v in fact.items():
        if type(v) not in (int, str):
            raise TypeError(f"fact field {k!r} is {type(v).__name__}; only int and str")


# --------------------------------------------------------------------------- policy clauses


@dataclass(frozen=True)
class PolicyRule:
    """A policy-level refusal rule: conditions on the flat fact, a clause and its reason."""

    rule_id: str
    clause_id: str
    when: tuple[Cond, ...]
    reason: Callable[[CoverageRequest, PolicySnapshot, Terms], str]


def _period(req: CoverageRequest, p: PolicySnapshot, t: Terms) -> str:
    return (
        f"出险日期{req.accident_date}不在保险期间{p.start_date}至{p.end_date}内 / "
        f"accident on {req.accident_date} outside the policy period {p.start_date}..{p.end_date}"
    )


def _age(req: CoverageRequest, p: PolicySnapshot, t: Terms) -> str:
    e = t.eligibility
    a = age_on(req.insured.birth_date, eligibility_day(req, p, t))
    if e.age_basis == "at_issue":
        return (
            f"投保时（{p.issued_on}）被保险人{a}周岁，不在投保年龄{e.min_age}至{e.max_age}周岁内 / "
            f"insured aged {a} when the policy was issued on {p.issued_on}, outside the insurable "
            f"ages {e.min_age}-{e.max_age}"
        )
    return (
        f"出险时被保险人{a}周岁，不在承保年龄{e.min_age}至{e.max_age}周岁内 / "
        f"insured aged {a} at the accident, outside the insurable ages {e.min_age}-{e.max_age}"
    )


def _sex(req: CoverageRequest, p: PolicySnapshot, t: Terms) -> str:
    return f"被保险人性别不符合承保条件 / the product insures sex {t.eligibility.sex} only"


def _barred(req: CoverageRequest, p: PolicySnapshot, t: Terms) -> str:
    n = t.claim_limitation_years
    last = add_years(req.accident_date, n)
    return (
        f"报案日{req.reported_on}已超过{n}年索赔时效（截至{last}，保险法第二十六条） / "
        f"reported on {req.reported_on}, after the {n}-year limitation ended on {last} "
        "(Insurance Law art. 26)"
    )


def _exclusion_reason(x: Exclusion) -> Callable[[CoverageRequest, PolicySnapshot, Terms], str]:
    def reason(req: CoverageRequest, p: PolicySnapshot, t: Terms) -> str:
        return f"{x.reason_zh} / {x.reason_en}"

    return reason


def policy_rules(terms: Terms) -> list[PolicyRule]:
    """The policy-level refusal rules of ``terms``, in the order refusals are listed.

    Period (the policy's own dates), eligibility (age at issue or at the accident by the
    terms' ``age_basis``, inclusive; sex),
    limitation (Insurance Law art. 26), then each exclusion in file order.
    """
    e = terms.eligibility
    rules = [
        PolicyRule(
            "policy.period.before_start",
            "policy.period",
            (Cond("days_from_start", "lt", 0),),
            _period,
        ),
        PolicyRule("policy.period.after_end", "policy.period", (Cond("days_to_end", "lt", 0),), _period),
        PolicyRule("eligibility.age.below_min", "eligibility.age", (Cond("age", "lt", e.min_age),), _age),
        PolicyRule("eligibility.age.above_max", "eligibility.age", (Cond("age", "gt", e.max_age),), _age),
    ]
    if e.sex is not None:
        rules.append(
            PolicyRule("eligibility.sex", "eligibility.sex", (Cond("sex", "ne", e.sex.value),), _sex)
        )
    rules.append(
        PolicyRule(
            "limitation.time_barred",
            "limitation.time_barred",
            (Cond("days_past_limitation", "gt", 0),),
            _barred,
        )
    )
    for x in terms.exclusions:
        rules.append(
            PolicyRule(
                x.id,
                x.id,
                (Cond(f"c_{x.circumstance}", "eq", 1),),
                _exclusion_reason(x),
            )
        )
    return rules


# --------------------------------------------------------------------------- checks


def request_problems(req: CoverageRequest) -> list[str]:
    """Problems with the request as a whole that stop any judgement."""
    out = []
    if not req.policies:
        out.append("no policy given: attach the policies that may answer the event")
    if req.reported_on < req.accident_date:
        out.append(
            f"reported_on {req.reported_on} is before accident_date {req.accident_date}: check both dates"
        )
    if req.insured.birth_date > req.accident_date:
        out.append(
            f"birth_date {req.insured.birth_date} is after accident_date {req.accident_date}: "
            "check both dates"
        )
    died = req.facts.death_date
    if died is not None and died < req.accident_date:
        out.append(f"death_date {died} is before accident_date {req.accident_date}: check both dates")
    if req.facts.outcome.value != "death" and died is not None:
        out.append(
            f"death_date {died} given for outcome {req.facts.outcome.value}: remove it or set outcome death"
        )
    numbers = [p.policy_number for p in req.policies]
    dup = sorted({n for n in numbers if numbers.count(n) > 1})
    if dup:
        out.append(f"policy number(s) {dup} given twice: list each policy once")
    return out


def policy_problems(policy: PolicySnapshot, catalogue: Catalogue) -> tuple[LoadedTerms | None, list[str]]:
    """Find the policy's terms and the facts that stop judging it.

    Returns:
        The loaded terms (None when unknown) and the problems, each prefixed with the
        policy number.
    """
    n = policy.policy_number
    try:
        loaded = catalogue.get(policy.terms_version)
    except UnknownTermsVersion:
        return None, [
            (
                f"policy {n}: unknown terms version {policy.terms_version!r}: "
                "add the terms file or correct the policy register"
            )
        ]
    t = loaded.terms
    problems = []
    if policy.product_code != t.product_code:
        problems.append(
            f"policy {n}: product_code {policy.product_code!r} does not match terms "
            f"{t.terms_version}: correct the policy register"
        )
    if not t.effective_from <= policy.issued_on <= t.effective_to:
        problems.append(
            f"policy {n}: issued on {policy.issued_on}, outside {t.terms_version} "
            f"({t.effective_from}..{t.effective_to}): use the version in force at issue"
        )
    if policy.sum_insured not in t.sum_insured_options:
        problems.append(
            f"policy {n}: sum insured {policy.sum_insured} is not an option of "
            f"{t.terms_version} {[str(x) for x in t.sum_insured_options]}: check the register"
        )
    if policy.start_date > policy.end_date:
        problems.append(f"policy {n}: start_date after end_date: check the register")
    return loaded, problems


# --------------------------------------------------------------------------- assembly


@dataclass(frozen=True)
class Pay:
    """One benefit rule that pays: the amount in fen and the formula text, as the
    evaluator computed them."""

    benefit: BenefitBase
    rule_id: str
    amount_fen: int
    formula: str


@dataclass(frozen=True)
class BenefitRefusal:
    """One benefit rule that refuses (waiting period, deductible, limit used up ...)."""

    rule_id: str
    reason: str


@dataclass
class PolicyVerdict:
    """What the rules gave for one policy, before precedence is applied.

    ``refusals`` are policy-rule ids in :func:`policy_rules` order; ``pays``,
    ``benefit_refusals`` and ``needs`` are in benefit (then rule) file order.
    """

    refusals: list[str] = field(default_factory=list)
    pays: list[Pay] = field(default_factory=list)
    needs: list[str] = field(default_factory=list)
    benefit_refusals: list[BenefitRefusal] = field(default_factory=list)


def assemble(
    req: CoverageRequest,
    verdicts: list[tuple[PolicySnapshot, LoadedTerms | None, list[str], PolicyVerdict | None]],
    request_issues: list[str],
    engine: str,
) -> CoverageDecision:
    """Apply precedence and build the decision.

    Per policy: problems -> ``needs_handler``; else any refusal rule -> one ``Refusal``
    per clause (the whole policy is refused); else each paying rule -> a ``BenefitLine``,
    each refusing benefit rule -> a ``Refusal`` under the rule's id, and each unjudgeable
    fact -> ``needs_handler``; a policy with no answering benefit is refused under
    ``benefit.not_covered``. ``total`` is the sum of the lines, in yuan.
    """
    lines: list[BenefitLine] = []
    refusals: list[Refusal] = []
    needs: list[str] = list(request_issues)
    for policy, loaded, problems, verdict in verdicts:
        n = policy.policy_number
        if problems or verdict is None or loaded is None:
            needs.extend(problems)
            continue
        t = loaded.terms
        if verdict.refusals:
            by_rule = {r.rule_id: r for r in policy_rules(t)}
            seen: set[str] = set()
            for rid in verdict.refusals:
                rule = by_rule[rid]
                if rule.clause_id in seen:
                    continue
                seen.add(rule.clause_id)
                refusals.append(
                    Refusal(
                        policy_number=n,
                        clause_id=rule.clause_id,
                        reason=rule.reason(req, policy, t),
                    )
                )
            continue
        for pay in verdict.pays:
            lines.append(
                BenefitLine(
                    policy_number=n,
                    product_code=t.product_code,
                    terms_version=t.terms_version,
                    terms_hash=loaded.sha256,
                    benefit_id=pay.benefit.id,
                    kind=pay.benefit.kind,
                    amount=to_yuan(pay.amount_fen),
                    formula=pay.formula,
                    rule_ids=[pay.rule_id],
                    deducted=[
                        Deduction(
                            claim_number=b.claim_number, kind=b.kind, amount=b.amount, reserved=b.reserved
                        )
                        for b in pay.benefit.deductions(req, policy)
                    ],
                )
            )
        for br in verdict.benefit_refusals:
            refusals.append(Refusal(policy_number=n, clause_id=br.rule_id, reason=br.reason))
        needs.extend(f"policy {n}: {m}" for m in verdict.needs)
        if not verdict.pays and not verdict.needs and not verdict.benefit_refusals:
            o = req.facts.outcome.value
            refusals.append(
                Refusal(
                    policy_number=n,
                    clause_id="benefit.not_covered",
                    reason=f"{t.name_zh}（{t.terms_version}）无“{o}”保险责任 / "
                    f"{t.name_en} ({t.terms_version}) has no benefit for outcome {o}",
                )
            )
    total_fen = sum(to_fen(line.amount) for line in lines)
    return CoverageDecision(
        claim_number=req.claim_number,
        lines=lines,
        refusals=refusals,
        total=to_yuan(total_fen),
        needs_handler=needs,
        engine=engine,
    )


def judge_policies(
    req: CoverageRequest,
    catalogue: Catalogue,
    engine: str,
    judge: Callable[[PolicySnapshot, LoadedTerms], PolicyVerdict],
) -> CoverageDecision:
    """The frame of ``evaluate_coverage`` in both evaluators: check the request, find each
    policy's terms and problems, let ``judge`` give the verdict of each policy that can be
    judged (none when the request or the policy has a problem), and :func:`assemble`."""
    issues = request_problems(req)
    verdicts = []
    for policy in req.policies:
        loaded, problems = policy_problems(policy, catalogue)
        verdict = None
        if not issues and not problems and loaded is not None:
            verdict = judge(policy, loaded)
        verdicts.append((policy, loaded, problems, verdict))
    return assemble(req, verdicts, issues, engine)
