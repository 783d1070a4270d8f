"""Inputs of the notice activities: SLA escalations and notices to claimants or supervisors (outbox).

Part of the boundary models (``claims.models``): import-light on purpose (pydantic and the
standard library only), so workflow code can import it inside the Temporal sandbox.
"""

from __future__ import annotations

from datetime import datetime

from claims.models.common import Frozen


class EscalationInput(Frozen):
    """Input of ``escalate_breach``: a breached clock to report to the county's supervisors."""

    claim_number: str
    county: str
    township: str
    clock: str
    deadline: datetime
    assigned_handler: str | None


class NoticeInput(Frozen):
    """Input of ``send_notice``: a notice to the claimant or the county's supervisors (outbox)."""

    claim_number: str
    kind: str  # sla_warning, sla_breach, decline_notice, advance_payment_due
    county: str
    recipient_role: str
    message: str
    dedupe_key: str
