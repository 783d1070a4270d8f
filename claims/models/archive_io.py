"""Input of the archive activity: the decision record of a claim that reached a terminal stage.

Part of the boundary models (``claims.models``): import-light on purpose (pydantic and the
standard library only), so workflow code can import it inside the Temporal sandbox.
"""

from __future__ import annotations

from datetime import datetime

from claims.models.claim import ClaimInput, ClaimState
from claims.models.common import Frozen
from claims.models.rules_io import CoverageRequest, LossFacts, SlaTarget


class ArchiveInput(Frozen):
    """Input of ``archive_decision``: the decision record of a claim that reached a terminal stage.

    Sent once by the claim workflow when the claim is ``closed`` or ``declined``; the
    activity stores it as the claim's decision bundle (``claim_archives``), so an audit
    still works after Temporal has deleted the history. ``closed_at`` is ``workflow.now()``
    (aware UTC); ``state`` is the claim's final state (decision, payments, clocks with
    their calendar versions, timeline); ``sla_target`` carries the SLA policy version;
    ``facts`` the facts established at adjudication, when there was one;
    ``coverage_request`` the ``evaluate_coverage`` input the last decision was made on
    (prior benefits included), None in histories recorded before it was passed (the
    archive then rebuilds it from the claim input and marks it rebuilt).
    """

    workflow_id: str
    run_id: str
    closed_at: datetime
    claim: ClaimInput
    state: ClaimState
    sla_target: SlaTarget | None = None
    facts: LossFacts | None = None
    coverage_request: CoverageRequest | None = None
