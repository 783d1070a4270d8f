"""Rule specs shared by both evaluators: a condition on a flat fact (:class:`Cond`), a rule a
benefit compiles to (:class:`BenefitRule`) and what the pure evaluator computes (:class:`Assessment`).

durable_rules reads a condition through :meth:`Cond.durable`, the pure twin through
:meth:`Cond.holds`; the helpers below build a paying rule's amount and formula from the flat
fact (ints only: amounts in fen).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from claims.models import CoverageRequest, Outcome, PolicySnapshot
from rules.money import formula, ratio_fen, to_yuan

CondOp = Literal["eq", "ne", "lt", "le", "gt", "ge"]
"""A comparison: equal, not equal, less than, at most, greater than, at least."""

OPS: dict[CondOp, str] = {
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
    op: CondOp
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
