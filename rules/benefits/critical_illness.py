"""Critical illness (重大疾病/特定疾病): sum insured × the diagnosis multiplier, once per policy.

See :class:`CriticalIllness` for the clause and its sources; covered diagnoses are ICD-10
categories (:mod:`rules.icd10`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BeforeValidator, Field, field_validator

from claims.models import CoverageRequest, Outcome, PolicySnapshot
from rules.benefits.base import BenefitBase, TermsView, benefit_kind
from rules.benefits.priors import prior_count
from rules.benefits.waiting import waiting_assessment, waiting_rules
from rules.conditions import Assessment, BenefitRule, Cond, share_formula, share_of_sum_insured
from rules.icd10 import ICD10, ICD10_CODE, icd10_category
from rules.money import decimal_share, formula, percent, to_decimal, to_fen
from rules.schema import TermsModel

Multiplier = Annotated[Decimal, BeforeValidator(lambda v: _multiplier(v))]


def _multiplier(v: Any) -> Decimal:
    d = to_decimal(v, "a multiplier")
    if d != d.quantize(Decimal("0.0001")) or not Decimal(0) < d <= Decimal(10):
        raise ValueError(f'multiplier {v} must be in (0, 10] with at most four decimals; fix: e.g. "2"')
    return d


class Diagnosis(TermsModel):
    """One covered diagnosis: an ICD-10 three-character category and its multiplier."""

    code: str = Field(pattern=r"^[A-Z][0-9]{2}$")
    name_zh: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    multiplier: Multiplier = Decimal(1)

    @field_validator("code")
    @classmethod
    def _known(cls, v: str) -> str:
        if v not in ICD10:
            raise ValueError(
                f"ICD-10 category {v!r} is not in rules/icd10.json; fix: correct the code or add "
                "the category to rules/icd10.json"
            )
        return v


@benefit_kind
class CriticalIllness(BenefitBase):
    """Critical illness (重大疾病/特定疾病): sum insured × the diagnosis' multiplier, once.

    The diagnosis (``LossFacts.diagnosis_code``, ICD-10, matched on its three-character
    category) must be on ``diagnoses``; the diagnosis date (default: the accident date)
    must be after the first ``waiting_days`` days from the policy start (start = day 1);
    the insured person's cover ends once this benefit has paid for them under the policy
    (``prior_benefits``; another member's payment does not end it unless ``limit_scope`` is
    ``household``). No code,
    or a code that is not a known ICD-10 category, goes to a handler; a known code not on
    the list is refused.

    Source: domain brief, women's health (ovarian, endometrial, cervical, fallopian-tube,
    vaginal cancer 1×, breast cancer 2×, 90-day waiting period) and men's health (liver
    cancer only in the version that added it): config defaults.
    """

    kind: Literal["critical_illness"] = "critical_illness"
    waiting_days: int = Field(default=90, ge=0, le=366)
    diagnoses: list[Diagnosis] = Field(min_length=1)
    answers: ClassVar[frozenset[Outcome]] = frozenset({Outcome.ILLNESS})

    @field_validator("diagnoses")
    @classmethod
    def _unique(cls, v: list[Diagnosis]) -> list[Diagnosis]:
        codes = [d.code for d in v]
        dup = sorted({c for c in codes if codes.count(c) > 1})
        if dup:
            raise ValueError(f"diagnosis code(s) {dup} listed twice; fix: list each category once")
        return v

    def fact_fields(self, req: CoverageRequest, policy: PolicySnapshot) -> dict[str, int | str]:
        """``dx`` (ICD-10 category, ``""`` none, ``"invalid"``), ``dx_known`` (0/1) and
        ``prior_critical_illness_count``."""
        dx = icd10_category(req.facts.diagnosis_code)
        return {
            "dx": dx,
            "dx_known": int(dx in ICD10),
            "prior_critical_illness_count": prior_count(req, policy, "critical_illness", self.limit_scope),
        }

    @staticmethod
    def _no_code(req: CoverageRequest, policy: PolicySnapshot) -> str:
        return "illness outcome with no diagnosis code: record the ICD-10 code of the diagnosis (e.g. C50.9)"

    @staticmethod
    def _unknown(req: CoverageRequest, policy: PolicySnapshot) -> str:
        return (
            f"diagnosis code {req.facts.diagnosis_code!r} is not a known ICD-10 category: check "
            "the code on the diagnosis report (e.g. C50.9), or add the category to rules/icd10.json"
        )

    def _not_listed(self, req: CoverageRequest, policy: PolicySnapshot) -> str:
        dx = icd10_category(req.facts.diagnosis_code)
        zh, en = ICD10[dx]
        listed = ", ".join(d.code for d in self.diagnoses)
        return (
            f"确诊疾病{dx}（{zh}）不在本保险责任范围内 / diagnosis {dx} ({en}) is not a covered "
            f"disease of {self.id} (covered: {listed})"
        )

    def _ended(self, req: CoverageRequest, policy: PolicySnapshot) -> str:
        paid = self.own_priors(req, policy)
        first = min(paid, key=lambda b: b.paid_on)
        return (
            f"本保单疾病保险金已于{first.paid_on}给付{first.amount:.2f}元，保险责任终止 / critical illness "
            f"benefit of {first.amount:.2f} was paid on {first.paid_on}: the cover ended then"
        )

    def rules(self, terms: TermsView) -> list[BenefitRule]:
        """No/unknown code -> handler; waiting period, cover ended, not listed; pay per code."""
        ill = Cond("outcome", "eq", Outcome.ILLNESS.value)
        known = Cond("dx_known", "eq", 1)
        after = Cond("event_days_from_start", "ge", self.waiting_days)
        fresh = Cond("prior_critical_illness_count", "eq", 0)
        out = [
            BenefitRule(
                f"{self.id}.no_diagnosis",
                (ill, Cond("dx", "eq", "")),
                "needs_handler",
                message=self._no_code,
                summary="no diagnosis code: handler",
            ),
            BenefitRule(
                f"{self.id}.unknown_diagnosis",
                (ill, Cond("dx", "ne", ""), Cond("dx_known", "eq", 0)),
                "needs_handler",
                message=self._unknown,
                summary="a code that is not a known ICD-10 category: handler",
            ),
        ]
        out += waiting_rules(
            self.id,
            (ill, known),
            "确诊",
            self.waiting_days,
            f"diagnosis in the first {self.waiting_days} days from the policy start",
        )
        out += [
            BenefitRule(
                f"{self.id}.cover_ended",
                (ill, known, after, Cond("prior_critical_illness_count", "gt", 0)),
                "refuse",
                message=self._ended,
                summary="already paid once under this policy: cover ended",
            ),
            BenefitRule(
                f"{self.id}.not_listed",
                (ill, known, after, fresh, *(Cond("dx", "ne", d.code) for d in self.diagnoses)),
                "refuse",
                message=self._not_listed,
                summary="a diagnosis not on the list",
            ),
        ]
        for d in self.diagnoses:
            label = f"{d.name_en}, {d.code}"
            out.append(
                BenefitRule(
                    f"{self.id}.{d.code.lower()}",
                    (ill, after, fresh, Cond("dx", "eq", d.code)),
                    "pay",
                    amount_fen=share_of_sum_insured(d.multiplier),
                    formula=share_formula(d.multiplier, label),
                    summary=f"{d.code} {d.name_en}: {percent(d.multiplier)} of the sum insured",
                )
            )
        return out

    def assess(self, terms: TermsView, req: CoverageRequest, policy: PolicySnapshot) -> list[Assessment]:
        """The same clause with ``date`` arithmetic and a dict lookup."""
        if req.facts.outcome is not Outcome.ILLNESS:
            return []
        code = (req.facts.diagnosis_code or "").strip().upper()
        if not code:
            return [
                Assessment(f"{self.id}.no_diagnosis", "needs_handler", message=self._no_code(req, policy))
            ]
        m = ICD10_CODE.match(code)
        if m is None or m.group(1) not in ICD10:
            return [
                Assessment(
                    f"{self.id}.unknown_diagnosis", "needs_handler", message=self._unknown(req, policy)
                )
            ]
        waiting = waiting_assessment(self.id, "确诊", self.waiting_days, req, policy)
        if waiting:
            return waiting
        if self.own_priors(req, policy):
            return [Assessment(f"{self.id}.cover_ended", "refuse", message=self._ended(req, policy))]
        listed = {d.code: d for d in self.diagnoses}
        d = listed.get(m.group(1))
        if d is None:
            return [Assessment(f"{self.id}.not_listed", "refuse", message=self._not_listed(req, policy))]
        amount = decimal_share(policy.sum_insured, d.multiplier)
        return [
            Assessment(
                f"{self.id}.{d.code.lower()}",
                "pay",
                to_fen(amount),
                formula(policy.sum_insured, d.multiplier, f"{d.name_en}, {d.code}"),
            )
        ]

    def describe(self) -> str:
        """In words."""
        listed = "; ".join(f"{d.code} {d.name_en} {percent(d.multiplier)}" for d in self.diagnoses)
        return f"once per policy, after a {self.waiting_days}-day waiting period: {listed}"
