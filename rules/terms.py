"""Product terms: one JSON file per product version, validated and loaded into a catalogue.

A terms file lives in ``rules/terms/<product_code>@<version>.json``. Its *terms version*
string is ``"<product_code>@<version>"`` and equals ``PolicySnapshot.terms_version``: a
policy is judged by the version in force when it was issued.

Benefits are a discriminated union on ``kind``: ``accidental_death``,
``accidental_disability``, ``accident_medical``, ``hospital_cash`` and ``critical_illness``.
A new kind is one new subclass of :class:`BenefitBase` decorated with
:func:`benefit_kind`; it brings its schema, the flat fact fields it needs
(:meth:`BenefitBase.fact_fields`), the durable_rules rules it compiles to
(:meth:`BenefitBase.rules`) and its pure-Python assessment (:meth:`BenefitBase.assess`).
Neither engine needs to change.

Sources: sums insured and the death benefits are the seed's figures (the provincial
association's 2022 newsletter); disability ratios and the several-injuries rule are
JR/T 0083-2013 (人身保险伤残评定标准); the two-year limitation is Insurance Law art. 26.
Values that are configuration defaults are listed in each file's ``config_defaults``.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, Union

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from claims.models import CoverageRequest, Outcome, PolicySnapshot, PriorBenefit, Sex

TERMS_DIR = Path(__file__).resolve().parent / "terms"
"""Where the shipped terms files live."""

CENT = Decimal("0.01")

# Clause ids the engines use for policy-level checks; a terms file may not reuse them.
RESERVED_CLAUSES = frozenset(
    {
        "policy.period",
        "eligibility.age",
        "eligibility.sex",
        "limitation.time_barred",
        "benefit.not_covered",
    }
)


class TermsError(ValueError):
    """A terms file (or the catalogue as a whole) is invalid.

    The message names the file, the clause or field at fault, and the fix.
    """


class UnknownTermsVersion(KeyError):
    """``Catalogue.get`` was asked for a terms version that no file defines."""

    def __str__(self) -> str:  # KeyError quotes its argument; keep the sentence readable
        return str(self.args[0]) if self.args else "unknown terms version"


# --------------------------------------------------------------------------- value types


def _to_decimal(v: Any, what: str) -> Decimal:
    if isinstance(v, bool):
        raise TypeError(f"{what} must be a number, not a boolean")
    if isinstance(v, float):
        # repr gives the shortest decimal that round-trips: 0.1 -> "0.1", not 0.1000000000000000055
        v = repr(v)
    if isinstance(v, int):
        return Decimal(v)
    if isinstance(v, str):
        try:
            d = Decimal(v.strip())
        except InvalidOperation:
            raise ValueError(f"{what} {v!r} is not a number") from None
    elif isinstance(v, Decimal):
        d = v
    else:
        raise TypeError(f"{what} must be a JSON string or integer, got {type(v).__name__}")
    if not d.is_finite():
        raise ValueError(f"{what} must be finite")
    return d


def _yuan(v: Any) -> Decimal:
    d = _to_decimal(v, "an amount in yuan")
    if d != d.quantize(CENT):
        raise ValueError(
            f"amount {v} has more than two decimals; fix: write yuan exact to the fen, "
            'as a string such as "40000.00" or an integer'
        )
    if d < 0:
        raise ValueError(f"amount {v} is negative; fix: amounts are zero or more yuan")
    return d.quantize(CENT)


def _ratio(v: Any) -> Decimal:
    d = _to_decimal(v, "a ratio")
    if d != d.quantize(Decimal("0.0001")):
        raise ValueError(f'ratio {v} has more than four decimals; fix: use e.g. "0.90"')
    if not Decimal(0) < d <= Decimal(1):
        raise ValueError(f"ratio {v} is outside (0, 1]; fix: 1.00 means 100% of the sum insured")
    return d


TermsYuan = Annotated[Decimal, BeforeValidator(_yuan)]
"""Yuan in a terms file: a JSON string or integer (or a float with at most two decimals)."""

Ratio = Annotated[Decimal, BeforeValidator(_ratio)]
"""A fraction of the sum insured, 0 < ratio <= 1, at most four decimals."""

ClauseId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$", max_length=64)]
Code = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=48)]


class _TermsModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------- money text


def to_fen(yuan: Decimal) -> int:
    """Yuan (exact to the fen) -> integer fen.

    Raises:
        ValueError: The amount has more than two decimals.
    """
    fen = yuan * 100
    if fen != fen.to_integral_value():
        raise ValueError(f"{yuan} yuan is not exact to the fen")
    return int(fen)


def to_yuan(fen: int) -> Decimal:
    """Integer fen -> ``Decimal`` yuan with two decimals."""
    return Decimal(fen).scaleb(-2).quantize(CENT)


def percent(ratio: Decimal) -> str:
    """``Decimal("0.9")`` -> ``"90%"``, ``Decimal("2")`` -> ``"200%"``, ``0.125`` -> ``"12.5%"``."""
    q = (ratio * 100).quantize(Decimal("0.01")).normalize()
    return f"{q:f}%"


def formula(sum_insured: Decimal, ratio: Decimal, label: str) -> str:
    """Formula text of a share of the sum insured, e.g. ``"40000.00 × 100% (grade 1)"`` (yuan)."""
    return f"{sum_insured:.2f} × {percent(ratio)} ({label})"


# --------------------------------------------------------------------------- ICD-10 reference

ICD10_FILE = Path(__file__).resolve().parent / "icd10.json"
"""Known ICD-10 three-character categories (a subset; see the file's ``source``)."""

_ICD_CODE = re.compile(r"^([A-Z][0-9]{2})(?:\.[0-9A-Z]{1,4})?$")


def _load_icd10() -> dict[str, tuple[str, str]]:
    raw = json.loads(ICD10_FILE.read_text(encoding="utf-8"))
    return {k: (v[0], v[1]) for k, v in raw["categories"].items()}


ICD10: dict[str, tuple[str, str]] = _load_icd10()
"""ICD-10 category -> (Chinese name, English name)."""


def icd10_category(code: str | None) -> str:
    """The three-character ICD-10 category of ``code`` (``"c50.9 "`` -> ``"C50"``).

    Returns:
        The category; ``""`` when no code is given; ``"invalid"`` when the code is not
        ICD-10 shaped (a letter, two digits, optionally ``.`` and up to four more).
    """
    if code is None or not code.strip():
        return ""
    m = _ICD_CODE.match(code.strip().upper())
    return m.group(1) if m else "invalid"


# --------------------------------------------------------------------------- rule specs


OPS: dict[str, str] = {
    "eq": "",
    "ne": "$neq",
    "lt": "$lt",
    "le": "$lte",
    "gt": "$gt",
    "ge": "$gte",
}
"""Comparison operators of a single-fact condition, and their durable_rules spelling."""


@dataclass(frozen=True)
class Cond:
    """One comparison on a flat fact: ``fact[field] <op> value``.

    ``value`` is an ``int`` (fen, days, years, counts, 0/1 flags) or a ``str`` code; the
    fact's field must have the same type (durable_rules silently mis-compares a string
    with a number).
    """

    field: str
    op: Literal["eq", "ne", "lt", "le", "gt", "ge"]
    value: int | str

    def holds(self, fact: Mapping[str, int | str]) -> bool:
        """Evaluate the comparison in Python.

        Raises:
            TypeError: The fact's value and the condition's value differ in type.
        """
        left = fact[self.field]
        if type(left) is not type(self.value):
            raise TypeError(f"condition on {self.field!r} compares {left!r} with {self.value!r}")
        match self.op:
            case "eq":
                return left == self.value
            case "ne":
                return left != self.value
            case "lt":
                return left < self.value  # type: ignore[operator]
            case "le":
                return left <= self.value  # type: ignore[operator]
            case "gt":
                return left > self.value  # type: ignore[operator]
            case "ge":
                return left >= self.value  # type: ignore[operator]
        raise AssertionError(self.op)

    def durable(self) -> dict[str, Any]:
        """The durable_rules JSON form of the comparison."""
        if self.op == "eq":
            return {self.field: self.value}
        return {OPS[self.op]: {self.field: self.value}}

    def words(self) -> str:
        """The condition as text, e.g. ``grade_min = 3`` (for ``claims terms check``)."""
        sym = {"eq": "=", "ne": "≠", "lt": "<", "le": "≤", "gt": ">", "ge": "≥"}[self.op]
        return (
            f"{self.field} {sym} {self.value!r}"
            if isinstance(self.value, str)
            else (f"{self.field} {sym} {self.value}")
        )


Message = Callable[[CoverageRequest, PolicySnapshot], str]
"""Builds a reason (refusal) or a handler message from the request and the policy."""

FormulaText = Callable[[Mapping[str, Any], CoverageRequest], str]
"""Builds a paying line's formula text from the flat fact (ints) and the request."""


@dataclass(frozen=True)
class BenefitRule:
    """One durable_rules rule a benefit compiles to (all conditions on one flat fact).

    Attributes:
        rule_id: Unique within the ruleset, e.g. ``benefit.accidental_disability.grade_3``.
        when: Conditions that must all hold on the flat coverage fact.
        effect: ``"pay"`` (a benefit line), ``"refuse"`` (this benefit does not pay, with a
            reason shown to the claimant) or ``"needs_handler"`` (facts cannot be judged).
        amount_fen: For ``pay``: the amount in fen from the flat fact (ints only).
        formula: For ``pay``: the formula text (amounts in yuan).
        message: For ``refuse`` and ``needs_handler``: the reason.
        summary: What the rule does, in words (``claims terms check``).
    """

    rule_id: str
    when: tuple[Cond, ...]
    effect: Literal["pay", "needs_handler", "refuse"]
    amount_fen: Callable[[Mapping[str, Any]], int] | None = None
    formula: FormulaText | None = None
    message: Message | None = None
    summary: str = ""


@dataclass(frozen=True)
class Assessment:
    """What one benefit rule gives, as computed by the pure evaluator.

    ``amount_fen`` (fen) and ``formula`` are set for ``pay``; ``message`` for ``refuse``
    and ``needs_handler``.
    """

    rule_id: str
    effect: Literal["pay", "needs_handler", "refuse"]
    amount_fen: int = 0
    formula: str = ""
    message: str = ""


def ratio_fen(sum_fen: int, ratio: Decimal) -> int:
    """``sum_fen × ratio`` in integer fen, half-up, via integer basis points.

    Args:
        sum_fen: An amount in fen (e.g. the sum insured).
        ratio: A factor with at most four decimals (a ratio or a multiplier).

    Returns:
        The amount in fen, rounded half up to the fen.
    """
    bp = int(ratio * 10000)
    return (sum_fen * bp + 5000) // 10000


def decimal_share(amount: Decimal, ratio: Decimal) -> Decimal:
    """``amount × ratio`` in yuan, rounded half up to the fen (the pure evaluator's way)."""
    return (amount * ratio).quantize(CENT, rounding=ROUND_HALF_UP)


def share_of_sum_insured(ratio: Decimal) -> Callable[[Mapping[str, Any]], int]:
    """An ``amount_fen`` function: ``ratio`` of the flat fact's ``sum_fen``, in fen."""

    def amount(fact: Mapping[str, Any]) -> int:
        return ratio_fen(int(fact["sum_fen"]), ratio)

    return amount


def share_formula(ratio: Decimal, label: str) -> FormulaText:
    """A ``formula`` function: ``"<sum insured> × <ratio> (<label>)"`` from the flat fact."""

    def text(fact: Mapping[str, Any], req: CoverageRequest) -> str:
        return formula(to_yuan(int(fact["sum_fen"])), ratio, label)

    return text


def outcome_conds(answers: frozenset[Outcome]) -> tuple[Cond, ...]:
    """Conditions that hold exactly for the outcomes in ``answers`` (conjunctions only)."""
    if len(answers) == 1:
        (only,) = answers
        return (Cond("outcome", "eq", only.value),)
    return tuple(Cond("outcome", "ne", o.value) for o in Outcome if o not in answers)


LimitScope = Literal["person", "household"]
"""Whose earlier payments a limit counts: the insured person's own (default: a household
policy insures each member for the full sum) or every member's (a limit the terms say the
household shares)."""


def priors(
    req: CoverageRequest,
    policy: PolicySnapshot,
    kind: str,
    accident_date: date | None = None,
    scope: LimitScope = "person",
) -> list[PriorBenefit]:
    """Earlier payments (and other claims' reservations) under ``policy`` for benefits of
    ``kind`` that count against this claim (``req.prior_benefits``).

    Per insured person (the house rule, domain brief "Per insured person"): only those of
    ``req.insured.person_ref``, unless ``scope`` is ``household``. A prior benefit with no
    ``person_ref`` (recorded before benefits were kept per person) counts as the same person,
    as it did when it was recorded.

    Args:
        accident_date: When given, only payments for an event on that day count (the same
            accident).
        scope: ``person`` (default) or ``household``.
    """
    me = req.insured.person_ref
    return [
        b
        for b in req.prior_benefits
        if b.policy_number == policy.policy_number
        and b.kind == kind
        and (accident_date is None or b.accident_date == accident_date)
        and (scope == "household" or b.person_ref is None or b.person_ref == me)
    ]


def prior_paid(
    req: CoverageRequest,
    policy: PolicySnapshot,
    kind: str,
    accident_date: date | None = None,
    scope: LimitScope = "person",
) -> Decimal:
    """Yuan already paid (or reserved) under ``policy`` for benefits of ``kind``: the sum of
    :func:`priors` with the same arguments."""
    return sum((b.amount for b in priors(req, policy, kind, accident_date, scope)), Decimal(0))


def prior_count(req: CoverageRequest, policy: PolicySnapshot, kind: str, scope: LimitScope = "person") -> int:
    """How many payments of ``kind`` were made (or reserved) under ``policy`` before, for this
    insured person (or the household, ``scope="household"``)."""
    return len(priors(req, policy, kind, scope=scope))


def event_date(req: CoverageRequest) -> date:
    """The day waiting periods are judged on: the diagnosis date, else the accident date."""
    return req.facts.diagnosis_date or req.accident_date


def _waiting_reason(what: str, waiting_days: int) -> Message:
    def reason(req: CoverageRequest, policy: PolicySnapshot) -> str:
        day = event_date(req)
        n = (day - policy.start_date).days + 1
        ends = policy.start_date + timedelta(days=waiting_days - 1)
        return (
            f"{what}：{day}在{waiting_days}天等待期内（保单起期{policy.start_date}，等待期至{ends}） / "
            f"{day} is day {n} of the {waiting_days}-day waiting period from the policy start "
            f"{policy.start_date} (ends {ends}): no {what_en(what)} is paid for it"
        )

    return reason


_WHAT_EN = {"确诊": "critical illness benefit", "住院": "hospital cash"}


def what_en(what: str) -> str:
    """English name of a waiting-period subject."""
    return _WHAT_EN.get(what, "benefit")


# --------------------------------------------------------------------------- benefits

BENEFIT_KINDS: dict[str, type[BenefitBase]] = {}
"""Registered benefit kinds, ``kind`` -> class, in registration order."""


def benefit_kind(cls: type[BenefitBase]) -> type[BenefitBase]:
    """Class decorator registering a benefit kind in the ``benefits`` union."""
    kind = cls.model_fields["kind"].default
    BENEFIT_KINDS[kind] = cls
    return cls


class BenefitBase(_TermsModel):
    """Common fields of every benefit: a clause id, names and the kind discriminator.

    A kind brings three things: the flat fact fields it needs (:meth:`fact_fields`, ints
    and strings computed before the rules run), its durable_rules rules (:meth:`rules`)
    and the pure-Python assessment of the same clause (:meth:`assess`).
    """

    kind: str
    id: ClauseId
    name_zh: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    limit_scope: LimitScope = "person"
    """Whose earlier payments the benefit's limit counts (yearly limit, once-only cover):
    ``person`` (default, each insured person of a household policy has the full limit) or
    ``household`` (the terms say the household shares it)."""

    answers: ClassVar[frozenset[Outcome]] = frozenset()

    def fact_fields(self, req: CoverageRequest, policy: PolicySnapshot) -> dict[str, int | str]:
        """Extra flat fact fields this kind's rules test (none by default)."""
        return {}

    def deductions(self, req: CoverageRequest, policy: PolicySnapshot) -> list[PriorBenefit]:
        """The earlier payments that reduce this benefit or count against its limit: listed on
        a paying line (``BenefitLine.deducted``) as the decision's provenance. None by default."""
        return []

    def rules(self, terms: Terms) -> list[BenefitRule]:  # pragma: no cover - abstract
        """The durable_rules rules of this benefit, over the flat coverage fact."""
        raise NotImplementedError

    def assess(
        self, terms: Terms, req: CoverageRequest, policy: PolicySnapshot
    ) -> list[Assessment]:  # pragma: no cover - abstract
        """Pure-Python assessment of the same clause: what the rules must also give."""
        raise NotImplementedError

    def describe(self) -> str:
        """The clause's parameters in words (``claims terms check``)."""
        return ""


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

    def rules(self, terms: Terms) -> list[BenefitRule]:
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

    def assess(self, terms: Terms, req: CoverageRequest, policy: PolicySnapshot) -> list[Assessment]:
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

    def rules(self, terms: Terms) -> list[BenefitRule]:
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

    def assess(self, terms: Terms, req: CoverageRequest, policy: PolicySnapshot) -> list[Assessment]:
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
            "prior_accident_medical_fen": to_fen(self._prior(req, policy)),
        }

    def deductions(self, req: CoverageRequest, policy: PolicySnapshot) -> list[PriorBenefit]:
        """Accident medical paid under the policy this year, to this person (or household)."""
        return priors(req, policy, self.kind, scope=self.limit_scope)

    def _prior(self, req: CoverageRequest, policy: PolicySnapshot) -> Decimal:
        return prior_paid(req, policy, self.kind, scope=self.limit_scope)

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
        prior = self._prior(req, policy)
        return (
            f"本保单年度意外医疗保险金已给付{prior:.2f}元，达到年度限额{self.annual_limit:.2f}元 / "
            f"accident medical benefit of {prior:.2f} already paid this policy year reaches the "
            f"yearly limit {self.annual_limit:.2f}"
        )

    def rules(self, terms: Terms) -> list[BenefitRule]:
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

    def assess(self, terms: Terms, req: CoverageRequest, policy: PolicySnapshot) -> list[Assessment]:
        """The same clause in ``Decimal`` yuan."""
        if req.facts.outcome is not Outcome.MEDICAL:
            return []
        e = req.facts.medical_expenses
        if e <= self.deductible:
            return [Assessment(f"{self.id}.below_deductible", "refuse", message=self._below(req, policy))]
        prior = self._prior(req, policy)
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
            "prior_hospital_cash_fen": to_fen(self._prior(req, policy)),
        }

    def deductions(self, req: CoverageRequest, policy: PolicySnapshot) -> list[PriorBenefit]:
        """Hospital cash paid under the policy this year, to this person (or household)."""
        return priors(req, policy, self.kind, scope=self.limit_scope)

    def _prior(self, req: CoverageRequest, policy: PolicySnapshot) -> Decimal:
        return prior_paid(req, policy, self.kind, scope=self.limit_scope)

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
        prior = self._prior(req, policy)
        return (
            f"本保单年度住院津贴已给付{prior:.2f}元，"
            f"达到年度上限{self.year_cap:.2f}元（{self.max_days_per_year}天） / "
            f"hospital cash of {prior:.2f} already paid this policy year reaches the yearly cap "
            f"{self.year_cap:.2f} ({self.max_days_per_year} days)"
        )

    def rules(self, terms: Terms) -> list[BenefitRule]:
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

        out = []
        if self.waiting_days:
            out.append(
                BenefitRule(
                    f"{self.id}.waiting_period",
                    (*ans, Cond("event_days_from_start", "lt", self.waiting_days)),
                    "refuse",
                    message=_waiting_reason("住院", self.waiting_days),
                    summary=f"nothing in the first {self.waiting_days} days from the policy start",
                )
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

    def assess(self, terms: Terms, req: CoverageRequest, policy: PolicySnapshot) -> list[Assessment]:
        """The same clause with ``date`` and ``Decimal`` arithmetic."""
        if req.facts.outcome not in self.answers:
            return []
        if event_date(req) < policy.start_date + timedelta(days=self.waiting_days):
            msg = _waiting_reason("住院", self.waiting_days)(req, policy)
            return [Assessment(f"{self.id}.waiting_period", "refuse", message=msg)]
        stay = req.facts.hospital_days
        if stay == 0:
            return [Assessment(f"{self.id}.no_stay", "refuse", message=self._no_stay(req, policy))]
        prior = self._prior(req, policy)
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


Multiplier = Annotated[Decimal, BeforeValidator(lambda v: _multiplier(v))]


def _multiplier(v: Any) -> Decimal:
    d = _to_decimal(v, "a multiplier")
    if d != d.quantize(Decimal("0.0001")) or not Decimal(0) < d <= Decimal(10):
        raise ValueError(f'multiplier {v} must be in (0, 10] with at most four decimals; fix: e.g. "2"')
    return d


class Diagnosis(_TermsModel):
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
        paid = priors(req, policy, self.kind, scope=self.limit_scope)
        first = min(paid, key=lambda b: b.paid_on)
        return (
            f"本保单疾病保险金已于{first.paid_on}给付{first.amount:.2f}元，保险责任终止 / critical illness "
            f"benefit of {first.amount:.2f} was paid on {first.paid_on}: the cover ended then"
        )

    def rules(self, terms: Terms) -> list[BenefitRule]:
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
        if self.waiting_days:
            out.append(
                BenefitRule(
                    f"{self.id}.waiting_period",
                    (ill, known, Cond("event_days_from_start", "lt", self.waiting_days)),
                    "refuse",
                    message=_waiting_reason("确诊", self.waiting_days),
                    summary=f"diagnosis in the first {self.waiting_days} days from the policy start",
                )
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

    def assess(self, terms: Terms, req: CoverageRequest, policy: PolicySnapshot) -> list[Assessment]:
        """The same clause with ``date`` arithmetic and a dict lookup."""
        if req.facts.outcome is not Outcome.ILLNESS:
            return []
        code = (req.facts.diagnosis_code or "").strip().upper()
        if not code:
            return [
                Assessment(f"{self.id}.no_diagnosis", "needs_handler", message=self._no_code(req, policy))
            ]
        m = _ICD_CODE.match(code)
        if m is None or m.group(1) not in ICD10:
            return [
                Assessment(
                    f"{self.id}.unknown_diagnosis", "needs_handler", message=self._unknown(req, policy)
                )
            ]
        if event_date(req) < policy.start_date + timedelta(days=self.waiting_days):
            msg = _waiting_reason("确诊", self.waiting_days)(req, policy)
            return [Assessment(f"{self.id}.waiting_period", "refuse", message=msg)]
        if priors(req, policy, self.kind, scope=self.limit_scope):
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


def _benefit_union() -> Any:
    classes = tuple(BENEFIT_KINDS.values())
    union = classes[0] if len(classes) == 1 else Union[classes]  # noqa: UP007
    return Annotated[union, Field(discriminator="kind")]


if TYPE_CHECKING:
    Benefit = BenefitBase
else:
    Benefit = _benefit_union()
    """Any registered benefit kind, discriminated by ``kind``."""


# --------------------------------------------------------------------------- terms


JRT_0083_RATIOS: dict[int, Decimal] = {g: Decimal(11 - g) / 10 for g in range(1, 11)}
"""JR/T 0083-2013 default ratios: grade 1 = 1.00, 2 = 0.90 ... 10 = 0.10."""


class Eligibility(_TermsModel):
    """Who may be insured: age in whole years, inclusive; optional sex.

    ``age_basis`` says on which day the age is judged: ``at_issue`` (投保年龄, the age when
    the policy was issued: the public terms of the accident and elderly plans) or
    ``at_accident`` (default, the age on the day of the accident).
    """

    min_age: int = Field(ge=0, le=120)
    max_age: int = Field(ge=0, le=120)
    sex: Sex | None = None
    age_basis: Literal["at_issue", "at_accident"] = "at_accident"

    @model_validator(mode="after")
    def _order(self) -> Eligibility:
        if self.min_age > self.max_age:
            raise ValueError(f"min_age {self.min_age} is above max_age {self.max_age}; fix: swap them")
        return self


class Exclusion(_TermsModel):
    """An exclusion clause (责任免除): a circumstance code that refuses the whole policy.

    ``circumstance`` is matched against ``LossFacts.circumstances`` (e.g. ``drink_driving``).
    """

    id: ClauseId
    circumstance: Code
    reason_zh: str = Field(min_length=1)
    reason_en: str = Field(min_length=1)


EXCLUSIONS_FILE = Path(__file__).resolve().parent / "exclusions.json"
"""The standard exclusion clauses a terms file may name by id."""


def load_standard_exclusions(path: str | Path | None = None) -> dict[str, Exclusion]:
    """The standard exclusion clauses, by id (``rules/exclusions.json``).

    Raises:
        TermsError: The file is invalid (named with the fix).
    """
    p = Path(path) if path is not None else EXCLUSIONS_FILE
    try:
        raw = json.loads(p.read_text(encoding="utf-8"))
        items = [Exclusion.model_validate(x) for x in raw["exclusions"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise TermsError(f"{p.name}: invalid standard exclusions ({exc}); fix: correct the file") from None
    return {x.id: x for x in items}


def _resolve_exclusions(v: Any, info: ValidationInfo) -> Any:
    """Replace exclusion ids (strings) by the standard clauses they name."""
    if not isinstance(v, list) or not any(isinstance(x, str) for x in v):
        return v
    library: dict[str, Exclusion] = (info.context or {}).get("exclusions") or load_standard_exclusions()
    out = []
    for x in v:
        if isinstance(x, str):
            if x not in library:
                raise ValueError(
                    f"unknown exclusion id {x!r}; fix: use one of {sorted(library)} "
                    "(rules/exclusions.json) or write the clause out with id, circumstance and reasons"
                )
            out.append(library[x])
        else:
            out.append(x)
    return out


class Terms(_TermsModel):
    """One product version's terms, as stored in ``rules/terms/<product>@<version>.json``.

    Attributes:
        product_code: e.g. ``family_accident``.
        version: e.g. ``2020``; ``terms_version`` is ``"<product_code>@<version>"``.
        name_zh: Chinese product name. name_en: English product name.
        effective_from: First issue date (inclusive) this version is in force for.
        effective_to: Last issue date (inclusive).
        defaults: True when some values are configuration defaults, not from the seed.
        defaults_note: Where the defaults come from (required when ``defaults``).
        config_defaults: Names of the top-level fields whose values are config defaults.
        eligibility: Insurable ages (years at the accident) and sex.
        sum_insured_options: Sums insured (yuan per insured person) the product sells.
        claim_limitation_years: Years after the accident a claim may be made (Insurance
            Law art. 26: 2 years for non-life insurance).
        exclusions: Exclusion clauses, written out or named by id from
            ``rules/exclusions.json``.
        disability_ratios: Grade 1..10 -> ratio; strictly decreasing (JR/T 0083-2013).
        benefits: Benefit clauses, a union discriminated by ``kind``.
    """

    product_code: Code
    version: str = Field(pattern=r"^[A-Za-z0-9._-]+$", max_length=32)
    name_zh: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    effective_from: date
    effective_to: date
    defaults: bool
    defaults_note: str = ""
    config_defaults: list[str] = Field(default_factory=list)
    eligibility: Eligibility
    sum_insured_options: list[TermsYuan] = Field(min_length=1)
    claim_limitation_years: int = Field(default=2, ge=1, le=10)
    exclusions: Annotated[list[Exclusion], BeforeValidator(_resolve_exclusions)] = Field(default_factory=list)
    disability_ratios: dict[int, Ratio] = Field(default_factory=lambda: dict(JRT_0083_RATIOS))
    benefits: list[Benefit] = Field(min_length=1)  # type: ignore[valid-type]

    @property
    def terms_version(self) -> str:
        """``"<product_code>@<version>"``, as in ``PolicySnapshot.terms_version``."""
        return f"{self.product_code}@{self.version}"

    @field_validator("sum_insured_options")
    @classmethod
    def _options(cls, v: list[Decimal]) -> list[Decimal]:
        if len(set(v)) != len(v):
            raise ValueError("a sum insured is listed twice; fix: list each option once")
        if any(x <= 0 for x in v):
            raise ValueError("a sum insured is zero; fix: list positive amounts in yuan")
        return v

    @field_validator("disability_ratios")
    @classmethod
    def _table(cls, v: dict[int, Decimal]) -> dict[int, Decimal]:
        if sorted(v) != list(range(1, 11)):
            raise ValueError(f"grades {sorted(v)} given; fix: give exactly grades 1 to 10 (JR/T 0083-2013)")
        for g in range(2, 11):
            if not v[g] < v[g - 1]:
                raise ValueError(
                    f"grade {g} ratio {v[g]} is not below grade {g - 1} ratio {v[g - 1]}; "
                    "fix: ratios must fall strictly from grade 1 (most severe) to grade 10"
                )
        return {g: v[g] for g in range(1, 11)}

    @model_validator(mode="after")
    def _whole(self) -> Terms:
        if self.effective_to < self.effective_from:
            raise ValueError(
                f"effective_to {self.effective_to} is before effective_from "
                f"{self.effective_from}; fix: swap the dates"
            )
        if self.defaults and not self.defaults_note.strip():
            raise ValueError("defaults is true but defaults_note is empty; fix: say what is config")
        if self.config_defaults and not self.defaults:
            raise ValueError("config_defaults listed but defaults is false; fix: set defaults true")
        unknown = set(self.config_defaults) - set(type(self).model_fields)
        if unknown:
            raise ValueError(
                f"config_defaults names unknown field(s) {sorted(unknown)}; "
                "fix: list top-level field names only"
            )
        seen: dict[str, str] = {}
        for where, cid in [("exclusions", e.id) for e in self.exclusions] + [
            ("benefits", b.id) for b in self.benefits
        ]:
            if cid in RESERVED_CLAUSES:
                raise ValueError(f"clause id {cid!r} in {where} is reserved for the engine; fix: rename it")
            if cid in seen:
                raise ValueError(
                    f"clause id {cid!r} is used in {seen[cid]} and again in {where}; "
                    "fix: give every clause a unique id"
                )
            seen[cid] = where
        circs = [e.circumstance for e in self.exclusions]
        dup = {c for c in circs if circs.count(c) > 1}
        if dup:
            raise ValueError(
                f"circumstance(s) {sorted(dup)} excluded twice; fix: one exclusion per circumstance"
            )
        return self

    def benefits_for(self, outcome: Outcome) -> list[BenefitBase]:
        """Benefits that answer ``outcome``, in file order."""
        return [b for b in self.benefits if outcome in b.answers]


# --------------------------------------------------------------------------- loading


@dataclass(frozen=True)
class LoadedTerms:
    """A validated terms file: the terms, where they came from and the sha256 of its bytes."""

    terms: Terms
    path: Path
    sha256: str

    @property
    def terms_version(self) -> str:
        """``"<product_code>@<version>"``."""
        return self.terms.terms_version


_FIXES = {
    "missing": "add the field",
    "extra_forbidden": "remove the field or correct its spelling",
    "union_tag_invalid": f"use one of the benefit kinds {list(BENEFIT_KINDS)}",
    "union_tag_not_found": 'add a "kind" field to the benefit',
    "string_pattern_mismatch": "use lower-case letters, digits, '_' (and '.' in clause ids)",
}


def _describe(exc: ValidationError, name: str, raw: Any) -> str:
    parts = []
    for err in exc.errors():
        loc_parts: list[str] = []
        for i, p in enumerate(err["loc"]):
            loc_parts.append(f"[{p}]" if isinstance(p, int) else ("" if i == 0 else ".") + str(p))
        loc = "".join(loc_parts) or "(file)"
        # name the clause when the error sits inside a list of clauses
        clause = ""
        if len(err["loc"]) >= 2 and isinstance(err["loc"][1], int) and isinstance(raw, dict):
            items = raw.get(str(err["loc"][0]))
            if isinstance(items, list) and err["loc"][1] < len(items):
                item = items[err["loc"][1]]
                if isinstance(item, dict) and "id" in item:
                    clause = f" (clause {item['id']!r})"
                elif isinstance(item, str):
                    clause = f" (clause {item!r})"
        msg = str(err["msg"]).removeprefix("Value error, ")
        fix = "" if "fix:" in msg else f"; fix: {_FIXES.get(err['type'], 'correct the value')}"
        parts.append(f"{name}: {loc}{clause}: {msg}{fix}")
    return "\n".join(parts)


def load_terms_file(path: str | Path) -> LoadedTerms:
    """Read and validate one terms file.

    Args:
        path: A ``<product_code>@<version>.json`` file.

    Returns:
        The validated terms with the sha256 (hex) of the file's bytes; when the file names
        standard exclusions by id, of the bytes followed by a newline and the canonical
        JSON of the clauses it named (so the hash changes when their wording does).

    Raises:
        TermsError: The file is not JSON, fails the schema, or its name does not match its
            ``product_code@version``. The message names the file, the field and the fix.
    """
    p = Path(path)
    data = p.read_bytes()
    try:
        raw = json.loads(data.decode("utf-8"), parse_float=Decimal)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TermsError(f"{p.name}: not valid UTF-8 JSON ({exc}); fix: correct the syntax") from exc
    try:
        terms = Terms.model_validate(raw)
    except ValidationError as exc:
        raise TermsError(_describe(exc, p.name, raw)) from None
    if p.stem != terms.terms_version:
        raise TermsError(
            f"{p.name}: file defines {terms.terms_version!r}; "
            f"fix: rename the file to {terms.terms_version}.json"
        )
    named = [x for x in raw.get("exclusions", []) if isinstance(x, str)] if isinstance(raw, dict) else []
    h = hashlib.sha256(data)
    if named:
        used = [e.model_dump() for e in terms.exclusions if e.id in named]
        h.update(b"\n" + json.dumps(used, ensure_ascii=False, sort_keys=True).encode("utf-8"))
    return LoadedTerms(terms=terms, path=p, sha256=h.hexdigest())


@dataclass(frozen=True)
class Catalogue:
    """Every terms version known to the engine, by terms version string."""

    entries: Mapping[str, LoadedTerms] = field(default_factory=dict)

    def get(self, terms_version: str) -> LoadedTerms:
        """The terms for ``terms_version`` (``"<product_code>@<version>"``).

        Raises:
            UnknownTermsVersion: No file defines that version.
        """
        try:
            return self.entries[terms_version]
        except KeyError:
            raise UnknownTermsVersion(
                f"unknown terms version {terms_version!r}; known: {sorted(self.entries)}"
            ) from None

    def __contains__(self, terms_version: object) -> bool:
        return terms_version in self.entries

    def __iter__(self) -> Iterator[LoadedTerms]:
        return iter(self.entries.values())

    def __len__(self) -> int:
        return len(self.entries)

    def in_force(self, product_code: str, issued_on: date) -> LoadedTerms | None:
        """The version of ``product_code`` in force on ``issued_on``, or None."""
        for e in self.entries.values():
            t = e.terms
            if t.product_code == product_code and t.effective_from <= issued_on <= t.effective_to:
                return e
        return None


def load_catalogue(directory: str | Path | None = None) -> Catalogue:
    """Load and validate every ``*.json`` terms file in ``directory``.

    Args:
        directory: Defaults to the shipped ``rules/terms/``.

    Returns:
        A :class:`Catalogue` keyed by terms version.

    Raises:
        TermsError: A file is invalid, two files define the same terms version, or two
            versions of one product have overlapping effective ranges (both files named).
    """
    d = Path(directory) if directory is not None else TERMS_DIR
    if not d.is_dir():
        raise TermsError(f"{d}: no such terms directory; fix: pass the folder of terms files")
    loaded = [load_terms_file(p) for p in sorted(d.glob("*.json"))]
    entries: dict[str, LoadedTerms] = {}
    for e in loaded:
        if e.terms_version in entries:
            raise TermsError(
                f"{e.path.name} and {entries[e.terms_version].path.name} both define "
                f"{e.terms_version}; fix: remove one"
            )
        entries[e.terms_version] = e
    by_product: dict[str, list[LoadedTerms]] = {}
    for e in loaded:
        by_product.setdefault(e.terms.product_code, []).append(e)
    for versions in by_product.values():
        versions.sort(key=lambda e: e.terms.effective_from)
        for a, b in itertools.pairwise(versions):
            if b.terms.effective_from <= a.terms.effective_to:
                raise TermsError(
                    f"{a.path.name} (effective {a.terms.effective_from}..{a.terms.effective_to}) "
                    f"overlaps {b.path.name} (from {b.terms.effective_from}); "
                    f"fix: end {a.path.name} before {b.terms.effective_from}"
                )
    return Catalogue(entries=entries)
