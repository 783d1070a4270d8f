"""Hospital cash (住院津贴): a daily amount per hospital day, capped per stay and per policy year.

See :class:`HospitalCash` for the clause and its sources.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from claims.models import CoverageRequest, Outcome, PolicySnapshot, PriorBenefit
from rules.benefits.base import BenefitBase, TermsView, benefit_kind
from rules.benefits.waiting import waiting_assessment, waiting_rules
from rules.conditions import Assessment, BenefitRule, Cond, outcome_conds
from rules.money import TermsYuan, to_fen, to_yuan


@benefit_kind
class HospitalCash(BenefitBase):
    """Hospital cash (住院津贴): a daily amount per in-patient day, after a waiting period.

    Pays ``daily × min(hospital_days, max_days_per_stay)`` yuan, at most
    ``daily × max_days_per_year`` a policy year less what this benefit already paid to the
    same insured person under the policy (``CoverageRequest.prior_benefits``; the household's
    when ``limit_scope`` is ``household``). Nothing is paid for an event (the
    diagnosis date, else the accident date) inside the first ``waiting_days`` days from
    the policy start (the start date is day 1).

    Source: domain brief, hardship comprehensive "hospital cash config (100 yuan/day, ≤90
    days a stay, ≤180 a year, 30-day waiting period)": config defaults.
    """

    kind: Literal["hospital_cash"] = "hospital_cash"
    daily: TermsYuan
    max_days_per_stay: int = Field(ge=1, le=366)
    max_days_per_year: int = Field(ge=1, le=366)
    waiting_days: int = Field(default=0, ge=0, le=366)
    answers: ClassVar[frozenset[Outcome]] = frozenset({Outcome.MEDICAL, Outcome.ILLNESS})

    @model_validator(mode="after")
    def _sane(self) -> HospitalCash:
        if self.daily <= 0:
            raise ValueError("daily is zero; fix: give the amount per hospital day in yuan")
        if self.max_days_per_stay > self.max_days_per_year:
            raise ValueError(
                f"max_days_per_stay {self.max_days_per_stay} exceeds max_days_per_year "
                f"{self.max_days_per_year}; fix: lower the stay cap or raise the yearly cap"
            )
        return self

    @property
    def year_cap(self) -> Decimal:
        """The most paid in one policy year, yuan."""
        return self.daily * self.max_days_per_year

    def fact_fields(self, req: CoverageRequest, policy: PolicySnapshot) -> dict[str, int | str]:
        """``hospital_days`` and ``prior_hospital_cash_fen`` (this policy and person, or
        household by ``limit_scope``, fen)."""
        return {
            "hospital_days": req.facts.hospital_days,
            "prior_hospital_cash_fen": to_fen(self.own_paid(req, policy)),
        }

    def deductions(self, req: CoverageRequest, policy: PolicySnapshot) -> list[PriorBenefit]:
        """Hospital cash paid under the policy this year, to this person (or household)."""
        return self.own_priors(req, policy)

    def _text(self, stay: int, prior: Decimal, paid: Decimal) -> str:
        days = min(stay, self.max_days_per_stay)
        text = f"{self.daily:.2f} × {days} days"
        if stay > self.max_days_per_stay:
            text += f" (stay of {stay} days capped at {self.max_days_per_stay})"
        if paid < self.daily * days:
            text += f", capped at {paid:.2f}: yearly limit {self.year_cap:.2f} less {prior:.2f} already paid"
        return text

    @staticmethod
    def _no_stay(req: CoverageRequest, policy: PolicySnapshot) -> str:
        return (
            "未记录住院天数，住院津贴仅按住院天数给付 / "
            "no in-patient days recorded: hospital cash pays per hospital day only"
        )

    def _exhausted(self, req: CoverageRequest, policy: PolicySnapshot) -> str:
        prior = self.own_paid(req, policy)
        return (
            f"本保单年度住院津贴已给付{prior:.2f}元，"
            f"达到年度上限{self.year_cap:.2f}元（{self.max_days_per_year}天） / "
            f"hospital cash of {prior:.2f} already paid this policy year reaches the yearly cap "
            f"{self.year_cap:.2f} ({self.max_days_per_year} days)"
        )

    def rules(self, terms: TermsView) -> list[BenefitRule]:
        """Waiting period, no stay, yearly cap used up, or pay per day."""
        ans = outcome_conds(self.answers)
        daily, cap = to_fen(self.daily), to_fen(self.year_cap)
        after = Cond("event_days_from_start", "ge", self.waiting_days)

        def amount(f: Mapping[str, Any]) -> int:
            days = min(int(f["hospital_days"]), self.max_days_per_stay)
            return min(daily * days, cap - int(f["prior_hospital_cash_fen"]))

        def text(f: Mapping[str, Any], req: CoverageRequest) -> str:
            return self._text(
                int(f["hospital_days"]), to_yuan(int(f["prior_hospital_cash_fen"])), to_yuan(amount(f))
            )

        out = waiting_rules(
            self.id,
            ans,
            "住院",
            self.waiting_days,
            f"nothing in the first {self.waiting_days} days from the policy start",
        )
        out += [
            BenefitRule(
                f"{self.id}.no_stay",
                (*ans, after, Cond("hospital_days", "eq", 0)),
                "refuse",
                message=self._no_stay,
                summary="no in-patient days, nothing to pay",
            ),
            BenefitRule(
                f"{self.id}.year_limit_reached",
                (*ans, after, Cond("hospital_days", "gt", 0), Cond("prior_hospital_cash_fen", "ge", cap)),
                "refuse",
                message=self._exhausted,
                summary=f"yearly cap {self.year_cap:.2f} used up",
            ),
            BenefitRule(
                f"{self.id}.pays",
                (*ans, after, Cond("hospital_days", "gt", 0), Cond("prior_hospital_cash_fen", "lt", cap)),
                "pay",
                amount_fen=amount,
                formula=text,
                summary=f"{self.daily:.2f} a day, ≤{self.max_days_per_stay} days a stay, "
                f"≤{self.max_days_per_year} a year",
            ),
        ]
        return out

    def assess(self, terms: TermsView, req: CoverageRequest, policy: PolicySnapshot) -> list[Assessment]:
        """The same clause with ``date`` and ``Decimal`` arithmetic."""
        if req.facts.outcome not in self.answers:
            return []
        waiting = waiting_assessment(self.id, "住院", self.waiting_days, req, policy)
        if waiting:
            return waiting
        stay = req.facts.hospital_days
        if stay == 0:
            return [Assessment(f"{self.id}.no_stay", "refuse", message=self._no_stay(req, policy))]
        prior = self.own_paid(req, policy)
        if prior >= self.year_cap:
            return [
                Assessment(f"{self.id}.year_limit_reached", "refuse", message=self._exhausted(req, policy))
            ]
        paid = min(self.daily * min(stay, self.max_days_per_stay), self.year_cap - prior)
        return [Assessment(f"{self.id}.pays", "pay", to_fen(paid), self._text(stay, prior, paid))]

    def describe(self) -> str:
        """In words."""
        return (
            f"{self.daily:.2f} a hospital day, at most {self.max_days_per_stay} days a stay and "
            f"{self.max_days_per_year} a policy year; waiting period {self.waiting_days} days"
        )
