"""Earlier payments that count against a benefit's limit: the insured person's own, or the household's.

A claim's request carries the payments (and other claims' reservations) already made under its
policies (``CoverageRequest.prior_benefits``, from the ledger); the helpers here select those of
one benefit kind, one person or household and, optionally, one accident.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from claims.models import CoverageRequest, PolicySnapshot, PriorBenefit

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
