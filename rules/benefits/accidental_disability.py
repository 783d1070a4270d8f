"""Accidental disability (意外伤残): sum insured × the JR/T 0083-2013 grade ratio, capped with death.

See :class:`AccidentalDisability` for the clause and its sources.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, ClassVar, Literal


from claims.models import CoverageRequest, Outcome, PolicySnapshot, PriorBenefit
from rules.benefits.base import BenefitBase, TermsView, benefit_kind
from rules.benefits.priors import priors
from rules.conditions import Assessment, BenefitRule, Cond, share_formula, share_of_sum_insured
from rules.money import decimal_share, formula, percent, to_fen, to_yuan


@benefit_kind
class AccidentalDisability(BenefitBase):
    """Accidental disability (意外伤残): sum insured × the grade's ratio.

    Several injuries (JR/T 0083-2013): the most severe grade counts; two or more injuries
    of that same most severe grade raise the result by one grade at most, never above
    grade 1. A grade outside 1..10, or no grade at all, cannot be judged and goes to a
    handler. Disability and death for one accident never exceed the person's sum insured:
    the amount is capped at the sum insured less the disability already paid to this person
    for the same accident and any death benefit already paid to this person under the policy
    (``<id>.sum_insured_used`` when nothing is left).
    """

    kind: Literal["accidental_disability"] = "accidental_disability"
    answers: ClassVar[frozenset[Outcome]] = frozenset({Outcome.DISABILITY})

    @staticmethod
    def _no_grades(req: CoverageRequest, policy: PolicySnapshot) -> str:
        return "disability outcome with no grade: record one JR/T 0083-2013 grade (1-10) per injury"

    @staticmethod
    def _bad_grades(req: CoverageRequest, policy: PolicySnapshot) -> str:
        bad = [g for g in req.facts.disability_grades if not 1 <= g <= 10]
        return (
            f"disability grade(s) {bad} outside 1-10 (JR/T 0083-2013): "
            "check the assessment and record grades 1 (most severe) to 10"
        )

    @staticmethod
    def _raised_label(grade: int) -> str:
        return f"grade {grade - 1}, raised from several grade-{grade} injuries"

    def deductions(self, req: CoverageRequest, policy: PolicySnapshot) -> list[PriorBenefit]:
        """Disability and death paid to this person for the same accident."""
        return priors(req, policy, "accidental_disability", req.accident_date) + priors(
            req, policy, "accidental_death", req.accident_date
        )

    @staticmethod
    def _deaths_before(req: CoverageRequest, policy: PolicySnapshot) -> list[PriorBenefit]:
        """Death benefits paid to this person for an earlier accident: the person's cover ended."""
        return [b for b in priors(req, policy, "accidental_death") if b.accident_date < req.accident_date]

    def _after_death(self, req: CoverageRequest, policy: PolicySnapshot) -> str:
        first = self._deaths_before(req, policy)[0]
        return (
            f"被保险人已因{first.accident_date}的意外身故并获给付，其保险责任已终止 / the insured person's "
            f"death after the accident of {first.accident_date} was paid "
            f"(claim {first.claim_number or '-'}): "
            f"the cover ended then, no disability is paid for the accident of {req.accident_date}"
        )

    def _used(self, req: CoverageRequest, policy: PolicySnapshot) -> Decimal:
        return sum((b.amount for b in self.deductions(req, policy)), Decimal(0))

    def fact_fields(self, req: CoverageRequest, policy: PolicySnapshot) -> dict[str, int | str]:
        """``disability_room_fen``: the sum insured less disability and death already paid to
        this person for the same accident, fen; ``died_before_count``: death benefits paid to
        this person for an earlier accident."""
        return {
            "disability_room_fen": to_fen(policy.sum_insured - self._used(req, policy)),
            "died_before_count": len(self._deaths_before(req, policy)),
        }

    def _sum_used(self, req: CoverageRequest, policy: PolicySnapshot) -> str:
        used = self._used(req, policy)
        return (
            f"同一意外（{req.accident_date}）已给付伤残、身故保险金{used:.2f}元，达到保险金额"
            f"{policy.sum_insured:.2f}元 / disability and death benefits of {used:.2f} already paid to "
            f"this person for the accident of {req.accident_date} reach the sum insured "
            f"{policy.sum_insured:.2f}: no disability benefit is left"
        )

    @staticmethod
    def _capped(amount_fen: int, room_fen: int) -> int:
        return min(amount_fen, room_fen)

    @staticmethod
    def _cap_text(text: str, amount_fen: int, room_fen: int, sum_fen: int) -> str:
        if amount_fen <= room_fen:
            return text
        return (
            f"{text}, capped at {to_yuan(room_fen):.2f}: sum insured {to_yuan(sum_fen):.2f} less "
            f"{to_yuan(sum_fen - room_fen):.2f} already paid to this person for the same accident"
        )

    def _grade_rule(
        self, rid: str, conds: tuple[Cond, ...], ratio: Decimal, label: str, summary: str
    ) -> BenefitRule:
        share = share_of_sum_insured(ratio)
        text = share_formula(ratio, label)

        def amount(f: Mapping[str, Any]) -> int:
            return self._capped(share(f), int(f["disability_room_fen"]))

        def words(f: Mapping[str, Any], req: CoverageRequest) -> str:
            return self._cap_text(text(f, req), share(f), int(f["disability_room_fen"]), int(f["sum_fen"]))

        return BenefitRule(rid, conds, "pay", amount_fen=amount, formula=words, summary=summary)

    def rules(self, terms: TermsView) -> list[BenefitRule]:
        """Rules: no grade / bad grade -> handler; grade g alone, or g raised one grade."""
        dis = Cond("outcome", "eq", Outcome.DISABILITY.value)
        out = [
            BenefitRule(
                f"{self.id}.no_grades",
                (dis, Cond("grade_count", "eq", 0)),
                "needs_handler",
                message=self._no_grades,
                summary="no grade recorded: handler",
            ),
            BenefitRule(
                f"{self.id}.invalid_grade",
                (dis, Cond("grade_invalid_count", "gt", 0)),
                "needs_handler",
                message=self._bad_grades,
                summary="a grade outside 1-10: handler",
            ),
        ]
        alive = Cond("died_before_count", "eq", 0)
        graded = (dis, Cond("grade_count", "gt", 0), Cond("grade_invalid_count", "eq", 0))
        out.append(
            BenefitRule(
                f"{self.id}.cover_ended_by_death",
                (*graded, Cond("died_before_count", "gt", 0)),
                "refuse",
                message=self._after_death,
                summary="the person's death was paid for an earlier accident: cover ended",
            )
        )
        out.append(
            BenefitRule(
                f"{self.id}.sum_insured_used",
                (*graded, Cond("disability_room_fen", "le", 0), alive),
                "refuse",
                message=self._sum_used,
                summary="disability and death already paid for the accident reach the sum insured",
            )
        )
        table = terms.disability_ratios
        room = Cond("disability_room_fen", "gt", 0)
        for g in range(1, 11):
            base = (dis, Cond("grade_invalid_count", "eq", 0), Cond("grade_min", "eq", g), room, alive)
            single = base if g == 1 else base + (Cond("grade_min_count", "eq", 1),)
            r = table[g]
            out.append(
                self._grade_rule(
                    f"{self.id}.grade_{g}",
                    single,
                    r,
                    f"grade {g}",
                    f"grade {g}: {percent(r)} of the sum insured",
                )
            )
            if g > 1:
                r2 = table[g - 1]
                out.append(
                    self._grade_rule(
                        f"{self.id}.grade_{g}.raised",
                        base + (Cond("grade_min_count", "ge", 2),),
                        r2,
                        self._raised_label(g),
                        f"two or more grade-{g} injuries: grade {g - 1}, {percent(r2)}",
                    )
                )
        return out

    def assess(self, terms: TermsView, req: CoverageRequest, policy: PolicySnapshot) -> list[Assessment]:
        """The JR/T 0083-2013 several-injuries rule, computed with ``Decimal``."""
        if req.facts.outcome is not Outcome.DISABILITY:
            return []
        grades = req.facts.disability_grades
        if not grades:
            return [Assessment(f"{self.id}.no_grades", "needs_handler", message=self._no_grades(req, policy))]
        if any(not 1 <= g <= 10 for g in grades):
            return [
                Assessment(f"{self.id}.invalid_grade", "needs_handler", message=self._bad_grades(req, policy))
            ]
        worst = min(grades)
        if grades.count(worst) >= 2 and worst > 1:
            grade, rid, label = (
                worst - 1,
                f"{self.id}.grade_{worst}.raised",
                self._raised_label(worst),
            )
        else:
            grade, rid, label = worst, f"{self.id}.grade_{worst}", f"grade {worst}"
        if self._deaths_before(req, policy):
            return [
                Assessment(
                    f"{self.id}.cover_ended_by_death", "refuse", message=self._after_death(req, policy)
                )
            ]
        room = policy.sum_insured - self._used(req, policy)
        if room <= 0:
            return [Assessment(f"{self.id}.sum_insured_used", "refuse", message=self._sum_used(req, policy))]
        ratio = terms.disability_ratios[grade]
        amount = decimal_share(policy.sum_insured, ratio)
        text = self._cap_text(
            formula(policy.sum_insured, ratio, label),
            to_fen(amount),
            to_fen(room),
            to_fen(policy.sum_insured),
        )
        return [Assessment(rid, "pay", to_fen(min(amount, room)), text)]

    def describe(self) -> str:
        """In words."""
        return (
            "sum insured × grade ratio (JR/T 0083-2013; several injuries raise one grade at most); "
            "with death, at most the sum insured per person and accident"
        )
