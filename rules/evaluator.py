"""What an evaluator of the rules offers its callers: the :class:`Evaluator` protocol.

Two evaluators satisfy it: :class:`rules.engine.RulesEngine` (durable_rules, the one the worker
runs) and :class:`rules.pure.PureEvaluator` (its pure-Python twin, used in tests and the
differential check). Callers (the rules activities) depend on this protocol only, so they do
not import durable_rules, a C extension with global state.
"""

from __future__ import annotations

from typing import Protocol

from claims.models import CoverageDecision, CoverageRequest, TriageRequest, TriageResult
from rules.terms import Catalogue


class Evaluator(Protocol):
    """Judges coverage and triages a claim from the terms catalogue and the triage data."""

    @property
    def name(self) -> str:
        """Which evaluator decided, recorded in ``CoverageDecision.engine`` (``durable_rules``, ``pure``)."""
        ...

    @property
    def catalogue(self) -> Catalogue:
        """The terms versions it judges by."""
        ...

    def triage(self, req: TriageRequest) -> TriageResult:
        """Green channel, case class and investigation need, with the rule ids that fired."""
        ...

    def evaluate_coverage(self, req: CoverageRequest) -> CoverageDecision:
        """The decision under every policy of the request: lines (yuan), refusals, needs_handler."""
        ...
