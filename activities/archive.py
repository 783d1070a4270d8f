"""Archive activity: the decision record of a claim that reached a terminal stage."""

from __future__ import annotations

from typing import Any

from temporalio import activity

from claims.audit.archiver import bundle_from_input, record_decision
from claims.infra.logging import get_logger
from claims.models import Ack, ArchiveInput
from claims.store import utcnow


class ArchiveActivities:
    """Activities that write the claim archive (``claim_archives``).

    Args:
        sessions: a SQLAlchemy ``sessionmaker`` (one per worker process).
    """

    def __init__(self, sessions: Any) -> None:
        self._sessions = sessions

    @activity.defn
    def archive_decision(self, inp: ArchiveInput) -> Ack:
        """Store the claim's decision bundle (facts, decision, terms versions and hashes,
        calendar and SLA policy versions, payouts, timeline) so it outlives the history.

        Idempotent on the claim number: a retried call writes nothing more. The full
        history follows once the workflow has closed (``claims.audit.archiver.archive_closed_claims``).
        """
        bundle = bundle_from_input(inp)
        with self._sessions() as s:
            written = record_decision(s, bundle, utcnow())
        get_logger("claims.audit.archiver", claim_number=inp.claim.claim_number).info(
            "decision archived", stage=bundle.stage, written=written
        )
        return Ack()
