"""Review activity: judges a claim about to be paid by the review and referral rules (``review.json``).

The household's claim count comes from the store in the same activity (a read), then the
rules engine (durable_rules, ``rules.review.ReviewEngine``) judges the flat fact. Without
review rules (a worker built without them) every claim passes: ``queue`` None. The activity
name is recorded in histories: never rename it.
"""

from __future__ import annotations

from temporalio import activity

from claims.infra.logging import get_logger
from claims.models import ReviewRequest, ReviewResult
from claims.store.db import Sessions, unit_of_work
from claims.store.review import household_claims_in_year
from rules.review import ReviewEngine, sample_bucket


class ReviewActivities:
    """The review activity of a worker.

    Args:
        sessions: the store's session factory.
        engine: the review rules engine; None: no review rules in force (nothing is held).
    """

    def __init__(self, sessions: Sessions, engine: ReviewEngine | None = None) -> None:
        self._sessions = sessions
        self._engine = engine

    @activity.defn
    def review_claim(self, req: ReviewRequest) -> ReviewResult:
        """Sampling, value thresholds and patterns before payment: the queue and the rule ids."""
        if self._engine is None:
            return ReviewResult(
                rules_version="none", engine="none", sample_bucket=sample_bucket(req.claim_number)
            )
        with unit_of_work(self._sessions) as s:
            count = household_claims_in_year(s, req.claim_number, req.person_ref, req.accident_date)
        result = self._engine.review(req, count)
        get_logger("claims.rules", claim_number=req.claim_number).info(
            "reviewed", queue=result.queue.value if result.queue else None, rule_ids=result.rule_ids
        )
        return result
