"""A small pure-Python evaluator of the same terms files and triage data.

It judges dates with ``date`` arithmetic and benefits with ``Decimal`` (each benefit
kind's :meth:`~rules.benefits.base.BenefitBase.assess`), independently of the flat facts and
rule conditions the durable_rules engine compiles. The differential tests require both
to give identical decisions; it is also the way out should durable_rules have to go.
"""

from __future__ import annotations

from claims.models import (
    CoverageDecision,
    CoverageRequest,
    PolicySnapshot,
    TriageRequest,
    TriageResult,
)
from rules.facts import (
    BenefitRefusal,
    Pay,
    PolicyVerdict,
    add_years,
    age_on,
    eligibility_day,
    judge_policies,
)
from rules.terms import Catalogue, Terms, load_catalogue
from rules.triage import TriageRules, load_triage, triage_fact, triage_result


class PureEvaluator:
    """Evaluates coverage and triage in plain Python; ``engine="pure"`` on decisions.

    Args:
        catalogue: Terms catalogue; defaults to the shipped ``rules/terms/``.
        triage_rules: Triage data; defaults to the shipped ``rules/triage.json``.
    """

    name = "pure"

    def __init__(self, catalogue: Catalogue | None = None, triage_rules: TriageRules | None = None) -> None:
        self.catalogue = catalogue if catalogue is not None else load_catalogue()
        self.triage_rules = triage_rules if triage_rules is not None else load_triage()

    def evaluate_coverage(self, req: CoverageRequest) -> CoverageDecision:
        """Judge every policy of ``req``; same contract as ``RulesEngine.evaluate_coverage``."""
        return judge_policies(
            req, self.catalogue, self.name, lambda policy, loaded: self._policy(req, policy, loaded.terms)
        )

    @staticmethod
    def _policy(req: CoverageRequest, policy: PolicySnapshot, t: Terms) -> PolicyVerdict:
        v = PolicyVerdict()
        day = req.accident_date
        if day < policy.start_date:
            v.refusals.append("policy.period.before_start")
        if day > policy.end_date:
            v.refusals.append("policy.period.after_end")
        age = age_on(req.insured.birth_date, eligibility_day(req, policy, t))
        if age < t.eligibility.min_age:
            v.refusals.append("eligibility.age.below_min")
        if age > t.eligibility.max_age:
            v.refusals.append("eligibility.age.above_max")
        if t.eligibility.sex is not None and req.insured.sex != t.eligibility.sex:
            v.refusals.append("eligibility.sex")
        if req.reported_on > add_years(day, t.claim_limitation_years):
            v.refusals.append("limitation.time_barred")
        for x in t.exclusions:
            if x.circumstance in req.facts.circumstances:
                v.refusals.append(x.id)
        if v.refusals:
            return v
        for b in t.benefits:
            for a in b.assess(t, req, policy):
                if a.effect == "pay":
                    v.pays.append(Pay(b, a.rule_id, a.amount_fen, a.formula))
                elif a.effect == "refuse":
                    v.benefit_refusals.append(BenefitRefusal(a.rule_id, a.message))
                else:
                    v.needs.append(a.message)
        return v

    def triage(self, req: TriageRequest) -> TriageResult:
        """Green channel and case class; same contract as ``RulesEngine.triage``."""
        rules = self.triage_rules
        fact = triage_fact(req)
        fired = {
            r.id
            for r in rules.green_channel + rules.class_rules
            if all(c.holds(fact) for c in rules.conds(r))
        }
        if not fired & {r.id for r in rules.class_rules}:
            fired.add(rules.ordinary.id)
        return triage_result(rules, fired, fact)
