"""Archive activity: the decision record of a claim that reached a terminal stage."""

from __future__ import annotations

from temporalio import activity

from claims.infra.logging import get_logger
from claims.models import Ack, ArchiveInput
from claims.store import utcnow
from claims.store.archive import bundle_from_input, record_decision
from claims.store.db import Sessions, unit_of_work


class ArchiveActivities:
    """Activities that write the claim archive (``claim_archives``).

    Args:
        sessions: the store's session factory (one per worker process).
    """

    def __init__(self, sessions: Sessions) -> None:
        self._sessions = sessions

    @activity.defn
    def archive_decision(self, inp: ArchiveInput) -> Ack:
        """Store the claim's decision bundle (facts, the coverage request decided and its
        decision, terms versions and hashes, calendar and SLA policy versions, payouts,
        timeline) so it outlives the history.

        Idempotent on the claim number: a retried call writes nothing more. The full
        history follows once the workflow has closed (``claims.audit.archiver.archive_closed_claims``).
        """
        bundle = bundle_from_input(inp)
        with unit_of_work(self._sessions) as s:
            written = record_decision(s, bundle, utcnow())
        get_logger("activities.archive", claim_number=inp.claim.claim_number).info(
            "decision archived",
            stage=bundle.stage,
            written=written,
            request_rebuilt=bundle.coverage_request_rebuilt,
        )
        return Ack()
