"""Letter activity: issues a declined claim's refusal letter (拒赔通知书, art. 24) and returns its sha256.

The PDF is built here (WeasyPrint is no workflow code) from the request alone, so the same
request gives the same bytes and ``claims letter`` reproduces them. The activity name is
recorded in histories: never rename it.
"""

from __future__ import annotations

from temporalio import activity

from claims.infra.logging import get_logger
from claims.models import LetterIssued, LetterRequest
from claims.reports.letter import issued, letter_pdf


class LetterActivities:
    """The letter activities of a worker (no state)."""

    @activity.defn
    def issue_refusal_letter(self, req: LetterRequest) -> LetterIssued:
        """Build the refusal letter's PDF and answer its sha256, size and date."""
        result = issued(req, letter_pdf(req))
        get_logger("claims.letters", claim_number=req.claim_number).info(
            "refusal letter issued", sha256=result.sha256, size=result.size
        )
        return result
