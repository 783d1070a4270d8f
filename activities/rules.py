"""Rules activities: green-channel triage, SLA target, coverage and the document checklist.

The evaluator (durable_rules in the worker) is a C extension with global state: it runs here,
never in workflow code. This module depends on the :class:`rules.evaluator.Evaluator`
protocol only; the worker passes the engine in. Activity names are the method names and are
recorded in histories: never rename them.
"""

from __future__ import annotations

from decimal import Decimal

from temporalio import activity
from temporalio.exceptions import ApplicationError

from claims.infra.logging import get_logger
from claims.models import (
    ChecklistRequest,
    ChecklistResult,
    CoverageDecision,
    CoverageRequest,
    SlaTarget,
    SlaTargetRequest,
    TriageRequest,
    TriageResult,
)
from rules.documents import required_documents
from rules.errors import SlaPolicyError
from rules.evaluator import Evaluator
from rules.sla import SlaPolicy, load_sla_policy


class RulesActivities:
    """Activities that need the rules engine (one per worker process).

    Args:
        engine: the evaluator (``rules.engine.RulesEngine`` in the worker, or
            ``rules.pure.PureEvaluator``): triage, coverage, its name and its terms catalogue.
        sla_policy: the SLA policy; default ``rules/sla_policy.json``.
    """

    def __init__(self, engine: Evaluator, sla_policy: SlaPolicy | None = None) -> None:
        self._engine = engine
        self._sla = sla_policy or load_sla_policy()

    def _known_circumstances(self) -> set[str]:
        """Every circumstance code an exclusion of the catalogue tests (e.g. ``drink_driving``)."""
        catalogue = self._engine.catalogue
        return {e.circumstance for loaded in catalogue.entries.values() for e in loaded.terms.exclusions}

    @activity.defn
    def triage_claim(self, req: TriageRequest) -> TriageResult:
        """Green channel (绿色通道), case class and investigation need, with the rule ids that fired."""
        result = self._engine.triage(req)
        get_logger("claims.rules", claim_number=req.claim_number).info(
            "triaged",
            green_channel=result.green_channel,
            case_class=result.case_class.value,
            rule_ids=result.rule_ids,
        )
        return result

    @activity.defn
    def choose_sla_target(self, req: SlaTargetRequest) -> SlaTarget:
        """The working-day target from the SLA policy (data) for a triaged claim.

        Raises:
            ApplicationError(type="SlaPolicyError", non_retryable): no target for the class.
        """
        try:
            return self._sla.choose(req)
        except (KeyError, SlaPolicyError) as e:
            raise ApplicationError(str(e), type="SlaPolicyError", non_retryable=True) from e

    @activity.defn
    def evaluate_coverage(self, req: CoverageRequest) -> CoverageDecision:
        """Judge an event under every policy that may answer it (核定).

        Returns the decision with amounts (yuan), formulas, clause ids that fired, refusals
        with reasons, terms versions and hashes. Facts that cannot be judged come back in
        ``needs_handler``; they never raise.
        """
        known = self._known_circumstances()
        unknown = sorted(set(req.facts.circumstances) - known) if known else []
        if unknown:
            # A typo ("drink_drivng") must never pay by missing its exclusion: a handler decides.
            return CoverageDecision(
                claim_number=req.claim_number,
                lines=[],
                refusals=[],
                total=Decimal("0"),
                needs_handler=[
                    f"unknown circumstance code {', '.join(unknown)}; known codes: "
                    f"{', '.join(sorted(known))}"
                ],
                engine=self._engine.name,
            )
        decision = self._engine.evaluate_coverage(req)
        get_logger("claims.rules", claim_number=req.claim_number).info(
            "coverage evaluated",
            total=str(decision.total),
            lines=[ln.benefit_id for ln in decision.lines],
            refusals=[r.clause_id for r in decision.refusals],
            needs_handler=decision.needs_handler,
        )
        return decision

    @activity.defn
    def document_checklist(self, req: ChecklistRequest) -> ChecklistResult:
        """The documents a claim needs (``rules/documents.json``: all claims, plus death,
        disability, medical or illness proofs; proxy and road-accident papers; what the green
        channel waives), in checklist order."""
        return ChecklistResult(
            documents=required_documents(
                req.outcome,
                [],
                green_channel=req.green_channel,
                road_accident=req.road_accident,
                filed_by_proxy=req.filed_by_proxy,
                minor=req.minor,
            )
        )
