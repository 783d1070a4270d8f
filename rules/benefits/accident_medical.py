"""Accident medical expenses (意外医疗): a share of expenses above the deductible, up to a yearly limit.

See :class:`AccidentMedical` for the clause and its sources.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, ClassVar, Literal

from pydantic import model_validator

from claims.models import CoverageRequest, Outcome, PolicySnapshot, PriorBenefit
from rules.benefits.base import BenefitBase, TermsView, benefit_kind
from rules.conditions import Assessment, BenefitRule, Cond
from rules.money import Ratio, TermsYuan, decimal_share, percent, ratio_fen, to_fen, to_yuan


@benefit_kind
class AccidentMedical(BenefitBase):
    """Accident medical (意外医疗): expenses over a deductible, at a ratio, up to a yearly limit.

    Pays ``(medical_expenses − deductible) × ratio`` yuan, where ``ratio`` is
    ``ratio_basic_paid`` when basic medical insurance settled first
    (``LossFacts.basic_insurance_paid``) and ``ratio_basic_unpaid`` otherwise, at most the
    ``annual_limit`` less what this benefit already paid to the same insured person under the
    policy (the policy year; ``CoverageRequest.prior_benefits``; the whole household's when
    ``limit_scope`` is ``household``). ``medical_expenses`` is what the claimant bore.

    Source: domain brief, family accident "accident medical config (5,000 yuan, 100
    deductible, 90% if basic medical insurance paid part, else 80%)": config defaults.
    """

    kind: Literal["accident_medical"] = "accident_medical"
    annual_limit: TermsYuan
    deductible: TermsYuan
    ratio_basic_paid: Ratio
    ratio_basic_unpaid: Ratio
    answers: ClassVar[frozenset[Outcome]] = frozenset({Outcome.MEDICAL})

    @model_validator(mode="after")
    def _sane(self) -> AccidentMedical:
        if self.annual_limit <= 0:
            raise ValueError("annual_limit is zero; fix: give the yearly limit in yuan")
        if self.deductible >= self.annual_limit:
            raise ValueError(
                f"deductible {self.deductible} is not below annual_limit {self.annual_limit}; fix: lower it"
            )
        return self

    def fact_fields(self, req: CoverageRequest, policy: PolicySnapshot) -> dict[str, int | str]:
        """``basic_paid`` (0/1) and ``prior_accident_medical_fen`` (this policy and person, or
        household by ``limit_scope``, fen)."""
        return {
            "basic_paid": int(req.facts.basic_insurance_paid),
            "prior_accident_medical_fen": to_fen(self.own_paid(req, policy)),
        }

    def deductions(self, req: CoverageRequest, policy: PolicySnapshot) -> list[PriorBenefit]:
        """Accident medical paid under the policy this year, to this person (or household)."""
        return self.own_priors(req, policy)

    def _text(self, expenses: Decimal, ratio: Decimal, label: str, prior: Decimal, paid: Decimal) -> str:
        text = f"({expenses:.2f} − {self.deductible:.2f}) × {percent(ratio)} ({label})"
        if paid < decimal_share(expenses - self.deductible, ratio):
            text += (
                f", capped at {paid:.2f}: yearly limit {self.annual_limit:.2f} less {prior:.2f} already paid"
            )
        return text

    def _below(self, req: CoverageRequest, policy: PolicySnapshot) -> str:
        e = req.facts.medical_expenses
        return (
            f"医疗费用{e:.2f}元未超过免赔额{self.deductible:.2f}元 / medical expenses {e:.2f} "
            f"do not exceed the deductible {self.deductible:.2f}"
        )

    def _exhausted(self, req: CoverageRequest, policy: PolicySnapshot) -> str:
        prior = self.own_paid(req, policy)
        return (
            f"本保单年度意外医疗保险金已给付{prior:.2f}元，达到年度限额{self.annual_limit:.2f}元 / "
            f"accident medical benefit of {prior:.2f} already paid this policy year reaches the "
            f"yearly limit {self.annual_limit:.2f}"
        )

    def rules(self, terms: TermsView) -> list[BenefitRule]:
        """Below the deductible, limit used up, or pay at 90% / 80% (config)."""
        med = Cond("outcome", "eq", Outcome.MEDICAL.value)
        ded, lim = to_fen(self.deductible), to_fen(self.annual_limit)
        over = Cond("medical_fen", "gt", ded)
        room = Cond("prior_accident_medical_fen", "lt", lim)
        out = [
            BenefitRule(
                f"{self.id}.below_deductible",
                (med, Cond("medical_fen", "le", ded)),
                "refuse",
                message=self._below,
                summary=f"expenses up to the {self.deductible:.2f} deductible pay nothing",
            ),
            BenefitRule(
                f"{self.id}.limit_reached",
                (med, over, Cond("prior_accident_medical_fen", "ge", lim)),
                "refuse",
                message=self._exhausted,
                summary=f"yearly limit {self.annual_limit:.2f} used up",
            ),
        ]
        for flag, ratio, suffix, label in (
            (1, self.ratio_basic_paid, "basic_paid", "basic medical insurance paid first"),
            (0, self.ratio_basic_unpaid, "basic_unpaid", "not settled by basic medical insurance"),
        ):

            def amount(f: Mapping[str, Any], ratio: Decimal = ratio) -> int:
                return min(
                    ratio_fen(int(f["medical_fen"]) - ded, ratio), lim - int(f["prior_accident_medical_fen"])
                )

            def text(
                f: Mapping[str, Any], req: CoverageRequest, ratio: Decimal = ratio, label: str = label
            ) -> str:
                return self._text(
                    to_yuan(int(f["medical_fen"])),
                    ratio,
                    label,
                    to_yuan(int(f["prior_accident_medical_fen"])),
                    to_yuan(amount(f, ratio)),
                )

            out.append(
                BenefitRule(
                    f"{self.id}.{suffix}",
                    (med, over, room, Cond("basic_paid", "eq", flag)),
                    "pay",
                    amount_fen=amount,
                    formula=text,
                    summary=f"(expenses − {self.deductible:.2f}) × {percent(ratio)} ({label}), "
                    f"up to {self.annual_limit:.2f} a year",
                )
            )
        return out

    def assess(self, terms: TermsView, req: CoverageRequest, policy: PolicySnapshot) -> list[Assessment]:
        """The same clause in ``Decimal`` yuan."""
        if req.facts.outcome is not Outcome.MEDICAL:
            return []
        e = req.facts.medical_expenses
        if e <= self.deductible:
            return [Assessment(f"{self.id}.below_deductible", "refuse", message=self._below(req, policy))]
        prior = self.own_paid(req, policy)
        if prior >= self.annual_limit:
            return [Assessment(f"{self.id}.limit_reached", "refuse", message=self._exhausted(req, policy))]
        if req.facts.basic_insurance_paid:
            rid, ratio, label = (
                f"{self.id}.basic_paid",
                self.ratio_basic_paid,
                "basic medical insurance paid first",
            )
        else:
            rid, ratio, label = (
                f"{self.id}.basic_unpaid",
                self.ratio_basic_unpaid,
                "not settled by basic medical insurance",
            )
        paid = min(decimal_share(e - self.deductible, ratio), self.annual_limit - prior)
        return [Assessment(rid, "pay", to_fen(paid), self._text(e, ratio, label, prior, paid))]

    def describe(self) -> str:
        """In words."""
        return (
            f"(expenses − {self.deductible:.2f} deductible) × {percent(self.ratio_basic_paid)} if basic "
            f"medical insurance paid first, else × {percent(self.ratio_basic_unpaid)}; at most "
            f"{self.annual_limit:.2f} a policy year"
        )
