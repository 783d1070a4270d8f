"""The benefit kind contract: :class:`BenefitBase` and the registry of kinds (:func:`benefit_kind`).

A new kind is one module in ``rules/benefits/`` holding a subclass of :class:`BenefitBase`
decorated with :func:`benefit_kind`, imported in ``rules/benefits/__init__.py`` (which builds
the discriminated union of the terms files). It brings its schema, the flat fact fields it
needs (:meth:`BenefitBase.fact_fields`), the durable_rules rules it compiles to
(:meth:`BenefitBase.rules`) and its pure-Python assessment (:meth:`BenefitBase.assess`).
Neither engine needs to change.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import ClassVar, Protocol

from pydantic import Field

from claims.models import CoverageRequest, Outcome, PolicySnapshot, PriorBenefit
from rules.benefits.priors import LimitScope, prior_paid, priors
from rules.conditions import Assessment, BenefitRule
from rules.schema import ClauseId, TermsModel


class TermsView(Protocol):
    """What a benefit reads of its product's terms (:class:`rules.terms.Terms` is one)."""

    @property
    def disability_ratios(self) -> Mapping[int, Decimal]:
        """Disability grade 1..10 -> ratio of the sum insured (JR/T 0083-2013 by default)."""
        ...

BENEFIT_KINDS: dict[str, type[BenefitBase]] = {}
"""Registered benefit kinds, ``kind`` -> class, in registration order."""


def benefit_kind(cls: type[BenefitBase]) -> type[BenefitBase]:
    """Class decorator registering a benefit kind in the ``benefits`` union."""
    kind = cls.model_fields["kind"].default
    BENEFIT_KINDS[kind] = cls
    return cls


class BenefitBase(TermsModel):
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

    def own_priors(self, req: CoverageRequest, policy: PolicySnapshot) -> list[PriorBenefit]:
        """Earlier payments (and reservations) of this benefit's kind under ``policy`` that count
        against its limit: this insured person's, or the household's by ``limit_scope``."""
        return priors(req, policy, self.kind, scope=self.limit_scope)

    def own_paid(self, req: CoverageRequest, policy: PolicySnapshot) -> Decimal:
        """Yuan of :meth:`own_priors`."""
        return prior_paid(req, policy, self.kind, scope=self.limit_scope)

    def rules(self, terms: TermsView) -> list[BenefitRule]:  # pragma: no cover - abstract
        """The durable_rules rules of this benefit, over the flat coverage fact."""
        raise NotImplementedError

    def assess(
        self, terms: TermsView, req: CoverageRequest, policy: PolicySnapshot
    ) -> list[Assessment]:  # pragma: no cover - abstract
        """Pure-Python assessment of the same clause: what the rules must also give."""
        raise NotImplementedError

    def describe(self) -> str:
        """The clause's parameters in words (``claims terms check``)."""
        return ""
