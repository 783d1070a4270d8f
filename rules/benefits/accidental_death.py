"""Accidental death (意外身故): the sum insured less disability already paid, once per person.

See :class:`AccidentalDeath` for the clause and its sources.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from decimal import Decimal
from typing import Any, ClassVar, Literal

from pydantic import Field

from claims.models import CoverageRequest, Outcome, PolicySnapshot, PriorBenefit
from rules.benefits.base import BenefitBase, TermsView, benefit_kind
from rules.benefits.priors import prior_paid, priors
from rules.conditions import Assessment, BenefitRule, Cond, share_formula, share_of_sum_insured
from rules.money import formula, to_fen, to_yuan


@benefit_kind
class AccidentalDeath(BenefitBase):
    """Accidental death (意外身故): the sum insured, less disability already paid.

    Death within ``death_window_days`` (default 180) of the accident pays the sum insured
    less any accidental disability benefit already paid to the same insured person under the
    same policy for the same accident (same accident date, ``CoverageRequest.prior_benefits``);
    nothing is paid when that disability benefit already reached the sum insured. One
    person's death is paid once per policy: when a death benefit was already paid (or
    reserved) for this person under the policy, by any claim, nothing more is paid
    (``<id>.already_paid``). Another member's payments never reduce it. A death later than the
    window goes to a handler (was the accident its direct cause?). The death date defaults to
    the accident date.

    Source: the seed's products (family accident 40,000 / 45,000; hardship comprehensive
    100,000; elderly accident 32,000 yuan); the 180-day window and the deduction are the
    usual clause of public accident terms (config default).
    """

    kind: Literal["accidental_death"] = "accidental_death"
    death_window_days: int = Field(default=180, ge=1, le=3660)
    answers: ClassVar[frozenset[Outcome]] = frozenset({Outcome.DEATH})

    def fact_fields(self, req: CoverageRequest, policy: PolicySnapshot) -> dict[str, int | str]:
        """``death_days`` (accident to death, days), ``prior_disability_fen`` (this person,
        same accident, fen), ``sum_less_disability_fen`` (sum insured less that, fen) and
        ``prior_death_fen`` (death benefit already paid for this person, fen)."""
        prior = to_fen(prior_paid(req, policy, "accidental_disability", req.accident_date))
        return {
            "death_days": ((req.facts.death_date or req.accident_date) - req.accident_date).days,
            "prior_disability_fen": prior,
            "sum_less_disability_fen": to_fen(policy.sum_insured) - prior,
            "prior_death_fen": to_fen(prior_paid(req, policy, "accidental_death")),
        }

    def deductions(self, req: CoverageRequest, policy: PolicySnapshot) -> list[PriorBenefit]:
        """Disability paid to this person for the same accident."""
        return priors(req, policy, "accidental_disability", req.accident_date)

    @staticmethod
    def _already_paid(req: CoverageRequest, policy: PolicySnapshot) -> str:
        paid = priors(req, policy, "accidental_death")
        first = paid[0]
        on = f"claim {first.claim_number}" if first.claim_number else "an earlier claim"
        zh_on = f"赔案{first.claim_number}" if first.claim_number else "此前赔案"
        state = "reserved" if first.reserved else "paid"
        zh_state = "核定待付" if first.reserved else "给付"
        return (
            f"被保险人的身故保险金已由{zh_on}{zh_state}{first.amount:.2f}元，"
            "同一被保险人身故保险金只给付一次 / "
            f"the death benefit of {first.amount:.2f} for this insured person was already {state} on "
            f"{on} (accident of {first.accident_date}): one death is paid once"
        )

    def _late(self, req: CoverageRequest, policy: PolicySnapshot) -> str:
        d = req.facts.death_date or req.accident_date
        return (
            f"death on {d}, {(d - req.accident_date).days} days after the accident of "
            f"{req.accident_date}, beyond the {self.death_window_days}-day window of {self.id}: "
            "establish whether the accident was the direct cause, then decide by hand"
        )

    @staticmethod
    def _paid_in_full(req: CoverageRequest, policy: PolicySnapshot) -> str:
        prior = prior_paid(req, policy, "accidental_disability", req.accident_date)
        return (
            f"同一意外（{req.accident_date}）已给付伤残保险金{prior:.2f}元，达到保险金额"
            f"{policy.sum_insured:.2f}元，身故保险金不再给付 / disability benefit of {prior:.2f} "
            f"already paid for the accident of {req.accident_date} reaches the sum insured "
            f"{policy.sum_insured:.2f}: no death benefit is left"
        )

    @staticmethod
    def _less_label(req: CoverageRequest, prior: Decimal) -> str:
        return (
            f"accidental death, less {prior:.2f} disability benefit paid for the accident of "
            f"{req.accident_date}"
        )

    def rules(self, terms: TermsView) -> list[BenefitRule]:
        """Full pay, pay less disability, disability paid in full, death beyond the window."""
        base = (
            Cond("outcome", "eq", Outcome.DEATH.value),
            Cond("death_days", "le", self.death_window_days),
            Cond("prior_death_fen", "eq", 0),
        )

        def less(fact: Mapping[str, Any], req: CoverageRequest) -> str:
            return (
                f"{to_yuan(int(fact['sum_fen'])):.2f} − {to_yuan(int(fact['prior_disability_fen'])):.2f} "
                f"({self._less_label(req, to_yuan(int(fact['prior_disability_fen'])))})"
            )

        return [
            BenefitRule(
                f"{self.id}.pays",
                (*base, Cond("prior_disability_fen", "eq", 0)),
                "pay",
                amount_fen=share_of_sum_insured(Decimal(1)),
                formula=share_formula(Decimal(1), "accidental death"),
                summary="death within the window pays the sum insured",
            ),
            BenefitRule(
                f"{self.id}.less_disability",
                (*base, Cond("prior_disability_fen", "gt", 0), Cond("sum_less_disability_fen", "gt", 0)),
                "pay",
                amount_fen=lambda f: int(f["sum_less_disability_fen"]),
                formula=less,
                summary="sum insured less disability benefit paid for the same accident",
            ),
            BenefitRule(
                f"{self.id}.disability_paid_in_full",
                (*base, Cond("prior_disability_fen", "gt", 0), Cond("sum_less_disability_fen", "le", 0)),
                "refuse",
                message=self._paid_in_full,
                summary="nothing left when disability already paid the sum insured",
            ),
            BenefitRule(
                f"{self.id}.already_paid",
                (
                    Cond("outcome", "eq", Outcome.DEATH.value),
                    Cond("death_days", "le", self.death_window_days),
                    Cond("prior_death_fen", "gt", 0),
                ),
                "refuse",
                message=self._already_paid,
                summary="this person's death benefit was already paid under the policy: once only",
            ),
            BenefitRule(
                f"{self.id}.beyond_window",
                (
                    Cond("outcome", "eq", Outcome.DEATH.value),
                    Cond("death_days", "gt", self.death_window_days),
                ),
                "needs_handler",
                message=self._late,
                summary=f"death more than {self.death_window_days} days after the accident: handler",
            ),
        ]

    def assess(self, terms: TermsView, req: CoverageRequest, policy: PolicySnapshot) -> list[Assessment]:
        """The same clause with ``date`` and ``Decimal`` arithmetic."""
        if req.facts.outcome is not Outcome.DEATH:
            return []
        died = req.facts.death_date or req.accident_date
        if died > req.accident_date + timedelta(days=self.death_window_days):
            return [Assessment(f"{self.id}.beyond_window", "needs_handler", message=self._late(req, policy))]
        if prior_paid(req, policy, "accidental_death") > 0:
            return [Assessment(f"{self.id}.already_paid", "refuse", message=self._already_paid(req, policy))]
        prior = prior_paid(req, policy, "accidental_disability", req.accident_date)
        s = policy.sum_insured
        if prior == 0:
            return [
                Assessment(f"{self.id}.pays", "pay", to_fen(s), formula(s, Decimal(1), "accidental death"))
            ]
        if prior < s:
            text = f"{s:.2f} − {prior:.2f} ({self._less_label(req, prior)})"
            return [Assessment(f"{self.id}.less_disability", "pay", to_fen(s - prior), text)]
        return [
            Assessment(
                f"{self.id}.disability_paid_in_full", "refuse", message=self._paid_in_full(req, policy)
            )
        ]

    def describe(self) -> str:
        """In words."""
        return (
            f"death within {self.death_window_days} days of the accident: sum insured, less "
            "disability benefit already paid to the same person for the same accident; once per person"
        )
